//! The dhcpcd image as a container, run as LinuxKit runs it, against dnsmasq in network namespaces
//! of the test's: `-1` onboot gets a lease and writes resolv.conf and the NTP file through its bind
//! of the host's /run/resolvconf; as a service it renews.

mod common;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::host::{build_image, pkgbuild, sh_quote, unpack_image, Host, Netns};
use common::require;

const T: Duration = Duration::from_secs(30);

/// dnsmasq serving DHCP on srv0 in the server namespace; killed on drop.
struct Dnsmasq {
    child: Child,
    log: std::path::PathBuf,
}

impl Dnsmasq {
    fn start(server: &Netns, dir: &Path, extra: &[&str]) -> Dnsmasq {
        require("dnsmasq", "dnsmasq-base");
        let log = dir.join("dnsmasq.log");
        let child = server
            .command("dnsmasq")
            .args([
                "--no-daemon",
                "--conf-file=/dev/null",
                "--no-resolv",
                "--no-hosts",
                "--port=0",
                "--bind-interfaces",
                "--interface=srv0",
                "--no-ping",
                "--log-dhcp",
                "--log-facility=-",
                "--dhcp-range=10.77.0.100,10.77.0.200,255.255.255.0,2m",
                "--dhcp-option=option:dns-server,10.77.0.1",
                "--dhcp-option=option:ntp-server,10.77.0.1",
            ])
            .arg(format!("--dhcp-leasefile={}", dir.join("leases").display()))
            .args(extra)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let d = Dnsmasq { child, log };
        d.wait_log("DHCP, IP range", 1);
        d
    }

