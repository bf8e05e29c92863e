//! Each port forwarded through the decorator: every call enters the rule first.

use super::*;

impl<S: AccountReads, A: Send + Sync> AccountReads for Faulty<S, A> {
    fn usage(&self) -> StoreUsage {
        self.store.usage()
    }

    async fn load_account(&self, tenant: &TenantId) -> Result<Option<Loaded>, StoreError> {
        self.enter(Method::LoadAccount).await?;
        self.store.load_account(tenant).await
    }

    async fn load_user(
        &self,
        tenant: &TenantId,
        user: &UserId,
    ) -> Result<Option<User>, StoreError> {
        self.enter(Method::LoadUser).await?;
        self.store.load_user(tenant, user).await
    }

    async fn red_records(&self, tenant: &TenantId) -> Result<Vec<RedSeat>, StoreError> {
        self.enter(Method::RedRecords).await?;
        self.store.red_records(tenant).await
    }

    async fn load_users(
        &self,
        tenant: &TenantId,
        ids: &[UserId],
    ) -> Result<BTreeMap<UserId, User>, StoreError> {
        self.enter(Method::LoadUsers).await?;
        self.store.load_users(tenant, ids).await
    }

    async fn existing_users(
        &self,
        tenant: &TenantId,
        users: &[UserId],
    ) -> Result<BTreeSet<UserId>, StoreError> {
        self.enter(Method::ExistingUsers).await?;
        self.store.existing_users(tenant, users).await
    }

    async fn newest_seats(
        &self,
        tenant: &TenantId,
        pool: &PoolId,
        limit: u32,
    ) -> Result<Vec<SeatInfo>, StoreError> {
        self.enter(Method::NewestSeats).await?;
        self.store.newest_seats(tenant, pool, limit).await
    }
}

impl<S: Listings, A: Send + Sync> Listings for Faulty<S, A> {
    async fn list_users(
        &self,
        tenant: &TenantId,
        page: &PageRequest,
    ) -> Result<Page<User>, StoreError> {
        self.enter(Method::ListUsers).await?;
        self.store.list_users(tenant, page).await
    }

    async fn list_log(
        &self,
        tenant: &TenantId,
        page: &PageRequest,
    ) -> Result<Page<LogEntry>, StoreError> {
        self.enter(Method::ListLog).await?;
        self.store.list_log(tenant, page).await
    }

    async fn list_invoices(
        &self,
        tenant: &TenantId,
        page: &PageRequest,
    ) -> Result<Page<Invoice>, StoreError> {
        self.enter(Method::ListInvoices).await?;
        self.store.list_invoices(tenant, page).await
    }

    async fn export_log(
        &self,
        tenant: &TenantId,
        span: Span,
        page: &PageRequest,
    ) -> Result<Page<LogEntry>, StoreError> {
        self.enter(Method::ExportLog).await?;
        self.store.export_log(tenant, span, page).await
    }

    async fn export_invoices(
        &self,
        tenant: &TenantId,
        span: Span,
        page: &PageRequest,
    ) -> Result<Page<Invoice>, StoreError> {
        self.enter(Method::ExportInvoices).await?;
        self.store.export_invoices(tenant, span, page).await
    }
}

impl<S: Quotes, A: Send + Sync> Quotes for Faulty<S, A> {
    async fn put_quote(&self, quote: &Quote) -> Result<(), StoreError> {
        self.enter(Method::PutQuote).await?;
        self.store.put_quote(quote).await
    }

    async fn get_quote(
        &self,
        tenant: &TenantId,
        quote_id: &licensing::domain::identity::QuoteId,
        now: DateTime<Utc>,
    ) -> Result<Option<StoredQuote>, StoreError> {
        self.enter(Method::GetQuote).await?;
        self.store.get_quote(tenant, quote_id, now).await
    }

    async fn get_idempotency(
        &self,
        tenant: &TenantId,
        key_digest: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<IdempotencyRecord>, StoreError> {
        self.enter(Method::GetIdempotency).await?;
        self.store.get_idempotency(tenant, key_digest, now).await
    }

    async fn load_approval(
        &self,
        tenant: &TenantId,
        user: &UserId,
        key_digest: Option<&str>,
        quote_id: &licensing::domain::identity::QuoteId,
        now: DateTime<Utc>,
    ) -> Result<ApprovalReads, StoreError> {
        self.enter(Method::LoadApproval).await?;
        self.store
            .load_approval(tenant, user, key_digest, quote_id, now)
            .await
    }
}

impl<S: Commits, A: AfterCommit> Commits for Faulty<S, A> {
    async fn commit(&self, change: Change) -> Result<(), StoreError> {
        self.enter(Method::Commit).await?;
        let now = change.now;
        let wrote_outbox = !change.outbox.is_empty();
        self.store.commit(change).await?;
        self.then.after_commit(now, wrote_outbox).await;
        Ok(())
    }

    async fn delete_red_records(
        &self,
        tenant: &TenantId,
        records: &[RedSeat],
    ) -> Result<(), StoreError> {
        self.enter(Method::DeleteRedRecords).await?;
        self.store.delete_red_records(tenant, records).await
    }
}

impl<S: DueIndex, A: Send + Sync> DueIndex for Faulty<S, A> {
    async fn due_work(&self, at: DateTime<Utc>) -> Result<Vec<DueWork>, StoreError> {
        self.enter(Method::DueWork).await?;
        self.store.due_work(at).await
    }
}

impl<S: OutboxStore, A: Send + Sync> OutboxStore for Faulty<S, A> {
    fn batches_of(&self, tenant: &TenantId, messages: &[OutboxMessage]) -> Vec<OutboxBatch> {
        self.store.batches_of(tenant, messages)
    }

