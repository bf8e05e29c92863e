// The licensing API as the page uses it: typed answers, and problem+json turned into ApiError.

export type Right = "account.view" | "licences.manage" | "users.manage";

export interface Red {
  user_id: string;
  name: string;
  since: string;
  deadline: string;
}

export interface Pool {
  module_id?: string;
  name?: string;
  purchased: number;
  in_use: number;
  available: number;
  next_period: number;
  unit_price: number;
  over_allocated: Red[];
  over_allocated_count: number;
  /** Seats without a licence right after the period change if nothing else changes (R28). */
  over_allocated_at_change: number;
}

export interface Period {
  start: string;
  end: string;
  length: "monthly" | "quarterly" | "annual";
}

export interface Account {
  tenant_id: string;
  name: string;
  currency: string;
  time_zone: string;
  period: Period;
  status: "active" | "terminated";
  licences: Pool;
  modules: Pool[];
  rights: Right[];
  renewal_reminder_days: number;
  /** R35: purchases whose total is above this (minor units) wait for a second approver. */
  approval_threshold: number | null;
  pending_requests: number;
  version: number;
}

export interface QuoteLine {
  pool: string;
  name: string;
  quantity: number;
  unit_price: number;
  days_remaining: number;
  days_in_period: number;
  amount: number;
}

export interface Quote {
  quote_id: string;
  currency: string;
  created_at: string;
  expires_at: string;
  period: Period;
  lines: QuoteLine[];
  total: number;
  next_period_total: number;
}

export interface Purchase {
  purchase_id: string;
  invoice_id: string;
  quote_id: string;
  currency: string;
  total: number;
  account: Account;
}

/** R35: a purchase above the approval threshold, waiting for a second holder of licences.manage. */
export interface PurchaseRequest {
  purchase_request_id: string;
  status: "pending" | "approved" | "declined" | "expired";
  requested_by: string;
  /** Asked by the caller: they may withdraw it, not approve it. */
  yours: boolean;
  requested_at: string;
  expires_at: string;
  currency: string;
  /** What was asked, each pool and how many. */
  items: { pool: string; quantity: number }[];
  requested_total: number;
  lines: QuoteLine[];
  /** Today's total while pending: what an approval must send. */
  total: number | null;
  decided_by: string | null;
  reason: string | null;
  invoice_id: string | null;
}

export interface SeatToRemove {
  pool: string;
  user_id: string;
  name: string;
}

export interface NextPeriod {
  effective_from: string;
  licences: number;
  modules: Record<string, number>;
  seats_to_remove: SeatToRemove[];
  seats_to_remove_count: number;
  account: Account;
}

export interface InvoiceLine {
  pool: string;
  name: string;
  quantity: number;
  unit_price: number;
  days: number;
  days_in_period: number;
  amount: number;
}

export interface Invoice {
  invoice_id: string;
  tenant_id: string;
  kind: "purchase" | "period";
  issued_at: string;
  period: Period;
  currency: string;
  total: number;
  lines: InvoiceLine[];
}

/** What a next-period change would do (R28), nothing changed. */
export interface NextPeriodPreview {
  effective_from: string;
  currency: string;
  licences: number;
  modules: Record<string, number>;
  seats_to_remove: SeatToRemove[];
  seats_to_remove_count: number;
  period_total: number;
  next_period_total: number;
  saving: number;
  version: number;
}

export interface LogEntry {
  entry_id: string;
  at: string;
  actor: unknown;
  action: string;
  details: unknown;
}

export type LicenceState = "licensed" | "over_allocated" | "inactive";

/** A user as `GET /v1/users` lists them. */
export interface UserRow {
  user_id: string;
  name: string;
  email: string;
  language: "en" | "da";
  role: string;
  modules: string[];
  active: boolean;
  activated_at: string | null;
  deadline: string | null;
  licence_state: LicenceState;
  /** The address bounced for good or complained: no mail goes to it (absent otherwise). */
  mail_suppressed?: { reason: "bounce" | "complaint"; at: string; detail: string };
  /** R34: the tenant's identity provider manages the user over SCIM (absent otherwise). */
  directory?: { user_name: string; token_name: string; deprovisioned: boolean };
}

/** R34: a provisioning token, without its secret. */
export interface ScimToken {
  token_id: string;
  name: string;
  created_at: string;
  created_by: string;
  last_used: string | null;
}

/** R38: a webhook endpoint, without its secret. */
export interface WebhookEndpoint {
  endpoint_id: string;
  url: string;
  description: string;
  events: string[];
  enabled: boolean;
  disabled_reason?: "manual" | "gone" | "failing";
  created_at: string;
  created_by: string;
  failing_since: string | null;
  previous_secret_until: string | null;
}