    fn wait_log(&self, needle: &str, count: usize) -> String {
        let deadline = Instant::now() + T;
        loop {
            let log = std::fs::read_to_string(&self.log).unwrap_or_default();
            if log.matches(needle).count() >= count {
                return log;
            }
            assert!(Instant::now() < deadline, "dnsmasq: no {needle:?}:\n{log}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Dnsmasq {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A server and a client namespace joined by a veth pair: srv0 (10.77.0.1/24) and eth0.
fn lab() -> (Netns, Netns) {
    let server = Netns::new("dsrv");
    let client = Netns::new("dcli");
    let out = Command::new("ip")
        .args([
            "link",
            "add",
            "srv0",
            "netns",
            &server.name,
            "type",
            "veth",
            "peer",
            "name",
            "eth0",
            "netns",
            &client.name,
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    server.ip(&["addr", "add", "10.77.0.1/24", "dev", "srv0"]);
    server.ip(&["addr", "add", "2001:db8:77::1/64", "dev", "srv0", "nodad"]);
    server.ip(&["link", "set", "srv0", "up"]);
    (server, client)
}

fn client_addresses(client: &Netns) -> Vec<String> {
    let out = Command::new("ip")
        .args([
            "-n",
            &client.name,
            "-4",
            "-o",
            "addr",
            "show",
            "dev",
            "eth0",
        ])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .skip_while(|w| *w != "inet")
        .nth(1)
        .map(|a| vec![a.to_string()])
        .unwrap_or_default()
}

/// The host's /run/resolvconf is this folder, so the test reads what the container wrote.
fn bind_resolvconf(dir: &Path) -> String {
    let out = dir.join("resolvconf");
    std::fs::create_dir_all(&out).unwrap();
    format!(
        "mount --bind {} /run/resolvconf",
        sh_quote(&out.display().to_string())
    )
}

#[test]
fn dhcpcd_image_onboot_leases_and_writes_through_its_bind() {
    build_image("dhcpcd");
    let (server, client) = lab();
    let host = Host::new("dhcp-host", Some(&client.name));
    let dnsmasq = Dnsmasq::start(&server, host.dir.path(), &[]);

    let started = Instant::now();
    let out = host.run(
        &bind_resolvconf(host.dir.path()),
        // As LinuxKit's own manifests call it.
        &[
            "dhcpcd",
            "--command",
            "/sbin/dhcpcd",
            "--nobackground",
            "-f",
            "/dhcpcd.conf",
            "-1",
        ],
    );
    let container_time = started.elapsed();
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{out:?}");
    assert!(log.contains("event=configured address=10.77.0."), "{log}");
    let addrs = client_addresses(&client);
    assert!(addrs.iter().any(|a| a.starts_with("10.77.0.")), "{addrs:?}");
    dnsmasq.wait_log("DHCPACK(srv0)", 1);

    // Through the bind /run/resolvconf:/etc: the host's resolv.conf and NTP file.
    let resolv = std::fs::read_to_string(host.dir.path().join("resolvconf/resolv.conf")).unwrap();
    assert!(resolv.contains("nameserver 10.77.0.1"), "{resolv}");
    let ntp = std::fs::read_to_string(host.dir.path().join("resolvconf/ntp-servers")).unwrap();
    assert_eq!(ntp.trim(), "10.77.0.1");

    // The same binary as a plain process on the host, for the figure beside the container's.
    let unpacked = tempfile::tempdir().unwrap();
    unpack_image("dhcpcd", unpacked.path());
    client.ip(&["addr", "flush", "dev", "eth0"]);
    let state = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let plain = client
        .command(unpacked.path().join("usr/sbin/dhcpcd").to_str().unwrap())
        .args(["--nobackground", "-f"])
        .arg(unpacked.path().join("dhcpcd.conf"))
        .arg("--resolv-conf")
        .arg(state.path().join("resolv.conf"))
        .arg("--ntp-file")
        .arg(state.path().join("ntp-servers"))
        .arg("--lease-dir")
        .arg(state.path())
        .arg("-1")
        .output()
        .unwrap();
    let host_time = started.elapsed();
    assert!(plain.status.success(), "{plain:?}");
    // What pkgbuild run spends before runc (plan, unpack, spec), to take out of the figure.
    let started = Instant::now();
    let spec = pkgbuild()
        .args(["run", "dhcpcd", "--print-spec"])
        .output()
        .unwrap();
    let before_runc = started.elapsed();
    assert!(spec.status.success(), "{spec:?}");
    eprintln!(
        "lease: containerised dhcpcd {:?} (pkgbuild run {container_time:?} less {before_runc:?} before runc), the same binary on the host {host_time:?}",
        container_time.saturating_sub(before_runc)
    );
}

#[test]
fn dhcpcd_image_as_a_service_renews() {
    build_image("dhcpcd");
    let (server, client) = lab();
    let host = Host::new("dhcp-svc", Some(&client.name));
    let dnsmasq = Dnsmasq::start(
        &server,
        host.dir.path(),
        &[
            "--dhcp-option=58,3",
            "--enable-ra",
            "--dhcp-range=::,constructor:srv0,ra-only,64,1h",
        ],
    );
    // The image's own command: the service entry of a LinuxKit manifest.
    let mut service = host.spawn(&bind_resolvconf(host.dir.path()), &["dhcpcd"]);
    service.wait_for("a lease", T, |l| {
        l.contains("event=configured address=10.77.0.")
    });
    // IPv6 too, with the same capabilities: router solicitation on a raw
    // ICMPv6 socket, and the SLAAC address through netlink.
    service.wait_for("a SLAAC address", T, |l| {
        l.contains("event=configured address=2001:db8:77:")
    });
    let log = service.log();
    let v6 = Command::new("ip")
        .args([
            "-n",
            &client.name,
            "-6",
            "addr",
            "show",
            "dev",
            "eth0",
            "scope",
            "global",
        ])
        .output()
        .unwrap();
    let v6 = String::from_utf8_lossy(&v6.stdout).into_owned();
    assert!(v6.contains("inet6 2001:db8:77:"), "{v6}\n{log}");
    service.wait_for("a renewal", T, |l| l.contains("event=ack state=renewing"));
    let server_log = dnsmasq.wait_log("DHCPACK(srv0)", 2);
    assert!(
        server_log.matches("DHCPREQUEST(srv0)").count() >= 2,
        "{server_log}"
    );
    assert!(client_addresses(&client)
        .iter()
        .any(|a| a.starts_with("10.77.0.")));
    let status = service.stop().expect("the container stopped on SIGTERM");
    let log = service.log();
    assert!(log.contains("event=signal action=stop"), "{log}");
    assert!(status.success(), "{status}\n{log}");
}
