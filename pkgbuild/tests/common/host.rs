//! A "host" for running a service image as LinuxKit would: new mount, UTS, IPC and PID
//! namespaces (optionally inside a network namespace the test made), where `sh` is PID 1 and the
//! host paths an image binds (/run, /var/lib, ...) are the test's own tmpfs. Images come from the
//! workspace, built once into a store shared by these tests, and run with `pkgbuild run`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use super::require;

/// The workspace this test belongs to.
pub fn workspace_manifest() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .join("Cargo.toml")
}

/// The store the service tests share: images are built once per tag.
pub fn service_store() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("service-images")
}

pub fn pkgbuild() -> Command {
    let mut cmd = super::pkgbuild_command();
    cmd.arg("--cache")
        .arg(service_store())
        .arg("--manifest-path")
        .arg(workspace_manifest());
    cmd
}

/// Builds the package's amd64 image into the shared store, once per content tag.
pub fn build_image(package: &str) {
    require("runc", "runc");
    let out = pkgbuild()
        .args(["build", package, "--platforms", "linux/amd64"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "pkgbuild build {package} failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Builds the package's amd64 image (as [`build_image`]) and unpacks its files into `dir`, to run
/// the binary the image ships as a plain process beside the container.
pub fn unpack_image(package: &str, dir: &Path) {
    build_image(package);
    let out = pkgbuild()
        .args(["build", package, "--platforms", "linux/amd64"])
        .output()
        .unwrap();
    let (_, digest) = super::pinned(&String::from_utf8_lossy(&out.stdout), package);
    let store = pkgbuild::store::Store::open(&service_store()).unwrap();
    let platform = "linux/amd64".parse().unwrap();
    pkgbuild::bundle::StoredImage::read(&store, &digest, platform)
        .unwrap()
        .unpack(&store, dir)
        .unwrap();
}

/// Quotes a word for sh.
pub fn sh_quote(word: &str) -> String {
    format!("'{}'", word.replace('\'', "'\\''"))
}

pub struct Host {
    /// Files the test hands to the host (keys, configs); also the TMPDIR of pkgbuild's bundles.
    pub dir: tempfile::TempDir,
    netns: Option<String>,
    hostname: String,
}

impl Host {
    /// A host with its own hostname; `netns` names a network namespace (`ip netns add`) to run in.
    pub fn new(hostname: &str, netns: Option<&str>) -> Host {
        require("unshare", "util-linux");
        require("nsenter", "util-linux");
        Host {
            dir: tempfile::Builder::new()
                .prefix("svc-host")
                .tempdir_in("/tmp")
                .unwrap(),
            netns: netns.map(str::to_string),
            hostname: hostname.to_string(),
        }
    }

    /// `setup` (sh, run as the host's PID 1 before anything else), then `pkgbuild run ARGS...`.
    /// The host's /run is a fresh tmpfs with /run/resolvconf made, as LinuxKit's init makes it.
    pub fn command(&self, setup: &str, run_args: &[&str]) -> Command {
        let pkgbuild_cmd: Vec<String> = std::iter::once(env!("CARGO_BIN_EXE_pkgbuild").to_string())
            .chain([
                "--cache".to_string(),
                service_store().display().to_string(),
                "--manifest-path".to_string(),
                workspace_manifest().display().to_string(),
                "run".to_string(),
            ])
            .chain(run_args.iter().map(|s| s.to_string()))
            .map(|w| sh_quote(&w))
            .collect();
        let script = format!(
            "set -e\nmount -t tmpfs tmpfs /run\nmkdir -p /run/resolvconf\n\
             hostname {host}\n{setup}\n{run}\n",
            host = sh_quote(&self.hostname),
            run = pkgbuild_cmd.join(" "),
        );
        let mut cmd = match &self.netns {
            Some(ns) => {
                let mut cmd = Command::new("nsenter");
                cmd.arg(format!("--net=/run/netns/{ns}"))
                    .args(["--", "unshare"]);
                cmd
            }
            None => Command::new("unshare"),
        };
        cmd.args([
            "--mount",
            "--uts",
            "--ipc",
            "--pid",
            "--fork",
            "--kill-child",
            "--mount-proc",
            "sh",
            "-c",
            &script,
        ])
        .env("TMPDIR", self.dir.path());
        cmd
    }

    /// Runs to the container's exit.
    pub fn run(&self, setup: &str, run_args: &[&str]) -> Output {
        self.command(setup, run_args)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }

    /// Starts a long-running container; stopped (SIGTERM to pkgbuild, which passes it on) on drop.
    pub fn spawn(&self, setup: &str, run_args: &[&str]) -> Running {
        let log = self.dir.path().join("service.log");
        let child = self
            .command(setup, run_args)
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&log).unwrap())
            .stderr(std::fs::File::create(self.dir.path().join("service.err")).unwrap())
            .spawn()
            .unwrap();
        Running {
            child,
            dir: self.dir.path().to_path_buf(),
        }
    }
}

/// A container running under `pkgbuild run` in a [`Host`].
pub struct Running {
    child: Child,
    dir: PathBuf,
}

impl Running {
    /// What the container and pkgbuild wrote so far (stdout then stderr).
    pub fn log(&self) -> String {
        let read = |f: &str| std::fs::read_to_string(self.dir.join(f)).unwrap_or_default();
        format!("{}{}", read("service.log"), read("service.err"))
    }

    /// Waits until `check` holds, or fails the test after `limit` naming `what`.
    pub fn wait_for(&mut self, what: &str, limit: Duration, mut check: impl FnMut(&str) -> bool) {
        let deadline = Instant::now() + limit;
        loop {
            let log = self.log();
            if check(&log) {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("the container exited ({status}) before {what}:\n{log}");
            }
            assert!(
                Instant::now() < deadline,
                "no {what} within {limit:?}:\n{log}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The PID of the process this test started (unshare, or nsenter around it).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The host's PID 1 (the `sh` that runs setup and pkgbuild), as this machine sees it.
    pub fn init_pid(&self) -> u32 {
        let mut pid = self.child.id();
        loop {
            let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
            let in_namespace = status
                .lines()
                .find_map(|l| l.strip_prefix("NSpid:"))
                .and_then(|ids| ids.split_whitespace().last().map(str::to_string));
            if in_namespace.as_deref() == Some("1") {
                return pid;
            }
            pid = *children(pid).first().expect("the host's PID 1 is gone");
        }
    }

    /// The host-side PID of pkgbuild ([nsenter ->] unshare -> sh -> pkgbuild).
    fn pkgbuild_pid(&self) -> Option<u32> {
        let mut pid = self.child.id();
        loop {
            pid = children(pid).into_iter().next()?;
            let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
            if comm.trim() == "pkgbuild" {
                return Some(pid);
            }
        }
    }

    /// SIGTERM to pkgbuild (passed on to the container); the exit status of it all.
    pub fn stop(&mut self) -> Option<std::process::ExitStatus> {
        if let Some(pid) = self.pkgbuild_pid() {
            let _ = Command::new("kill")
                .args(["-TERM", &pid.to_string()])
                .status();
        }
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        // Killing nsenter's tree: unshare's --kill-child takes the whole PID namespace down.
        let _ = self.child.kill();
        let _ = self.child.wait();
        None
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The PIDs whose parent is `pid`.
pub fn children(pid: u32) -> Vec<u32> {
    std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect()
}

/// A network namespace of the test's, deleted on drop.
pub struct Netns {
    pub name: String,
}

impl Netns {
    pub fn new(prefix: &str) -> Netns {
        require("ip", "iproute2");
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let name = format!("{prefix}{}-{n}", std::process::id());
        let _ = Command::new("ip").args(["netns", "del", &name]).output();
        let out = Command::new("ip")
            .args(["netns", "add", &name])
            .output()
            .unwrap();
        assert!(out.status.success(), "ip netns add {name}: {out:?}");
        let ns = Netns { name };
        ns.ip(&["link", "set", "lo", "up"]);
        ns
    }

    /// `ip -n NAME ARGS`, which must succeed.
    pub fn ip(&self, args: &[&str]) {
        let out = Command::new("ip")
            .args(["-n", &self.name])
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "ip -n {} {args:?}: {out:?}",
            self.name
        );
    }

    /// A command run inside the namespace (nsenter, so /sys stays as it is).
    pub fn command(&self, program: &str) -> Command {
        let mut cmd = Command::new("nsenter");
        cmd.arg(format!("--net=/run/netns/{}", self.name))
            .arg("--")
            .arg(program);
        cmd
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .output();
    }
}
