//! The getty image as a container, run as LinuxKit runs it: a console handed in by the manifest
//! entry (a pseudo-terminal whose master side the test holds), the host's passwd, group and
//! getty.shadow read through the image's /etc bind, a password login, and the shell on the host
//! side: in the host's mount namespace, with the host's name, able to open the host's devices.

mod common;

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use common::host::{build_image, pkgbuild, sh_quote, Host, Running};

/// How long any one expected text may take to show up.
const T: Duration = Duration::from_secs(30);
const HOSTNAME: &str = "getty-host";
/// Where the entry binds the console in the container: the name getty is given.
const CONSOLE: &str = "/dev/hvc1";
const PASSWORD: &str = "c0nsole pass";
/// In the host's passwd only, to tell the host's files from the machine's.
const MARKER: &str = "getty-test-marker";

/// What the master side has shown, filled by a reader thread.
#[derive(Default)]
struct Screen {
    seen: Mutex<Vec<u8>>,
    grew: Condvar,
}

/// A pseudo-terminal of the test's: the master read and written here, the slave handed to the
/// container by its path. The test keeps the slave open too, so that the master does not read
/// EIO between sessions.
struct Pty {
    master: File,
    slave: Option<OwnedFd>,
    /// /dev/pts/N, as the host sees it.
    path: String,
    screen: Arc<Screen>,
    stop: Arc<AtomicBool>,
    /// Where the next `wait` starts looking.
    cursor: usize,
}

impl Pty {
    fn open() -> Pty {
        let (mut master, mut slave) = (-1, -1);
        // openpty(3), then both ends close-on-exec: no process the test starts holds them.
        let rc = unsafe {
            let rc = nix::libc::openpty(
                &mut master,
                &mut slave,
                std::ptr::null_mut(),
                std::ptr::null(),
                std::ptr::null(),
            );
            if rc == 0 {
                nix::libc::fcntl(master, nix::libc::F_SETFD, nix::libc::FD_CLOEXEC);
                nix::libc::fcntl(slave, nix::libc::F_SETFD, nix::libc::FD_CLOEXEC);
            }
            rc
        };
        assert_eq!(rc, 0, "openpty: {}", std::io::Error::last_os_error());
        let (master, slave) = unsafe { (File::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
        let path = std::fs::read_link(format!("/proc/self/fd/{}", slave.as_raw_fd()))
            .unwrap()
            .display()
            .to_string();
        assert!(path.starts_with("/dev/pts/"), "{path}");
        let screen = Arc::new(Screen::default());
        let stop = Arc::new(AtomicBool::new(false));
        let mut reader = master.try_clone().unwrap();
        let (shown, stopped) = (screen.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while !stopped.load(Ordering::SeqCst) {
                match reader.read(&mut buf) {
                    Ok(n) if n > 0 => {
                        shown.seen.lock().unwrap().extend_from_slice(&buf[..n]);
                        shown.grew.notify_all();
                    }
                    // EIO: no slave open for a moment (a hang-up); the next session opens it.
                    _ => std::thread::sleep(Duration::from_millis(20)),
                }
            }
        });
        Pty {
            master,
            slave: Some(slave),
            path,
            screen,
            stop,
            cursor: 0,
        }
    }

    fn send(&mut self, text: &str) {
        self.master.write_all(text.as_bytes()).unwrap();
    }

    /// Everything the terminal has shown.
    fn all(&self) -> String {
        String::from_utf8_lossy(&self.screen.seen.lock().unwrap()).into_owned()
    }

    /// Waits for `needle` after the last match: the text up to its end, or None at the deadline.
    fn wait(&mut self, needle: &str, limit: Duration) -> Option<String> {
        let deadline = Instant::now() + limit;
        let mut seen = self.screen.seen.lock().unwrap();
        loop {
            if let Some(i) = seen[self.cursor..]
                .windows(needle.len())
                .position(|w| w == needle.as_bytes())
            {
                let end = self.cursor + i + needle.len();
                let text = String::from_utf8_lossy(&seen[self.cursor..end]).into_owned();
                self.cursor = end;
                return Some(text);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return None;
            }
            seen = self.screen.grew.wait_timeout(seen, left).unwrap().0;
        }
    }
}

impl Drop for Pty {
    fn drop(&mut self) {
        // The reader's read ends with EIO once no slave is open; then it sees `stop`.
        self.stop.store(true, Ordering::SeqCst);
        self.slave.take();
    }
}

/// The console and the container it was handed to; a failure shows both.
struct Session {
    pty: Pty,
    getty: Running,
}

impl Session {
    fn fail(&self, what: &str) -> ! {
        panic!(
            "{what}\n--- the console showed:\n{}\n--- the container's log:\n{}",
            self.pty.all(),
            self.getty.log()
        );
    }

