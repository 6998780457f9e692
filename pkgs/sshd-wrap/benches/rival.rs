//! sshd-wrap against OpenSSH's sshd, in one run (`cargo xtask bench sshd-wrap`).
//!
//! Both daemons run on 127.0.0.1 and an ephemeral port with the same ed25519 host key type and
//! the same authorized key, and OpenSSH's client logs in to each the same way:
//! - `login_latency`: connect, key exchange, public-key auth, `true`, exit: median wall time of
//!   `BENCH_RUNS` logins (default 15), the two daemons taken in turns.
//! - `rss_idle`: resident memory (VmRSS) of the listening daemon after those logins, idle.
//!   For sshd that is its listener process; each login forks a new one, which is gone by then.
//!
//! Ours is the image's static binary when `BENCH_OURS` names it (`cargo xtask bench` does), else
//! cargo's build of it. Rows go to `BENCH_OUTPUT` as JSON, and a table to stdout. Needs openssh-server and
//! openssh-client. The daemons are killed by PID, also on failure.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use benchkit::{median, Row};

const RIVAL: &str = "openssh-sshd";

struct Daemon {
    name: &'static str,
    child: Child,
    port: u16,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn need(program: &str, package: &str) -> PathBuf {
    for dir in ["/usr/sbin", "/usr/bin", "/sbin", "/bin"] {
        let p = Path::new(dir).join(program);
        if p.is_file() {
            return p;
        }
    }
    panic!("{program} is missing: apt-get install {package}");
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Waits until the port accepts connections and answers with an SSH banner.
fn wait_ready(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(s) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            let mut line = String::new();
            let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
            if BufReader::new(s).read_line(&mut line).is_ok() && line.starts_with("SSH-2.0-") {
                return;
            }
        }
        assert!(Instant::now() < deadline, "no SSH server on port {port}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn start_ours(dir: &Path) -> Daemon {
    let port = free_port();
    let child = Command::new(benchkit::ours(env!("CARGO_BIN_EXE_sshd-wrap")))
        .args(["-l", &format!("127.0.0.1:{port}"), "-k"])
        .arg(dir.join("ours_host_key"))
        .arg("-a")
        .arg(dir.join("authorized_keys"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_ready(port);
    Daemon {
        name: "sshd-wrap",
        child,
        port,
    }
}

fn start_openssh(dir: &Path) -> Daemon {
    let sshd = need("sshd", "openssh-server");
    // sshd wants its privilege separation directory.
    std::fs::create_dir_all("/run/sshd").unwrap();
    let port = free_port();
    let host_key = dir.join("openssh_host_key");
    keygen(&host_key);
    let config = dir.join("sshd_config");
    std::fs::write(
        &config,
        format!(
            "ListenAddress 127.0.0.1:{port}\nHostKey {}\nAuthorizedKeysFile {}\n\
             PidFile none\nStrictModes no\nUsePAM no\nPasswordAuthentication no\n\
             KbdInteractiveAuthentication no\nPermitRootLogin prohibit-password\n\
             UseDNS no\nPrintMotd no\nPrintLastLog no\n",
            host_key.display(),
            dir.join("authorized_keys").display()
        ),
    )
    .unwrap();
    let child = Command::new(sshd)
        .args(["-D", "-e", "-f"])
        .arg(&config)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_ready(port);
    Daemon {
        name: RIVAL,
        child,
        port,
    }
}

fn keygen(path: &Path) {
    let ok = Command::new(need("ssh-keygen", "openssh-client"))
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(path)
        .status()
        .unwrap()
        .success();
    assert!(ok, "ssh-keygen failed");
}

/// One login running `true`; its wall time.
fn login(dir: &Path, port: u16) -> Duration {
    let started = Instant::now();
    let out = Command::new(need("ssh", "openssh-client"))
        .args(["-F", "/dev/null", "-p", &port.to_string(), "-i"])
        .arg(dir.join("id"))
        .args(["-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes"])
        .args([
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            "UserKnownHostsFile=/dev/null",
        ])
        .args(["-o", "LogLevel=ERROR", "root@127.0.0.1", "true"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let took = started.elapsed();
    assert!(
        out.status.success(),
        "login to port {port} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    took
}

fn rss_kib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS")
}

fn main() {
    // `cargo bench` passes --bench; anything else (cargo test --all-targets) only builds this.
    if !std::env::args().any(|a| a == "--bench") {
        println!("rival: run with `cargo xtask bench sshd-wrap`");
        return;
    }
    let runs: usize = std::env::var("BENCH_RUNS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(15)
        .max(1);
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    keygen(&d.join("id"));
    std::fs::copy(d.join("id.pub"), d.join("authorized_keys")).unwrap();

    let ours = start_ours(d);
    let rival = start_openssh(d);
    // One login each first: host keys made, caches warm.
    login(d, ours.port);
    login(d, rival.port);
    let mut times = [Vec::new(), Vec::new()];
    for _ in 0..runs {
        for (i, daemon) in [&ours, &rival].into_iter().enumerate() {
            times[i].push(login(d, daemon.port).as_secs_f64() * 1000.0);
        }
    }
    let rss = [rss_kib(ours.child.id()), rss_kib(rival.child.id())];
    let rows = vec![
        Row::new(
            "login_latency",
            "ms",
            median(&times[0]),
            median(&times[1]),
            RIVAL,
        ),
        Row::new("rss_idle", "KiB", rss[0], rss[1], RIVAL),
    ];

    println!("sshd-wrap vs OpenSSH sshd, {runs} logins each (median)");
    for (daemon, t) in [&ours, &rival].into_iter().zip(&times) {
        let v: Vec<String> = t.iter().map(|t| format!("{t:.1}")).collect();
        println!("  login_latency {:<13} ms: {}", daemon.name, v.join(" "));
    }
    benchkit::report("sshd-wrap", &rows);
}
