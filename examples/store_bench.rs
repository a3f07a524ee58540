//! The store alone, with the publish path's batch shapes: is sled the limit?
//!
//! Three measures, each printed as one line:
//! - `flush`: one small insert then `flush()`, repeated: the commit latency `L`
//!   that bounds one publisher at `W / L` (Little's law) whatever the CPU;
//! - `store`: the hub's own `Store` (committer, flusher, group commit), with a
//!   closed loop of `N` commits in flight spread over `K` keys, each commit the
//!   records the hub writes for one publish of the load harness (two fields);
//! - `engine`: one engine write (`store::engine`, sled's `apply_batch`) of `B` head records with no flush, then one
//!   flush: what the engine costs per insert with the committer's thread out of it.
//!
//! Run: `cargo run --release --example store_bench -- --keys 1000 --in-flight 64,512,3200`
//! (the data goes to a fresh temp dir under `--dir`, default the system temp dir).

use std::collections::VecDeque;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use bytes::Bytes;
use clap::Parser;
use fillstack::resource::state::{Change, ResourceState};
use fillstack::store::engine::Engine;
use fillstack::store::{Commit, CommitTicket, Store};
use fillstack_protocol::Scalar;

#[derive(Parser)]
struct Args {
    /// Keys (resources) the commits are spread over.
    #[arg(long, default_value_t = 1000)]
    keys: u64,
    /// Commits kept in flight, one run each (comma-separated).
    #[arg(long, value_delimiter = ',', default_value = "64,512,2048,3200")]
    in_flight: Vec<usize>,
    /// Commits per `store` run.
    #[arg(long, default_value_t = 100_000)]
    commits: u64,
    /// Flushes timed by the `flush` measure.
    #[arg(long, default_value_t = 300)]
    flushes: usize,
    /// Batch sizes for the `engine` measure (comma-separated).
    #[arg(long, value_delimiter = ',', default_value = "64,512,2048")]
    batch: Vec<usize>,
    /// Where the temp dirs go.
    #[arg(long)]
    dir: Option<PathBuf>,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let base = args.dir.clone().unwrap_or_else(std::env::temp_dir);
    flush_latency(&base, args.flushes)?;
    let runtime = tokio::runtime::Builder::new_current_thread().build()?;
    for &in_flight in &args.in_flight {
        runtime.block_on(store_run(&base, args.keys, in_flight, args.commits))?;
    }
    for &batch in &args.batch {
        engine_run(&base, args.keys, batch, args.commits)?;
    }
    Ok(())
}

/// A fresh directory under `base`, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(base: &std::path::Path, name: &str) -> anyhow::Result<Self> {
        let dir = base.join(format!("store-bench-{name}-{}", std::process::id()));
        drop(std::fs::remove_dir_all(&dir));
        std::fs::create_dir_all(&dir)?;
        Ok(Self(dir))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        drop(std::fs::remove_dir_all(&self.0));
    }
}

/// This process's CPU time so far (user + system), from `/proc/self/stat`.
fn cpu_time() -> Duration {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which may hold spaces) start at state (3).
    let rest = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |n: usize| fields.get(n).and_then(|v| v.parse::<u64>().ok());
    // utime and stime are fields 14 and 15 (1-based), 11 and 12 here; 100 ticks/s.
    let total = ticks(11).unwrap_or(0) + ticks(12).unwrap_or(0);
    Duration::from_millis(total * 10)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let at = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(at).copied().unwrap_or_default()
}

/// One insert and one flush at a time: the commit latency of a lone publish.
fn flush_latency(base: &std::path::Path, flushes: usize) -> anyhow::Result<()> {
    let dir = TempDir::new(base, "flush")?;
    let engine = Engine::open(&dir.0)?;
    let mut times = Vec::with_capacity(flushes);
    for n in 0..flushes {
        times.push(engine.insert_and_flush(&format!("k{}", n % 100), &[7u8; 100])?);
    }
    times.sort();
    println!(
        "flush: {flushes} flushes of one insert: p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms",
        percentile(&times, 0.5).as_secs_f64() * 1e3,
        percentile(&times, 0.9).as_secs_f64() * 1e3,
        percentile(&times, 0.99).as_secs_f64() * 1e3,
    );
    Ok(())
}

/// The records the hub writes for the `n`th publish to a key at `seq`: its
/// state and its delta, as the resource actor encodes them.
struct Records {
    states: Vec<ResourceState>,
}

impl Records {
    fn new(keys: u64) -> Self {
        Self {
            states: (0..keys).map(|_| ResourceState::default()).collect(),
        }
    }

