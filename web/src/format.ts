// Money is integer minor units: shown by splitting the integer, never through a float.

import type { Lang } from "./i18n";

const locale = (lang: Lang) => (lang === "da" ? "da-DK" : "en-GB");

function fractionDigits(currency: string): number {
  try {
    return new Intl.NumberFormat("en", { style: "currency", currency }).resolvedOptions().maximumFractionDigits ?? 2;
  } catch {
    return 2;
  }
}

export function money(minor: number, currency: string, lang: Lang): string {
  const digits = fractionDigits(currency);
  const scale = 10 ** digits;
  const sign = minor < 0 ? "-" : "";
  const abs = Math.abs(minor);
  const major = Math.trunc(abs / scale);
  const cents = String(abs % scale).padStart(digits, "0");
  const whole = new Intl.NumberFormat(locale(lang), { maximumFractionDigits: 0 }).format(major);
  const decimal = lang === "da" ? "," : ".";
  return `${sign}${whole}${digits > 0 ? decimal + cents : ""} ${currency}`;
}

export function count(n: number, lang: Lang): string {
  return new Intl.NumberFormat(locale(lang)).format(n);
}

/** A calendar date (YYYY-MM-DD), shown as it is: no time zone may move it. */
export function date(iso: string, lang: Lang): string {
  const [y, m, d] = iso.split("-").map(Number);
  return new Intl.DateTimeFormat(locale(lang), { day: "numeric", month: "short", year: "numeric", timeZone: "UTC" }).format(
    new Date(Date.UTC(y ?? 1970, (m ?? 1) - 1, d ?? 1)),
  );
}

/** The day before a date: periods end exclusively, people read the last day. */
export function dayBefore(iso: string): string {
  const [y, m, d] = iso.split("-").map(Number);
  return new Date(Date.UTC(y ?? 1970, (m ?? 1) - 1, (d ?? 1) - 1)).toISOString().slice(0, 10);
}

/** An instant in the subscription's time zone, which is the one its deadlines are about. */
export function instant(iso: string, timeZone: string, lang: Lang): string {
  return new Intl.DateTimeFormat(locale(lang), {
    day: "numeric",
    month: "short",
    year: "numeric",
    hour: "2-digit",
    minute: "2-digit",
    timeZone,
    timeZoneName: "short",
  }).format(new Date(iso));
}

/**
 * An amount typed in major units ("1500", "1500.50", "1.500,50" in Danish) as integer minor
 * units, read digit by digit: never through a float. Null when it is not an amount.
 */
export function toMinor(typed: string, currency: string, lang: Lang): number | null {
  const digits = fractionDigits(currency);
  const [group, decimal] = lang === "da" ? [".", ","] : [",", "."];
  const [grouped = "", fraction = "", ...rest] = typed.trim().split(decimal);
  // Group separators only between groups of three digits: "1.500" is 1500 in Danish, but
  // "100.50" is not an amount there (it would be read as 10050).
  const groups = grouped.split(group);
  const wellGrouped = groups.length === 1 || (/^\d{1,3}$/.test(groups[0] ?? "") && groups.slice(1).every((g) => /^\d{3}$/.test(g)));
  const whole = groups.join("");
  if (rest.length > 0 || !wellGrouped || !/^\d+$/.test(whole) || !/^\d*$/.test(fraction) || fraction.length > digits) return null;
  const minor = Number(whole) * 10 ** digits + Number(fraction.padEnd(digits, "0") || "0");
  return Number.isSafeInteger(minor) ? minor : null;
}
