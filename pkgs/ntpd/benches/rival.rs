//! ntpd against chrony, in one run (`cargo xtask bench ntpd`):
//!
//! - first_measurement: wall time of ours `-q --dry-run` and of `chronyd -Q`, both polling a
//!   chronyd server on 127.0.0.1 every 1/64 s, median of N runs (ms);
//! - rss: VmRSS of ours running as a daemon (dry run) and of a running client-only chronyd
//!   (`-x`), both once they have measured (KiB);
//! - offset_error: |measured - known| against a server lying by +2.5 s, median (µs).
//!
//! Rows `{metric, unit, ours, rival, rival_name, ratio}` go to $BENCH_OUTPUT as JSON. Ours is
//! the image's static binary when `BENCH_OURS` names it (`cargo xtask bench` does), else cargo's
//! build of it.

#[path = "../tests/common/mod.rs"]
mod common;

use std::path::PathBuf;
use std::process::{Command, Stdio};

use benchkit::{median, Row};
use std::time::{Duration, Instant};

use common::*;

const RUNS: usize = 15;
const LIE: f64 = 2.5;

/// Ours, -q in a dry run against `server`: (seconds taken, offset).
fn ours_once(bin: &PathBuf, server: &str) -> (f64, f64) {
    let t = Instant::now();
    let out = Command::new(bin)
        .args([
            "-q",
            "--dry-run",
            "--no-dhcp",
            "-f",
            "/dev/null",
            "--burst-interval",
            "0.015625",
            "-p",
            server,
        ])
        .stdout(Stdio::null())
        .output()
        .expect("running ntpd");
    let took = t.elapsed().as_secs_f64();
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "ntpd -q failed:\n{log}");
    (took, reported_offset(&log))
}

/// chronyd -Q against `server`: (seconds taken, offset).
fn chrony_once(server: std::net::SocketAddr) -> (f64, f64) {
    let t = Instant::now();
    let offset = chronyd_q(server);
    (t.elapsed().as_secs_f64(), offset)
}

fn vm_rss_kib(pid: u32) -> f64 {
    benchkit::rss_kib(pid).expect("VmRSS") as f64
}

/// A client-only chronyd (`port 0`, `-x`) polling `server`, until it has selected it.
fn chrony_client_rss(server: std::net::SocketAddr) -> f64 {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display();
    let conf = dir.path().join("client.conf");
    std::fs::write(
        &conf,
        format!(
            "server {} port {} iburst minpoll -6 maxpoll -6\nport 0\nbindcmdaddress /\ncmdport 0\n\
             driftfile {d}/drift\npidfile {d}/chronyd.pid\n",
            server.ip(),
            server.port()
        ),
    )
    .unwrap();
    let log_path = dir.path().join("log");
    let mut child = Command::new(chronyd())
        .args(["-d", "-x", "-u", "root", "-f"])
        .arg(&conf)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log_path).unwrap())
        .spawn()
        .expect("starting chronyd");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let log = std::fs::read_to_string(&log_path).unwrap_or_default();
        if log.contains("Selected source") {
            break;
        }
        if Instant::now() > deadline {
            stop(&mut child);
            panic!("the chronyd client never selected its source:\n{log}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let rss = vm_rss_kib(child.id());
    stop(&mut child);
    rss
}

fn our_daemon_rss(bin: &PathBuf, server: &str) -> f64 {
    let mut child = Command::new(bin)
        .args([
            "--dry-run",
            "--no-dhcp",
            "-f",
            "/dev/null",
            "--burst-interval",
            "0.015625",
            "-p",
            server,
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting ntpd");
    let err = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(err).lines().map_while(Result::ok) {
            if line.contains("event=offset") {
                let _ = tx.send(());
            }
        }
    });
    if rx.recv_timeout(Duration::from_secs(20)).is_err() {
        stop(&mut child);
        panic!("our daemon never measured");
    }
    let rss = vm_rss_kib(child.id());
    stop(&mut child);
    rss
}

fn main() {
    // `cargo bench` passes --bench; nothing else to parse.
    let bin = benchkit::ours(env!("CARGO_BIN_EXE_ntpd"));
    let chrony = Chrony::start();
    let server = chrony.addr.to_string();

    let ours_first: Vec<f64> = (0..RUNS)
        .map(|_| ours_once(&bin, &server).0 * 1000.0)
        .collect();
    let theirs_first: Vec<f64> = (0..RUNS)
        .map(|_| chrony_once(chrony.addr).0 * 1000.0)
        .collect();

    let ours_rss = our_daemon_rss(&bin, &server);
    let theirs_rss = chrony_client_rss(chrony.addr);

    let liar = Liar::start(LIE, Spoof::None);
    let liar_addr = liar.addr.to_string();
    let ours_err: Vec<f64> = (0..RUNS)
        .map(|_| (ours_once(&bin, &liar_addr).1 - LIE).abs() * 1e6)
        .collect();
    let theirs_err: Vec<f64> = (0..RUNS)
        .map(|_| (chrony_once(liar.addr).1 - LIE).abs() * 1e6)
        .collect();

    let rows = [
        Row::new(
            "first_measurement",
            "ms",
            median(&ours_first),
            median(&theirs_first),
            "chronyd -Q",
        ),
        Row::new("rss", "KiB", ours_rss, theirs_rss, "chronyd"),
        Row::new(
            "offset_error",
            "us",
            median(&ours_err),
            median(&theirs_err),
            "chronyd",
        ),
    ];
    benchkit::report("ntpd", &rows);
}