    fn next(&mut self, key: u64, n: u64) -> anyhow::Result<Commit> {
        let state = &mut self.states[usize::try_from(key)?];
        let change = Change {
            fields: [
                ("n".to_owned(), Some(Scalar::Int(n.cast_signed()))),
                ("t_us".to_owned(), Some(Scalar::Int(n.cast_signed() * 7))),
            ]
            .into(),
            ..Change::default()
        };
        let delta = state
            .decide(&change, 1_000_000 + n)
            .map_err(|rejection| anyhow::anyhow!(rejection.message))?
            .ok_or_else(|| anyhow::anyhow!("a change that changes nothing"))?;
        state.apply(&delta);
        Ok(Commit {
            key: format!("bench/r{key}"),
            seq: delta.seq,
            state: Bytes::from(rmp_serde::to_vec(&*state)?),
            entry: Bytes::from(rmp_serde::to_vec(&delta)?),
        })
    }
}

/// The hub's store with `in_flight` commits waiting at all times, over `keys` keys.
async fn store_run(
    base: &std::path::Path,
    keys: u64,
    in_flight: usize,
    commits: u64,
) -> anyhow::Result<()> {
    let dir = TempDir::new(base, "store")?;
    let store = Store::open(&dir.0, 64 << 20, 1000)?;
    let mut records = Records::new(keys);
    let mut waiting: VecDeque<(Instant, CommitTicket)> = VecDeque::with_capacity(in_flight);
    let batches_before = batch_counts();
    let (cpu, started) = (cpu_time(), Instant::now());
    let mut latencies = Vec::with_capacity(usize::try_from(commits)?);
    for n in 0..commits {
        if waiting.len() >= in_flight
            && let Some((at, ticket)) = waiting.pop_front()
        {
            ticket.await??;
            latencies.push(at.elapsed());
        }
        let commit = records.next(n % keys, n)?;
        waiting.push_back((Instant::now(), store.commit(commit)?));
    }
    while let Some((at, ticket)) = waiting.pop_front() {
        ticket.await??;
        latencies.push(at.elapsed());
    }
    let (elapsed, cpu) = (started.elapsed(), cpu_time().saturating_sub(cpu));
    let (batches, batched) = batch_counts();
    let batches = batches - batches_before.0;
    let batched = batched - batches_before.1;
    latencies.sort();
    store.close().await;
    println!(
        "store: keys {keys}, in flight {in_flight}: {:.0} commits/s, {batches} batches of {:.1} commits on average, commit latency p50 {:.2} ms p99 {:.2} ms, {:.2} us of process CPU per commit (records encoded by this loop included)",
        commits as f64 / elapsed.as_secs_f64(),
        batched / batches.max(1) as f64,
        percentile(&latencies, 0.5).as_secs_f64() * 1e3,
        percentile(&latencies, 0.99).as_secs_f64() * 1e3,
        cpu.as_secs_f64() * 1e6 / commits as f64,
    );
    Ok(())
}

/// Batches flushed so far and the commits they held (from the store's metrics).
fn batch_counts() -> (u64, f64) {
    let histogram = &fillstack::metrics::METRICS.store_commit_batch;
    (histogram.get_sample_count(), histogram.get_sample_sum())
}

/// sled alone: batches of `batch` head records (one per key, as a batch of the
/// topics run writes them) applied with one `apply_batch`, each batch flushed.
fn engine_run(base: &std::path::Path, keys: u64, batch: usize, commits: u64) -> anyhow::Result<()> {
    let dir = TempDir::new(base, "engine")?;
    let engine = Engine::open(&dir.0)?;
    let mut records = Records::new(keys);
    let (mut applying, mut flushing) = (Duration::ZERO, Duration::ZERO);
    let (cpu, started) = (cpu_time(), Instant::now());
    let mut n = 0;
    while n < commits {
        let mut writes = Vec::with_capacity(batch);
        for _ in 0..batch {
            let commit = records.next(n % keys, n)?;
            // A head record: the state and the newest entries (here one).
            let mut head = Vec::with_capacity(commit.state.len() + commit.entry.len() + 24);
            head.extend_from_slice(&commit.seq.to_be_bytes());
            head.extend_from_slice(&commit.state);
            head.extend_from_slice(&commit.entry);
            writes.push((commit.key, head));
            n += 1;
        }
        let applied = Instant::now();
        engine.apply_heads(writes)?;
        let flushed = Instant::now();
        applying += flushed - applied;
        engine.flush()?;
        flushing += flushed.elapsed();
    }
    let (elapsed, cpu) = (started.elapsed(), cpu_time().saturating_sub(cpu));
    println!(
        "engine: keys {keys}, batches of {batch}: {:.0} inserts/s with a flush per batch; apply_batch {:.2} us per insert ({:.0} inserts/s if nothing else ran), flush {:.2} ms per batch; {:.2} us of process CPU per insert",
        commits as f64 / elapsed.as_secs_f64(),
        applying.as_secs_f64() * 1e6 / commits as f64,
        commits as f64 / applying.as_secs_f64(),
        flushing.as_secs_f64() * 1e3 * batch as f64 / commits as f64,
        cpu.as_secs_f64() * 1e6 / commits as f64,
    );
    Ok(())
}
