// The users view (users.manage): the users by licence state, a page at a time, with
// activate, deactivate (both confirmed) and role and modules. A deactivation anywhere on the
// page (here, beside a red user, beside a downscale's seat) updates the counts at once.

import { type LicenceState, type UserRow } from "../api";
import { col, h } from "../dom";
import * as fmt from "../format";
import { page } from "../hooks";
import { canManageUsers, explain, state, t } from "../state";

const ask = h("dialog", { id: "ask", "aria-labelledby": "ask-h", "aria-describedby": "ask-text" });
document.body.append(ask);

/** A yes/no question in a modal dialog; Escape and Cancel answer no. */
export function confirmed(title: string, text: string, yes: string): Promise<boolean> {
  return new Promise((resolve) => {
    const answer = (value: boolean) => {
      ask.removeEventListener("close", closed);
      if (ask.open) ask.close();
      resolve(value);
    };
    const closed = () => answer(false);
    const ok = h("button", { type: "button", class: "primary", id: "ask-yes", onclick: () => answer(true) }, yes);
    ask.replaceChildren(
      h("h2", { id: "ask-h" }, title),
      h("p", { id: "ask-text" }, text),
      h("div", { class: "actions" }, ok, h("button", { type: "button", id: "ask-no", onclick: () => answer(false) }, t().cancel)),
    );
    ask.addEventListener("close", closed);
    ask.showModal();
    ok.focus();
  });
}

/** The list asked for last: a filter changed twice quickly shows the second's answer. */
let listSeq = 0;

/**
 * Loads the first page of the users view for the current filter, and the roles. False when
 * a later load superseded this one: it changed nothing on the page.
 */
export async function loadUsers(): Promise<boolean> {
  if (!state.api || !canManageUsers()) return false;
  const seq = ++listSeq;
  try {
    const [page, roles] = await Promise.all([
      state.api.users(state.usersFilter, null),
      state.roles.length > 0 ? Promise.resolve(null) : state.api.roles(),
    ]);
    if (seq !== listSeq) return false;
    state.users = page.items;
    state.usersCursor = page.next_cursor;
    if (roles) state.roles = roles.map((r) => r.role);
  } catch (error) {
    if (seq !== listSeq) return false;
    state.notice = { kind: "error", text: explain(error) };
  }
  state.usersLoaded = true;
  renderUsers();
  return true;
}

async function moreUsers(): Promise<void> {
  if (!state.api || !state.usersCursor) return;
  const seq = listSeq;
  const first = state.users.length;
  try {
    const page = await state.api.users(state.usersFilter, state.usersCursor);
    if (seq !== listSeq) return;
    state.users.push(...page.items);
    state.usersCursor = page.next_cursor;
  } catch (error) {
    state.notice = { kind: "error", text: explain(error) };
    page.render();
    return;
  }
  renderUsers();
  // The keyboard continues where the new rows begin.
  (document.querySelector(`#users-table tbody tr:nth-child(${first + 1}) button`) as HTMLElement | null)?.focus();
}

/** Swaps in only the users section, leaving what is typed elsewhere alone. */
export function renderUsers(): void {
  const fresh = users();
  if (fresh) document.getElementById("users")?.replaceWith(fresh);
}

/** The numbers behind the page after a user changed: the account, then the lists. */
async function afterChange(changed: UserRow, focusId: string): Promise<void> {
  const i = state.users.findIndex((u) => u.user_id === changed.user_id);
  if (i >= 0) {
    if (state.usersFilter && changed.licence_state !== state.usersFilter) state.users.splice(i, 1);
    else state.users[i] = changed;
  }
  if (state.api) {
    try {
      state.account = await state.api.account();
    } catch {
      // The user's change stands; the counts catch up on the next load.
    }
  }
  if (!changed.active) {
    state.gone.add(changed.user_id);
    state.moreReds = state.moreReds.filter((u) => u.user_id !== changed.user_id);
    if (state.notice?.users) {
      state.notice.users = state.notice.users.filter((u) => u.user_id !== changed.user_id);
    }
  } else {
    state.gone.delete(changed.user_id);
  }
  page.render();
  (document.getElementById(focusId) ?? document.getElementById("users-h"))?.focus();
}

