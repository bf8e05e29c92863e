// Usage over time (R37): per pool, the licences bought against those in use, one reading a
// day for the last 90 days, with the peak and the next period's count. Drawn as SVG by hand
// (docs/decisions/0012-usage-history.md): the chart is an image with a text alternative, a
// day's numbers on hover or with the arrow keys, and every number in a table.

import { type PoolUsage, type UsageDay } from "../api";
import { col, h } from "../dom";
import * as fmt from "../format";
import { state, t } from "../state";

const SVG = "http://www.w3.org/2000/svg";
const WIDTH = 600;
const HEIGHT = 140;

function svg(tag: string, attrs: Record<string, string | number>, ...children: (Node | string)[]): SVGElement {
  const el = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) el.setAttribute(name, String(value));
  el.append(...children);
  return el;
}

/** A day as words: its counts, or that it has no reading. */
function dayText(day: UsageDay): string {
  const when = fmt.date(day.date, state.lang);
  if (day.purchased === null || day.in_use === null) return t().usageMissing(when);
  return t().usageDay(when, fmt.count(day.purchased, state.lang), fmt.count(day.in_use, state.lang));
}

/** A line through the days that have a reading, lifted where a day has none. */
function line(days: UsageDay[], x: (i: number) => number, y: (n: number) => number, pick: (d: UsageDay) => number | null): string {
  let path = "";
  let drawing = false;
  days.forEach((day, i) => {
    const value = pick(day);
    if (value === null) {
      drawing = false;
      return;
    }
    path += `${drawing ? "L" : "M"}${x(i).toFixed(1)} ${y(value).toFixed(1)}`;
    drawing = true;
  });
  return path;
}

function chart(pool: PoolUsage): HTMLElement {
  const key = pool.pool;
  const name = key === "licences" ? t().licences : pool.name;
  const days = pool.days;
  const top = Math.max(1, pool.next_period ?? 0, ...days.flatMap((d) => [d.purchased ?? 0, d.in_use ?? 0]));
  // Room on the left for the scale's numbers, and for a point's radius everywhere.
  const left = 28;
  const x = (i: number) => (days.length < 2 ? (left + WIDTH) / 2 : left + (i * (WIDTH - left - 4)) / (days.length - 1));
  const y = (n: number) => HEIGHT - 6 - (n * (HEIGHT - 16)) / top;
  const facts = [
    pool.peak && t().peak(fmt.count(pool.peak.in_use, state.lang), fmt.date(pool.peak.date, state.lang)),
    pool.next_period !== null && t().nextPeriodCount(fmt.count(pool.next_period, state.lang)),
  ].filter((f): f is string => typeof f === "string");
  const first = days[0];
  const last = days[days.length - 1];
  const summary = [first && last ? t().usageSpan(name, fmt.date(first.date, state.lang), fmt.date(last.date, state.lang)) : name, last ? dayText(last) : "", ...facts].filter(Boolean).join(". ");
  const readout = h("p", { class: "readout", id: `usage-${key}-readout`, "aria-live": "polite" }, last ? dayText(last) : t().noUsage);
  const marker = svg("line", { class: "marker", x1: 0, x2: 0, y1: 0, y2: HEIGHT, visibility: "hidden" });
  let at = days.length - 1;
  const show = (i: number) => {
    at = Math.min(days.length - 1, Math.max(0, i));
    const day = days[at];
    if (!day) return;
    marker.setAttribute("x1", x(at).toFixed(1));
    marker.setAttribute("x2", x(at).toFixed(1));
    marker.setAttribute("visibility", "visible");
    readout.textContent = dayText(day);
  };
  const points = days.map((d, i) =>
    svg("circle", {
      class: d.in_use === null ? "point missing" : "point",
      cx: x(i).toFixed(1),
      cy: y(d.in_use ?? 0).toFixed(1),
      r: d.in_use === null ? 0 : 2,
      "data-date": d.date,
      "data-purchased": d.purchased ?? "",
      "data-in-use": d.in_use ?? "",
    }),
  );
  const image = svg(
    "svg",
    { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, role: "img", tabindex: 0, class: "chart", id: `usage-${key}-chart`, "aria-labelledby": `usage-${key}-title usage-${key}-desc` },
    svg("title", { id: `usage-${key}-title` }, name),
    svg("desc", { id: `usage-${key}-desc` }, summary),
    svg("line", { class: "axis", x1: left, x2: WIDTH, y1: y(0), y2: y(0) }),
    svg("line", { class: "axis", x1: left, x2: WIDTH, y1: y(top), y2: y(top) }),
    svg("text", { class: "scale", x: left - 6, y: y(0), "aria-hidden": "true" }, fmt.count(0, state.lang)),
    svg("text", { class: "scale", x: left - 6, y: y(top), "aria-hidden": "true" }, fmt.count(top, state.lang)),
    svg("path", { class: "bought", d: line(days, x, y, (d) => d.purchased) }),
    svg("path", { class: "in-use", d: line(days, x, y, (d) => d.in_use) }),
    marker,
    ...points,
  );
  image.addEventListener("keydown", (e: Event) => {
    const step = { ArrowLeft: -1, ArrowRight: 1, Home: -days.length, End: days.length }[(e as KeyboardEvent).key];
    if (step === undefined) return;
    e.preventDefault();
    show(at + step);
  });
  image.addEventListener("focus", () => show(at));
  image.addEventListener("mousemove", (e: Event) => {
    const box = image.getBoundingClientRect();
    if (box.width > 0) show(Math.round((((e as MouseEvent).clientX - box.left) / box.width) * (days.length - 1)));
  });
  const rows = days.map((d) =>
    h("tr", {}, h("th", { scope: "row" }, fmt.date(d.date, state.lang)), h("td", { class: "num" }, d.purchased === null ? "–" : fmt.count(d.purchased, state.lang)), h("td", { class: "num" }, d.in_use === null ? "–" : fmt.count(d.in_use, state.lang))),
  );
  return h(
    "figure",
    { class: "usage", "data-pool": key },
    h("figcaption", {}, h("strong", {}, name), " ", h("span", { class: "legend bought" }, t().bought), " ", h("span", { class: "legend in-use" }, t().inUse), ...facts.map((f) => h("span", { class: "fact" }, f))),
    image,
    readout,
    h("details", {}, h("summary", {}, t().usageTable(name)), h("table", {}, h("thead", {}, h("tr", {}, col(t().day), col(t().bought, true), col(t().inUse, true))), h("tbody", {}, ...rows))),
  );
}

export function usage(): HTMLElement {
  const pools = state.usage?.pools ?? [];
  const read = pools.some((p) => p.days.length > 0);
  return h(
    "section",
    { "aria-labelledby": "usage-h", id: "usage-section" },
    h("h2", { id: "usage-h" }, t().usage),
    read ? h("p", { class: "hint" }, t().usageIntro) : h("p", {}, state.usage ? t().noUsage : t().loading),
    ...(read ? pools.map(chart) : []),
  );
}
