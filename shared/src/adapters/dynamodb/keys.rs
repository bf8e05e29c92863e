//! The single-table key design. Every item of a tenant lives in the tenant's partition; the
//! sort-key prefixes put what status needs (`A#…`) in one contiguous range.
//!
//! | item | pk | sk | due index (`due_pk`, `due_at`) |
//! |---|---|---|---|
//! | subscription | `T#{tenant}` | `A#SUB` | `ROLL#{shard}`, period end |
//! | red seat | `T#{tenant}` | `A#OA#{pool}#{seat}` | `SEAT#{shard}`, reminder, then deadline |
//! | seat in use | `T#{tenant}` | `S#{pool}#{seat}` | – |
//! | user | `T#{tenant}` | `U#{user}` | – |
//! | action log | `T#{tenant}` | `L#{instant}#{id}` | – |
//! | invoice | `T#{tenant}` | `I#{instant}#{id}` | – |
//! | quote | `T#{tenant}` | `Q#{id}` (TTL) | – |
//! | idempotency | `T#{tenant}` | `K#{sha256(key)}` (TTL) | – |
//! | outbox batch | `T#{tenant}` | `O#{change}` | `OUTBOX#{shard}`, next attempt |
//! | suppressed mail address | `T#{tenant}` | `M#{address}` | – |
//! | a day's usage reading (R37) | `T#{tenant}` | `H#{date}` | – |
//! | purchase request (R35) | `T#{tenant}` | `R#{id}` (ids sort by time) | – |
//! | directory key of a SCIM-managed user (R34) | `T#{tenant}` | `N#u#{lower-case userName}`, `N#x#{externalId}` | – |
//! | provisioning token, listed (R34) | `T#{tenant}` | `P#{token id}` | – |
//! | provisioning token, by its hash (R34) | `SCIMTOKEN#{sha256}` | `SCIMTOKEN` | – |
//! | webhook endpoint (R38) | `T#{tenant}` | `WH#{id}` | – |
//! | count of the webhook endpoints (R38's limit) | `T#{tenant}` | `WHN` | – |
//! | webhook attempt, the newest 100 an endpoint's (R38) | `T#{tenant}` | `WA#{endpoint}#{instant}#{message}` | – |
//!
//! `{seat}` is `{activation instant, fixed width}#{user}`, so a pool's seats sort in R3 order.
//! The log entry, invoice, quote, idempotency record and outbox messages are each one JSON
//! string attribute (`items::JsonString`, decision 0006); the rest are attributes `serde_dynamo`
//! writes.
//!
//! | access pattern | key condition | cost |
//! |---|---|---|
//! | account (R1) | GetItem `A#SUB`, then only when a pool has red seats `begins_with(sk, "A#OA#")`, consistent | 1 read, + 1 Query of the red seats when there are any, whatever the number of users |
//! | caller's rights (R17) | GetItem `T#t`, `U#u`, consistent | 1 read |
//! | users, paginated | `begins_with(sk, "U#")`, forward | 1 Query per page |
//! | action log, newest first | `begins_with(sk, "L#")`, backward | 1 Query per page |
//! | invoices, newest first | `begins_with(sk, "I#")`, backward | 1 Query per page |
//! | newest seats of a pool (R12, R14) | `begins_with(sk, "S#{pool}#")`, backward, limit n | 1 Query, n items |
//! | the users of a removal step (R5) | BatchGetItem `U#u` for each of up to 25 users, consistent | 1 call |
//! | approval reads (R10) | BatchGetItem `A#SUB`, `U#u`, `K#key`, `Q#quote`, consistent (then the red seats as above) | 1 call |
//! | a change | TransactWriteItems, version-checked | 1 call |
//! | suppressed addresses (delivery, users view) | `begins_with(sk, "M#")`, consistent | 1 Query |
//! | purchase requests, newest first (R35) | `begins_with(sk, "R#")`, backward | 1 Query per page |
//! | SCIM `userName eq` / `externalId eq` (R34) | GetItem `N#u#…` / `N#x#…`, consistent, then the user | 2 reads |
//! | a SCIM request's token (R34) | GetItem `SCIMTOKEN#{sha256}`, consistent | 1 read |
//! | usage history (R37) | `sk BETWEEN H#{from} AND H#{to}` | 1 Query for 400 days |
//! | due rollovers / seats / outbox | index `due`: `due_pk = ROLL#n / SEAT#n / OUTBOX#n AND due_at <= t` | 1 Query per shard; items = work due |

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use crate::domain::allocation::SeatKey;
use crate::domain::identity::TenantId;
use crate::domain::pool::PoolId;
use crate::time::sortable;

