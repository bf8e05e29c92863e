// DOM helpers: elements are built, never parsed from strings, so no data becomes markup.

type Attrs = Record<string, string | number | boolean | ((e: Event) => void) | undefined>;
export type Child = Node | string | null | undefined | false;

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === false) continue;
    if (typeof value === "function") el.addEventListener(name.slice(2).toLowerCase(), value);
    else if (value === true) el.setAttribute(name, "");
    else el.setAttribute(name, String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child);
  }
  return el;
}

/** A column header; `num` right-aligns it over numbers. */
export function col(text: string, num = false): HTMLTableCellElement {
  return h("th", { scope: "col", class: num ? "num" : undefined }, text);
}

/** A titled section holding a table, or a sentence when there are no rows. */
export function listSection(id: string, title: string, empty: string, head: Child[], rows: HTMLTableRowElement[]): HTMLElement {
  return h(
    "section",
    { "aria-labelledby": `${id}-h`, id: `${id}-section` },
    h("h2", { id: `${id}-h` }, title),
    rows.length === 0 ? h("p", {}, empty) : h("table", { id: `${id}-table` }, h("thead", {}, h("tr", {}, ...head)), h("tbody", {}, ...rows)),
  );
}
