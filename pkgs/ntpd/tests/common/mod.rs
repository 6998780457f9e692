//! Test peers, each killed on Drop: a chronyd server on 127.0.0.1 and an
//! ephemeral port, a lying NTP server of our own, and our ntpd as a daemon
//! whose log lines are collected. Readiness is polled, never slept for.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

pub const NTPD: &str = env!("CARGO_BIN_EXE_ntpd");

/// chronyd's path, or a failure that names the Debian package.
pub fn chronyd() -> PathBuf {
    for dir in std::env::var("PATH")
        .unwrap_or_default()
        .split(':')
        .chain(["/usr/sbin", "/sbin"])
    {
        let p = Path::new(dir).join("chronyd");
        if p.is_file() {
            return p;
        }
    }
    panic!("chronyd not found: install the Debian package `chrony` (apt-get install -y chrony)");
}

/// The current time as an NTP timestamp.
pub fn ntp_now(offset: f64) -> u64 {
    let d = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    let secs = d.as_secs_f64() + offset + 2_208_988_800.0;
    let whole = secs.floor();
    ((whole as u64) << 32) | (((secs - whole) * 4_294_967_296.0) as u64)
}

/// Sends one NTP client request and waits up to `wait` for any reply.
pub fn ntp_answers(addr: SocketAddr, wait: Duration) -> bool {
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(wait)).unwrap();
    let mut req = [0u8; 48];
    req[0] = 0x23;
    req[40..48].copy_from_slice(&ntp_now(0.0).to_be_bytes());
    if sock.send_to(&req, addr).is_err() {
        return false;
    }
    let mut buf = [0u8; 512];
    matches!(sock.recv_from(&mut buf), Ok((n, from)) if n >= 48 && from == addr)
}

fn free_udp_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A chronyd serving time on 127.0.0.1:port, never touching the clock (-x).
pub struct Chrony {
    pub addr: SocketAddr,
    child: Child,
    pub dir: tempfile::TempDir,
}

