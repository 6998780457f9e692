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
//! - `slaac_time` (ms): from starting the daemon (IPv6 only, `noarp
//!   nodelay slaac hwaddr`, dhcpcd with `-6`) to a usable (no longer
//!   tentative) global address in dnsmasq's prefix, from its router
//!   advertisement (`ra-only`); median of `BENCH_RUNS`, interleaved, after
//!   one warm-up each, against Debian's dhcpcd only. Each run starts cold:
//!   the interface down with no IPv6 address (so the kernel's link-local
//!   DAD happens in every run), the kernel's own RA handling off
//!   (`accept_ra 0`, as both clients set it) so the address is the
//!   client's, the kernel's link-local address on again (`addr_gen_mode
//!   0`: dhcpcd turns it off and leaves it off), the kernel's random
//!   delay before each DAD off (`router_solicitation_delay 0`: noise of up to 2 s
//!   a run, equal for both), and the router's link-local address already
//!   usable. The
//!   address is polled with `ip -j` every 5 ms.
//! - `dhcpv6_time` (ms): the same, to a usable IA_NA address from
//!   dnsmasq's DHCPv6 range (its RA has M set; both start DHCPv6 on it).
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
/// The IPv6 prefix (a /64) of the `slaac_time` and `dhcpv6_time` labs.
const PREFIX6: &str = "2001:db8:70::";

/// How a client runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Run {
    /// Exits once bound (`-1`): `lease_time`.
    OneShot,
    /// Stays running once bound: `rss_bound`, `pss_bound`.
    Daemon,
    /// Stays running, IPv6 only: `slaac_time`, `dhcpv6_time`.
    Ipv6,
}

/// The IPv6 rows: what dnsmasq serves and when a client is done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum V6 {
    Slaac,
    Dhcp6,
}

