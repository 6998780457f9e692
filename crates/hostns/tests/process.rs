//! What changes the whole process (uid, namespaces) runs in a child: this test binary, started
//! again with `HOSTNS_CHILD` set to the one test to run, which prints what it sees.
//!
//! Needs root, and `unshare` (Debian: util-linux) for the namespace test.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

const CHILD: &str = "HOSTNS_CHILD";

fn require_root() {
    assert!(
        nix::unistd::geteuid().is_root(),
        "these tests change uids and namespaces: run them as root"
    );
}

/// Runs the test `name` of this binary again in a child process, with `env` set; its stdout.
fn run_child(name: &str, env: &[(&str, String)]) -> String {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args(["--exact", name, "--nocapture", "--test-threads=1"])
        .env(CHILD, name);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "child {name}: {}\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

fn in_child(name: &str) -> bool {
    std::env::var(CHILD).as_deref() == Ok(name)
}

fn status_field(name: &str) -> String {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{name}:")))
        .unwrap()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn drops_to_a_user() {
    if in_child("drops_to_a_user") {
        hostns::drop_privileges(65534, 65534, &[65534, 4242]).unwrap();
        // A home that does not exist falls back to /.
        let home = hostns::chdir_home("/nonexistent/home").unwrap();
        println!(
            "home={home} cwd={}",
            std::env::current_dir().unwrap().display()
        );
        println!("uid={}", status_field("Uid"));
        println!("gid={}", status_field("Gid"));
        println!("groups={}", status_field("Groups"));
        // No way back.
        println!(
            "setuid0={:?}",
            nix::unistd::setuid(nix::unistd::Uid::from_raw(0))
        );
        return;
    }
    require_root();
    let out = run_child("drops_to_a_user", &[]);
    assert!(out.contains("home=/ cwd=/"), "{out}");
    assert!(out.contains("uid=65534 65534 65534 65534"), "{out}");
    assert!(out.contains("gid=65534 65534 65534 65534"), "{out}");
    assert!(out.contains("groups=4242 65534"), "{out}");
    assert!(out.contains("setuid0=Err(EPERM)"), "{out}");
}

/// Kills and reaps the sleeper on drop, also when the test fails.
struct Sleeper(Child);

impl Drop for Sleeper {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn enters_the_uts_namespace_of_another_process() {
    if in_child("enters_the_uts_namespace_of_another_process") {
        let pid: u32 = std::env::var("TARGET_PID").unwrap().parse().unwrap();
        let before = nix::sys::utsname::uname().unwrap();
        hostns::enter_namespaces(pid, &[hostns::Ns::Uts]).unwrap();
        let after = nix::sys::utsname::uname().unwrap();
        println!("before={:?}", before.nodename());
        println!("after={:?}", after.nodename());
        return;
    }
    require_root();
    let child = Command::new("unshare")
        .args([
            "--uts",
            "sh",
            "-c",
            "hostname hostns-test && echo ready && exec sleep 60",
        ])
        .stdout(Stdio::piped())
        .spawn()
        .expect("running unshare: install it with `apt-get install -y util-linux`");
    let mut sleeper = Sleeper(child);
    let mut line = String::new();
    BufReader::new(sleeper.0.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line.trim(), "ready");
    let out = run_child(
        "enters_the_uts_namespace_of_another_process",
        &[("TARGET_PID", sleeper.0.id().to_string())],
    );
    assert!(out.contains("after=\"hostns-test\""), "{out}");
    assert!(!out.contains("before=\"hostns-test\""), "{out}");
}
