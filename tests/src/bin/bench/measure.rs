//! Per-use-case figures: DynamoDB calls, consumed capacity and latency percentiles.

use licensing::adapters::dynamodb::DynamoStore;
use licensing::ports::AccountReads;
use std::future::Future;
use std::time::Instant;

pub(crate) struct Stats {
    pub(crate) name: &'static str,
    pub(crate) calls: f64,
    pub(crate) capacity: f64,
    pub(crate) micros: Vec<u128>,
}

impl Stats {
    pub(crate) fn print(&mut self) {
        self.micros.sort_unstable();
        let pct = |p: f64| {
            self.micros[((self.micros.len() as f64 * p) as usize).min(self.micros.len() - 1)] as f64
                / 1000.0
        };
        println!(
            "| {} | {:.1} | {:.1} | {:.2} | {:.2} |",
            self.name,
            self.calls,
            self.capacity,
            pct(0.5),
            pct(0.99)
        );
    }
}

pub(crate) async fn measure<F, Fut>(
    store: &DynamoStore,
    name: &'static str,
    n: u64,
    mut op: F,
) -> Stats
where
    F: FnMut(u64) -> Fut,
    Fut: Future<Output = ()>,
{
    let before = store.usage();
    let mut micros = Vec::new();
    for i in 0..n {
        let start = Instant::now();
        op(i).await;
        micros.push(start.elapsed().as_micros());
    }
    let used = store.usage().since(before);
    Stats {
        name,
        calls: used.calls as f64 / n as f64,
        capacity: used.capacity / n as f64,
        micros,
    }
}
