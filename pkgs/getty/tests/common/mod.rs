//! Test harness: pseudo-terminals made by the test, our getty on their slave side, the test
//! typing and reading on the master side with deadlines. Every process is killed by PID on
//! Drop, also when a test fails.
//!
//! Needs root (getty changes uids and takes controlling terminals), `mkpasswd` (Debian:
//! whois) and `unshare` (Debian: util-linux).

#![allow(dead_code)]

use std::fs::{self, File};
use std::io::{Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

/// How long any one expected text may take to show up.
pub const T: Duration = Duration::from_secs(20);

pub fn require_root() {
    assert!(
        nix::unistd::geteuid().is_root(),
        "getty's tests take terminals and change uids: run them as root"
    );
}

/// Runs a tool, panicking with the Debian package to install if it is missing.
pub fn tool(name: &str, package: &str, args: &[&str]) -> String {
    let out = Command::new(name).args(args).output().unwrap_or_else(|e| {
        panic!("running `{name}`: {e}: install it with `apt-get install -y {package}`")
    });
    assert!(
        out.status.success(),
        "{name} {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

/// A crypt(3) hash made by libxcrypt through mkpasswd: `sha-512`, `sha-256` or `yescrypt`.
pub fn mkpasswd(method: &str, password: &str) -> String {
    tool("mkpasswd", "whois", &["-m", method, password])
}

pub fn hostname() -> String {
    nix::sys::utsname::uname()
        .unwrap()
        .nodename()
        .to_string_lossy()
        .into_owned()
}

/// A pseudo-terminal; the test holds both sides, getty opens the slave by its path.
pub struct Pty {
    master: File,
    /// Kept open so the master never reads EIO between sessions.
    _slave: OwnedFd,
    pub path: String,
    /// Everything read so far, and where the next `expect` starts looking.
    seen: Vec<u8>,
    cursor: usize,
}

impl Pty {
    pub fn open() -> Pty {
        let pty = nix::pty::openpty(None, None).expect("openpty");
        let path = nix::unistd::ttyname(&pty.slave)
            .expect("ttyname")
            .display()
            .to_string();
        Pty {
            master: File::from(pty.master),
            _slave: pty.slave,
            path,
            seen: Vec::new(),
            cursor: 0,
        }
    }

    /// The name getty gives it: `pts/N`.
    pub fn name(&self) -> &str {
        self.path.strip_prefix("/dev/").unwrap()
    }

    pub fn send(&mut self, text: &str) {
        self.master.write_all(text.as_bytes()).unwrap();
    }

    /// Reads until `needle` shows up after the last match; returns the text up to its end.
    pub fn expect(&mut self, needle: &str) -> String {
        self.expect_within(needle, T)
    }

    pub fn expect_within(&mut self, needle: &str, timeout: Duration) -> String {
        let deadline = Instant::now() + timeout;
        loop {
            let hay = String::from_utf8_lossy(&self.seen[self.cursor..]).into_owned();
            if let Some(i) = hay.find(needle) {
                // Map the char index back to bytes: `hay` is lossless for the ASCII we type.
                let end = self.cursor + hay[..i + needle.len()].len();
                let text = String::from_utf8_lossy(&self.seen[self.cursor..end]).into_owned();
                self.cursor = end;
                return text;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            assert!(
                !left.is_zero(),
                "{}: {needle:?} did not show up in {timeout:?}; the terminal showed:\n{}",
                self.path,
                String::from_utf8_lossy(&self.seen)
            );
            self.read_some(left);
        }
    }

    /// Asserts that `needle` does not show up within `wait` (after the last match).
    pub fn expect_none(&mut self, needle: &str, wait: Duration) {
        let deadline = Instant::now() + wait;
        while !deadline.saturating_duration_since(Instant::now()).is_zero() {
            self.read_some(deadline.saturating_duration_since(Instant::now()));
        }
        let hay = String::from_utf8_lossy(&self.seen[self.cursor..]).into_owned();
        assert!(!hay.contains(needle), "{needle:?} showed up:\n{hay}");
    }

    /// Everything the terminal has shown.
    pub fn all(&self) -> String {
        String::from_utf8_lossy(&self.seen).into_owned()
    }

    fn read_some(&mut self, left: Duration) {
        let ms = left.as_millis().clamp(1, 1000) as u16;
        let mut fds = [PollFd::new(self.master.as_fd(), PollFlags::POLLIN)];
        if poll(&mut fds, PollTimeout::from(ms)).unwrap_or(0) == 0 {
            return;
        }
        let mut buf = [0u8; 4096];
        match self.master.read(&mut buf) {
            Ok(n) => self.seen.extend_from_slice(&buf[..n]),
            Err(e) => panic!("{}: reading the master side: {e}", self.path),
        }
    }

    /// Types the user name and the password at the prompts; then waits for the shell by
    /// running `echo` in it.
    pub fn login(&mut self, user: &str, password: &str) {
        self.expect("login: ");
        self.send(&format!("{user}\n"));
        self.expect("Password: ");
        self.send(&format!("{password}\n"));
        self.shell_ready();
    }

    /// Waits until a shell answers.
    pub fn shell_ready(&mut self) {
        self.send("echo \"ready-$((1+1))\"\n");
        self.expect("ready-2");
    }

    /// Runs a command in the shell and returns the line it prints, `marker=...`.
    pub fn run(&mut self, command: &str, marker: &str) -> String {
        self.send(&format!("{command}\n"));
        let needle = format!("{marker}=");
        // Skip the echo of the command line itself, which has `marker=` too.
        self.expect(&needle);
        self.expect(&needle);
        let rest = self.expect("\n");
        format!("{needle}{}", rest.trim())
    }
}

/// The files getty reads, in a temp folder the test user can enter.
pub struct Fixture {
    pub dir: tempfile::TempDir,
    pub home: PathBuf,
}

impl Fixture {
    /// `users`: (name, shadow password field, uid). All get /bin/sh and the fixture's home.
    pub fn new(users: &[(&str, &str, u32)]) -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
        let home = dir.path().join("home");
        fs::create_dir(&home).unwrap();
        fs::set_permissions(&home, fs::Permissions::from_mode(0o777)).unwrap();
        let mut passwd = String::from("root:x:0:0:root:/root:/bin/sh\n");
        let mut shadow = String::from("root:*:19000:0:99999:7:::\n");
        for (name, hash, uid) in users {
            passwd.push_str(&format!(
                "{name}:x:{uid}:{uid}:Test User:{}:/bin/sh\n",
                home.display()
            ));
            shadow.push_str(&format!("{name}:{hash}:19000:0:99999:7:::\n"));
        }
        fs::write(dir.path().join("passwd"), passwd).unwrap();
        fs::write(dir.path().join("shadow"), shadow).unwrap();
        fs::write(
            dir.path().join("group"),
            "root:x:0:\nnogroup:x:65534:\ntesters:x:4242:tester,other\n",
        )
        .unwrap();
        fs::write(dir.path().join("issue"), "Welcome to \\s on \\n (\\l)\n\n").unwrap();
        Fixture { dir, home }
    }

    pub fn path(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }

    /// The flags that point getty at these files, with a short failure delay.
    pub fn args(&self, fail_delay: &str) -> Vec<String> {
        vec![
            "--passwd".into(),
            self.path("passwd"),
            "--group".into(),
            self.path("group"),
            "--shadow".into(),
            self.path("shadow"),
            "--issue-file".into(),
            self.path("issue"),
            "--fail-delay".into(),
            fail_delay.into(),
        ]
    }
}

/// Our getty, stopped with SIGTERM (then SIGKILL) on Drop; its log goes to a file.
pub struct Getty {
    child: Child,
    log: PathBuf,
    _logdir: tempfile::TempDir,
}

impl Getty {
    pub fn start(args: &[String], env: &[(&str, &str)]) -> Getty {
        let logdir = tempfile::tempdir().unwrap();
        let log = logdir.path().join("getty.log");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_getty"));
        cmd.args(args)
            .env_remove("INSECURE")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(File::create(&log).unwrap());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd.spawn().expect("starting getty");
        Getty {
            child,
            log,
            _logdir: logdir,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn log(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits for a line of the log that contains every one of `parts`.
    pub fn wait_log(&self, parts: &[&str]) -> String {
        let deadline = Instant::now() + T;
        loop {
            let log = self.log();
            if let Some(line) = log.lines().find(|l| parts.iter().all(|p| l.contains(p))) {
                return line.to_string();
            }
            assert!(
                Instant::now() < deadline,
                "no log line with {parts:?}; log:\n{log}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The session processes: getty's children.
    pub fn children(&self) -> Vec<u32> {
        children(self.pid())
    }

    /// Waits for getty to exit on its own.
    pub fn wait_exit(&mut self, timeout: Duration) -> std::process::ExitStatus {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "getty did not exit; log:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Getty {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("getty's log:\n{}", self.log());
        }
        if self.child.try_wait().ok().flatten().is_some() {
            return;
        }
        let pid = Pid::from_raw(self.child.id() as i32);
        let _ = kill(pid, Signal::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if self.child.try_wait().ok().flatten().is_some() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        for c in children(self.child.id()) {
            let _ = kill(Pid::from_raw(c as i32), Signal::SIGKILL);
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The children of a process, from /proc.
pub fn children(pid: u32) -> Vec<u32> {
    let mut out = Vec::new();
    let Ok(tasks) = fs::read_dir(format!("/proc/{pid}/task")) else {
        return out;
    };
    for t in tasks.flatten() {
        if let Ok(text) = fs::read_to_string(t.path().join("children")) {
            out.extend(
                text.split_whitespace()
                    .filter_map(|s| s.parse::<u32>().ok()),
            );
        }
    }
    out
}

/// A `key:  value kB` field of /proc/PID/status or smaps_rollup, in kB.
pub fn proc_kb(path: &Path, key: &str) -> u64 {
    let text = fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.trim_start_matches(':').split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {key} in {}", path.display()))
}
