//! The ntpd image as a container, run as LinuxKit runs it: it measures a chronyd that the test
//! runs, with the label's capabilities (CAP_SYS_TIME only) and binds.

mod common;

use std::net::{SocketAddr, UdpSocket};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::host::{build_image, pkgbuild, Host};
use common::require;

/// A chronyd serving time on 127.0.0.1 (it never touches the clock: -x); killed on drop.
struct Chrony {
    addr: SocketAddr,
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
    fn start() -> Chrony {
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

fn field<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    line.split_whitespace()
        .find_map(|w| w.strip_prefix(key)?.strip_prefix('='))
}

#[test]
fn ntpd_image_measures_chronyd_as_a_container_with_sys_time_only() {
    build_image("ntpd");
    // The spec LinuxKit would run it with: CAP_SYS_TIME and nothing else, the host's network.
    let out = pkgbuild()
        .args(["run", "ntpd", "--print-spec"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let spec: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let caps = &spec["config"]["process"]["capabilities"];
    for set in ["bounding", "effective", "permitted", "inheritable"] {
        assert_eq!(
            caps[set],
            serde_json::json!(["CAP_SYS_TIME"]),
            "{set}: {caps}"
        );
    }
    let namespaces = spec["config"]["linux"]["namespaces"].to_string();
    assert!(!namespaces.contains("network"), "{namespaces}");

    let chrony = Chrony::start();
    let server = chrony.addr.to_string();
    let host = Host::new("ntp-host", None);
    let started = Instant::now();
    let run = host.run(
        "",
        &[
            "ntpd",
            "--command",
            "/usr/sbin/ntpd",
            "-q",
            "--dry-run",
            "--no-dhcp",
            "--burst-interval",
            "0.015625",
            "-p",
            &server,
        ],
    );
    let elapsed = started.elapsed();
    let log = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{run:?}");
    let line = log
        .lines()
        .find(|l| l.contains("event=offset") || l.contains("event=exit") && l.contains("offset="))
        .unwrap_or_else(|| panic!("no offset line:\n{log}"));
    let offset: f64 = field(line, "offset").unwrap().parse().unwrap();
    // Same machine, same clock.
    assert!(offset.abs() < 0.01, "{line}");
    assert!(line.contains(&server), "{line}");
    eprintln!("containerised ntpd measured {offset:+.6} s against chronyd in {elapsed:?}");
}
