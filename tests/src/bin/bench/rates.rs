//! Throughput: rates of a use case and of its bare calls, measured in rounds in both orders.

use std::future::Future;
use std::time::Instant;

/// A phase's rate, and the CPU this process spent per operation in it: the engine shares this
/// machine's two cores with the bench, so what our code costs in CPU is taken from the engine.
/// With `BENCH_ENGINE_PID` set to the engine's process, also the CPU the engine spent per
/// operation: a sharper split than rates, which move with the machine, of where an
/// operation's cost lies.
#[derive(Clone, Copy)]
pub(crate) struct Rate {
    pub(crate) per_second: f64,
    pub(crate) cpu_ms: Option<f64>,
    pub(crate) engine_ms: Option<f64>,
}

impl Rate {
    pub(crate) fn cpu(&self) -> String {
        let ms = |v: Option<f64>| v.map_or("–".to_owned(), |ms| format!("{ms:.2}"));
        match self.engine_ms {
            Some(_) => format!("{} + {}", ms(self.cpu_ms), ms(self.engine_ms)),
            None => ms(self.cpu_ms),
        }
    }
}

/// Runs `total` operations with `clients` in flight, client `k` doing its share with its own
/// index; returns operations per second and this process's CPU per operation.
pub(crate) async fn throughput<F, Fut>(clients: u64, total: u64, op: F) -> Rate
where
    F: Fn(u64, u64) -> Fut,
    Fut: Future<Output = ()>,
{
    let per = total / clients;
    let engine = std::env::var("BENCH_ENGINE_PID").ok();
    let engine_before = engine.as_deref().and_then(cpu_ticks);
    let cpu_before = cpu_ticks("self");
    let started = Instant::now();
    futures::future::join_all((0..clients).map(|k| {
        let op = &op;
        async move {
            for i in 0..per {
                op(k, i).await;
            }
        }
    }))
    .await;
    let n = (per * clients) as f64;
    let per_second = n / started.elapsed().as_secs_f64();
    // /proc counts in clock ticks of 10 ms (USER_HZ 100 on Linux).
    let per_op = |before: Option<u64>, after: Option<u64>| {
        before
            .zip(after)
            .map(|(before, after)| after.saturating_sub(before) as f64 * 10.0 / n)
    };
    Rate {
        per_second,
        cpu_ms: per_op(cpu_before, cpu_ticks("self")),
        engine_ms: per_op(engine_before, engine.as_deref().and_then(cpu_ticks)),
    }
}

/// User plus system CPU of a process (`self`, or a pid) in clock ticks, all its threads, from
/// `/proc/<pid>/stat` (Linux).
pub(crate) fn cpu_ticks(pid: &str) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The fields after the command name (which may hold spaces) start at its closing ')'.
    let fields: Vec<&str> = stat.get(stat.rfind(')')? + 2..)?.split(' ').collect();
    Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
}

/// How many times each use case and its raw counterpart run, alternating which goes first.
pub(crate) const PAIRS: u64 = 4;

/// A use case and its raw counterpart, run in [`PAIRS`] pairs of equal operation counts,
/// alternately use case first and raw first (use case, raw, raw, use case, …): the engine
/// runs faster as a run goes on (a JVM still compiling the paths each phase meets first, a
/// collection now and then), which one fixed order credits to whichever runs second, and
/// one long phase each leaves to chance.
#[derive(Clone, Default)]
pub(crate) struct Rounds {
    /// The rounds in which the use case ran before its raw counterpart.
    pub(crate) first: Vec<Rate>,
    /// The rounds in which it ran after.
    pub(crate) second: Vec<Rate>,
}

/// Rates of equal operation counts as one: all operations over all the time, CPU averaged.
pub(crate) fn pooled(rates: &[Rate]) -> Rate {
    let n = rates.len() as f64;
    let mean = |of: fn(&Rate) -> Option<f64>| {
        let all: Option<Vec<f64>> = rates.iter().map(of).collect();
        all.map(|c| c.iter().sum::<f64>() / n)
    };
    Rate {
        per_second: n / rates.iter().map(|r| 1.0 / r.per_second).sum::<f64>(),
        cpu_ms: mean(|r| r.cpu_ms),
        engine_ms: mean(|r| r.engine_ms),
    }
}

impl Rounds {
    pub(crate) fn both(&self) -> Rate {
        pooled(&[self.first.as_slice(), self.second.as_slice()].concat())
    }
}

/// `a`'s rate as a percentage of `b`'s.
pub(crate) fn percent(a: Rate, b: Rate) -> f64 {
    100.0 * a.per_second / b.per_second
}

/// One row of the ratio table: a use case against its raw counterpart, over all rounds and
/// by which went first.
pub(crate) fn compared(name: &str, raw_calls: &str, case: &Rounds, raw: &Rounds, target: &str) {
    println!(
        "| {name} | {:.0} | {:.0} ({raw_calls}) | {:.0} % | {:.0} % / {:.0} % | {target} | {} / {} |",
        case.both().per_second,
        raw.both().per_second,
        percent(case.both(), raw.both()),
        percent(pooled(&case.first), pooled(&raw.first)),
        percent(pooled(&case.second), pooled(&raw.second)),
        case.both().cpu(),
        raw.both().cpu()
    );
}

/// Runs `case` and `raw` in [`PAIRS`] pairs, alternating which goes first (see [`Rounds`]).
pub(crate) async fn in_both_orders<C, CF, R, RF>(case: C, raw: R) -> (Rounds, Rounds)
where
    C: Fn() -> CF,
    CF: Future<Output = Rate>,
    R: Fn() -> RF,
    RF: Future<Output = Rate>,
{
    let (mut case_rounds, mut raw_rounds) = (Rounds::default(), Rounds::default());
    for pair in 0..PAIRS {
        if pair % 2 == 0 {
            case_rounds.first.push(case().await);
            raw_rounds.first.push(raw().await);
        } else {
            raw_rounds.second.push(raw().await);
            case_rounds.second.push(case().await);
        }
    }
    (case_rounds, raw_rounds)
}