impl Chrony {
    pub fn start() -> Chrony {
        let bin = chronyd();
        for _attempt in 0..5 {
            let dir = tempfile::tempdir().unwrap();
            let port = free_udp_port();
            let d = dir.path().display();
            let conf = dir.path().join("chrony.conf");
            std::fs::write(
                &conf,
                format!(
                    "port {port}\nlocal stratum 8\nallow 127.0.0.1\nbindaddress 127.0.0.1\n\
                     bindcmdaddress /\ncmdport 0\ndriftfile {d}/drift\npidfile {d}/chronyd.pid\n\
                     dumpdir {d}\nlogdir {d}\n"
                ),
            )
            .unwrap();
            let log = std::fs::File::create(dir.path().join("chronyd.log")).unwrap();
            let child = Command::new(&bin)
                .args(["-d", "-x", "-u", "root", "-f"])
                .arg(&conf)
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .expect("starting chronyd");
            let mut c = Chrony {
                addr: SocketAddr::from(([127, 0, 0, 1], port)),
                child,
                dir,
            };
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = c.child.try_wait() {
                    break; // the port was taken meanwhile: try another
                }
                if ntp_answers(c.addr, Duration::from_millis(100)) {
                    return c;
                }
            }
            let log = std::fs::read_to_string(c.dir.path().join("chronyd.log")).unwrap_or_default();
            eprintln!("chronyd on port {port} did not answer:\n{log}");
        }
        panic!("chronyd did not start");
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Chrony {
    fn drop(&mut self) {
        stop(&mut self.child);
    }
}

/// SIGTERM, then SIGKILL after 5 s; always reaped.
pub fn stop(child: &mut Child) {
    if let Ok(Some(_)) = child.try_wait() {
        return;
    }
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// `chronyd -Q` against `server`: its offset (server minus us, seconds).
pub fn chronyd_q(server: SocketAddr) -> f64 {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(chronyd())
        .args(["-Q", "-u", "root"])
        .arg(format!(
            "server {} port {} minpoll -6 maxpoll -6",
            server.ip(),
            server.port()
        ))
        .arg(format!("pidfile {}/q.pid", dir.path().display()))
        .output()
        .expect("running chronyd -Q");
    let text =
        String::from_utf8_lossy(&out.stderr).to_string() + &String::from_utf8_lossy(&out.stdout);
    // "System clock wrong by -0.000004 seconds (ignored)"
    text.lines()
        .find_map(|l| {
            let rest = l.split("System clock wrong by ").nth(1)?;
            rest.split_whitespace().next()?.parse::<f64>().ok()
        })
        .unwrap_or_else(|| panic!("no offset in chronyd -Q output:\n{text}"))
}

/// How a [`Liar`] answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Spoof {
    None,
    /// Before each real reply: one with a wrong origin timestamp, one from another port.
    First,
}

/// An NTP server on 127.0.0.1 whose clock is `lie` seconds ahead of ours.
pub struct Liar {
    pub addr: SocketAddr,
    pub lie: f64,
    pub requests: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

/// A server-mode reply to `req`, with the server's clock `lie` seconds ahead.
pub fn reply(req: &[u8], lie: f64, rx: u64) -> [u8; 48] {
    let mut p = [0u8; 48];
    p[0] = 4 << 3 | 4; // LI 0, version 4, mode 4
    p[1] = 2; // stratum
    p[2] = req[2];
    p[3] = 0xec; // precision 2^-20
    p[8..12].copy_from_slice(&0x0000_0010u32.to_be_bytes()); // root dispersion
    p[12..16].copy_from_slice(b"LIE\0");
    p[16..24].copy_from_slice(&(ntp_now(lie) - (16u64 << 32)).to_be_bytes());
    p[24..32].copy_from_slice(&req[40..48]); // origin = the client's transmit
    p[32..40].copy_from_slice(&rx.to_be_bytes());
    p[40..48].copy_from_slice(&ntp_now(lie).to_be_bytes());
    p
}

impl Liar {
    pub fn start(lie: f64, spoof: Spoof) -> Liar {
        let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
        let other = UdpSocket::bind("127.0.0.1:0").unwrap();
        sock.set_read_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        let addr = sock.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let requests = Arc::new(AtomicUsize::new(0));
        let (s, r) = (stop.clone(), requests.clone());
        let thread = std::thread::spawn(move || {
            let mut buf = [0u8; 512];
            while !s.load(Ordering::Relaxed) {
                let Ok((n, from)) = sock.recv_from(&mut buf) else {
                    continue;
                };
                let rx = ntp_now(lie);
                if n < 48 || buf[0] & 7 != 3 {
                    continue;
                }
                r.fetch_add(1, Ordering::Relaxed);
                if spoof == Spoof::First {
                    // A wrong origin (off by one) with a time 100 s off, from the right port...
                    let mut bad = reply(&buf[..48], lie + 100.0, ntp_now(lie + 100.0));
                    bad[31] ^= 1;
                    let _ = sock.send_to(&bad, from);
                    // ...and the right origin with a time 50 s off, from another port.
                    let bad = reply(&buf[..48], lie + 50.0, ntp_now(lie + 50.0));
                    let _ = other.send_to(&bad, from);
                }
                let _ = sock.send_to(&reply(&buf[..48], lie, rx), from);
            }
        });
        Liar {
            addr,
            lie,
            requests,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Liar {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Runs our ntpd to the end, killed after `limit`.
pub fn run_ntpd(args: &[&str], limit: Duration) -> Output {
    let mut child = Command::new(NTPD)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting ntpd");
    let deadline = Instant::now() + limit;
    loop {
        if let Ok(Some(_)) = child.try_wait() {
            return child.wait_with_output().unwrap();
        }
        if Instant::now() > deadline {
            stop(&mut child);
            let out = child.wait_with_output().unwrap();
            panic!(
                "ntpd {args:?} still running after {limit:?}:\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// The value of `key=` in a log line.
pub fn field<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    line.split_whitespace()
        .find_map(|w| w.strip_prefix(key)?.strip_prefix('='))
}

/// The offset of the last `event=exit` or `event=offset` line.
pub fn reported_offset(stderr: &str) -> f64 {
    stderr
        .lines()
        .filter(|l| l.contains("event=exit") || l.contains("event=offset"))
        .filter_map(|l| field(l, "offset")?.parse::<f64>().ok())
        .next_back()
        .unwrap_or_else(|| panic!("no offset in:\n{stderr}"))
}

/// Our ntpd as a daemon, its stderr lines collected as they come.
pub struct Daemon {
    child: Child,
    pub lines: Arc<Mutex<Vec<String>>>,
    /// Reads stderr until the daemon closes it.
    reader: Option<std::thread::JoinHandle<()>>,
}

impl Daemon {
    pub fn start(args: &[&str]) -> Daemon {
        let mut child = Command::new(NTPD)
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starting ntpd");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let l = lines.clone();
        let err = child.stderr.take().unwrap();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(err).lines() {
                let Ok(line) = line else { break };
                l.lock().unwrap().push(line);
            }
        });
        Daemon {
            child,
            lines,
            reader: Some(reader),
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn log(&self) -> String {
        self.lines.lock().unwrap().join("\n")
    }

    /// Waits for a line after the first `skip` lines that satisfies `pred`.
    pub fn wait_for(&self, skip: usize, limit: Duration, pred: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(l) = self
                .lines
                .lock()
                .unwrap()
                .iter()
                .skip(skip)
                .find(|l| pred(l))
            {
                return l.clone();
            }
            if Instant::now() > deadline {
                panic!("no such line after {limit:?}; log:\n{}", self.log());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    pub fn line_count(&self) -> usize {
        self.lines.lock().unwrap().len()
    }

    pub fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .args([&format!("-{sig}"), &self.child.id().to_string()])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill -{sig}");
    }

    /// Waits for the exit and returns the code, with every line the
    /// daemon wrote read into the log.
    pub fn wait(&mut self, limit: Duration) -> Option<i32> {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if let Ok(Some(st)) = self.child.try_wait() {
                // Its stderr is closed now: the reader ends at EOF.
                if let Some(r) = self.reader.take() {
                    let _ = r.join();
                }
                return st.code();
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!("ntpd did not exit; log:\n{}", self.log());
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        stop(&mut self.child);
    }
}
