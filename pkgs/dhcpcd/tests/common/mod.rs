//! Test harness: network namespaces and veth pairs made by the test,
//! dnsmasq as the server, our dhcpcd as the client, each killed by PID and
//! deleted on Drop. Nothing here touches the host's own interfaces.
//!
//! Needs root (to make namespaces), `ip` (Debian: iproute2) and `dnsmasq`
//! (Debian: dnsmasq-base).

#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// How often the `wait_*` helpers look again.
const POLL: Duration = Duration::from_millis(50);

/// Panics, naming the Debian package, if a tool the namespace tests use is missing.
pub fn require_tools() {
    require("ip", "iproute2");
    require("dnsmasq", "dnsmasq-base");
}

/// Panics, naming the Debian package, if `tool` is missing.
pub fn require(tool: &str, package: &str) {
    let found = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(tool).is_file()))
        .unwrap_or(false)
        || ["/usr/sbin", "/sbin", "/usr/bin"]
            .iter()
            .any(|d| Path::new(d).join(tool).is_file());
    assert!(
        found,
        "`{tool}` not found: install it with `apt-get install -y {package}`"
    );
}

fn tool(name: &str) -> String {
    for d in ["/usr/sbin", "/sbin", "/usr/bin", "/bin"] {
        let p = Path::new(d).join(name);
        if p.is_file() {
            return p.display().to_string();
        }
    }
    name.to_string()
}