/// Shards of the due index: one day's due work is spread over this many partitions.
pub const DUE_SHARDS: u32 = 8;

pub const SUB_SK: &str = "A#SUB";
pub const ACCOUNT_PREFIX: &str = "A#";
pub const RED_PREFIX: &str = "A#OA#";

pub fn tenant_pk(tenant: &TenantId) -> String {
    format!("T#{tenant}")
}

pub fn seat_part(seat: &SeatKey) -> String {
    format!("{}#{}", sortable(seat.since), seat.user_id)
}

pub fn red_sk(pool: &PoolId, seat: &SeatKey) -> String {
    format!("{RED_PREFIX}{pool}#{}", seat_part(seat))
}

pub fn seat_prefix(pool: &PoolId) -> String {
    format!("S#{pool}#")
}

pub fn seat_sk(pool: &PoolId, seat: &SeatKey) -> String {
    format!("{}{}", seat_prefix(pool), seat_part(seat))
}

pub fn user_sk(user: &str) -> String {
    format!("U#{user}")
}

pub const SUPPRESSION_PREFIX: &str = "M#";

/// A suppressed address's item (`address` as compared: lower case).
pub fn suppression_sk(address: &str) -> String {
    format!("{SUPPRESSION_PREFIX}{address}")
}

pub const REQUEST_PREFIX: &str = "R#";

pub fn request_sk(id: &str) -> String {
    format!("{REQUEST_PREFIX}{id}")
}

/// A day's usage reading: ISO dates sort as the days do.
pub fn usage_sk(date: chrono::NaiveDate) -> String {
    format!("H#{}", date.format("%Y-%m-%d"))
}

pub fn log_sk(at: DateTime<Utc>, id: &str) -> String {
    format!("L#{}#{id}", sortable(at))
}

pub fn invoice_sk(at: DateTime<Utc>, id: &str) -> String {
    format!("I#{}#{id}", sortable(at))
}

/// A quote's key: its id is valid by construction (1–64 characters, never `#`).
pub fn quote_sk(id: &crate::domain::identity::QuoteId) -> String {
    format!("Q#{}", id.as_str())
}

pub fn idempotency_sk(digest: &str) -> String {
    format!("K#{digest}")
}

pub fn outbox_sk(change_id: &str) -> String {
    format!("O#{change_id}")
}

/// A stable shard per tenant, so one tenant's due items share a partition and the sweep's
/// work spreads evenly.
pub fn shard(tenant: &TenantId) -> u32 {
    let digest = Sha256::digest(tenant.as_str().as_bytes());
    u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]]) % DUE_SHARDS
}

pub fn roll_due_pk(tenant: &TenantId) -> String {
    format!("ROLL#{}", shard(tenant))
}

pub fn seat_due_pk(tenant: &TenantId) -> String {
    format!("SEAT#{}", shard(tenant))
}

/// An active user's key in the `role` index: the tenant's users of one role.
pub fn role_pk(tenant: &TenantId, role: &crate::domain::identity::RoleName) -> String {
    format!("{tenant}#{role}")
}

pub fn outbox_due_pk(tenant: &TenantId) -> String {
    format!("OUTBOX#{}", shard(tenant))
}

/// Where a dead batch waits for an operator's redrive (R32): the due index under its own
/// kind, so no dispatch reads it and a redrive finds every tenant's in a few Queries.
pub fn outbox_dead_pk(tenant: &TenantId) -> String {
    format!("{OUTBOX_DEAD}#{}", shard(tenant))
}

pub const OUTBOX_DEAD: &str = "OUTBOX_DEAD";

pub fn due_at(at: DateTime<Utc>, rest: &str) -> String {
    format!("{}#{rest}", sortable(at))
}
