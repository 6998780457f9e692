//! A chronyd on 127.0.0.1 and an ephemeral port, for the images that measure time.

use std::net::{SocketAddr, UdpSocket};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::require;

/// A chronyd serving time on 127.0.0.1 (it never touches the clock: -x); killed on drop.
pub struct Chrony {
    pub addr: SocketAddr,
    child: Child,
    _dir: tempfile::TempDir,
}

fn ntp_answers(addr: SocketAddr) -> bool {
    let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let mut req = [0u8; 48];
    req[0] = 0x23; // version 4, client
    if sock.send_to(&req, addr).is_err() {
        return false;
    }
    let mut buf = [0u8; 64];
    matches!(sock.recv_from(&mut buf), Ok((n, _)) if n >= 48)
}

impl Chrony {
    pub fn start() -> Chrony {
        require("chronyd", "chrony");
        let dir = tempfile::tempdir().unwrap();
        let port = UdpSocket::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let d = dir.path().display();
        let conf = dir.path().join("chrony.conf");
        std::fs::write(
            &conf,
            format!(
                "port {port}\nlocal stratum 8\nallow 127.0.0.1\nbindaddress 127.0.0.1\n\
                 bindcmdaddress /\ncmdport 0\ndriftfile {d}/drift\npidfile {d}/chronyd.pid\n"
            ),
        )
        .unwrap();
        let child = Command::new("chronyd")
            .args(["-d", "-x", "-u", "root", "-f"])
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut chrony = Chrony {
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            child,
            _dir: dir,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while !ntp_answers(chrony.addr) {
            assert!(chrony.child.try_wait().unwrap().is_none(), "chronyd exited");
            assert!(Instant::now() < deadline, "chronyd did not answer");
        }
        chrony
    }
}

impl Drop for Chrony {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// ntpd's `key=value` field of a log line.
pub fn field<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    line.split_whitespace()
        .find_map(|w| w.strip_prefix(key)?.strip_prefix('='))
}

/// The line where ntpd reports its measurement, and the offset it gives.
pub fn offset_line(log: &str) -> (&str, f64) {
    let line = log
        .lines()
        .find(|l| l.contains("event=offset") || l.contains("event=exit") && l.contains("offset="))
        .unwrap_or_else(|| panic!("no offset line:\n{log}"));
    let offset = field(line, "offset").unwrap().parse().unwrap();
    (line, offset)
}