/** Deactivates a user after asking; used beside red users and a downscale's seats too. */
export async function deactivate(userId: string, name: string, focusId: string): Promise<void> {
  if (!state.api) return;
  if (!(await confirmed(t().deactivateTitle(name), t().deactivateText(name), t().deactivate))) {
    document.getElementById(focusId)?.focus();
    return;
  }
  try {
    const user = await state.api.deactivate(userId);
    state.notice = { kind: "ok", text: t().deactivated(name) };
    await afterChange(user, "notice");
  } catch (error) {
    state.notice = { kind: "error", text: explain(error) };
    page.render();
    document.getElementById("notice")?.focus();
  }
}

async function activate(user: UserRow): Promise<void> {
  if (!state.api) return;
  const focusId = `activate-${user.user_id}`;
  const full = (state.account?.licences.available ?? 0) === 0;
  const text = full ? t().activateNoLicence(user.name) : t().activateText(user.name);
  if (!(await confirmed(t().activateTitle(user.name), text, t().activate))) {
    document.getElementById(focusId)?.focus();
    return;
  }
  try {
    const changed = await state.api.activate(user.user_id);
    state.notice = { kind: changed.licence_state === "over_allocated" ? "warn" : "ok", text: t().activated(user.name, changed.licence_state === "over_allocated") };
    await afterChange(changed, "notice");
  } catch (error) {
    state.notice = { kind: "error", text: explain(error) };
    page.render();
    document.getElementById("notice")?.focus();
  }
}

/** The button that deactivates one user, with a name a screen reader can tell apart. */
export function deactivateButton(userId: string, name: string, where: string): HTMLButtonElement {
  const id = `${where}-deactivate-${userId}`;
  return h(
    "button",
    { type: "button", class: "small", id, "aria-label": t().deactivateUser(name), onclick: () => void deactivate(userId, name, id) },
    t().deactivate,
  );
}

/** The user being edited (role and modules), if any. */
let editing: string | null = null;

function roles(): string[] {
  const known = new Set(["administrator", "user", ...state.roles, ...state.users.map((u) => u.role)]);
  return [...known].sort();
}

function editor(user: UserRow): HTMLElement {
  const a = state.account;
  const role = h(
    "select",
    { id: `role-${user.user_id}` },
    ...roles().map((r) => h("option", { value: r, selected: r === user.role }, t().roleName(r))),
  );
  const boxes = (a?.modules ?? []).map((m) => {
    const id = `module-${user.user_id}-${m.module_id}`;
    return h(
      "label",
      { for: id, class: "check" },
      h("input", { type: "checkbox", id, value: m.module_id ?? "", checked: user.modules.includes(m.module_id ?? "") }),
      ` ${m.name ?? m.module_id}`,
    );
  });
  const save = async (e: Event) => {
    e.preventDefault();
    if (!state.api) return;
    const modules = boxes.map((b) => b.querySelector("input") as HTMLInputElement).filter((i) => i.checked).map((i) => i.value);
    try {
      const changed = await state.api.updateUser(user.user_id, { role: role.value, modules });
      editing = null;
      state.notice = { kind: "ok", text: t().userSaved(user.name) };
      await afterChange(changed, `edit-user-${user.user_id}`);
    } catch (error) {
      state.notice = { kind: "error", text: explain(error) };
      page.render();
      document.getElementById("notice")?.focus();
    }
  };
  return h(
    "form",
    { class: "user-edit", onsubmit: (e: Event) => void save(e) },
    h("label", { for: `role-${user.user_id}` }, t().role),
    role,
    boxes.length > 0 && h("fieldset", {}, h("legend", {}, t().modules), ...boxes),
    h("button", { type: "submit", class: "small primary", id: `save-user-${user.user_id}` }, t().save),
    h(
      "button",
      {
        type: "button",
        class: "small",
        onclick: () => {
          editing = null;
          renderUsers();
          document.getElementById(`edit-user-${user.user_id}`)?.focus();
        },
      },
      t().cancel,
    ),
  );
}

