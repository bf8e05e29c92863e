// R38 for administrators: the tenant's webhook endpoints (add, with the signing secret shown
// once; turn on and off; send a test; a new secret; delete) and each one's recent attempts,
// any of which can be sent again.

import { type Account, type WebhookEndpoint } from "../api";
import { col, h } from "../dom";
import * as fmt from "../format";
import { page } from "../hooks";
import { explain, freshList, isAdministrator, state, t } from "../state";
import { copyButton } from "./provisioning";
import { confirmed } from "./users";

/** The events an endpoint may hear (the bus's, R21). */
export const EVENTS = [
  "LicencesPurchased",
  "InvoiceIssued",
  "NextPeriodChanged",
  "PeriodRolledOver",
  "SeatOverAllocated",
  "SeatRemoved",
  "UserActivated",
  "UserDeactivated",
  "PurchaseRequested",
  "PurchaseRequestDeclined",
  "PurchaseRequestExpired",
  "ApprovalThresholdChanged",
];

export async function loadWebhooks(): Promise<void> {
  const api = state.api;
  if (!api || !isAdministrator()) return;
  // An endpoint added, changed or deleted while the list was read is kept; unread, the section
  // keeps what it shows until the next load.
  state.webhooks = await freshList(() => state.webhooks, () => api.webhooks());
  const a = state.account;
  const fresh = a && webhooks(a);
  const old = document.getElementById("webhooks");
  if (!fresh || !old) return;
  // What was typed while the list loaded stays typed.
  for (const id of ["webhook-url", "webhook-description"]) {
    const typed = old.querySelector<HTMLInputElement>(`#${id}`);
    const field = fresh.querySelector<HTMLInputElement>(`#${id}`);
    if (typed && field) field.value = typed.value;
  }
  const focused = document.activeElement?.id;
  old.replaceWith(fresh);
  if (focused) document.getElementById(focused)?.focus();
}

function done(text: string, focus: string): void {
  state.notice = { kind: "ok", text };
  page.render();
  document.getElementById(focus)?.focus();
}

function failed(error: unknown): void {
  state.notice = { kind: "error", text: explain(error) };
  page.render();
  document.getElementById("notice")?.focus();
}

function replace(updated: WebhookEndpoint): void {
  state.webhooks = state.webhooks.map((e) => (e.endpoint_id === updated.endpoint_id ? updated : e));
}

async function add(form: HTMLFormElement): Promise<void> {
  if (!state.api) return;
  const data = new FormData(form);
  const url = String(data.get("url") ?? "").trim();
  const events = data.getAll("events").map(String);
  if (!/^https?:\/\/\S+$/.test(url)) {
    state.notice = { kind: "error", text: t().webhookUrlInvalid };
    page.render();
    document.getElementById("webhook-url")?.focus();
    return;
  }
  if (events.length === 0) {
    state.notice = { kind: "error", text: t().webhookEventsNone };
    page.render();
    return;
  }
  try {
    const made = await state.api.createWebhook(url, events, String(data.get("description") ?? "").trim());
    state.webhooks = [...state.webhooks, made];
    state.newSecret = { url: made.url, secret: made.secret };
    state.notice = { kind: "ok", text: t().webhookAdded(made.url) };
    page.render();
    document.getElementById("new-secret")?.focus();
  } catch (error) {
    failed(error);
  }
}

async function switchOn(e: WebhookEndpoint, on: boolean): Promise<void> {
  if (!state.api) return;
  try {
    replace(await state.api.updateWebhook(e.endpoint_id, { enabled: on }));
    done(t().webhookSwitched(e.url, on), `switch-${e.endpoint_id}`);
  } catch (error) {
    failed(error);
  }
}

async function test(e: WebhookEndpoint): Promise<void> {
  if (!state.api) return;
  try {
    await state.api.testWebhook(e.endpoint_id);
    done(t().testSent(e.url), `test-${e.endpoint_id}`);
  } catch (error) {
    failed(error);
  }
}

