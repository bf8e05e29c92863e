// The renewal reminder's notice (R30), for holders of licences.manage: how many days before a
// period ends the managers are mailed the next period's counts and total.

import { type Account } from "../api";
import { h } from "../dom";
import { page } from "../hooks";
import { canManage, explain, state, t } from "../state";

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
  );
}
