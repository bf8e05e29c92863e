//! What the month's customers do: users in bursts, purchases (an answer lost now and then), downscales.

use super::*;

impl<S: Store + OutboxStore + Webhooks + Clone + 'static> World<S> {
    /// One customer's change at `now`, on a tenant drawn at random.
    pub async fn customer_change(&mut self, now: DateTime<Utc>) {
        if self.tenants.is_empty() {
            return;
        }
        let i = self.rng.below(self.tenants.len() as u64) as usize;
        self.tenants[i].books.roll_to(now);
        let (before, requests) = (self.store.usage(), self.outcome.requests);
        self.change(i, now).await;
        let used = self.store.usage().since(before);
        let requests = self.outcome.requests - requests;
        let size = self.tenants[i].size;
        self.outcome
            .by_size
            .entry(size)
            .or_default()
            .add(requests, used);
    }

    async fn change(&mut self, i: usize, now: DateTime<Utc>) {
        match self.rng.below(100) {
            0..=29 => self.add_users(i, now).await,
            30..=46 => self.set_users(i, now, Activation::Deactivate).await,
            47..=59 => self.set_users(i, now, Activation::Activate).await,
            60..=77 => self.purchase(i, now).await,
            78..=92 => self.downscale(i, now).await,
            _ => {
                let caller = self.tenants[i].caller.clone();
                let caller = &caller;
                self.as_client("GET /v1/account", |s| async move {
                    app::account_status(&s, caller, now).await
                })
                .await;
            }
        }
    }

    /// A burst of new users, active, a third of them with the module: one batch request.
    async fn add_users(&mut self, i: usize, now: DateTime<Utc>) {
        let most = (self.tenants[i].size / 10).clamp(1, 500) as u64;
        let n = 1 + self.rng.below(most) as usize;
        let (ids, items) = next_users(&mut self.tenants[i], n);
        let caller = self.tenants[i].caller.clone();
        let caller = &caller;
        let done = self
            .as_client("POST /v1/users/batch", |s| {
                let items = items.clone();
                async move { app::create_users(&s, caller, items, now).await }
            })
            .await;
        for result in done.iter().flat_map(|view| &view.results) {
            if result.status >= 500 {
                self.violation(format!("a user of the batch answered {}", result.status));
            }
        }
        // Whichever try created them, they exist (a later try says 409 for each).
        self.tenants[i].users.extend(ids);
    }

    /// A few users deactivated or activated again, one request each.
    async fn set_users(&mut self, i: usize, now: DateTime<Utc>, what: Activation) {
        let known = self.tenants[i].users.len() as u64;
        if known == 0 {
            return;
        }
        let n = 1 + self.rng.below((known / 20 + 1).min(20));
        let caller = self.tenants[i].caller.clone();
        let caller = &caller;
        for _ in 0..n {
            let user = self.tenants[i].users[self.rng.below(known) as usize].clone();
            let user = &user;
            self.as_client("POST /v1/users/{id}/(de)activate", |s| async move {
                app::set_active(&s, caller, user, what, now).await
            })
            .await;
        }
    }

    /// A quote and its approval (R6–R10) for tenant `i`. Now and then the answer is lost and
    /// the client sends the approval again: it must get the first answer back and pay
    /// nothing more.
    pub async fn purchase(&mut self, i: usize, now: DateTime<Utc>) {
        if i >= self.tenants.len() {
            return;
        }
        self.tenants[i].books.roll_to(now);
        let pool = usize::from(self.rng.chance(30));
        let quantity = 1 + self.rng.below(5) as u32;
        let (licences, modules) = request(pool, quantity);
        let caller = self.tenants[i].caller.clone();
        let (caller, modules) = (&caller, &modules);
        let Some(quote) = self
            .as_client("POST /v1/purchase/quote", |s| async move {
                app::create_quote(&s, caller, licences, modules, now).await
            })
            .await
        else {
            return;
        };
        let tenant = &mut self.tenants[i];
        tenant.keys += 1;
        let key = format!("k-{}-{}", tenant.id, tenant.keys);
        let body = serde_json::json!({ "quote_id": quote.quote_id });
        let id = quote.quote_id.clone();
        let (key, body, id) = (key.as_str(), &body, &id);
        let approve = |s: Faulty<S>| async move {
            app::approve_purchase(&s, caller, Some(key), body, id, now).await
        };
        let Some(first) = self.as_client("POST /v1/purchase", approve).await else {
            return;
        };
        if first.status >= 300 {
            return;
        }
        self.tenants[i].books.bought(now, pool, quantity);
        if self.rng.chance(5) {
            count(&self.faults, "answer lost, request sent again");
            match self.as_client("POST /v1/purchase (again)", approve).await {
                Some(again) if again.replayed && again.body == first.body => {}
                other => self.violation(format!(
                    "{key}: sent again, answered {:?} instead of the first answer",
                    other.map(|a| (a.status, a.replayed))
                )),
            }
        }
    }

    /// The next period of a pool set lower (R11): mostly a little, now and then a lot.
    async fn downscale(&mut self, i: usize, now: DateTime<Utc>) {
        let pool = usize::from(self.rng.chance(25));
        let books = &self.tenants[i].books;
        let purchased = u64::from(books.purchased[pool]);
        if purchased <= 1 {
            return;
        }
        let n = if self.rng.chance(5) {
            1 + self.rng.below(purchased)
        } else {
            purchased - self.rng.below((purchased / 5).max(1))
        } as u32;
        if n == self.tenants[i].books.next[pool] {
            return;
        }
        let (licences, modules) = request(pool, n);
        let caller = self.tenants[i].caller.clone();
        let (caller, modules) = (&caller, &modules);
        let done = self
            .as_client("PUT /v1/next-period", |s| async move {
                app::set_next_period(&s, caller, licences, modules, now).await
            })
            .await;
        if done.is_some() {
            self.tenants[i].books.downscaled(now, pool, n);
        }
    }
}
