//! The rival benchmark (`cargo xtask bench containerd-shim`, or `cargo
//! bench -p containerd-shim-minios --bench rival`): our shim against
//! Debian's containerd-shim-runc-v2, in one run, under one containerd
//! started here (the integration tests' harness), both running runc.
//!
//! - `rss_per_container` (KiB): `BENCH_N` (default 10) detached containers
//!   (`sleep`) per runtime, one shim each; VmRSS of every shim process once
//!   all run, median over the shims (the table shows the mean too).
//! - `pss_per_container` and `anon_per_container` (KiB), the same way:
//!   PSS splits the pages the shims share (the binary's text, libc) between
//!   them; RssAnon counts only each shim's own memory. RSS counts shared
//!   pages whole, so it is the worst case for both.
//! - `start_latency` (ms): wall time of `ctr run --rm ... true`, median of
//!   `BENCH_RUNS` (default 7) runs each, interleaved, after one untimed
//!   warm-up each.
//!
//! Ours is the image's static binary when `BENCH_OURS` names it (`cargo
//! xtask bench` does), else cargo's build of it.
//!
//! Rows `{metric, unit, ours, rival, rival_name, ratio}` (ratio = ours /
//! rival) go to `BENCH_OUTPUT` as JSON, and a table to stdout. Needs root,
//! containerd, runc and busybox-static. containerd, the containers and the
//! shims are killed by PID, also on failure.

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use benchkit::{median, Row};
use common::{poll, Containerd, IMAGE, RUNTIME};

const RIVAL_RUNTIME: &str = "io.containerd.runc.v2";
const RIVAL_NAME: &str = "containerd-shim-runc-v2";

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
        .max(1)
}

/// A `Key: N kB` field of a /proc/PID file.
fn kib(pid: u32, file: &str, key: &str) -> Option<f64> {
    benchkit::proc_kib(pid, file, key).map(|v| v as f64)
}

/// Memory of one shim process (KiB).
#[derive(Clone, Copy)]
struct Mem {
    /// VmRSS: every page mapped, shared ones (the binary's text, libc) whole.
    rss: f64,
    /// Pss: shared pages split between the processes that map them.
    pss: f64,
    /// RssAnon: the process's own memory (heap, stacks).
    anon: f64,
}

fn mem(pid: u32) -> Option<Mem> {
    Some(Mem {
        rss: kib(pid, "status", "VmRSS")?,
        pss: kib(pid, "smaps_rollup", "Pss")?,
        anon: kib(pid, "status", "RssAnon")?,
    })
}

/// Starts `n` detached containers with `runtime`, measures the RSS of each
/// shim, then removes them.
fn rss(c: &Containerd, runtime: &str, binary: &str, tag: &str, n: usize) -> Vec<Mem> {
    let ids: Vec<String> = (0..n).map(|i| format!("{tag}-{i}")).collect();
    for id in &ids {
        let out = c
            .ctr()
            .args([
                "run",
                "-d",
                "--runtime",
                runtime,
                IMAGE,
                id,
                "sleep",
                "100000",
            ])
            .output()
            .unwrap();
        assert!(out.status.success(), "ctr run {id}: {out:?}\n{}", c.log());
    }
    for id in &ids {
        c.wait_status(id, "RUNNING");
    }
    let pids = poll(
        &format!("{n} shims of {binary}"),
        Duration::from_secs(60),
        || {
            let p = c.shims(binary);
            (p.len() == n).then_some(p)
        },
        || format!("{:?}", c.shims(binary)),
    );
    // Let the shims finish the work of Start (event publishing) first.
    std::thread::sleep(Duration::from_millis(500));
    let values: Vec<Mem> = pids.iter().filter_map(|p| mem(*p)).collect();
    for id in &ids {
        c.ctr_ok(&["task", "kill", "-s", "SIGKILL", id], &[]);
    }
    for id in &ids {
        c.wait_status(id, "STOPPED");
        c.ctr_ok(&["task", "delete", id], &[]);
        c.ctr_ok(&["container", "delete", id], &[]);
    }
    values
}

fn start_ms(c: &Containerd, runtime: &str, id: &str) -> f64 {
    let t = Instant::now();
    let out = c
        .ctr()
        .args(["run", "--rm", "--runtime", runtime, IMAGE, id, "true"])
        .output()
        .unwrap();
    let ms = t.elapsed().as_secs_f64() * 1000.0;
    assert!(out.status.success(), "ctr run {id}: {out:?}\n{}", c.log());
    ms
}

fn row(metric: &str, unit: &str, ours: &[f64], rival: &[f64]) -> Row {
    Row::new(metric, unit, median(ours), median(rival), RIVAL_NAME)
}

fn main() {
    // `cargo bench` passes --bench; anything else (cargo test
    // --all-targets) only checks that this builds.
    if !std::env::args().any(|a| a == "--bench") {
        println!("rival: run with `cargo bench -p containerd-shim-minios --bench rival`");
        return;
    }
    let n = env_usize("BENCH_N", 10);
    let runs = env_usize("BENCH_RUNS", 7);
    common::require(RIVAL_NAME, "containerd");
    let shim = benchkit::ours(common::SHIM);
    assert_eq!(
        shim.file_name(),
        std::path::Path::new(common::SHIM).file_name(),
        "containerd finds the shim by its name"
    );
    let c = Containerd::start_with_shim("bench", &shim);

    let ours_mem = rss(&c, RUNTIME, "containerd-shim-minios-v2", "ours", n);
    let rival_mem = rss(&c, RIVAL_RUNTIME, RIVAL_NAME, "rival", n);
    let pick = |v: &[Mem], f: fn(&Mem) -> f64| v.iter().map(f).collect::<Vec<f64>>();
    let ours_rss = pick(&ours_mem, |m| m.rss);
    let rival_rss = pick(&rival_mem, |m| m.rss);
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let (ours_mean, rival_mean) = (mean(&ours_rss), mean(&rival_rss));

    start_ms(&c, RUNTIME, "warm-ours");
    start_ms(&c, RIVAL_RUNTIME, "warm-rival");
    let (mut ours_ms, mut rival_ms) = (Vec::new(), Vec::new());
    for i in 0..runs {
        ours_ms.push(start_ms(&c, RUNTIME, &format!("lat-ours-{i}")));
        rival_ms.push(start_ms(&c, RIVAL_RUNTIME, &format!("lat-rival-{i}")));
    }

    let rows = vec![
        row("rss_per_container", "KiB", &ours_rss, &rival_rss),
        row("start_latency", "ms", &ours_ms, &rival_ms),
        row(
            "pss_per_container",
            "KiB",
            &pick(&ours_mem, |m| m.pss),
            &pick(&rival_mem, |m| m.pss),
        ),
        row(
            "anon_per_container",
            "KiB",
            &pick(&ours_mem, |m| m.anon),
            &pick(&rival_mem, |m| m.anon),
        ),
    ];

    println!(
        "containerd-shim rival benchmark: {n} containers per shim kind (one shim each, median RSS); \
         start latency median of {runs} `ctr run --rm ... true`"
    );
    println!("  rss mean: ours {ours_mean:.0} KiB, {RIVAL_NAME} {rival_mean:.0} KiB");
    let fmt = |v: &[f64]| {
        v.iter()
            .map(|x| format!("{x:.0}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    println!("  start_latency ours  ms: {}", fmt(&ours_ms));
    println!("  start_latency rival ms: {}", fmt(&rival_ms));
    benchkit::report("containerd-shim", &rows);
}