impl V6 {
    fn metric(self) -> &'static str {
        match self {
            V6::Slaac => "slaac_time",
            V6::Dhcp6 => "dhcpv6_time",
        }
    }

    fn dnsmasq_range(self) -> &'static str {
        match self {
            V6::Slaac => "--dhcp-range=::,constructor:srv0,ra-only,64,1h",
            V6::Dhcp6 => "--dhcp-range=2001:db8:70::100,2001:db8:70::1ff,64,1h",
        }
    }

    /// The client's config. dhcpcd starts DHCPv6 itself when the RA has M.
    fn config(self, who: Who) -> &'static str {
        match (who, self) {
            (Who::Ours, V6::Dhcp6) => "ipv6only\nnoarp\nnodelay\n",
            _ => "ipv6only\nnoarp\nnodelay\nslaac hwaddr\n",
        }
    }

    /// Whether `addr` is the address this row waits for: in the prefix,
    /// and for DHCPv6 in dnsmasq's range (by address, whatever the prefix
    /// length the client gives it).
    fn wanted(self, addr: &str) -> bool {
        let (Ok(a), Ok(p)) = (
            addr.parse::<std::net::Ipv6Addr>(),
            PREFIX6.parse::<std::net::Ipv6Addr>(),
        ) else {
            return false;
        };
        let (a, p) = (a.segments(), p.segments());
        match self {
            V6::Slaac => a[..4] == p[..4],
            V6::Dhcp6 => a[..7] == p[..7] && (0x100..=0x1ff).contains(&a[7]),
        }
    }
}

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
    /// A lab: the client's interface in one namespace, `srv0` with
    /// 10.123.0.1/24 (and `v6`, without DAD so it serves at once) in the
    /// other, and dnsmasq on it with `args`.
    fn new(progs: Programs, reaper: Reaper, runs: usize, v6: Option<&str>, args: &[&str]) -> Bench {
        let lab = Lab::new();
        lab.link(IFACE, "srv0", "10.123.0.1/24");
        if let Some(a) = v6 {
            let ns = lab.server.name.as_str();
            common::ip(&["-n", ns, "addr", "add", a, "dev", "srv0", "nodad"]);
            // The router's link-local address needs carrier, so the
            // client's end up, once: it stays usable while that end is
            // down between runs.
            common::ip(&["-n", &lab.client.name, "link", "set", IFACE, "up"]);
            common::wait_for("the router's link-local address", T, || {
                router_ready(&lab).then_some(())
            });
        }
        let dnsmasq = Dnsmasq::start(&lab, &["srv0"], args);
        Bench {
            dnsmasq,
            reaper,
            lab,
            progs,
            runs,
        }
    }

    /// Ends this lab (dnsmasq, anything left, then the namespaces),
    /// keeping what the next one needs.
    fn end(self) -> (Programs, Reaper) {
        let Bench {
            dnsmasq,
            reaper,
            lab,
            progs,
            ..
        } = self;
        drop(dnsmasq);
        reaper.reap(&[]);
        drop(lab);
        (progs, reaper)
    }

    /// The IPv6 starting point: the client's interface down with no IPv6
    /// address or route (so every run does the link-local DAD), the
    /// kernel's own RA handling off, its link-local address generation on,
    /// and the router's link-local address usable.
    fn reset6(&self) {
        let ns = self.lab.client.name.as_str();
        common::ip(&["-n", ns, "link", "set", IFACE, "down"]);
        ip_try(&["-n", ns, "-6", "addr", "flush", "dev", IFACE]);
        ip_try(&["-n", ns, "-6", "route", "flush", "dev", IFACE]);
        // dhcpcd turns the kernel's link-local address off (addr_gen_mode
        // 1) to add its own, and leaves it so: back to the kernel default.
        let mut sysctl = self.lab.client.command("sysctl");
        sysctl.args([
            "-qw",
            &format!("net.ipv6.conf.{IFACE}.accept_ra=0"),
            &format!("net.ipv6.conf.{IFACE}.addr_gen_mode=0"),
            // The kernel waits a random 0-1 s before each DAD; that noise
            // is the same for both clients and hid the difference.
            &format!("net.ipv6.conf.{IFACE}.router_solicitation_delay=0"),
        ]);
        assert!(sysctl.status().unwrap().success(), "sysctl {IFACE}");
        assert!(self.lab.addresses6(IFACE).is_empty());
        assert!(router_ready(&self.lab), "the router's link-local address");
    }

    /// One start-to-usable-address run of `row`, in milliseconds; the
    /// client keeps running until then and is killed after.
    fn v6_time(&self, who: Who, row: V6, tag: &str) -> f64 {
        self.reset6();
        let dir = self.run_dir(who, &format!("{}-{tag}", row.metric()));
        fs::write(dir.join("dhcpcd.conf"), row.config(who)).unwrap();
        let started = Instant::now();
        let mut p = self.spawn(who, &dir, Run::Ipv6);
        loop {
            let done = self.lab.addresses6(IFACE).iter().any(|(a, _, flags)| {
                row.wanted(a) && !flags.iter().any(|f| f == "tentative" || f == "dadfailed")
            });
            if done {
                break;
            }
            if let Some(st) = p.child.try_wait().unwrap() {
                panic!(
                    "{} exited ({st}) before {}; log:\n{}",
                    who.name(),
                    row.metric(),
                    p.output()
                );
            }
            assert!(
                started.elapsed() < T,
                "{} had no usable address for {} within {T:?}:\n{}log:\n{}",
                who.name(),
                row.metric(),
                common::ip(&[
                    "-n",
                    &self.lab.client.name,
                    "-6",
                    "addr",
                    "show",
                    "dev",
                    IFACE
                ]),
                p.output()
            );
            std::thread::sleep(Duration::from_millis(5));
        }
        let elapsed = started.elapsed();
        drop(p);
        self.reaper.reap(&[self.dnsmasq.proc.pid()]);
        elapsed.as_secs_f64() * 1000.0
    }

    /// `row` for ours and dhcpcd: one warm-up each, then `runs` each,
    /// interleaved.
    fn v6_times(&self, row: V6) -> HashMap<&'static str, Vec<f64>> {
        let who = [Who::Ours, Who::Dhcpcd];
        for w in who {
            self.v6_time(w, row, "warmup");
        }
        let mut times: HashMap<&str, Vec<f64>> = HashMap::new();
        for i in 0..self.runs {
            for w in who {
                let ms = self.v6_time(w, row, &i.to_string());
                times.entry(w.name()).or_default().push(ms);
            }
        }
        times
    }

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
    fn command(&self, who: Who, dir: &Path, run: Run) -> String {
        let d = dir.display();
        let oneshot = run == Run::OneShot;
        match who {
            Who::Ours if run == Run::Ipv6 => format!(
                "exec {} --nobackground -f {d}/dhcpcd.conf --lease-dir {d}/leases \
                 --resolv-conf {d}/resolv.conf --ntp-file {d}/ntp-servers {IFACE}",
                self.progs.ours.display(),
            ),
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
                 exec {} -f {d}/dhcpcd.conf -c {d}/hook {} -B {} -t 30 {IFACE}",
                self.progs.dhcpcd.display(),
                if oneshot { "-1" } else { "" },
                if run == Run::Ipv6 { "-6" } else { "-4 -A" },
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

    fn spawn(&self, who: Who, dir: &Path, run: Run) -> Proc {
        let mut c = self.lab.client.command("unshare");
        c.args(["-m", "-u", "sh", "-c", &self.command(who, dir, run)]);
        Proc::spawn("client", c, dir.join("client.log"))
    }

    /// One start-to-configured run, in milliseconds.
    fn lease_time(&self, who: Who, tag: &str) -> f64 {
        self.reset();
        let dir = self.run_dir(who, tag);
        let started = Instant::now();
        let mut p = self.spawn(who, &dir, Run::OneShot);
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
        let mut p = self.spawn(who, &dir, Run::Daemon);
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

/// Whether the router (`srv0`) has a usable (not tentative) link-local
/// address, so that both clients face the same ready router.
fn router_ready(lab: &Lab) -> bool {
    let v = common::ip_json(
        &lab.server,
        &["-6", "addr", "show", "dev", "srv0", "scope", "link"],
    );
    let infos: Vec<&serde_json::Value> = v
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|l| l["addr_info"].as_array().into_iter().flatten())
        .filter(|a| a["local"].is_string())
        .collect();
    !infos.is_empty() && infos.iter().all(|a| a["tentative"].as_bool() != Some(true))
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
    let bench = Bench::new(
        progs,
        reaper,
        runs,
        None,
        &["--dhcp-range=10.123.0.10,10.123.0.250,255.255.255.0,1h"],
    );

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

    // The IPv6 rows, each in a lab of its own.
    let (mut progs, mut reaper) = bench.end();
    let mut times6 = Vec::new();
    for row in [V6::Slaac, V6::Dhcp6] {
        let bench6 = Bench::new(
            progs,
            reaper,
            runs,
            Some(&format!("{PREFIX6}1/64")),
            &["--enable-ra", row.dnsmasq_range()],
        );
        times6.push((row, bench6.v6_times(row)));
        (progs, reaper) = bench6.end();
    }
    drop(reaper);

    let med = |w: Who| median(&times[w.name()]);
    let mut rows = vec![
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
    for (row, t) in &times6 {
        rows.push(Row::new(
            row.metric(),
            "ms",
            median(&t[Who::Ours.name()]),
            median(&t[Who::Dhcpcd.name()]),
            "dhcpcd",
        ));
    }

    println!("dhcpcd rival benchmark: {runs} runs each, median; dnsmasq in a network namespace");
    for who in all {
        let v: Vec<String> = times[who.name()]
            .iter()
            .map(|t| format!("{t:.1}"))
            .collect();
        println!("  lease_time {:<7} ms: {}", who.name(), v.join(" "));
    }
    for (row, t) in &times6 {
        for who in [Who::Ours, Who::Dhcpcd] {
            let v: Vec<String> = t[who.name()].iter().map(|t| format!("{t:.1}")).collect();
            println!("  {} {:<7} ms: {}", row.metric(), who.name(), v.join(" "));
        }
    }
    println!(
        "  rss_bound ours: {} KiB in {} process; dhcpcd: {} KiB in {} processes ({} KiB the main one)",
        ours_mem.rss, ours_mem.processes, dhcpcd_mem.rss, dhcpcd_mem.processes, dhcpcd_mem.main_rss
    );
    benchkit::report("dhcpcd", &rows);
}