function stateText(u: UserRow): string {
  const a = state.account;
  if (u.licence_state === "over_allocated" && u.deadline && a) return t().withoutUntil(fmt.instant(u.deadline, a.time_zone, state.lang));
  return t().licenceStates[u.licence_state] ?? u.licence_state;
}

function row(u: UserRow): HTMLTableRowElement {
  const actions = h(
    "td",
    { class: "row-actions" },
    u.active
      ? deactivateButton(u.user_id, u.name, "users")
      : h("button", { type: "button", class: "small", id: `activate-${u.user_id}`, "aria-label": t().activateUser(u.name), onclick: () => void activate(u) }, t().activate),
    h(
      "button",
      {
        type: "button",
        class: "small",
        id: `edit-user-${u.user_id}`,
        "aria-label": t().editUser(u.name),
        "aria-expanded": editing === u.user_id ? "true" : "false",
        onclick: () => {
          editing = editing === u.user_id ? null : u.user_id;
          renderUsers();
          (document.getElementById(`role-${u.user_id}`) ?? document.getElementById(`edit-user-${u.user_id}`))?.focus();
        },
      },
      t().change,
    ),
  );
  const moduleNames = u.modules.map((m) => state.account?.modules.find((p) => p.module_id === m)?.name ?? m).join(", ");
  return h(
    "tr",
    { "data-user": u.user_id, class: u.licence_state === "over_allocated" ? "red" : undefined },
    h(
      "th",
      { scope: "row" },
      u.name,
      h("span", { class: "sub" }, u.email),
      u.mail_suppressed
        ? h("span", { class: "sub suppressed", title: u.mail_suppressed.detail }, t().mailSuppressed(u.mail_suppressed.reason))
        : null,
      u.directory
        ? h("span", { class: "sub directory", title: u.directory.user_name }, u.directory.deprovisioned ? t().deprovisionedBy(u.directory.token_name) : t().managedBy(u.directory.token_name))
        : null,
    ),
    h("td", {}, t().roleName(u.role)),
    h("td", {}, moduleNames),
    h("td", { class: u.licence_state === "over_allocated" ? "deadline" : undefined }, stateText(u)),
    editing === u.user_id ? h("td", { class: "row-actions" }, editor(u)) : actions,
  );
}

/** The users section; nothing for a caller without users.manage. */
export function users(): HTMLElement | null {
  if (!canManageUsers() || !state.account) return null;
  const filter = h(
    "select",
    {
      id: "users-filter",
      onchange: (e: Event) => {
        state.usersFilter = (e.target as HTMLSelectElement).value as LicenceState | "";
        // The section is drawn anew, filter included, so the focus goes back to the filter;
        // a superseded load drew nothing, and taking the focus then would pull the keyboard
        // back from wherever it has gone since.
        void loadUsers().then((drawn) => drawn && document.getElementById("users-filter")?.focus());
      },
    },
    ...(["", "licensed", "over_allocated", "inactive"] as const).map((v) => h("option", { value: v, selected: state.usersFilter === v }, v ? t().licenceStates[v] ?? v : t().allUsers)),
  );
  const list = state.users;
  return h(
    "section",
    { "aria-labelledby": "users-h", id: "users" },
    h("h2", { id: "users-h", tabindex: -1 }, t().usersTitle),
    h("p", { class: "filter" }, h("label", { for: "users-filter" }, t().show), filter),
    !state.usersLoaded
      ? h("p", {}, t().loading)
      : list.length === 0
        ? h("p", {}, t().noUsers)
        : h(
            "table",
            { id: "users-table" },
            h("thead", {}, h("tr", {}, col(t().user), col(t().role), col(t().modules), col(t().licence), h("th", { scope: "col" }, h("span", { class: "visually-hidden" }, t().actionsHead)))),
            h("tbody", {}, ...list.map(row)),
          ),
    state.usersCursor && h("p", {}, h("button", { type: "button", id: "users-more", onclick: () => void moreUsers() }, t().showMoreUsers)),
  );
}