async function rotate(e: WebhookEndpoint): Promise<void> {
  if (!state.api) return;
  if (!(await confirmed(t().rotateTitle(e.url), t().rotateText, t().rotateSecret))) {
    document.getElementById(`rotate-${e.endpoint_id}`)?.focus();
    return;
  }
  try {
    const made = await state.api.rotateWebhookSecret(e.endpoint_id);
    replace(made);
    state.newSecret = { url: made.url, secret: made.secret };
    state.notice = { kind: "ok", text: t().rotated(made.url) };
    page.render();
    document.getElementById("new-secret")?.focus();
  } catch (error) {
    failed(error);
  }
}

async function remove(e: WebhookEndpoint): Promise<void> {
  if (!state.api) return;
  if (!(await confirmed(t().deleteTitle(e.url), t().deleteText, t().delete))) {
    document.getElementById(`delete-${e.endpoint_id}`)?.focus();
    return;
  }
  try {
    await state.api.deleteWebhook(e.endpoint_id);
    state.webhooks = state.webhooks.filter((w) => w.endpoint_id !== e.endpoint_id);
    if (state.attempts?.endpoint_id === e.endpoint_id) state.attempts = null;
    done(t().webhookDeleted(e.url), "notice");
  } catch (error) {
    failed(error);
  }
}

async function showAttempts(e: WebhookEndpoint): Promise<void> {
  if (!state.api) return;
  try {
    state.attempts = { endpoint_id: e.endpoint_id, items: (await state.api.webhookAttempts(e.endpoint_id)).items };
    page.render();
    document.getElementById("attempts-h")?.focus();
  } catch (error) {
    failed(error);
  }
}

async function resend(e: WebhookEndpoint, message: string): Promise<void> {
  if (!state.api) return;
  try {
    await state.api.resendWebhookMessage(e.endpoint_id, message);
    done(t().resent, "notice");
  } catch (error) {
    failed(error);
  }
}

function stateText(e: WebhookEndpoint, a: Account): string {
  const when = (at: string) => fmt.instant(at, a.time_zone, state.lang);
  const parts = [e.enabled ? t().webhookOn : t().webhookOff(e.disabled_reason)];
  if (e.failing_since) parts.push(t().failingSince(when(e.failing_since)));
  if (e.previous_secret_until) parts.push(t().previousSecretUntil(when(e.previous_secret_until)));
  return parts.join("; ");
}

function attemptsTable(e: WebhookEndpoint, a: Account): HTMLElement | false {
  const open = state.attempts;
  if (!open || open.endpoint_id !== e.endpoint_id) return false;
  const when = (at: string) => fmt.instant(at, a.time_zone, state.lang);
  return h(
    "div",
    { id: "attempts" },
    h("h3", { id: "attempts-h", tabindex: -1 }, t().attemptsTitle(e.url)),
    open.items.length === 0
      ? h("p", {}, t().noAttempts)
      : h(
          "table",
          { id: "attempts-table" },
          h("thead", {}, h("tr", {}, col(t().attemptAt), col(t().attemptEvent), col(t().attemptStatus), col(t().attemptLatency), h("th", { scope: "col" }, h("span", { class: "visually-hidden" }, t().actionsHead)))),
          h(
            "tbody",
            {},
            ...open.items.map((x) =>
              h(
                "tr",
                { "data-message": x.message_id },
                h("td", {}, when(x.at)),
                h("td", {}, x.event_type),
                h("td", { title: x.error ?? x.answer }, x.status === null ? `${t().noAnswer}${x.error ? `: ${x.error}` : ""}` : String(x.status)),
                h("td", {}, `${x.latency_ms} ms`),
                h("td", { class: "row-actions" }, h("button", { type: "button", class: "small", "aria-label": t().resendMessage(x.event_type, when(x.at)), onclick: () => void resend(e, x.message_id) }, t().resend)),
              ),
            ),
          ),
        ),
  );
}

