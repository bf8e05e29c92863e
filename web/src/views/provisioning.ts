// R34 for holders of users.manage: the SCIM address and the provisioning tokens an identity
// provider uses, each with its last sync; a new token is shown once, with a copy button.

import { type Account } from "../api";
import { col, h } from "../dom";
import * as fmt from "../format";
import { page } from "../hooks";
import { canManageUsers, explain, freshList, state, t } from "../state";
import { confirmed } from "./users";

export async function loadTokens(): Promise<void> {
  const api = state.api;
  if (!api || !canManageUsers()) return;
  // A token made or revoked while the list was read is kept; unread, the section keeps what it
  // shows until the next load.
  state.tokens = await freshList(() => state.tokens, () => api.scimTokens());
  renderProvisioning();
}

function renderProvisioning(): void {
  const a = state.account;
  const fresh = a && provisioning(a);
  const old = document.getElementById("provisioning");
  if (!fresh || !old) return;
  // A name typed while the tokens loaded stays typed, and where the keyboard was.
  const typed = old.querySelector<HTMLInputElement>("#token-name");
  const field = fresh.querySelector<HTMLInputElement>("#token-name");
  if (typed && field) field.value = typed.value;
  const focused = document.activeElement?.id;
  old.replaceWith(fresh);
  if (focused) document.getElementById(focused)?.focus();
}

/** Copies `text`, saying so on the button for a moment. */
export function copyButton(id: string, text: string, label: string): HTMLButtonElement {
  const button: HTMLButtonElement = h(
    "button",
    {
      type: "button",
      class: "small",
      id,
      "aria-label": label,
      onclick: () => {
        void navigator.clipboard?.writeText(text).then(() => {
          button.textContent = t().copied;
          setTimeout(() => (button.textContent = t().copy), 2000);
        });
      },
    },
    t().copy,
  );
  return button;
}

async function create(input: HTMLInputElement): Promise<void> {
  const name = input.value.trim();
  if (!state.api) return;
  if (name.length === 0 || name.length > 100) {
    state.notice = { kind: "error", text: t().tokenNameInvalid };
    page.render();
    document.getElementById("token-name")?.focus();
    return;
  }
  try {
    const made = await state.api.createScimToken(name);
    state.newToken = { name: made.name, token: made.token };
    state.tokens = [...state.tokens, made];
    state.notice = { kind: "ok", text: t().tokenCreated(made.name) };
  } catch (error) {
    state.notice = { kind: "error", text: explain(error) };
  }
  page.render();
  document.getElementById(state.newToken ? "new-token" : "notice")?.focus();
}

async function revoke(id: string, name: string): Promise<void> {
  if (!state.api) return;
  const button = `revoke-${id}`;
  if (!(await confirmed(t().revokeTitle(name), t().revokeText(name), t().revoke))) {
    document.getElementById(button)?.focus();
    return;
  }
  try {
    await state.api.revokeScimToken(id);
    state.tokens = state.tokens.filter((k) => k.token_id !== id);
    state.notice = { kind: "ok", text: t().revoked(name) };
  } catch (error) {
    state.notice = { kind: "error", text: explain(error) };
  }
  page.render();
  document.getElementById("notice")?.focus();
}

export function provisioning(a: Account): HTMLElement | false {
  if (!canManageUsers() || !state.api) return false;
  const base = state.api.scimBase();
  const input = h("input", { id: "token-name", type: "text", maxlength: 100, placeholder: "Microsoft Entra ID" });
  const shown = state.newToken;
  const rows = state.tokens.map((k) =>
    h(
      "tr",
      { "data-token": k.token_id },
      h("th", { scope: "row" }, k.name),
      h("td", {}, fmt.instant(k.created_at, a.time_zone, state.lang)),
      h("td", {}, k.last_used ? fmt.instant(k.last_used, a.time_zone, state.lang) : t().neverUsed),
      h(
        "td",
        { class: "row-actions" },
        h("button", { type: "button", class: "small", id: `revoke-${k.token_id}`, "aria-label": t().revokeToken(k.name), onclick: () => void revoke(k.token_id, k.name) }, t().revoke),
      ),
    ),
  );
  return h(
    "section",
    { "aria-labelledby": "provisioning-h", id: "provisioning" },
    h("h2", { id: "provisioning-h" }, t().provisioningTitle),
    h("p", { class: "hint" }, t().provisioningIntro),
    h("p", {}, h("span", {}, `${t().scimBase}: `), h("code", { id: "scim-base" }, base), " ", copyButton("copy-scim-base", base, `${t().copy} ${t().scimBase}`)),
    shown &&
      h(
        "div",
        { class: "notice warn", id: "new-token", tabindex: -1, role: "status" },
        h("p", {}, t().tokenShownOnce(shown.name)),
        h("p", {}, h("code", { id: "new-token-value" }, shown.token), " ", copyButton("copy-token", shown.token, `${t().copy} ${shown.name}`)),
        h("button", { type: "button", class: "small", id: "token-done", onclick: () => { state.newToken = null; page.render(); document.getElementById("token-name")?.focus(); } }, t().tokenDone),
      ),
    rows.length === 0
      ? h("p", {}, t().noTokens)
      : h(
          "table",
          { id: "tokens-table" },
          h("thead", {}, h("tr", {}, col(t().tokenName), col(t().created), col(t().lastSync), h("th", { scope: "col" }, h("span", { class: "visually-hidden" }, t().actionsHead)))),
          h("tbody", {}, ...rows),
        ),
    h(
      "form",
      { class: "inline", onsubmit: (e: Event) => { e.preventDefault(); void create(input); } },
      h("label", { for: "token-name" }, t().tokenName),
      input,
      h("button", { type: "submit", id: "token-create" }, t().createToken),
    ),
  );
}