/// Runs `ip ARGS`, panicking with its stderr on failure.
pub fn ip(args: &[&str]) -> String {
    let out = Command::new(tool("ip"))
        .args(args)
        .output()
        .expect("running ip");
    assert!(
        out.status.success(),
        "ip {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `ip -j -n NS ARGS` as JSON.
pub fn ip_json(ns: &Netns, args: &[&str]) -> Value {
    let mut a = vec!["-j", "-n", &ns.name];
    a.extend_from_slice(args);
    let text = ip(&a);
    serde_json::from_str(if text.trim().is_empty() { "[]" } else { &text })
        .unwrap_or_else(|e| panic!("ip {}: {e}: {text}", a.join(" ")))
}

/// Polls `f` until it returns Some, or panics after `timeout` with `what`.
pub fn wait_for<T>(what: &str, timeout: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(POLL);
    }
}

/// A network namespace, deleted on Drop.
pub struct Netns {
    pub name: String,
}

impl Netns {
    pub fn new(role: &str) -> Netns {
        let name = format!(
            "dhcpcd-t{}-{}{}",
            std::process::id(),
            role,
            COUNTER.fetch_add(1, Ordering::SeqCst)
        );
        ip(&["netns", "add", &name]);
        let ns = Netns { name };
        ip(&["-n", &ns.name, "link", "set", "lo", "up"]);
        ns
    }

    /// A command run inside the namespace.
    pub fn command(&self, program: &str) -> Command {
        let mut c = Command::new(tool("ip"));
        c.args(["netns", "exec", &self.name, program]);
        c
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new(tool("ip"))
            .args(["netns", "del", &self.name])
            .stderr(Stdio::null())
            .status();
    }
}

/// A server namespace and a client namespace joined by veth pairs, and a
/// temporary folder for logs, leases and the files dhcpcd writes.
pub struct Lab {
    // Field order is drop order: processes first, then namespaces.
    pub server: Netns,
    pub client: Netns,
    pub dir: tempfile::TempDir,
}

impl Lab {
    pub fn new() -> Lab {
        require_tools();
        Lab {
            server: Netns::new("s"),
            client: Netns::new("c"),
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    /// A veth pair: `client_if` in the client namespace, `server_if` in the
    /// server namespace with `server_addr` (CIDR), both up.
    pub fn link(&self, client_if: &str, server_if: &str, server_addr: &str) {
        ip(&[
            "link",
            "add",
            server_if,
            "netns",
            &self.server.name,
            "type",
            "veth",
            "peer",
            "name",
            client_if,
            "netns",
            &self.client.name,
        ]);
        ip(&[
            "-n",
            &self.server.name,
            "addr",
            "add",
            server_addr,
            "dev",
            server_if,
        ]);
        ip(&["-n", &self.server.name, "link", "set", server_if, "up"]);
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Writes a dhcpcd.conf and returns its path.
    pub fn config(&self, text: &str) -> PathBuf {
        let p = self.path("dhcpcd.conf");
        fs::write(&p, text).unwrap();
        p
    }

    /// Our dhcpcd in the client namespace, with every file in the temp dir.
    pub fn dhcpcd(&self, args: &[&str]) -> Proc {
        let log = self.path(&format!(
            "dhcpcd-{}.log",
            COUNTER.fetch_add(1, Ordering::SeqCst)
        ));
        let mut c = self.client.command(env!("CARGO_BIN_EXE_dhcpcd"));
        c.arg("-f")
            .arg(self.path("dhcpcd.conf"))
            .arg("--resolv-conf")
            .arg(self.path("resolv.conf"))
            .arg("--ntp-file")
            .arg(self.path("ntp-servers"))
            .arg("--lease-dir")
            .arg(self.path("leases"))
            .args(args);
        Proc::spawn("dhcpcd", c, log)
    }

    pub fn addresses(&self, iface: &str) -> Vec<(String, u64, Option<String>)> {
        let v = ip_json(&self.client, &["-4", "addr", "show", "dev", iface]);
        let mut out = Vec::new();
        for link in v.as_array().into_iter().flatten() {
            for a in link["addr_info"].as_array().into_iter().flatten() {
                out.push((
                    a["local"].as_str().unwrap_or_default().to_string(),
                    a["prefixlen"].as_u64().unwrap_or_default(),
                    a["broadcast"].as_str().map(String::from),
                ));
            }
        }
        out
    }

    pub fn routes(&self) -> Vec<Value> {
        ip_json(&self.client, &["-4", "route", "show"])
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// Global IPv6 addresses: (address, prefix length, flags as `ip` names
    /// them: "tentative", "noprefixroute", "dadfailed", ...).
    pub fn addresses6(&self, iface: &str) -> Vec<(String, u64, Vec<String>)> {
        let v = ip_json(
            &self.client,
            &["-6", "addr", "show", "dev", iface, "scope", "global"],
        );
        let mut out = Vec::new();
        for link in v.as_array().into_iter().flatten() {
            // `ip -j` leaves an empty object where a filtered address was.
            let infos = link["addr_info"].as_array().into_iter().flatten();
            for a in infos.filter(|a| a["local"].is_string()) {
                let flags = ["tentative", "noprefixroute", "dadfailed", "deprecated"]
                    .iter()
                    .filter(|f| a[**f].as_bool() == Some(true))
                    .map(|f| f.to_string())
                    .collect();
                out.push((
                    a["local"].as_str().unwrap_or_default().to_string(),
                    a["prefixlen"].as_u64().unwrap_or_default(),
                    flags,
                ));
            }
        }
        out
    }

    pub fn routes6(&self) -> Vec<Value> {
        ip_json(&self.client, &["-6", "route", "show"])
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    pub fn mtu(&self, iface: &str) -> u64 {
        ip_json(&self.client, &["link", "show", "dev", iface])[0]["mtu"]
            .as_u64()
            .unwrap()
    }
}

/// A child process with its output in a log file; killed by PID on Drop.
pub struct Proc {
    pub name: &'static str,
    pub child: Child,
    pub log: PathBuf,
    exited: Option<ExitStatus>,
}

impl Proc {
    pub fn spawn(name: &'static str, mut c: Command, log: PathBuf) -> Proc {
        let out = fs::File::create(&log).unwrap();
        let err = out.try_clone().unwrap();
        let child = c
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .unwrap_or_else(|e| panic!("starting {name}: {e}"));
        Proc {
            name,
            child,
            log,
            exited: None,
        }
    }

    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    pub fn output(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until the log holds `needle` `count` times; returns the log.
    pub fn wait_log_count(&mut self, needle: &str, count: usize, timeout: Duration) -> String {
        let what = format!("{count}x {needle:?} in the {} log", self.name);
        let name = self.name;
        let log = self.log.clone();
        let deadline = Instant::now() + timeout;
        loop {
            let text = fs::read_to_string(&log).unwrap_or_default();
            if text.matches(needle).count() >= count {
                return text;
            }
            if let Ok(Some(st)) = self.child.try_wait() {
                self.exited = Some(st);
                panic!("{name} exited ({st}) while waiting for {what}; log:\n{text}");
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; log:\n{text}"
            );
            std::thread::sleep(POLL);
        }
    }

    pub fn wait_log(&mut self, needle: &str, timeout: Duration) -> String {
        self.wait_log_count(needle, 1, timeout)
    }

    /// Waits for the process to exit; panics with its log on timeout.
    pub fn wait_exit(&mut self, timeout: Duration) -> ExitStatus {
        if let Some(st) = self.exited {
            return st;
        }
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(st) = self.child.try_wait().unwrap() {
                self.exited = Some(st);
                return st;
            }
            assert!(
                Instant::now() < deadline,
                "{} did not exit within {timeout:?}; log:\n{}",
                self.name,
                self.output()
            );
            std::thread::sleep(POLL);
        }
    }

    pub fn signal(&self, sig: nix::sys::signal::Signal) {
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(self.pid()), sig).unwrap();
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if self.exited.is_none() && matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// radvd in the server namespace, in the foreground, with `config` (its
/// interface must be up with a link-local address), logging to the lab.
pub struct Radvd {
    pub proc: Proc,
}

impl Radvd {
    pub fn start(lab: &Lab, config: &str) -> Radvd {
        Radvd::start_as(lab, "radvd", config)
    }

    /// Another radvd beside the first: `name` names its files.
    pub fn start_as(lab: &Lab, name: &'static str, config: &str) -> Radvd {
        require("radvd", "radvd");
        let conf = lab.path(&format!("{name}.conf"));
        fs::write(&conf, config).unwrap();
        // A router forwards; radvd warns and may stay silent otherwise.
        let mut sysctl = lab.server.command("sysctl");
        sysctl.args(["-qw", "net.ipv6.conf.all.forwarding=1"]);
        assert!(sysctl.status().unwrap().success());
        let mut c = lab.server.command("radvd");
        c.arg("--nodaemon")
            .arg("--config")
            .arg(&conf)
            .arg("--pidfile")
            .arg(lab.path(&format!("{name}.pid")))
            .args(["--logmethod", "stderr", "--debug", "1"]);
        Radvd {
            proc: Proc::spawn(name, c, lab.path(&format!("{name}.log"))),
        }
    }
}

/// dnsmasq as the DHCP server in the server namespace, in the foreground,
/// with its own lease file and log in the lab's temp dir.
pub struct Dnsmasq {
    pub proc: Proc,
    pub leases: PathBuf,
}

impl Dnsmasq {
    /// `interfaces` are server-side veth names; `args` add ranges and options.
    pub fn start(lab: &Lab, interfaces: &[&str], args: &[&str]) -> Dnsmasq {
        let leases = lab.path("dnsmasq.leases");
        let log = lab.path("dnsmasq.log");
        let mut c = lab.server.command("dnsmasq");
        c.args([
            "--no-daemon",
            "--conf-file=/dev/null",
            "--no-resolv",
            "--no-hosts",
            "--port=0",
            "--bind-interfaces",
            "--no-ping",
            "--log-dhcp",
            "--log-facility=-",
        ]);
        c.arg(format!("--dhcp-leasefile={}", leases.display()));
        for i in interfaces {
            c.arg(format!("--interface={i}"));
        }
        c.args(args);
        let mut proc = Proc::spawn("dnsmasq", c, log);
        // dnsmasq opens its sockets first, then logs one line per IPv4
        // range, and one when router advertisements are on.
        let ranges = args
            .iter()
            .filter(|a| a.starts_with("--dhcp-range") && !a.contains(':'))
            .count();
        proc.wait_log_count("DHCP, IP range", ranges, Duration::from_secs(10));
        if args.contains(&"--enable-ra") {
            proc.wait_log("IPv6 router advertisement enabled", Duration::from_secs(10));
        }
        Dnsmasq { proc, leases }
    }

    pub fn lease_file(&self) -> String {
        fs::read_to_string(&self.leases).unwrap_or_default()
    }
}