export function webhooks(a: Account): HTMLElement | false {
  if (!isAdministrator() || !state.api) return false;
  const shown = state.newSecret;
  const button = (id: string, label: string, aria: string, onclick: () => void) =>
    h("button", { type: "button", class: "small", id, "aria-label": aria, onclick }, label);
  const rows = state.webhooks.map((e) =>
    h(
      "tr",
      { "data-endpoint": e.endpoint_id },
      h("th", { scope: "row" }, h("code", {}, e.url), e.description && h("div", { class: "hint" }, e.description)),
      h("td", {}, e.events.length === EVENTS.length ? t().allEvents : e.events.join(", ")),
      h("td", { class: "webhook-state" }, stateText(e, a)),
      h(
        "td",
        { class: "row-actions" },
        button(`switch-${e.endpoint_id}`, e.enabled ? t().disable : t().enable, `${e.enabled ? t().disable : t().enable} ${e.url}`, () => void switchOn(e, !e.enabled)),
        button(`test-${e.endpoint_id}`, t().sendTest, `${t().sendTest} ${e.url}`, () => void test(e)),
        button(`attempts-${e.endpoint_id}`, t().showAttempts, t().attemptsTitle(e.url), () => void showAttempts(e)),
        button(`rotate-${e.endpoint_id}`, t().rotateSecret, `${t().rotateSecret} ${e.url}`, () => void rotate(e)),
        button(`delete-${e.endpoint_id}`, t().delete, t().deleteWebhook(e.url), () => void remove(e)),
      ),
    ),
  );
  const checks = EVENTS.map((event) =>
    h("label", { class: "check" }, h("input", { type: "checkbox", name: "events", value: event, checked: true }), ` ${event}`),
  );
  const form: HTMLFormElement = h(
    "form",
    { id: "webhook-form", class: "stacked", onsubmit: (ev: Event) => { ev.preventDefault(); void add(form); } },
    h("label", { for: "webhook-url" }, t().webhookUrl),
    h("input", { id: "webhook-url", name: "url", type: "url", maxlength: 2048, placeholder: "https://erp.example.com/licences", required: true }),
    h("label", { for: "webhook-description" }, t().webhookDescription),
    h("input", { id: "webhook-description", name: "description", type: "text", maxlength: 200 }),
    h("fieldset", {}, h("legend", {}, t().webhookEvents), ...checks),
    h("button", { type: "submit", id: "webhook-add" }, t().addWebhook),
  );
  const open = state.webhooks.find((e) => e.endpoint_id === state.attempts?.endpoint_id);
  return h(
    "section",
    { "aria-labelledby": "webhooks-h", id: "webhooks" },
    h("h2", { id: "webhooks-h" }, t().webhooksTitle),
    h("p", { class: "hint" }, t().webhooksIntro),
    shown &&
      h(
        "div",
        { class: "notice warn", id: "new-secret", tabindex: -1, role: "status" },
        h("p", {}, t().secretShownOnce(shown.url)),
        h("p", {}, h("code", { id: "new-secret-value" }, shown.secret), " ", copyButton("copy-secret", shown.secret, `${t().copy} ${shown.url}`)),
        h("button", { type: "button", class: "small", id: "secret-done", onclick: () => { state.newSecret = null; page.render(); document.getElementById("webhook-url")?.focus(); } }, t().secretDone),
      ),
    rows.length === 0
      ? h("p", {}, t().noWebhooks)
      : h(
          "table",
          { id: "webhooks-table" },
          h("thead", {}, h("tr", {}, col(t().webhookUrl), col(t().webhookEvents), col(t().webhookState), h("th", { scope: "col" }, h("span", { class: "visually-hidden" }, t().actionsHead)))),
          h("tbody", {}, ...rows),
        ),
    open && attemptsTable(open, a),
    state.webhooks.length < 10 && form,
  );
}
