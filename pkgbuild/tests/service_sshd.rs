//! The sshd-wrap image as a container, run as LinuxKit runs it: an OpenSSH client logs in, and the
//! session is a shell of the host's (its hostname, PID and mount namespaces, a working tty, host
//! devices), not of the container's.

mod common;

use std::net::TcpListener;
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use common::host::{build_image, pkgbuild, sh_quote, Host};
use common::require;

const T: Duration = Duration::from_secs(60);

fn ssh(port: u16, key: &Path, known_hosts: &Path) -> Command {
    require("ssh", "openssh-client");
    let mut cmd = Command::new("ssh");
    cmd.args(["-p", &port.to_string()])
        .args(common::ssh::options(key, "accept-new", known_hosts))
        .arg("root@127.0.0.1");
    cmd
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn ok(out: Output) -> String {
    assert!(
        out.status.success(),
        "ssh failed: {}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout)
}

fn ns(pid: u32, kind: &str) -> String {
    std::fs::read_link(format!("/proc/{pid}/ns/{kind}"))
        .unwrap()
        .display()
        .to_string()
}

#[test]
fn sshd_wrap_image_serves_host_shells_as_a_container() {
    build_image("sshd-wrap");
    // LinuxKit's sshd declares every device: sessions are host shells, not container ones.
    let out = pkgbuild()
        .args(["run", "sshd-wrap", "--print-spec"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let spec: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        spec["config"]["linux"]["resources"]["devices"],
        serde_json::json!([{"allow": true, "type": "a", "access": "rwm"}])
    );

    let host = Host::new("ssh-host", None);
    let key = common::ssh::keygen(host.dir.path(), "operator");
    let public = std::fs::read_to_string(key.with_extension("pub")).unwrap();
    std::fs::write(host.dir.path().join("authorized_keys"), public).unwrap();
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    // The host's /run/config/ssh holds the operator's key (as a manifest's files: would put it);
    // /var/lib (the host key's bind) and /root/.ssh are the test's own.
    let setup = format!(
        "mkdir -p /run/config/ssh && cp {keys} /run/config/ssh/authorized_keys\n\
         mount -t tmpfs tmpfs /var/lib\nmkdir -p /root/.ssh && mount -t tmpfs tmpfs /root/.ssh",
        keys = sh_quote(
            &host
                .dir
                .path()
                .join("authorized_keys")
                .display()
                .to_string()
        ),
    );
    let port_text = port.to_string();
    let listen = format!("127.0.0.1:{port}");
    let mut service = host.spawn(
        &setup,
        &[
            "sshd-wrap",
            "--command",
            "/usr/sbin/sshd-wrap",
            "--host-namespaces",
            "1",
            "--host-key",
            "/var/lib/sshd-wrap/ssh_host_ed25519_key",
            "-p",
            &port_text,
            "-l",
            &listen,
        ],
    );
    service.wait_for("the listening socket", T, |l| l.contains("event=listening"));
    let known = host.dir.path().join("known_hosts");

    // Logins, timed: the first includes the host key's arrival in known_hosts.
    let mut times = Vec::new();
    for _ in 0..5 {
        let started = Instant::now();
        ok(ssh(port, &key, &known).arg("true").output().unwrap());
        times.push(started.elapsed());
    }
    times.sort();
    eprintln!(
        "login latency through the containerised sshd-wrap: median {:?} of 5",
        times[2]
    );

    // The host is the Host's PID 1 (sh): its hostname, PID and mount namespaces.
    let host_pid1 = service.init_pid();
    let out = ok(ssh(port, &key, &known)
        .arg("hostname; readlink /proc/self/ns/pid; readlink /proc/self/ns/mnt; readlink /proc/self/ns/uts")
        .output()
        .unwrap());
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "ssh-host", "{out}");
    assert_eq!(lines[1], ns(host_pid1, "pid"), "{out}");
    assert_eq!(
        lines[2],
        ns(host_pid1, "mnt"),
        "not the host's mount namespace: {out}"
    );
    assert_eq!(lines[3], ns(host_pid1, "uts"), "{out}");

    // A working tty.
    let out = ok(ssh(port, &key, &known)
        .args(["-tt", "tty"])
        .output()
        .unwrap());
    assert!(out.trim().starts_with("/dev/pts/"), "{out}");

    // A host device outside runc's default allow list opens: the session is not held in the
    // container's device cgroup.
    let out = ok(ssh(port, &key, &known)
        .arg("exec 3</dev/kmsg && echo opened")
        .output()
        .unwrap());
    assert_eq!(out.trim(), "opened");

    let status = service.stop().expect("the container stopped on SIGTERM");
    assert!(status.success(), "{status}\n{}", service.log());
}
