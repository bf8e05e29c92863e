//! The month's scheduled runs: lost, repeated and late events, each run a process of its own, the operator's redrive.

use super::*;

impl<S: Store + OutboxStore + Webhooks + Clone + 'static> World<S> {
    /// The scheduled run of `hour`, with the schedule's own faults: an event lost, one
    /// delivered twice, one delivered an hour late (after the next).
    pub async fn schedule(&mut self, hour: u32, now: DateTime<Utc>) {
        let draw = if self.calm { 99 } else { self.rng.below(100) };
        match draw {
            0..=2 => count(&self.faults, "scheduled event lost"),
            3..=5 => {
                count(&self.faults, "scheduled event delivered twice");
                self.scheduled_run(hour, now, now).await;
                self.scheduled_run(hour, now, now).await;
            }
            6..=8 => {
                count(&self.faults, "scheduled event an hour late");
                self.scheduled_run(hour, now, now).await;
                self.scheduled_run(hour, now - Duration::hours(1), now)
                    .await;
            }
            _ => self.scheduled_run(hour, now, now).await,
        }
    }

    /// The sweeper for the event of `event`, running at `now` on the real clock (R33).
    async fn scheduled_run(&mut self, hour: u32, event: DateTime<Utc>, now: DateTime<Utc>) {
        let before = self.store.usage();
        self.run_once(hour, event, now).await;
        let used = self.store.usage().since(before);
        self.outcome.scheduled.add(1, used);
    }

    async fn run_once(&mut self, hour: u32, event: DateTime<Utc>, now: DateTime<Utc>) {
        self.outcome.scheduled_runs += 1;
        let process = self.process(true, 60);
        let throttled = self.injected(THROTTLED);
        let swept = app::sweep::sweep(&process, event, None).await;
        // Throttled calls may fail a tenant (it is due again next run); nothing else may.
        let faulted = process.killed() || self.injected(THROTTLED) > throttled;
        match swept {
            Ok(report) if report.failed_tenants > 0 && !faulted => self.violation(format!(
                "hour {hour}: the sweep failed {} tenants with no fault injected",
                report.failed_tenants
            )),
            Err(e) if !faulted => self.violation(format!("hour {hour}: the sweep failed: {e}")),
            _ => {}
        }
        if process.killed() {
            return;
        }
        let refusing =
            self.outages.contains(&Outage::Mail) || self.outages.contains(&Outage::Events);
        match dispatch_due_within(&process, &self.sender, now, event.max(now), None).await {
            Ok(report) => {
                if report.failed > 0 && !refusing {
                    self.violation(format!(
                        "hour {hour}: {} messages failed with SES and EventBridge answering",
                        report.failed
                    ));
                }
                self.outcome.dead_lettered += report.dead as u64;
                if report.dead > 0 && !dying_allowed(hour) {
                    self.violation(format!(
                        "hour {hour}: {} messages dead-lettered before R32's schedule ran out",
                        report.dead
                    ));
                }
            }
            Err(StoreError::Throttled) => {}
            Err(_) if process.killed() => {}
            Err(e) => self.violation(format!("hour {hour}: the dispatch failed: {e}")),
        }
    }

    /// A dispatch alone, fault-free, at `now`.
    pub async fn dispatch(&mut self, now: DateTime<Utc>) {
        if let Err(e) = dispatch_due_within(&self.store, &self.sender, now, now, None).await {
            self.violation(format!("the last dispatch failed: {e}"));
        }
    }

    /// The operator's redrive of every dead letter (R32), once SES is back.
    pub async fn redrive(&mut self, now: DateTime<Utc>) {
        match self.store.redrive_dead(None, now).await {
            Ok(0) => self.violation("the long outage left no dead letter to redrive".into()),
            Ok(n) => self.outcome.redriven += n as u64,
            Err(e) => self.violation(format!("the redrive failed: {e}")),
        }
    }
}
