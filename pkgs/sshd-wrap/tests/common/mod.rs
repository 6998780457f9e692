//! The daemon started on 127.0.0.1 and an ephemeral port, and OpenSSH's client pointed at it.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Fails (never skips) when a peer program is missing.
pub fn require(program: &str, package: &str) {
    let found = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(program).is_file()))
        .unwrap_or(false);
    assert!(found, "{program} is missing: apt-get install {package}");
}

/// A user key made with ssh-keygen.
pub fn keygen(dir: &Path, name: &str) -> PathBuf {
    require("ssh-keygen", "openssh-client");
    let path = dir.join(name);
    let out = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", name, "-f"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    path
}

pub fn public(key: &Path) -> String {
    std::fs::read_to_string(key.with_extension("pub"))
        .unwrap()
        .trim()
        .to_string()
}

/// A running sshd-wrap, killed by PID on drop.
pub struct Daemon {
    child: Child,
    pub port: u16,
    pub dir: PathBuf,
    log: Arc<Mutex<String>>,
}

impl Daemon {
    /// Starts the daemon with its host key and authorized_keys in `dir`.
    pub fn start(dir: &Path, extra: &[&str]) -> Daemon {
        let mut child = Command::new(env!("CARGO_BIN_EXE_sshd-wrap"))
            .args(["-l", "127.0.0.1:0", "-d", "-k"])
            .arg(dir.join("host_key"))
            .arg("-a")
            .arg(dir.join("authorized_keys"))
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("starting sshd-wrap");
        let log = Arc::new(Mutex::new(String::new()));
        let stderr = child.stderr.take().unwrap();
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let mut l = sink.lock().unwrap();
                l.push_str(&line);
                l.push('\n');
            }
        });
        let mut daemon = Daemon {
            child,
            port: 0,
            dir: dir.to_path_buf(),
            log,
        };
        let line = daemon.wait_for_log("event=listening addr=", Duration::from_secs(20));
        let addr = line.split("addr=").nth(1).unwrap().trim();
        daemon.port = addr.rsplit(':').next().unwrap().parse().unwrap();
        daemon
    }

    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// Waits for a log line holding `needle`, and returns it.
    pub fn wait_for_log(&mut self, needle: &str, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(line) = self.log().lines().find(|l| l.contains(needle)) {
                return line.to_string();
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("sshd-wrap exited ({status}):\n{}", self.log());
            }
            assert!(
                Instant::now() < deadline,
                "no {needle:?} in the log:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// An `ssh` to this daemon as `user` with `key`; known_hosts in the daemon's dir.
    pub fn ssh(&self, key: &Path, user: &str) -> Command {
        require("ssh", "openssh-client");
        let mut cmd = Command::new("ssh");
        cmd.args(self.client_options(key, "-p"))
            .arg(format!("{user}@127.0.0.1"));
        cmd
    }

    /// The options every OpenSSH client here gets: no user config, our key only, no prompts.
    pub fn client_options(&self, key: &Path, port_flag: &str) -> Vec<String> {
        let known = self.dir.join("known_hosts");
        vec![
            "-F".into(),
            "/dev/null".into(),
            port_flag.into(),
            self.port.to_string(),
            "-i".into(),
            key.display().to_string(),
            "-o".into(),
            "IdentitiesOnly=yes".into(),
            "-o".into(),
            "BatchMode=yes".into(),
            "-o".into(),
            "StrictHostKeyChecking=accept-new".into(),
            "-o".into(),
            format!("UserKnownHostsFile={}", known.display()),
            "-o".into(),
            "ConnectTimeout=20".into(),
        ]
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `cmd` with a deadline; the output, or a panic that shows it.
pub fn run(cmd: &mut Command, timeout: Duration) -> Output {
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    let watchdog = std::thread::spawn(move || {
        if done_rx.recv_timeout(timeout).is_err() {
            // Ours, by PID, and not reaped yet: the command hung.
            let _ = Command::new("kill").arg("-9").arg(pid.to_string()).status();
        }
    });
    let out = child.wait_with_output().unwrap();
    let _ = done_tx.send(());
    let _ = watchdog.join();
    out
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}
