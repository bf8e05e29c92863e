// The renewal reminder's notice (R30), for holders of licences.manage: how many days before a
// period ends the managers are mailed the next period's counts and total. The approval
// threshold (R35), for administrators: purchases above it wait for a second approver.

import { type Account } from "../api";
import { h } from "../dom";
import { page } from "../hooks";
import * as fmt from "../format";
import { canManage, explain, isAdministrator, state, t } from "../state";

async function save(input: HTMLInputElement): Promise<void> {
  const n = Number(input.value);
  if (!state.api || input.value.trim() === "" || !Number.isInteger(n) || n < 0 || n > 60) {
    state.notice = { kind: "error", text: t().reminderRange };
    page.render();
    document.getElementById("reminder-days")?.focus();
    return;
  }
  try {
    state.account = await state.api.setSettings({ renewal_reminder_days: n });
    state.notice = { kind: "ok", text: t().reminderSaved(n) };
  } catch (error) {
    state.notice = { kind: "error", text: explain(error) };
  }
  page.render();
  document.getElementById("notice")?.focus();
}

async function saveLimit(input: HTMLInputElement, currency: string): Promise<void> {
  const typed = input.value.trim();
  const minor = typed === "" ? null : fmt.toMinor(typed, currency, state.lang);
  if (!state.api || (typed !== "" && minor === null)) {
    state.notice = { kind: "error", text: t().limitInvalid };
    page.render();
    document.getElementById("approval-limit")?.focus();
    return;
  }
  try {
    state.account = await state.api.setSettings({ approval_threshold: minor });
    state.notice = { kind: "ok", text: minor === null ? t().limitRemoved : t().limitSaved(fmt.money(minor, currency, state.lang)) };
  } catch (error) {
    state.notice = { kind: "error", text: explain(error) };
  }
  page.render();
  document.getElementById("notice")?.focus();
}

/** The limit as typed back into its field: major units, no grouping. */
function limitText(minor: number | null, currency: string): string {
  if (minor === null) return "";
  const shown = fmt.money(minor, currency, "en").replace(` ${currency}`, "").split(",").join("");
  return state.lang === "da" ? shown.replace(".", ",") : shown;
}

function limitForm(a: Account): HTMLElement {
  const input = h("input", { id: "approval-limit", type: "text", inputmode: "decimal", class: "qty", value: limitText(a.approval_threshold, a.currency), "aria-describedby": "limit-hint" });
  return h(
    "div",
    {},
    h(
      "form",
      { class: "inline", onsubmit: (e: Event) => { e.preventDefault(); void saveLimit(input, a.currency); } },
      h("label", { for: "approval-limit" }, t().limitLabel(a.currency)),
      input,
      h("button", { type: "submit", id: "limit-save" }, t().save),
    ),
    h("p", { class: "hint", id: "limit-hint" }, a.approval_threshold === null ? t().limitOff : t().limitHint(fmt.money(a.approval_threshold, a.currency, state.lang))),
  );
}

export function settings(a: Account): HTMLElement | false {
  if (!canManage()) return false;
  const input = h("input", {
    id: "reminder-days",
    type: "number",
    inputmode: "numeric",
    min: 0,
    max: 60,
    step: 1,
    class: "qty",
    value: a.renewal_reminder_days,
    "aria-describedby": "reminder-hint",
  });
  return h(
    "section",
    { "aria-labelledby": "settings-h", id: "settings" },
    h("h2", { id: "settings-h" }, t().reminderTitle),
    h(
      "form",
      { class: "inline", onsubmit: (e: Event) => { e.preventDefault(); void save(input); } },
      h("label", { for: "reminder-days" }, t().reminderLabel),
      input,
      h("button", { type: "submit", id: "reminder-save" }, t().save),
    ),
    h("p", { class: "hint", id: "reminder-hint" }, a.renewal_reminder_days > 0 ? t().reminderHint(a.renewal_reminder_days) : t().reminderOff),
    isAdministrator() && limitForm(a),
  );
}
