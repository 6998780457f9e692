//! The rival benchmark (`cargo xtask bench dhcpcd`, or `cargo bench -p
//! dhcpcd --bench rival`): ours against Debian's dhcpcd and busybox's
//! udhcpc, in one run, against the same dnsmasq in network namespaces
//! made here (the integration tests' harness).
//!
//! - `lease_time` (ms): from starting the client to its exit once the
//!   address and default route are on the interface, median of
//!   `BENCH_RUNS` (default 5) runs each, interleaved, after one untimed
//!   warm-up each. Every client runs the same way: `ip netns exec NS
//!   unshare -m -u sh -c '... exec CLIENT'`, with ARP probing and start
//!   delays off (ours: `noarp nodelay`, dhcpcd: `-A` and `nodelay`, udhcpc
//!   has neither by default), a fresh state folder per run (so no client
//!   does INIT-REBOOT), and the interface up with carrier, no address.
//! - `rss_bound` (KiB): VmRSS of a daemon that stays running once bound
//!   (ours without `-1`, dhcpcd with `-B`), the largest of 10 samples over
//!   the second after it is bound, summed over the process and all its
//!   descendants (dhcpcd's privilege separation runs several processes;
//!   ours runs one).
//! - `pss_bound` (KiB): the same sample's Pss, summed the same way. RSS
//!   counts the pages dhcpcd's processes share once per process; PSS
//!   splits them, so the sum counts each page once.
//!
//! Ours is the image's static binary when `BENCH_OURS` names it (`cargo
//! xtask bench` does), else cargo's build of it.
//!
//! Rows `{metric, unit, ours, rival, rival_name, ratio}` (ratio = ours /
//! rival) go to `BENCH_OUTPUT` as JSON, and a table to stdout.
//! Needs root, iproute2, dnsmasq-base, dhcpcd-base, busybox (or udhcpc),
//! util-linux and mount. Every process it starts is killed by PID and the
//! namespaces are deleted, also on failure.

#[path = "../tests/common/mod.rs"]
mod common;

use std::collections::HashMap;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use benchkit::{median, Row};
use common::{Dnsmasq, Lab, Proc};
use nix::sys::signal::{kill, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag};
use nix::unistd::Pid;

const IFACE: &str = "eth0";
const SUBNET: &str = "10.123.0.";
const T: Duration = Duration::from_secs(60);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Who {
    Ours,
    Dhcpcd,
    Udhcpc,
}

impl Who {
    fn name(self) -> &'static str {
        match self {
            Who::Ours => "ours",
            Who::Dhcpcd => "dhcpcd",
            Who::Udhcpc => "udhcpc",
        }
    }
}

/// The programs compared.
struct Programs {
    ours: PathBuf,
    dhcpcd: PathBuf,
    /// `udhcpc` itself, or `busybox` with the applet name first.
    udhcpc: Vec<String>,
}

