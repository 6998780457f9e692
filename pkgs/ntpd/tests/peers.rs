//! ntpd against real peers on 127.0.0.1: chronyd (started here, `-x`), and a
//! server of our own that lies by a known offset. Ours always runs with
//! --dry-run, so the host's clock is never touched.

mod common;

use std::time::Duration;

use common::*;

const FAST: &[&str] = &["--dry-run", "--no-dhcp", "--burst-interval", "0.015625"];

fn oneshot(server: &str, extra: &[&str]) -> (i32, String) {
    let mut args = vec!["-q", "-p", server];
    args.extend_from_slice(FAST);
    args.extend_from_slice(extra);
    let out = run_ntpd(&args, Duration::from_secs(30));
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn oneshot_agrees_with_chronyd_q() {
    let chrony = Chrony::start();
    let server = chrony.addr.to_string();
    let (code, log) = oneshot(&server, &[]);
    assert_eq!(code, 0, "{log}");
    let ours = reported_offset(&log);
    let theirs = chronyd_q(chrony.addr);
    eprintln!("ours {ours:+.9} chronyd -Q {theirs:+.9}");
    assert!(
        (ours - theirs).abs() < 0.001,
        "ours {ours} vs chronyd -Q {theirs}"
    );
    // Same host, same clock: both near zero.
    assert!(ours.abs() < 0.001, "{ours}");
    let line = log.lines().find(|l| l.contains("event=offset")).unwrap();
    assert_eq!(field(line, "sources"), Some(server.as_str()), "{line}");
    assert_eq!(field(line, "dry_run"), Some("true"));
}

#[test]
fn measures_a_lying_server_within_a_millisecond() {
    for lie in [2.5, -0.7] {
        let liar = Liar::start(lie, Spoof::None);
        let (code, log) = oneshot(&liar.addr.to_string(), &[]);
        assert_eq!(code, 0, "{log}");
        let got = reported_offset(&log);
        assert!(
            (got - lie).abs() < 0.001,
            "lie {lie}, measured {got}\n{log}"
        );
        assert_eq!(liar.requests.load(std::sync::atomic::Ordering::Relaxed), 4);
    }
}

#[test]
fn spoofed_replies_are_ignored() {
    let liar = Liar::start(2.5, Spoof::First);
    let (code, log) = oneshot(&liar.addr.to_string(), &["-d"]);
    assert_eq!(code, 0, "{log}");
    let got = reported_offset(&log);
    assert!((got - 2.5).abs() < 0.001, "measured {got}\n{log}");
    let drops: Vec<&str> = log.lines().filter(|l| l.contains("event=drop")).collect();
    assert_eq!(
        drops
            .iter()
            .filter(|l| l.contains("reason=bad-origin"))
            .count(),
        4,
        "{log}"
    );
    assert_eq!(
        drops
            .iter()
            .filter(|l| l.contains("reason=wrong-source"))
            .count(),
        4,
        "{log}"
    );
    // Every sample is the real one: within half its round-trip delay (the most a sample's
    // offset can be off by, when the machine is loaded), where a spoofed one is 50 s off.
    for l in log.lines().filter(|l| l.contains("event=sample")) {
        let o: f64 = field(l, "offset").unwrap().parse().unwrap();
        let delay: f64 = field(l, "delay").unwrap().parse().unwrap();
        assert!((o - 2.5).abs() <= delay / 2.0 + 0.001, "{l}");
    }
}

#[test]
fn dhcp_handoff_file_is_followed() {
    let a = Liar::start(2.5, Spoof::None);
    let b = Liar::start(-0.7, Spoof::None);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("ntp-servers");
    // As dhcpcd writes it: a temporary file renamed into place.
    let write = |text: String| {
        let tmp = dir.path().join(".ntp-servers.tmp");
        std::fs::write(&tmp, text).unwrap();
        std::fs::rename(&tmp, &file).unwrap();
    };
    write(format!("{}\n", a.addr));
    let d = Daemon::start(&[
        "--dry-run",
        "--burst-interval",
        "0.05",
        "--dhcp-file",
        file.to_str().unwrap(),
        "-f",
        "/dev/null",
    ]);
    let first = d.wait_for(0, Duration::from_secs(10), |l| l.contains("event=offset"));
    assert_eq!(
        field(&first, "sources"),
        Some(a.addr.to_string().as_str()),
        "{first}"
    );
    let o: f64 = field(&first, "offset").unwrap().parse().unwrap();
    assert!((o - 2.5).abs() < 0.001, "{first}");

    let seen = d.line_count();
    write(format!("# switched\n{}\n", b.addr));
    let want = b.addr.to_string();
    let next = d.wait_for(seen, Duration::from_secs(10), |l| {
        l.contains("event=offset") && field(l, "sources") == Some(want.as_str())
    });
    let o: f64 = field(&next, "offset").unwrap().parse().unwrap();
    assert!((o + 0.7).abs() < 0.001, "{next}");
    let log = d.log();
    assert!(
        log.contains(&format!("event=source action=remove addr={}", a.addr)),
        "{log}"
    );

    // The file goes away: so do its servers.
    std::fs::remove_file(&file).unwrap();
    d.wait_for(seen, Duration::from_secs(10), |l| {
        l.contains(&format!("event=source action=remove addr={}", b.addr))
    });
}

#[test]
fn sighup_reloads_the_config_and_sigterm_stops() {
    let a = Liar::start(2.5, Spoof::None);
    let b = Liar::start(-0.7, Spoof::None);
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("ntpd.conf");
    std::fs::write(&conf, format!("server {}\n", a.addr)).unwrap();
    let mut d = Daemon::start(&[
        "--dry-run",
        "--no-dhcp",
        "--burst-interval",
        "0.05",
        "-f",
        conf.to_str().unwrap(),
    ]);
    let want_a = a.addr.to_string();
    d.wait_for(0, Duration::from_secs(10), |l| {
        l.contains("event=offset") && field(l, "sources") == Some(want_a.as_str())
    });
    std::fs::write(&conf, format!("# now b\nservers {}\n", b.addr)).unwrap();
    let seen = d.line_count();
    d.signal("HUP");
    let want_b = b.addr.to_string();
    d.wait_for(seen, Duration::from_secs(10), |l| {
        l.contains("event=offset") && field(l, "sources") == Some(want_b.as_str())
    });
    d.signal("TERM");
    assert_eq!(d.wait(Duration::from_secs(10)), Some(0));
    assert!(
        d.log().contains("event=exit code=0 reason=signal"),
        "{}",
        d.log()
    );
}

#[test]
fn names_resolve_through_hosts_without_nss() {
    // /etc/hosts maps localhost; hickory reads it, getaddrinfo is never called.
    let hosts = std::fs::read_to_string("/etc/hosts").unwrap_or_default();
    assert!(
        hosts
            .lines()
            .any(|l| l.starts_with("127.0.0.1") && l.contains("localhost")),
        "this test needs 127.0.0.1 localhost in /etc/hosts"
    );
    let liar = Liar::start(-0.7, Spoof::None);
    let (code, log) = oneshot(&format!("localhost:{}", liar.addr.port()), &[]);
    assert_eq!(code, 0, "{log}");
    assert!(log.contains("event=resolve name=localhost"), "{log}");
    assert!((reported_offset(&log) + 0.7).abs() < 0.001, "{log}");
}

#[test]
fn exit_codes() {
    // No servers at all.
    let out = run_ntpd(
        &["-q", "--dry-run", "--no-dhcp", "-f", "/dev/null"],
        Duration::from_secs(10),
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // A server that never answers.
    let silent = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let (code, log) = oneshot(
        &silent.local_addr().unwrap().to_string(),
        &["--timeout", "3"],
    );
    assert_eq!(code, 1, "{log}");
    assert!(log.contains("no server answered"), "{log}");
    // A bad config line names the line.
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("bad.conf");
    std::fs::write(&conf, "server a.test\nserver b.test port x\n").unwrap();
    let out = run_ntpd(
        &["-q", "-f", conf.to_str().unwrap()],
        Duration::from_secs(10),
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("line 2"), "{err}");
    // A missing config file named with -f.
    let out = run_ntpd(
        &["-q", "-f", "/nonexistent/ntpd.conf"],
        Duration::from_secs(10),
    );
    assert_eq!(out.status.code(), Some(2));
    // Bad flags.
    let out = run_ntpd(
        &["--minpoll", "9", "--maxpoll", "6"],
        Duration::from_secs(10),
    );
    assert_eq!(out.status.code(), Some(2));
    let out = run_ntpd(&["--version"], Duration::from_secs(10));
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn dry_run_reports_a_panic_offset_and_succeeds() {
    let liar = Liar::start(5000.0, Spoof::None);
    let (code, log) = oneshot(&liar.addr.to_string(), &[]);
    assert_eq!(code, 0, "{log}");
    assert!(log.contains("event=panic"), "{log}");
    assert!((reported_offset(&log) - 5000.0).abs() < 0.001, "{log}");
}
