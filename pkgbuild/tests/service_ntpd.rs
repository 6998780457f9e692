//! The ntpd image as a container, run as LinuxKit runs it: it measures a chronyd that the test
//! runs, with the label's capabilities (CAP_SYS_TIME only) and binds.

mod common;

use std::time::Instant;

use common::chrony::{offset_line, Chrony};
use common::host::{build_image, pkgbuild, Host};

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
            // Not the image's config (pool.ntp.org): only the test's server, and no DNS at all.
            "-f",
            "/dev/null",
            "--burst-interval",
            "0.015625",
            "-p",
            &server,
        ],
    );
    let elapsed = started.elapsed();
    let log = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{run:?}");
    let (line, offset) = offset_line(&log);
    // Same machine, same clock.
    assert!(offset.abs() < 0.01, "{line}");
    assert!(line.contains(&server), "{line}");
    eprintln!("containerised ntpd measured {offset:+.6} s against chronyd in {elapsed:?}");
}