fn find(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin", "/usr/bin", "/bin"].map(PathBuf::from))
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

fn need(name: &str, package: &str) -> PathBuf {
    find(name).unwrap_or_else(|| {
        panic!("`{name}` not found: install it with `apt-get install -y {package}`")
    })
}

fn programs() -> Programs {
    common::require_tools();
    need("unshare", "util-linux");
    need("mount", "mount");
    let dhcpcd = need("dhcpcd", "dhcpcd-base");
    let udhcpc = match find("udhcpc") {
        Some(p) => vec![p.display().to_string()],
        None => vec![
            need("busybox", "busybox").display().to_string(),
            "udhcpc".into(),
        ],
    };
    Programs {
        ours: benchkit::ours(env!("CARGO_BIN_EXE_dhcpcd")),
        dhcpcd,
        udhcpc,
    }
}

/// Runs `ip ARGS`, ignoring failure (for flushes that may find nothing).
fn ip_try(args: &[&str]) {
    let _ = std::process::Command::new(need("ip", "iproute2"))
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status();
}

/// Kills the processes this benchmark started and that outlived their
/// parent. We are a child subreaper, so such orphans (dhcpcd's privilege
/// separation helpers) are re-parented to us rather than to init: find
/// them by parent PID, kill them by PID, and reap them. Children still
/// tracked by a `Proc` (dnsmasq) are in `keep`.
struct Reaper;

impl Reaper {
    fn new() -> Reaper {
        nix::sys::prctl::set_child_subreaper(true).expect("PR_SET_CHILD_SUBREAPER");
        Reaper
    }

    fn reap(&self, keep: &[i32]) {
        let me = std::process::id() as i32;
        for pid in descendants(me) {
            if keep.contains(&pid) {
                continue;
            }
            let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
            // Only our direct children can be waited for; the rest are
            // re-parented to us when their parent dies, then reaped below.
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let left: Vec<i32> = children(me)
                .into_iter()
                .filter(|p| !keep.contains(p))
                .collect();
            if left.is_empty() || Instant::now() > deadline {
                return;
            }
            for pid in left {
                let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
                let _ = waitpid(Pid::from_raw(pid), Some(WaitPidFlag::WNOHANG));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Reaper {
    fn drop(&mut self) {
        self.reap(&[]);
    }
}

/// pid -> parent pid, for every process.
fn parents() -> HashMap<i32, i32> {
    let mut m = HashMap::new();
    for e in fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(stat) = fs::read_to_string(e.path().join("stat")) else {
            continue;
        };
        // "pid (comm) state ppid ...": comm may hold spaces and parens.
        let Some(rest) = stat.rfind(')').map(|i| &stat[i + 1..]) else {
            continue;
        };
        if let Some(ppid) = rest.split_whitespace().nth(1).and_then(|s| s.parse().ok()) {
            m.insert(pid, ppid);
        }
    }
    m
}

fn children(pid: i32) -> Vec<i32> {
    parents()
        .into_iter()
        .filter(|&(_, pp)| pp == pid)
        .map(|(p, _)| p)
        .collect()
}

/// Every descendant of `pid` (not `pid` itself).
fn descendants(pid: i32) -> Vec<i32> {
    let map = parents();
    let mut out = Vec::new();
    let mut todo = vec![pid];
    while let Some(p) = todo.pop() {
        for (&c, &pp) in &map {
            if pp == p && !out.contains(&c) {
                out.push(c);
                todo.push(c);
            }
        }
    }
    out
}

/// Memory of a process tree (KiB).
#[derive(Clone, Copy, Default)]
struct TreeMem {
    /// VmRSS summed over `pid` and its descendants.
    rss: u64,
    /// Pss summed the same way.
    pss: u64,
    /// VmRSS of `pid` alone.
    main_rss: u64,
    processes: usize,
}

fn tree_mem(pid: i32) -> TreeMem {
    let mut all = vec![pid];
    all.extend(descendants(pid));
    let sum = |f: fn(u32) -> Option<u64>| all.iter().filter_map(|&p| f(p as u32)).sum::<u64>();
    TreeMem {
        rss: sum(benchkit::rss_kib),
        pss: sum(benchkit::pss_kib),
        main_rss: benchkit::rss_kib(pid as u32).unwrap_or(0),
        processes: all.len(),
    }
}

// Field order is drop order: dnsmasq, then anything left, then the
// namespaces.
struct Bench {
    dnsmasq: Dnsmasq,
    reaper: Reaper,
    lab: Lab,
    progs: Programs,
    runs: usize,
}

impl Bench {
    /// A clean interface: up, carrier, no address, no routes.
    fn reset(&self) {
        let ns = self.lab.client.name.as_str();
        ip_try(&["-n", ns, "-4", "addr", "flush", "dev", IFACE]);
        ip_try(&["-n", ns, "-4", "route", "flush", "dev", IFACE]);
        common::ip(&["-n", ns, "link", "set", IFACE, "up"]);
        common::wait_for("carrier on the client's interface", T, || {
            let link = common::ip_json(&self.lab.client, &["link", "show", "dev", IFACE]);
            (link[0]["operstate"] == "UP").then_some(())
        });
        assert!(self.lab.addresses(IFACE).is_empty());
    }

    /// Our address on the interface, once there.
    fn address(&self) -> Option<String> {
        self.lab
            .addresses(IFACE)
            .into_iter()
            .map(|a| a.0)
            .find(|a| a.starts_with(SUBNET))
    }

    fn has_default_route(&self) -> bool {
        self.lab
            .routes()
            .iter()
            .any(|r| r["dst"] == "default" && r["dev"] == IFACE)
    }

    /// A fresh folder for one run, with the client's config and script.
    fn run_dir(&self, who: Who, tag: &str) -> PathBuf {
        let dir = self.lab.path(&format!("{}-{tag}", who.name()));
        for d in ["", "leases", "db", "run", "varlib"] {
            fs::create_dir_all(dir.join(d)).unwrap();
        }
        match who {
            Who::Ours => fs::write(dir.join("dhcpcd.conf"), "noarp\nnodelay\n").unwrap(),
            Who::Dhcpcd => {
                fs::write(
                    dir.join("dhcpcd.conf"),
                    "noarp\nnodelay\nipv4only\nnoipv4ll\n",
                )
                .unwrap();
                // Its own hook: nothing of the host's (resolv.conf, host
                // name, NTP) is touched.
                script(&dir.join("hook"), "#!/bin/sh\nexit 0\n");
            }
            Who::Udhcpc => {
                // Configures what ours and dhcpcd configure: the address
                // with prefix and broadcast, and the default route.
                let ip = need("ip", "iproute2").display().to_string();
                script(
                    &dir.join("script"),
                    &format!(
                        "#!/bin/sh\n\
                         case \"$1\" in\n\
                         bound|renew)\n\
                         \t{ip} addr add \"$ip/$mask\" ${{broadcast:+broadcast \"$broadcast\"}} dev \"$interface\" || exit 1\n\
                         \tfor r in $router; do {ip} route add default via \"$r\" dev \"$interface\" proto dhcp metric 1002 || exit 1; break; done\n\
                         \t;;\n\
                         esac\n\
                         exit 0\n"
                    ),
                );
            }
        }
        dir
    }

    /// The shell command run inside `unshare -m -u` for `who`.
    fn command(&self, who: Who, dir: &Path, oneshot: bool) -> String {
        let d = dir.display();
        match who {
            Who::Ours => format!(
                "exec {} {} -t 30 -f {d}/dhcpcd.conf --lease-dir {d}/leases \
                 --resolv-conf {d}/resolv.conf --ntp-file {d}/ntp-servers {IFACE}",
                self.progs.ours.display(),
                if oneshot { "-1" } else { "" },
            ),
            // Its database and run folders are ours, in this mount
            // namespace only: /var/lib/dhcpcd (or all /var/lib, if the
            // package did not make it) and /run.
            Who::Dhcpcd => format!(
                "if [ -d /var/lib/dhcpcd ]; then mount --bind {d}/db /var/lib/dhcpcd; \
                 else mount --bind {d}/varlib /var/lib && mkdir -p /var/lib/dhcpcd; fi && \
                 mount --bind {d}/run /run && mkdir -p /run/dhcpcd && \
                 exec {} -f {d}/dhcpcd.conf -c {d}/hook {} -B -4 -A -t 30 {IFACE}",
                self.progs.dhcpcd.display(),
                if oneshot { "-1" } else { "" },
            ),
            Who::Udhcpc => {
                assert!(oneshot, "udhcpc is only timed");
                format!(
                    "exec {} -f -q -n -t 10 -i {IFACE} -s {d}/script",
                    self.progs.udhcpc.join(" ")
                )
            }
        }
    }

    fn spawn(&self, who: Who, dir: &Path, oneshot: bool) -> Proc {
        let mut c = self.lab.client.command("unshare");
        c.args(["-m", "-u", "sh", "-c", &self.command(who, dir, oneshot)]);
        Proc::spawn("client", c, dir.join("client.log"))
    }

    /// One start-to-configured run, in milliseconds.
    fn lease_time(&self, who: Who, tag: &str) -> f64 {
        self.reset();
        let dir = self.run_dir(who, tag);
        let started = Instant::now();
        let mut p = self.spawn(who, &dir, true);
        // The harness polls every 50 ms, too coarse to time with: look
        // every millisecond here.
        let st = loop {
            if let Some(st) = p.child.try_wait().unwrap() {
                break st;
            }
            assert!(
                started.elapsed() < T,
                "{} did not exit within {T:?}; log:\n{}",
                who.name(),
                p.output()
            );
            std::thread::sleep(Duration::from_millis(1));
        };
        let elapsed = started.elapsed();
        assert!(
            st.success(),
            "{} exited with {st}; log:\n{}",
            who.name(),
            p.output()
        );
        assert!(
            self.address().is_some() && self.has_default_route(),
            "{} exited without configuring {IFACE}: {:?} {:?}; log:\n{}",
            who.name(),
            self.lab.addresses(IFACE),
            self.lab.routes(),
            p.output()
        );
        drop(p);
        self.reaper.reap(&[self.dnsmasq.proc.pid()]);
        elapsed.as_secs_f64() * 1000.0
    }

    /// Memory of a daemon once bound, its largest sample.
    fn mem_bound(&self, who: Who) -> TreeMem {
        self.reset();
        let dir = self.run_dir(who, "rss");
        let mut p = self.spawn(who, &dir, false);
        match who {
            Who::Ours => {
                p.wait_log("event=configured", T);
            }
            _ => common::wait_for("the daemon to configure the address", T, || {
                if let Ok(Some(st)) = p.child.try_wait() {
                    panic!("{} exited ({st}); log:\n{}", who.name(), p.output());
                }
                (self.address().is_some() && self.has_default_route()).then_some(())
            }),
        }
        // A window of one second once bound, for late allocations
        // (hooks, lease files): the largest sample counts.
        let mut best = TreeMem::default();
        for _ in 0..10 {
            let s = tree_mem(p.pid());
            if s.rss > best.rss {
                best = s;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        assert!(best.rss > 0, "no VmRSS for {}", who.name());
        p.signal(Signal::SIGTERM);
        let st = p.wait_exit(T);
        assert!(
            st.success(),
            "{} exited with {st} on SIGTERM; log:\n{}",
            who.name(),
            p.output()
        );
        drop(p);
        self.reaper.reap(&[self.dnsmasq.proc.pid()]);
        best
    }
}

fn script(path: &Path, text: &str) {
    fs::write(path, text).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(0o755)).unwrap();
}

fn main() {
    // `cargo bench` passes --bench; anything else (cargo test
    // --all-targets) only checks that this builds.
    if !std::env::args().any(|a| a == "--bench") {
        println!("rival: run with `cargo bench -p dhcpcd --bench rival`");
        return;
    }
    let runs: usize = std::env::var("BENCH_RUNS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(5)
        .max(1);
    let progs = programs();
    // Declared first, dropped last: kills whatever is left.
    let reaper = Reaper::new();
    let lab = Lab::new();
    lab.link(IFACE, "srv0", "10.123.0.1/24");
    let dnsmasq = Dnsmasq::start(
        &lab,
        &["srv0"],
        &["--dhcp-range=10.123.0.10,10.123.0.250,255.255.255.0,1h"],
    );
    let bench = Bench {
        dnsmasq,
        reaper,
        lab,
        progs,
        runs,
    };

    let all = [Who::Ours, Who::Dhcpcd, Who::Udhcpc];
    for who in all {
        bench.lease_time(who, "warmup");
    }
    let mut times: HashMap<&str, Vec<f64>> = HashMap::new();
    for i in 0..bench.runs {
        for who in all {
            let ms = bench.lease_time(who, &i.to_string());
            times.entry(who.name()).or_default().push(ms);
        }
    }
    let ours_mem = bench.mem_bound(Who::Ours);
    let dhcpcd_mem = bench.mem_bound(Who::Dhcpcd);

    let med = |w: Who| median(&times[w.name()]);
    let rows = vec![
        Row::new(
            "lease_time",
            "ms",
            med(Who::Ours),
            med(Who::Dhcpcd),
            "dhcpcd",
        ),
        Row::new(
            "lease_time",
            "ms",
            med(Who::Ours),
            med(Who::Udhcpc),
            "udhcpc",
        ),
        Row::new(
            "rss_bound",
            "KiB",
            ours_mem.rss as f64,
            dhcpcd_mem.rss as f64,
            "dhcpcd",
        ),
        Row::new(
            "pss_bound",
            "KiB",
            ours_mem.pss as f64,
            dhcpcd_mem.pss as f64,
            "dhcpcd",
        ),
    ];

    println!(
        "dhcpcd rival benchmark: {} runs each, median; dnsmasq in a network namespace",
        bench.runs
    );
    for who in all {
        let v: Vec<String> = times[who.name()]
            .iter()
            .map(|t| format!("{t:.1}"))
            .collect();
        println!("  lease_time {:<7} ms: {}", who.name(), v.join(" "));
    }
    println!(
        "  rss_bound ours: {} KiB in {} process; dhcpcd: {} KiB in {} processes ({} KiB the main one)",
        ours_mem.rss, ours_mem.processes, dhcpcd_mem.rss, dhcpcd_mem.processes, dhcpcd_mem.main_rss
    );
    benchkit::report("dhcpcd", &rows);
}