    fn expect(&mut self, needle: &str) -> String {
        match self.pty.wait(needle, T) {
            Some(text) => text,
            None => self.fail(&format!("{needle:?} did not show up within {T:?}")),
        }
    }

    /// Types a command line and returns what it printed after `marker=` (the first `marker=` is
    /// the terminal's echo of the line itself).
    fn run(&mut self, command: &str, marker: &str) -> String {
        self.pty.send(&format!("{command}\n"));
        let needle = format!("{marker}=");
        self.expect(&needle);
        self.expect(&needle);
        self.expect("\n").trim().to_string()
    }

    /// [`Session::run`], which must print `marker=want`.
    fn check(&mut self, command: &str, marker: &str, want: &str) {
        let got = self.run(command, marker);
        if got != want {
            self.fail(&format!(
                "`{command}` printed {marker}={got}, not {marker}={want}"
            ));
        }
    }
}

/// PIDs (as the test sees them) of the processes called `comm` in the PID namespace `pidns`
/// whose parent is called `parent`.
fn processes_in(pidns: &str, comm: &str, parent: &str) -> Vec<u32> {
    let comm_of = |pid: &str| {
        std::fs::read_to_string(format!("/proc/{pid}/comm"))
            .unwrap_or_default()
            .trim()
            .to_string()
    };
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        let ns = std::fs::read_link(format!("/proc/{pid}/ns/pid")).unwrap_or_default();
        if ns.to_string_lossy() != pidns || comm_of(&pid.to_string()) != comm {
            continue;
        }
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        // pid (comm) state ppid ...
        let ppid = stat
            .rsplit(')')
            .next()
            .and_then(|rest| rest.split_whitespace().nth(1))
            .unwrap_or("0");
        if comm_of(ppid) == parent {
            found.push(pid);
        }
    }
    found
}

/// Run by the host's PID 1 before `pkgbuild run`: the host's /etc as the test wants it, in the
/// host's own mount namespace only. An overlay on /etc whose upper layer is a tmpfs takes the
/// test's passwd, group and getty.shadow; the machine's /etc is its read-only lower layer, never
/// written. Then the host's mount and PID namespaces, for the test to compare with.
fn host_setup(dir: &Path) -> String {
    let at = |name: &str| sh_quote(&dir.join(name).display().to_string());
    format!(
        "mkdir -p {ovl}\n\
         mount -t tmpfs -o mode=0755 tmpfs {ovl}\n\
         mkdir {ovl}/upper {ovl}/work\n\
         mount -t overlay overlay -o lowerdir=/etc,upperdir={ovl}/upper,workdir={ovl}/work /etc\n\
         cp {passwd} /etc/passwd\n\
         cp {group} /etc/group\n\
         cp {shadow} /etc/getty.shadow\n\
         chmod 0600 /etc/getty.shadow\n\
         readlink /proc/1/ns/mnt > {mnt}\n\
         readlink /proc/1/ns/pid > {pid}\n",
        ovl = at("etc-overlay"),
        passwd = at("passwd"),
        group = at("group"),
        shadow = at("getty.shadow"),
        mnt = at("host-mnt"),
        pid = at("host-pid"),
    )
}