    async fn due_outbox(
        &self,
        at: DateTime<Utc>,
        limit: i32,
    ) -> Result<Vec<OutboxBatch>, StoreError> {
        self.enter(Method::DueOutbox).await?;
        self.store.due_outbox(at, limit).await
    }

    async fn claim_outbox(
        &self,
        batch: &OutboxBatch,
        now: DateTime<Utc>,
        lease_secs: i64,
    ) -> Result<Claim, StoreError> {
        self.enter(Method::ClaimOutbox).await?;
        self.store.claim_outbox(batch, now, lease_secs).await
    }

    async fn settle_outbox(
        &self,
        batch: &OutboxBatch,
        remaining: Vec<OutboxMessage>,
        next_attempt: DateTime<Utc>,
        dead: bool,
    ) -> Result<bool, StoreError> {
        self.enter(Method::SettleOutbox).await?;
        self.store
            .settle_outbox(batch, remaining, next_attempt, dead)
            .await
    }

    async fn all_users(&self, tenant: &TenantId) -> Result<Vec<User>, StoreError> {
        self.enter(Method::AllUsers).await?;
        self.store.all_users(tenant).await
    }

    async fn redrive_dead(
        &self,
        tenant: Option<&TenantId>,
        now: DateTime<Utc>,
    ) -> Result<usize, StoreError> {
        self.enter(Method::RedriveDead).await?;
        self.store.redrive_dead(tenant, now).await
    }
}

impl<S: Webhooks, A: Send + Sync> Webhooks for Faulty<S, A> {
    async fn endpoints(&self, tenant: &TenantId) -> Result<Vec<Endpoint>, StoreError> {
        self.enter(Method::Endpoints).await?;
        self.store.endpoints(tenant).await
    }

    async fn put_endpoint(
        &self,
        endpoint: &Endpoint,
        log: Option<&LogEntry>,
        mail: Option<(&str, &OutboxMessage)>,
    ) -> Result<(), StoreError> {
        self.enter(Method::PutEndpoint).await?;
        self.store.put_endpoint(endpoint, log, mail).await
    }

    async fn delete_endpoint(
        &self,
        endpoint: &Endpoint,
        log: &LogEntry,
    ) -> Result<bool, StoreError> {
        self.enter(Method::DeleteEndpoint).await?;
        self.store.delete_endpoint(endpoint, log).await
    }

    async fn record_attempts(
        &self,
        tenant: &TenantId,
        attempts: &[Attempt],
    ) -> Result<(), StoreError> {
        self.enter(Method::RecordAttempts).await?;
        self.store.record_attempts(tenant, attempts).await
    }

    async fn attempts(
        &self,
        tenant: &TenantId,
        endpoint_id: &str,
    ) -> Result<Vec<Attempt>, StoreError> {
        self.enter(Method::Attempts).await?;
        self.store.attempts(tenant, endpoint_id).await
    }

    async fn queue_outbox(
        &self,
        tenant: &TenantId,
        name: &str,
        messages: &[OutboxMessage],
    ) -> Result<usize, StoreError> {
        self.enter(Method::QueueOutbox).await?;
        self.store.queue_outbox(tenant, name, messages).await
    }
}

impl<S: MailSuppressions, A: Send + Sync> MailSuppressions for Faulty<S, A> {
    async fn suppressions(&self, tenant: &TenantId) -> Result<Vec<MailSuppression>, StoreError> {
        self.enter(Method::Suppressions).await?;
        self.store.suppressions(tenant).await
    }

    async fn suppress(
        &self,
        tenant: &TenantId,
        suppression: &MailSuppression,
    ) -> Result<(), StoreError> {
        self.enter(Method::Suppress).await?;
        self.store.suppress(tenant, suppression).await
    }
}

impl<S: UsageHistory, A: Send + Sync> UsageHistory for Faulty<S, A> {
    async fn record_usage(
        &self,
        account: &Account,
        reading: Option<&UsageReading>,
    ) -> Result<(), StoreError> {
        self.enter(Method::RecordUsage).await?;
        self.store.record_usage(account, reading).await
    }

    async fn usage_readings(
        &self,
        tenant: &TenantId,
        from: chrono::NaiveDate,
        to: chrono::NaiveDate,
    ) -> Result<Vec<UsageReading>, StoreError> {
        self.enter(Method::UsageReadings).await?;
        self.store.usage_readings(tenant, from, to).await
    }
}

impl<S: PurchaseRequests, A: Send + Sync> PurchaseRequests for Faulty<S, A> {
    async fn get_request(
        &self,
        tenant: &TenantId,
        request_id: &str,
    ) -> Result<Option<PurchaseRequest>, StoreError> {
        self.enter(Method::GetRequest).await?;
        self.store.get_request(tenant, request_id).await
    }

    async fn list_requests(
        &self,
        tenant: &TenantId,
        page: &PageRequest,
    ) -> Result<Page<PurchaseRequest>, StoreError> {
        self.enter(Method::ListRequests).await?;
        self.store.list_requests(tenant, page).await
    }
}

impl<S: RoleMembers, A: Send + Sync> RoleMembers for Faulty<S, A> {
    async fn active_in_roles(
        &self,
        tenant: &TenantId,
        roles: &[RoleName],
    ) -> Result<Vec<User>, StoreError> {
        self.enter(Method::ActiveInRoles).await?;
        self.store.active_in_roles(tenant, roles).await
    }
}
