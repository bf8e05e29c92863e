// The users without a licence (R3, R4): who, since when, until when, and a Buy for them.

import { type Account } from "../api";
import { col, h } from "../dom";
import * as fmt from "../format";
import { purchase } from "../purchase";
import { canManage, poolKey, poolName, state, t } from "../state";

export function reds(a: Account): HTMLElement {
  const pools = [a.licences, ...a.modules].filter((p) => p.over_allocated.length > 0);
  const rows = pools.flatMap((p) =>
    p.over_allocated.map((r) =>
      h(
        "tr",
        { "data-user": r.user_id },
        h("th", { scope: "row" }, r.name),
        h("td", {}, poolName(p)),
        h("td", {}, fmt.instant(r.since, a.time_zone, state.lang)),
        h("td", { class: "deadline" }, fmt.instant(r.deadline, a.time_zone, state.lang)),
      ),
    ),
  );
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
          h("table", {}, h("thead", {}, h("tr", {}, col(t().user), col(t().pool), col(t().since), col(t().deadline))), h("tbody", {}, ...rows)),
          // The account lists the nearest deadlines only (R26); say so when there are more.
          ...pools
            .filter((p) => p.over_allocated_count > p.over_allocated.length)
            .map((p) => h("p", { class: "hint" }, t().redsShown(poolName(p), p.over_allocated.length, p.over_allocated_count))),
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