#[test]
fn getty_image_logs_in_on_a_console_handed_in_and_the_shell_runs_on_the_host() {
    build_image("getty");
    let pty = Pty::open();
    let host = Host::new(HOSTNAME, None);
    let dir = host.dir.path();

    // The host's accounts: root with a password in getty.shadow, as a LinuxKit manifest's
    // `files:` writes it.
    std::fs::write(
        dir.join("passwd"),
        format!("root:x:0:0:{MARKER}:/root:/bin/sh\n"),
    )
    .unwrap();
    std::fs::write(dir.join("group"), "root:x:0:\n").unwrap();
    std::fs::write(
        dir.join("getty.shadow"),
        format!(
            "root:{}:19000:0:::::\n",
            common::ssh::mkpasswd("yescrypt", PASSWORD)
        ),
    )
    .unwrap();

    // The console, handed in as a manifest entry would: a bind of the host's device. (A pty
    // slave opens only through its devpts file, so a `devices` node would not do; the label's
    // device cgroup allows it.)
    let entry = serde_json::json!({"binds.add": [format!("{}:{CONSOLE}", pty.path)]}).to_string();

    // The spec LinuxKit would run it with; the command is the image's, plus the console.
    let out = pkgbuild()
        .args(["run", "getty", "--print-spec", "--entry", &entry])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let spec: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let config = &spec["config"];
    let image_args: Vec<String> = config["process"]["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap().to_string())
        .collect();
    for flag in [
        "--host-namespaces",
        "/hostroot/etc/passwd",
        "/hostroot/etc/group",
        "/hostroot/etc/getty.shadow",
    ] {
        assert!(image_args.iter().any(|a| a == flag), "{image_args:?}");
    }
    let mounts = config["mounts"].as_array().unwrap();
    assert!(
        mounts
            .iter()
            .any(|m| m["destination"] == CONSOLE && m["source"] == pty.path.as_str()),
        "{mounts:?}"
    );
    // The label's device cgroup allows every device: the shells stay in the container's cgroup.
    let rules = config["linux"]["resources"]["devices"].as_array().unwrap();
    assert!(
        rules
            .iter()
            .any(|r| r["allow"] == true && r["type"] == "a" && r["access"] == "rwm"),
        "{rules:?}"
    );
    let namespaces = config["linux"]["namespaces"].to_string();
    assert!(!namespaces.contains("\"pid\""), "pid: host: {namespaces}");

    let mut command = image_args;
    command.extend(["--fail-delay", "0.5", CONSOLE].map(String::from));
    let mut run_args = vec!["getty", "--entry", &entry, "--command"];
    run_args.extend(command.iter().map(String::as_str));

    let started = Instant::now();
    let getty = host.spawn(&host_setup(dir), &run_args);
    let mut s = Session { pty, getty };

    // The issue (`\n \l`: the host's name, the console as the container names it), the prompt.
    s.expect(&format!("on {HOSTNAME} {}", &CONSOLE["/dev/".len()..]));
    s.expect(&format!("{HOSTNAME} login: "));
    let prompt_after = started.elapsed();

    // A wrong password is refused, and the login asked again.
    s.pty.send("root\n");
    s.expect("Password: ");
    s.pty.send("not-the-password\n");
    s.expect("Login incorrect");
    s.expect(&format!("{HOSTNAME} login: "));
    s.getty.wait_for("the refusal logged", T, |l| {
        l.contains("event=login-failed user=root reason=wrong-password")
    });

    // The right one gives root's shell: the host's /bin/sh (the image has no shell).
    s.pty.send("root\n");
    s.expect("Password: ");
    s.pty.send(&format!("{PASSWORD}\n"));
    s.pty.send("echo \"ready-$((1+1))\"\n");
    s.expect("ready-2");
    s.getty.wait_for("the login logged", T, |l| {
        l.contains("event=login user=root uid=0")
    });
    let shown = s.pty.all();
    assert!(!shown.contains("not-the-password") && !shown.contains(PASSWORD));

    // The shell is on the host side: in the host's mount namespace, not the container's.
    let read = |name: &str| {
        std::fs::read_to_string(dir.join(name))
            .unwrap()
            .trim()
            .to_string()
    };
    let (host_mnt, host_pid) = (read("host-mnt"), read("host-pid"));
    s.check(
        "echo \"mnt=$(readlink /proc/self/ns/mnt)\"",
        "mnt",
        &host_mnt,
    );
    // The container's init: getty, pkgbuild's child (runc create leaves it to its subreaper).
    let inits = processes_in(&host_pid, "getty", "pkgbuild");
    if inits.len() != 1 {
        s.fail(&format!("not one container init: {inits:?}"));
    }
    let container_mnt = std::fs::read_link(format!("/proc/{}/ns/mnt", inits[0])).unwrap();
    assert_ne!(container_mnt.to_string_lossy(), host_mnt);
    s.check(
        "echo \"pidns=$(readlink /proc/self/ns/pid)\"",
        "pidns",
        &host_pid,
    );
    // The host's root file system (which has no /hostroot), name, and accounts.
    s.check(
        "echo \"hostroot=$(test -e /hostroot && echo yes || echo no)\"",
        "hostroot",
        "no",
    );
    s.check("echo \"name=$(hostname)\"", "name", HOSTNAME);
    s.check("echo \"uid=$(id -u)\"", "uid", "0");
    s.check("echo \"gecos=$(cut -d: -f5 /etc/passwd)\"", "gecos", MARKER);

    // The host's devices open from the shell (it stays in the container's device cgroup): the
    // console it was handed, by its host path, and one no console entry names, the kernel log.
    let console = s.pty.path.clone();
    s.pty.send(&format!(
        "echo \"via-host-$((6*7))\" >{console}; echo \"console=$?\"\n"
    ));
    s.expect("console=");
    s.expect("via-host-42");
    s.expect("console=");
    if s.expect("\n").trim() != "0" {
        s.fail(&format!("the shell could not write to {console}"));
    }
    s.check("true </dev/kmsg; echo \"kmsg=$?\"", "kmsg", "0");

    // SIGTERM (to pkgbuild, which passes it on) ends the session and the container, with 0.
    let mut getty = s.getty;
    let status = getty.stop();
    let log = getty.log();
    assert_eq!(status.and_then(|s| s.code()), Some(0), "{log}");
    assert!(log.contains("event=stopped"), "{log}");
    // The machine's /etc was never touched.
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap();
    assert!(!passwd.contains(MARKER));
    eprintln!(
        "getty container: login prompt after {prompt_after:?}, all done after {:?}",
        started.elapsed()
    );
}
