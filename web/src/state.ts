// The page's state, what the caller may do, and the words in the chosen language.

import { ApiError, type Account, type Api, type Invoice, type LicenceState, type LogEntry, type NextPeriodPreview, type Pool, type PoolCounts, type PurchaseRequest, type ScimToken, type Usage, type UserRow, type WebhookAttempt, type WebhookEndpoint } from "./api";
import type { Config } from "./auth";
import { initialLang, words, type Lang, type Words } from "./i18n";

/** A notice; `users` lists people with a Deactivate beside each (a downscale's result). */
type Notice = { kind: "ok" | "warn" | "error"; text: string; list?: string[]; users?: { user_id: string; name: string }[]; more?: number };

interface State {
  lang: Lang;
  api: Api | null;
  config: Config;
  account: Account | null;
  invoices: Invoice[];
  log: LogEntry[];
  notice: Notice | null;
  /** The pool whose next period is being edited: "licences" or a module id. */
  editing: string | null;
  /** What was typed into the next-period field, kept across re-renders. */
  draft: string;
  /** What was typed into the Buy column, by pool, kept across re-renders. */
  buy: Record<string, string>;
  loadError: ApiError | null;
  /** Users without a licence paged in past the account's first 100, and where to go on
   * (`null`: no more; `undefined`: none paged in yet). */
  moreReds: UserRow[];
  redsCursor: string | null | undefined;
  /** Where the invoices and the action log go on (`null`: nothing more). */
  invoicesCursor: string | null;
  logCursor: string | null;
  /** The users view: its filter, what is listed and where it goes on. */
  usersFilter: LicenceState | "";
  users: UserRow[];
  usersCursor: string | null;
  usersLoaded: boolean;
  /** The tenant's role names, for a user's role. */
  roles: string[];
  /** Users deactivated from the page in this load, kept out of the lists until reloaded. */
  gone: Set<string>;
  /** The preview of the next-period change being typed (R28), for the pool being edited. */
  preview: NextPeriodPreview | null;
  /** The invoice opened for printing (R31), or null for the page. */
  invoice: Invoice | null;
  /** The last 90 days of usage (R37), once read. */
  usage: Usage | null;
  /** R35: the purchase requests, newest first (holders of licences.manage). */
  requests: PurchaseRequest[];
  /** R34: the provisioning tokens (users.manage), and a new one's secret until dismissed. */
  tokens: ScimToken[];
  newToken: { name: string; token: string } | null;
  /** R38: the webhook endpoints (administrators), a secret until dismissed, and the attempts
   * of the endpoint whose history is open. */
  webhooks: WebhookEndpoint[];
  newSecret: { url: string; secret: string } | null;
  attempts: { endpoint_id: string; items: WebhookAttempt[] } | null;
}

export const state: State = {
  lang: initialLang(),
  api: null,
  config: { api_base: "", oidc: null },
  account: null,
  invoices: [],
  log: [],
  notice: null,
  editing: null,
  draft: "",
  buy: {},
  loadError: null,
  moreReds: [],
  redsCursor: undefined,
  invoicesCursor: null,
  logCursor: null,
  usersFilter: "",
  users: [],
  usersCursor: null,
  usersLoaded: false,
  roles: [],
  gone: new Set(),
  preview: null,
  invoice: null,
  usage: null,
  requests: [],
  tokens: [],
  newToken: null,
  webhooks: [],
  newSecret: null,
  attempts: null,
};

export const t = (): Words => words[state.lang];

export function canManage(): boolean {
  return state.account?.rights.includes("licences.manage") === true && state.account.status === "active";
}

/** Every right: an administrator, who alone sets the approval threshold (R35). */
export function isAdministrator(): boolean {
  return state.account?.rights.length === 3;
}

export function canManageUsers(): boolean {
  return state.account?.rights.includes("users.manage") === true;
}

export function poolKey(pool: Pool): string {
  return pool.module_id ?? "licences";
}

export function poolName(pool: Pool): string {
  return pool.module_id ? (pool.name ?? pool.module_id) : t().licences;
}

export function counts(key: string, n: number): PoolCounts {
  return key === "licences" ? { licences: n } : { modules: { [key]: n } };
}

export function explain(error: unknown): string {
  if (!(error instanceof ApiError)) return t().unknownError("internal", "");
  const text = t().errors[error.code] ?? t().unknownError(error.code, error.requestId);
  // R29: a refusal that sends the customer to support names where to write.
  const support = state.config.support_email;
  return error.code === "next_period_below_one" && support ? `${text} (${support})` : text;
}

/**
 * A list as the API has it, read again while a change made on the page during the read (a
 * new array in `current`) makes the answer stale; `current` when it cannot be read.
 */
export async function freshList<T>(current: () => T[], read: () => Promise<{ items: T[] }>): Promise<T[]> {
  for (let round = 0; round < 3; round++) {
    const before = current();
    try {
      const { items } = await read();
      if (current() === before) return items;
    } catch {
      break;
    }
  }
  return current();
}
