// The users without a licence (R3, R4): who, since when, until when, and a Buy for them.

import { type Account } from "../api";
import { col, h } from "../dom";
import * as fmt from "../format";
import { purchase } from "../purchase";
import { canManage, canManageUsers, poolKey, poolName, state, t } from "../state";
import { page } from "../hooks";
import { deactivateButton } from "./users";

export function reds(a: Account): HTMLElement {
  const pools = [a.licences, ...a.modules].filter((p) => p.over_allocated.length > 0);
  const manageUsers = canManageUsers();
  const row = (id: string, name: string, pool: string, since: string | null, deadline: string | null) =>
    h(
      "tr",
      { "data-user": id },
      h("th", { scope: "row" }, name),
      h("td", {}, pool),
      h("td", {}, since ? fmt.instant(since, a.time_zone, state.lang) : ""),
      h("td", { class: "deadline" }, deadline ? fmt.instant(deadline, a.time_zone, state.lang) : ""),
      manageUsers && h("td", { class: "row-actions" }, deactivateButton(id, name, "reds")),
    );
  const rows = pools.flatMap((p) => p.over_allocated.map((r) => row(r.user_id, r.name, poolName(p), r.since, r.deadline)));
  // Past the account's first 100 (R26), the users list pages the rest of the licences' red
  // users, for whoever may list users.
  const listed = new Set(a.licences.over_allocated.map((r) => r.user_id));
  const more = state.moreReds.filter((u) => !listed.has(u.user_id));
  rows.push(...more.map((u) => row(u.user_id, u.name, poolName(a.licences), u.activated_at, u.deadline)));
  const hidden = a.licences.over_allocated_count - a.licences.over_allocated.length - more.length;
  const pager =
    canManageUsers() && hidden > 0 && state.redsCursor !== null
      ? h("p", {}, h("button", { type: "button", id: "reds-more", onclick: () => void showMore() }, t().showMore(hidden)))
      : false;
  return h(
    "section",
    { "aria-labelledby": "reds-h", id: "reds" },
    h("h2", { id: "reds-h" }, t().reds),
    rows.length === 0
      ? h("p", {}, t().noReds)
      : h(
          "div",
          {},
          h("p", {}, t().redsIntro),
          h(
            "table",
            {},
            h("thead", {}, h("tr", {}, col(t().user), col(t().pool), col(t().since), col(t().deadline), manageUsers && h("th", { scope: "col" }, h("span", { class: "visually-hidden" }, t().actionsHead)))),
            h("tbody", {}, ...rows),
          ),
          // The account lists the nearest deadlines only (R26); say so when there are more.
          ...pools
            .filter((p) => p.over_allocated_count > p.over_allocated.length)
            .map((p) =>
              h("p", { class: "hint", id: `reds-shown-${poolKey(p)}` }, t().redsShown(poolName(p), p.over_allocated.length + (p === a.licences ? more.length : 0), p.over_allocated_count)),
            ),
          pager,
          canManage() &&
            h(
              "p",
              { class: "actions" },
              ...pools.map((p) =>
                h("button", { type: "button", onclick: () => { fill(poolKey(p), p.over_allocated_count); void purchase(); } }, `${t().buyFor(p.over_allocated_count)} (${poolName(p)})`),
              ),
            ),
        ),
  );
}

function fill(key: string, n: number): void {
  state.buy[key] = String(n);
  const input = document.getElementById(`buy-${key}`) as HTMLInputElement | null;
  if (input) input.value = state.buy[key];
}

/** The next page of red users; the button keeps the focus where the new rows begin. */
async function showMore(): Promise<void> {
  if (!state.api || state.redsCursor === null) return;
  try {
    const page = await state.api.redUsers(state.redsCursor ?? null);
    state.moreReds.push(...page.items);
    state.redsCursor = page.next_cursor;
  } catch {
    state.redsCursor = null;
  }
  page.render();
}