/** R38: one try at sending a message to an endpoint. */
export interface WebhookAttempt {
  message_id: string;
  event_type: string;
  at: string;
  status: number | null;
  latency_ms: number;
  answer: string;
  error: string | null;
}

/** R37: a day's reading; null counts where none was taken. */
export interface UsageDay {
  date: string;
  purchased: number | null;
  in_use: number | null;
}

export interface PoolUsage {
  pool: string;
  name: string;
  purchased: number | null;
  in_use: number | null;
  next_period: number | null;
  peak: { date: string; in_use: number } | null;
  days: UsageDay[];
}

export interface Usage {
  from: string;
  to: string;
  time_zone: string;
  pools: PoolUsage[];
}

export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

/** Counts per pool: `licences` and module ids. */
export interface PoolCounts {
  licences?: number;
  modules?: Record<string, number>;
}

function after(cursor: string | null): string {
  return cursor ? `&cursor=${encodeURIComponent(cursor)}` : "";
}

/** An answer that is not a success: the API's problem, or `network` when there was none. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly detail: string,
    readonly requestId: string,
  ) {
    super(`${status} ${code}: ${detail}`);
  }
}

export class Api {
  constructor(
    private readonly base: string,
    private readonly token: string,
  ) {}

  account(): Promise<Account> {
    return this.call("GET", "/v1/account");
  }
  /** Where an identity provider reaches this API's SCIM (R34). */
  scimBase(): string {
    return new URL("/scim/v2", this.base || window.location.origin).toString();
  }
  scimTokens(): Promise<{ items: ScimToken[] }> {
    return this.call("GET", "/v1/scim-tokens");
  }
  /** The token's secret is in this answer only. */
  createScimToken(name: string): Promise<ScimToken & { token: string }> {
    return this.call("POST", "/v1/scim-tokens", { name });
  }
  revokeScimToken(tokenId: string): Promise<void> {
    return this.call("DELETE", `/v1/scim-tokens/${encodeURIComponent(tokenId)}`);
  }
  webhooks(): Promise<{ items: WebhookEndpoint[] }> {
    return this.call("GET", "/v1/webhooks");
  }
  /** The secret is in this answer only (and in a rotation's). */
  createWebhook(url: string, events: string[], description: string): Promise<WebhookEndpoint & { secret: string }> {
    return this.call("POST", "/v1/webhooks", { url, events, description });
  }
  updateWebhook(id: string, patch: { enabled?: boolean; events?: string[]; url?: string; description?: string }): Promise<WebhookEndpoint> {
    return this.call("PATCH", `/v1/webhooks/${encodeURIComponent(id)}`, patch);
  }
  deleteWebhook(id: string): Promise<void> {
    return this.call("DELETE", `/v1/webhooks/${encodeURIComponent(id)}`);
  }
  rotateWebhookSecret(id: string): Promise<WebhookEndpoint & { secret: string }> {
    return this.call("POST", `/v1/webhooks/${encodeURIComponent(id)}/rotate-secret`);
  }
  testWebhook(id: string): Promise<{ message_id: string }> {
    return this.call("POST", `/v1/webhooks/${encodeURIComponent(id)}/test`);
  }
  webhookAttempts(id: string): Promise<{ items: WebhookAttempt[] }> {
    return this.call("GET", `/v1/webhooks/${encodeURIComponent(id)}/attempts`);
  }
  resendWebhookMessage(id: string, message: string): Promise<{ message_id: string }> {
    return this.call("POST", `/v1/webhooks/${encodeURIComponent(id)}/messages/${encodeURIComponent(message)}/resend`);
  }
  invoices(cursor: string | null = null): Promise<Page<Invoice>> {
    return this.call("GET", `/v1/invoices?limit=20${after(cursor)}`);
  }
  invoice(id: string): Promise<Invoice> {
    return this.call("GET", `/v1/invoices/${encodeURIComponent(id)}`);
  }
  /** The last 90 days of each pool's usage (R37). */
  usage(): Promise<Usage> {
    return this.call("GET", "/v1/usage");
  }
  actionLog(cursor: string | null = null): Promise<Page<LogEntry>> {
    return this.call("GET", `/v1/action-log?limit=20${after(cursor)}`);
  }
  /** The users, a page at a time, all or those in one licence state. */
  users(licenceState: LicenceState | "", cursor: string | null): Promise<Page<UserRow>> {
    const filter = licenceState ? `&licence_state=${licenceState}` : "";
    return this.call("GET", `/v1/users?limit=50${filter}${after(cursor)}`);
  }
  activate(userId: string): Promise<UserRow> {
    return this.call("POST", `/v1/users/${encodeURIComponent(userId)}/activate`);
  }
  deactivate(userId: string): Promise<UserRow> {
    return this.call("POST", `/v1/users/${encodeURIComponent(userId)}/deactivate`);
  }
  updateUser(userId: string, change: { role?: string; modules?: string[] }): Promise<UserRow> {
    return this.call("PUT", `/v1/users/${encodeURIComponent(userId)}`, change);
  }
  roles(): Promise<{ role: string; rights: Right[]; built_in: boolean }[]> {
    return this.call("GET", "/v1/roles");
  }
  /** R30: the renewal reminder's notice in days (0: none). */
  setSettings(settings: { renewal_reminder_days?: number; approval_threshold?: number | null }): Promise<Account> {
    return this.call("PUT", "/v1/settings", settings);
  }
  previewNextPeriod(counts: PoolCounts): Promise<NextPeriodPreview> {
    return this.call("POST", "/v1/next-period/preview", counts);
  }
  /** The users without a licence, a page at a time (R26): past the account's first 100. */
  redUsers(cursor: string | null): Promise<Page<UserRow>> {
    const after = cursor ? `&cursor=${encodeURIComponent(cursor)}` : "";
    return this.call("GET", `/v1/users?licence_state=over_allocated&limit=100${after}`);
  }
  quote(counts: PoolCounts): Promise<Quote> {
    return this.call("POST", "/v1/purchases/quotes", counts);
  }
  /** The key makes a retried or repeated approval buy once (R10). */
  /** A purchase, or (R35) the request it became when its total is above the threshold. */
  approve(quoteId: string, idempotencyKey: string): Promise<Purchase | PurchaseRequest> {
    return this.call("POST", "/v1/purchases", { quote_id: quoteId }, { "Idempotency-Key": idempotencyKey });
  }
  requests(): Promise<Page<PurchaseRequest>> {
    return this.call("GET", "/v1/purchase-requests?limit=50");
  }
  approveRequest(id: string, total: number, idempotencyKey: string): Promise<Purchase> {
    return this.call("POST", `/v1/purchase-requests/${encodeURIComponent(id)}/approve`, { total }, { "Idempotency-Key": idempotencyKey });
  }
  declineRequest(id: string, reason: string): Promise<PurchaseRequest> {
    return this.call("POST", `/v1/purchase-requests/${encodeURIComponent(id)}/decline`, { reason });
  }
  setNextPeriod(counts: PoolCounts): Promise<NextPeriod> {
    return this.call("PUT", "/v1/next-period", counts);
  }

  /** Every page of a CSV export (R36), following its Link header, with the header row once. */
  async csv(path: string): Promise<string> {
    let next: string | null = path;
    let text = "";
    while (next) {
      const response: Response = await fetch(this.base + next, { headers: { Authorization: `Bearer ${this.token}` } });
      const body = await response.text();
      if (!response.ok) {
        let problem: { code?: string; detail?: string; request_id?: string } = {};
        try {
          problem = JSON.parse(body);
        } catch {
          problem = {};
        }
        throw new ApiError(response.status, problem.code ?? "internal", problem.detail ?? body, problem.request_id ?? "");
      }
      text += text ? body.slice(body.indexOf("\r\n") + 2) : body;
      next = /^<([^>]+)>;\s*rel="next"$/.exec(response.headers.get("link") ?? "")?.[1] ?? null;
    }
    return text;
  }

  private async call<T>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<T> {
    const send = () =>
      fetch(this.base + path, {
        method,
        headers: {
          Authorization: `Bearer ${this.token}`,
          ...(body === undefined ? {} : { "Content-Type": "application/json" }),
          ...headers,
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    let response: Response | null = null;
    // A read is asked once more after a moment when the network or a server failed it (a
    // gateway's 502/503, a function that timed out): reading twice changes nothing. Changes
    // are never resent here; the purchase flow makes its own retries safe with its key.
    for (let attempt = 0; attempt < (method === "GET" ? 2 : 1); attempt++) {
      if (attempt > 0) await new Promise((resume) => setTimeout(resume, 300));
      try {
        response = await send();
      } catch {
        response = null;
        continue;
      }
      if (response.status < 500) break;
    }
    if (!response) throw new ApiError(0, "network", "", "");
    const text = await response.text();
    let parsed: unknown = undefined;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = undefined;
    }
    if (!response.ok) {
      const problem = (parsed ?? {}) as { code?: string; detail?: string; request_id?: string };
      throw new ApiError(response.status, problem.code ?? "internal", problem.detail ?? text, problem.request_id ?? "");
    }
    return parsed as T;
  }
}
