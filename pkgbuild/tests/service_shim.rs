//! containerd-shim-minios as containerd's runtime for the service images, as on a LinuxKit machine:
//! a containerd of the test's own (root, state and socket in a temp dir; run in mount, UTS, IPC and
//! PID namespaces of the test's, where /root, /var/lib and /run are the test's) finds the shim the
//! containerd-shim-minios image ships on its PATH. The ntpd and sshd-wrap images come from the
//! store through `pkgbuild export` and `ctr images import`, and run with the spec
//! `pkgbuild run --print-spec` converts from their labels, on a rootfs made from the imported image
//! (LinuxKit's service tool likewise hands containerd the bundle's spec with its own root path).

mod common;

use std::collections::HashMap;
use std::fs;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

use common::chrony::{offset_line, Chrony};
use common::host::{build_image, children, pkgbuild, sh_quote};
use common::ssh;
use common::{pinned, require};
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use sha2::{Digest, Sha256};

const RUNTIME: &str = "io.containerd.minios.v2";
const SHIM_NAME: &str = "containerd-shim-minios-v2";
const SHIM_IN_IMAGE: &str = "usr/bin/containerd-shim-minios-v2";
/// containerd's default runtime, which LinuxKit's service tool always gets, and its binary.
const DEFAULT_RUNTIME: &str = "io.containerd.runc.v2";
const DROP_IN_NAME: &str = "containerd-shim-runc-v2";
const DROP_IN_IN_IMAGE: &str = "usr/bin/containerd-shim-runc-v2";
const HOSTNAME: &str = "shim-host";
const T: Duration = Duration::from_secs(60);

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Runs `cmd` (stdin closed) for at most `limit`; None when it had to be killed.
fn output_within(cmd: &mut Command, limit: Duration) -> Option<Output> {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    let reader = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = pipe.read_to_end(&mut bytes);
            bytes
        })
    };
    let stdout = reader(Box::new(child.stdout.take().unwrap()));
    let stderr = reader(Box::new(child.stderr.take().unwrap()));
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    Some(Output {
        status,
        stdout: stdout.join().unwrap(),
        stderr: stderr.join().unwrap(),
    })
}

/// Polls `check` until it gives Some; None after `limit`.
fn poll<V>(limit: Duration, mut check: impl FnMut() -> Option<V>) -> Option<V> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = check() {
            return Some(v);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

// What /proc says about a process, as this (the root PID namespace's) machine sees it.

fn processes() -> Vec<u32> {
    fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect()
}

fn cmdline(pid: u32) -> Vec<String> {
    fs::read(format!("/proc/{pid}/cmdline"))
        .map(|b| {
            b.split(|c| *c == 0)
                .filter(|s| !s.is_empty())
                .map(|s| String::from_utf8_lossy(s).into_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// The PIDs of a process in each PID namespace it is in, outermost first.
fn ns_pids(pid: u32) -> Vec<u32> {
    fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("NSpid:"))
        .map(|ids| {
            ids.split_whitespace()
                .filter_map(|p| p.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

/// Exists and is not a zombie (a reaped-late zombie is gone for our purposes).
fn alive(pid: u32) -> bool {
    fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            s.rsplit_once(')')
                .map(|(_, rest)| rest.trim_start().starts_with('Z'))
        })
        .is_some_and(|zombie| !zombie)
}

fn ns_link(pid: u32, kind: &str) -> String {
    fs::read_link(format!("/proc/{pid}/ns/{kind}"))
        .unwrap()
        .display()
        .to_string()
}

/// The shim binary the containerd-shim-minios image ships, taken out of `pkgbuild export`'s OCI
/// archive (index -> amd64 manifest -> layers) into `bin/`, the folder put on containerd's PATH.
fn extract_shim(dir: &Path) -> PathBuf {
    build_image("containerd-shim-minios");
    let archive = dir.join("containerd-shim-minios.tar");
    let out = pkgbuild()
        .args(["export", "containerd-shim-minios", "-o"])
        .arg(&archive)
        .args(["--platforms", "linux/amd64"])
        .output()
        .unwrap();
    assert!(out.status.success(), "pkgbuild export: {out:?}");
    let mut files = HashMap::new();
    let mut tar = tar::Archive::new(fs::File::open(&archive).unwrap());
    for entry in tar.entries().unwrap() {
        let mut entry = entry.unwrap();
        let path = entry.path().unwrap().display().to_string();
        let mut bytes = Vec::new();
        entry.read_to_end(&mut bytes).unwrap();
        files.insert(path, bytes);
    }
    let blob = |digest: &str| -> &Vec<u8> {
        let hex = digest.strip_prefix("sha256:").unwrap();
        files
            .get(&format!("blobs/sha256/{hex}"))
            .unwrap_or_else(|| panic!("{digest} is not in {}", archive.display()))
    };
    let json = |bytes: &[u8]| -> serde_json::Value { serde_json::from_slice(bytes).unwrap() };
    let top = json(&files["index.json"]);
    let index = json(blob(top["manifests"][0]["digest"].as_str().unwrap()));
    let manifest = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["platform"]["architecture"] == "amd64")
        .unwrap_or_else(|| panic!("no amd64 manifest in {index}"));
    let manifest = json(blob(manifest["digest"].as_str().unwrap()));
    let bin = dir.join("bin");
    fs::create_dir_all(&bin).unwrap();
    let shim = bin.join(SHIM_NAME);
    for layer in manifest["layers"].as_array().unwrap() {
        let bytes = blob(layer["digest"].as_str().unwrap());
        let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(&bytes[..]));
        for entry in tar.entries().unwrap() {
            let mut entry = entry.unwrap();
            let path = entry.path().unwrap().display().to_string();
            let path = path.trim_start_matches("./").trim_start_matches('/');
            if path == DROP_IN_IN_IMAGE {
                // The Go shim's name, which containerd runs for its default runtime.
                let target = entry.link_name().unwrap().expect("a symlink");
                std::os::unix::fs::symlink(&*target, bin.join(DROP_IN_NAME)).unwrap();
                continue;
            }
            if path != SHIM_IN_IMAGE {
                continue;
            }
            let mode = entry.header().mode().unwrap();
            assert!(
                mode & 0o111 != 0,
                "{SHIM_IN_IMAGE} is not executable: {mode:o}"
            );
            let mut binary = Vec::new();
            entry.read_to_end(&mut binary).unwrap();
            fs::write(&shim, binary).unwrap();
            fs::set_permissions(&shim, fs::Permissions::from_mode(mode & 0o7777)).unwrap();
        }
    }
    assert!(shim.is_file(), "no /{SHIM_IN_IMAGE} in the image");
    assert_eq!(
        fs::canonicalize(bin.join(DROP_IN_NAME)).unwrap(),
        fs::canonicalize(&shim).unwrap(),
        "/{DROP_IN_IN_IMAGE} in the image is not a link to our shim"
    );
    let version = Command::new(&shim)
        .arg("--version")
        .env_clear()
        .output()
        .unwrap();
    assert!(
        version.status.success() && text(&version.stdout).contains(RUNTIME),
        "{} --version: {version:?}",
        shim.display()
    );
    shim
}

/// A container made from an imported image and a converted spec.
struct Container {
    id: String,
    rootfs: PathBuf,
    /// Capabilities the spec asked for that this machine's runc cannot grant (removed).
    dropped: Vec<String>,
}

/// Our shim's server process, seen serving a running task.
struct ShimSeen {
    pid: u32,
    cmdline: Vec<String>,
    exe: PathBuf,
    exe_sha256: String,
    /// The task's PID as `ctr task ls` gives it, and as this machine sees it.
    task_pid: u32,
    task_host_pid: u32,
}

/// `ctr task start` in the foreground (the task's stdout and stderr copied to files); killed by
/// PID on drop.
struct TaskRun {
    child: Child,
    out: PathBuf,
    err: PathBuf,
}

impl TaskRun {
    fn stderr(&self) -> String {
        fs::read_to_string(&self.err).unwrap_or_default()
    }

    fn output(&self) -> String {
        format!(
            "--- stdout ---\n{}--- stderr ---\n{}",
            fs::read_to_string(&self.out).unwrap_or_default(),
            self.stderr()
        )
    }

    fn try_wait(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().unwrap()
    }

    fn wait(&mut self, limit: Duration) -> ExitStatus {
        poll(limit, || self.try_wait()).unwrap_or_else(|| {
            panic!(
                "ctr task start still runs after {limit:?}\n{}",
                self.output()
            )
        })
    }

    /// Waits for a stderr line holding `needle` and returns it.
    fn wait_for_line(&mut self, needle: &str, limit: Duration) -> String {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(line) = self.stderr().lines().find(|l| l.contains(needle)) {
                return line.to_string();
            }
            if let Some(status) = self.try_wait() {
                panic!(
                    "the task ended ({status}) before {needle:?}:\n{}",
                    self.output()
                );
            }
            assert!(
                Instant::now() < deadline,
                "no {needle:?} within {limit:?}:\n{}",
                self.output()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for TaskRun {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// containerd run by the test in namespaces of its own (`unshare` -> `sh` as PID 1 -> containerd),
/// with the extracted shim first on its PATH. Everything is stopped by PID on drop: the tasks
/// through containerd, then containerd, then the namespaces' PID 1 (which takes the rest along).
struct ShimHost {
    dir: tempfile::TempDir,
    unshare: Child,
    /// This machine's PIDs of the namespaces' PID 1 and of containerd (0: not known yet).
    init: u32,
    containerd: u32,
    namespace: String,
    shim: PathBuf,
    shim_sha256: String,
}

impl ShimHost {
    fn start(name: &str) -> ShimHost {
        for (program, package) in [
            ("containerd", "containerd"),
            ("ctr", "containerd"),
            ("runc", "runc"),
            ("unshare", "util-linux"),
            ("nsenter", "util-linux"),
        ] {
            require(program, package);
        }
        let dir = tempfile::Builder::new()
            .prefix("shim-host")
            .tempdir_in("/tmp")
            .unwrap();
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o711)).unwrap();
        let d = dir.path();
        let shim = extract_shim(d);
        let shim_sha256 = sha256_hex(&fs::read(&shim).unwrap());
        for sub in [
            "containerd",
            "host/var-lib",
            "fifo",
            "rootfs",
            "specs",
            "logs",
            "images",
        ] {
            fs::create_dir_all(d.join(sub)).unwrap();
        }
        fs::create_dir_all(d.join("host/root")).unwrap();
        fs::set_permissions(d.join("host/root"), fs::Permissions::from_mode(0o700)).unwrap();
        let c = d.join("containerd");
        let config = format!(
            r#"version = 2
root = "{root}"
state = "{state}"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "{sock}"
[ttrpc]
  address = "{sock}.ttrpc"
[debug]
  address = "{sock}.debug"
[metrics]
  address = ""
[plugins."io.containerd.internal.v1.opt"]
  path = "{opt}"
"#,
            root = c.join("root").display(),
            state = c.join("state").display(),
            sock = c.join("c.sock").display(),
            opt = c.join("opt").display(),
        );
        fs::write(c.join("config.toml"), config).unwrap();
        let q = |p: PathBuf| sh_quote(&p.display().to_string());
        // LinuxKit's host: /run a tmpfs with /run/resolvconf; /root and /var/lib are the test's
        // folders (the sshd-wrap image binds /root/.ssh and /var/lib/sshd-wrap from there).
        let script = format!(
            "set -e\n\
             mount --bind {root} /root\n\
             mount --bind {var_lib} /var/lib\n\
             mount -t tmpfs tmpfs /run\n\
             mkdir -p /run/resolvconf\n\
             hostname {HOSTNAME}\n\
             PATH={bin}:$PATH containerd --config {config} >/dev/null 2>>{log} &\n\
             wait $!\n",
            root = q(d.join("host/root")),
            var_lib = q(d.join("host/var-lib")),
            bin = q(d.join("bin")),
            config = q(c.join("config.toml")),
            log = q(c.join("containerd.log")),
        );
        let unshare = Command::new("unshare")
            .args([
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
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(fs::File::create(c.join("namespaces.err")).unwrap())
            .spawn()
            .unwrap();
        let mut host = ShimHost {
            dir,
            unshare,
            init: 0,
            containerd: 0,
            namespace: format!("minios-{name}"),
            shim,
            shim_sha256,
        };
        let answered = poll(T, || {
            if let Some(status) = host.unshare.try_wait().unwrap() {
                panic!("the namespaces ended ({status}):\n{}", host.log());
            }
            let out = output_within(
                Command::new("ctr")
                    .arg("--address")
                    .arg(host.socket())
                    .arg("version"),
                Duration::from_secs(10),
            )?;
            out.status.success().then_some(())
        });
        assert!(
            answered.is_some(),
            "containerd did not answer\n{}",
            host.log()
        );
        let unshare_pid = host.unshare.id();
        host.init = children(unshare_pid)
            .into_iter()
            .find(|p| ns_pids(*p).last() == Some(&1))
            .expect("the namespaces' PID 1");
        host.containerd = children(host.init)
            .into_iter()
            .find(|p| {
                fs::read_to_string(format!("/proc/{p}/comm"))
                    .unwrap_or_default()
                    .trim()
                    == "containerd"
            })
            .expect("containerd below the namespaces' PID 1");
        host
    }

    fn socket(&self) -> PathBuf {
        self.dir.path().join("containerd/c.sock")
    }

    /// The test's folder that is /root inside the namespaces.
    fn host_root(&self) -> PathBuf {
        self.dir.path().join("host/root")
    }

    /// The test's folder that is /var/lib inside the namespaces.
    fn host_var_lib(&self) -> PathBuf {
        self.dir.path().join("host/var-lib")
    }

    fn log(&self) -> String {
        let read = |f: &str| fs::read_to_string(self.dir.path().join(f)).unwrap_or_default();
        let log = read("containerd/containerd.log");
        let start = log.len().saturating_sub(20_000);
        let start = (start..log.len())
            .find(|i| log.is_char_boundary(*i))
            .unwrap_or(0);
        format!(
            "--- containerd log (end) ---\n{}\n--- namespaces' stderr ---\n{}",
            &log[start..],
            read("containerd/namespaces.err")
        )
    }

    fn ctr_args(&self, cmd: &mut Command) {
        cmd.arg("--address")
            .arg(self.socket())
            .args(["--namespace", &self.namespace]);
    }

    fn ctr(&self) -> Command {
        let mut cmd = Command::new("ctr");
        self.ctr_args(&mut cmd);
        cmd
    }

    /// ctr in the namespaces' mount namespace, for what it mounts itself (`images mount`).
    fn ctr_in_mount_ns(&self) -> Command {
        let mut cmd = Command::new("nsenter");
        cmd.arg(format!("--mount=/proc/{}/ns/mnt", self.init))
            .args(["--", "ctr"]);
        self.ctr_args(&mut cmd);
        cmd
    }

    /// Runs a ctr command that must succeed within T; its stdout.
    fn ok(&self, mut cmd: Command) -> String {
        let out = output_within(&mut cmd, T)
            .unwrap_or_else(|| panic!("{cmd:?} took over {T:?}\n{}", self.log()));
        assert!(
            out.status.success(),
            "{cmd:?} failed ({})\nstdout: {}\nstderr: {}\n{}",
            out.status,
            text(&out.stdout),
            text(&out.stderr),
            self.log()
        );
        text(&out.stdout)
    }

    fn ctr_ok(&self, args: &[&str]) -> String {
        let mut cmd = self.ctr();
        cmd.args(args);
        self.ok(cmd)
    }

    /// `pkgbuild export` of the package's amd64 image, imported; the name containerd gives it.
    fn import(&self, package: &str) -> String {
        build_image(package);
        let archive = self.dir.path().join(format!("images/{package}.tar"));
        let out = pkgbuild()
            .args(["export", package, "-o"])
            .arg(&archive)
            .args(["--platforms", "linux/amd64"])
            .output()
            .unwrap();
        assert!(out.status.success(), "pkgbuild export {package}: {out:?}");
        let (reference, digest) = pinned(&text(&out.stdout), package);
        self.ctr_ok(&[
            "images",
            "import",
            "--snapshotter",
            "native",
            archive.to_str().unwrap(),
        ]);
        let name = format!("docker.io/{reference}");
        let listing = self.ctr_ok(&["images", "ls"]);
        let line = listing
            .lines()
            .find(|l| l.split_whitespace().next() == Some(name.as_str()))
            .unwrap_or_else(|| panic!("{name} not imported:\n{listing}"));
        assert!(line.contains(&digest), "{line}");
        name
    }

    /// A container `id` of `image` with the spec `pkgbuild run PKG --print-spec --command ...`
    /// gives, after what its runtime.json asks of the host, on a rootfs of the imported image.
    /// `runtime_name` None: no runtime named, as LinuxKit's service tool creates containers.
    fn create(
        &self,
        id: &str,
        image: &str,
        package: &str,
        runtime_name: Option<&str>,
        command: &[&str],
    ) -> Container {
        let out = pkgbuild()
            .args(["run", package, "--print-spec", "--command"])
            .args(command)
            .output()
            .unwrap();
        assert!(out.status.success(), "pkgbuild run --print-spec: {out:?}");
        let both: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let mut config = both["config"].clone();
        let runtime = &both["runtime"];
        assert_eq!(config["process"]["args"], serde_json::json!(command));
        self.apply_runtime(runtime);

        // The mounts of pkgbuild's own bundle are replaced by a snapshot of the imported image.
        let rootfs = self.dir.path().join("rootfs").join(id);
        fs::create_dir_all(&rootfs).unwrap();
        let mut mount = self.ctr_in_mount_ns();
        mount.args(["images", "mount", "--snapshotter", "native"]);
        if config["root"]["readonly"] != serde_json::Value::Bool(true) {
            mount.arg("--rw");
        }
        mount.arg(image).arg(&rootfs);
        self.ok(mount);
        config["root"]["path"] = rootfs.display().to_string().into();

        let dropped = pkgbuild::run::clamp_capabilities(
            &mut config,
            pkgbuild::run::host_bounding_set().unwrap(),
        );
        let spec = self.dir.path().join(format!("specs/{id}.json"));
        fs::write(&spec, serde_json::to_vec_pretty(&config).unwrap()).unwrap();
        let mut args = vec!["containers", "create"];
        if let Some(name) = runtime_name {
            args.extend(["--runtime", name]);
        }
        args.extend(["--config", spec.to_str().unwrap(), id]);
        self.ctr_ok(&args);
        let info: serde_json::Value =
            serde_json::from_str(&self.ctr_ok(&["containers", "info", id])).unwrap();
        assert_eq!(
            info["Runtime"]["Name"],
            runtime_name.unwrap_or(DEFAULT_RUNTIME),
            "{info}"
        );
        Container {
            id: id.to_string(),
            rootfs,
            dropped,
        }
    }

    /// What LinuxKit's service tool does with runtime.json before it creates the task, done in
    /// the namespaces (through /proc/PID/root of their PID 1). These images only need `mkdir`;
    /// anything else fails here, naming it, rather than being skipped.
    fn apply_runtime(&self, runtime: &serde_json::Value) {
        let strings = |v: &serde_json::Value| -> Vec<String> {
            v.as_array()
                .map(|a| a.iter().map(|s| s.as_str().unwrap().to_string()).collect())
                .unwrap_or_default()
        };
        let mounts = runtime["mounts"].as_array().cloned().unwrap_or_default();
        let bundle = mounts
            .iter()
            .filter_map(|m| m["destination"].as_str()?.strip_suffix("/rootfs"))
            .next()
            .map(str::to_string);
        for m in &mounts {
            let destination = m["destination"].as_str().unwrap_or_default();
            let own = bundle
                .as_deref()
                .is_some_and(|b| destination.starts_with(&format!("{b}/")));
            assert!(own, "runtime.json mounts {m}: not supported by this test");
        }
        for dir in strings(&runtime["mkdir"]) {
            assert!(dir.starts_with('/'), "runtime.json mkdir {dir}: relative");
            let path = format!("/proc/{}/root{dir}", self.init);
            fs::create_dir_all(&path).unwrap_or_else(|e| panic!("mkdir {dir}: {e}"));
        }
        for field in ["cgroups", "interfaces"] {
            assert!(
                runtime[field].as_array().is_none_or(|a| a.is_empty()),
                "runtime.json {field}: not supported by this test: {runtime}"
            );
        }
        for (ns, path) in runtime["bindNS"].as_object().into_iter().flatten() {
            assert_eq!(
                path.as_str().unwrap_or_default(),
                "",
                "runtime.json bindNS.{ns}"
            );
        }
        assert_eq!(
            runtime["namespace"].as_str().unwrap_or_default(),
            "",
            "runtime.json namespace"
        );
    }

    /// `ctr task start ID` in the foreground, its fifos in the test's folder.
    fn start_task(&self, id: &str) -> TaskRun {
        let out = self.dir.path().join(format!("logs/{id}.out"));
        let err = self.dir.path().join(format!("logs/{id}.err"));
        let child = self
            .ctr()
            .args(["task", "start", "--fifo-dir"])
            .arg(self.dir.path().join("fifo"))
            .arg(id)
            .stdin(Stdio::null())
            .stdout(fs::File::create(&out).unwrap())
            .stderr(fs::File::create(&err).unwrap())
            .spawn()
            .unwrap();
        TaskRun { child, out, err }
    }

    /// The task's row in `ctr task ls`: (PID, STATUS).
    fn task(&self, id: &str) -> Option<(u32, String)> {
        let mut cmd = self.ctr();
        cmd.args(["task", "ls"]);
        let out = output_within(&mut cmd, T)?;
        text(&out.stdout).lines().find_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.first() == Some(&id)).then(|| (f[1].parse().unwrap_or(0), f[2].to_string()))
        })
    }

    /// The serving processes of our shim for this containerd (not its `start`/`delete` runs).
    fn shims(&self) -> Vec<u32> {
        let address = self.socket().display().to_string();
        processes()
            .into_iter()
            .filter(|p| {
                let cmd = cmdline(*p);
                cmd.first().is_some_and(|c| c.ends_with(SHIM_NAME))
                    && cmd.contains(&address)
                    && !cmd.iter().any(|a| a == "start" || a == "delete")
                    && alive(*p)
            })
            .collect()
    }

    /// Our shim serving task `id`: the task is RUNNING and its PID is a child of a shim's.
    fn serving_shim(&self, id: &str) -> Option<ShimSeen> {
        let (task_pid, status) = self.task(id)?;
        if status != "RUNNING" {
            return None;
        }
        for shim in self.shims() {
            // The PID ctr gives is the one in the shim's PID namespace.
            let level = ns_pids(shim).len().checked_sub(1)?;
            let Some(child) = children(shim)
                .into_iter()
                .find(|c| ns_pids(*c).get(level) == Some(&task_pid))
            else {
                continue;
            };
            let exe = fs::read_link(format!("/proc/{shim}/exe")).ok()?;
            let bytes = fs::read(format!("/proc/{shim}/exe")).ok()?;
            return Some(ShimSeen {
                pid: shim,
                cmdline: cmdline(shim),
                exe,
                exe_sha256: sha256_hex(&bytes),
                task_pid,
                task_host_pid: child,
            });
        }
        None
    }

    /// The shim's own log lines (`created container=ID pid=N`), which containerd copies from the
    /// bundle's log fifo into its log.
    fn assert_shim_logged(&self, id: &str) {
        let log = fs::read_to_string(self.dir.path().join("containerd/containerd.log")).unwrap();
        for event in ["created", "started"] {
            let needle = format!("{event} container={id} pid=");
            assert!(
                log.contains(&needle),
                "no {needle:?} in containerd's log:\n{log}"
            );
        }
    }

    fn assert_ours(&self, seen: &ShimSeen, id: &str) {
        assert_eq!(
            seen.exe, self.shim,
            "shim PID {} runs another binary",
            seen.pid
        );
        assert_eq!(
            seen.exe_sha256, self.shim_sha256,
            "shim PID {} is not the image's binary",
            seen.pid
        );
        let cmd = &seen.cmdline;
        assert!(cmd.iter().any(|a| a == &self.namespace), "{cmd:?}");
        eprintln!(
            "{id}: task PID {} (here {}) served by our shim, PID {} ({})",
            seen.task_pid,
            seen.task_host_pid,
            seen.pid,
            seen.exe.display()
        );
    }

    /// After the container is deleted: no task, no container, no shim, no runc state, no bundle;
    /// then the rootfs is unmounted and its snapshot removed.
    fn assert_cleaned_up(&self, c: &Container) {
        let id = c.id.as_str();
        poll(T, || self.task(id).is_none().then_some(())).unwrap_or_else(|| {
            panic!(
                "task {id} still listed: {:?}\n{}",
                self.task(id),
                self.log()
            )
        });
        let containers = self.ctr_ok(&["containers", "ls", "-q"]);
        assert!(!containers.lines().any(|l| l == id), "{containers}");
        poll(T, || self.shims().is_empty().then_some(()))
            .unwrap_or_else(|| panic!("shims still serving: {:?}\n{}", self.shims(), self.log()));
        let runc_state = format!(
            "/proc/{}/root/run/containerd/runc/{}/{id}",
            self.init, self.namespace
        );
        assert!(!Path::new(&runc_state).exists(), "{runc_state} is left");
        let bundle = self.dir.path().join(format!(
            "containerd/state/io.containerd.runtime.v2.task/{}/{id}",
            self.namespace
        ));
        assert!(!bundle.exists(), "{} is left", bundle.display());

        let mut unmount = self.ctr_in_mount_ns();
        unmount.args(["images", "unmount", "--rm"]).arg(&c.rootfs);
        self.ok(unmount);
        let mountinfo = fs::read_to_string(format!("/proc/{}/mountinfo", self.init)).unwrap();
        let rootfs = c.rootfs.display().to_string();
        assert!(
            !mountinfo
                .lines()
                .any(|l| l.split_whitespace().nth(4) == Some(rootfs.as_str())),
            "{rootfs} is still mounted"
        );
    }

    /// SIGTERM to containerd; the namespaces end with it. Nothing of ours is left running.
    fn shutdown(&mut self) {
        kill(Pid::from_raw(self.containerd as i32), Signal::SIGTERM).unwrap();
        if poll(T, || self.unshare.try_wait().unwrap()).is_none() {
            panic!("containerd still runs {T:?} after SIGTERM\n{}", self.log());
        }
        let address = self.socket().display().to_string();
        let left: Vec<u32> = processes()
            .into_iter()
            .filter(|p| alive(*p) && cmdline(*p).contains(&address))
            .collect();
        assert!(left.is_empty(), "left running: {left:?}");
        let own = fs::read_to_string("/proc/self/mountinfo").unwrap();
        let dir = self.dir.path().display().to_string();
        assert!(
            !own.lines().any(|l| l.contains(&dir)),
            "mounts under {dir} leaked out of the namespaces"
        );
    }
}

impl Drop for ShimHost {
    fn drop(&mut self) {
        if !matches!(self.unshare.try_wait(), Ok(None)) {
            return;
        }
        let quick = Duration::from_secs(10);
        if self.containerd != 0 {
            // The tasks through containerd, so runc deletes them (and their cgroups).
            let mut ls = self.ctr();
            ls.args(["task", "ls", "-q"]);
            let ids = output_within(&mut ls, quick)
                .map(|o| text(&o.stdout))
                .unwrap_or_default();
            for id in ids.lines() {
                let mut k = self.ctr();
                k.args(["task", "kill", "-s", "SIGKILL", id]);
                let _ = output_within(&mut k, quick);
                let mut rm = self.ctr();
                rm.args(["task", "delete", "-f", id]);
                let _ = output_within(&mut rm, quick);
            }
            let _ = kill(Pid::from_raw(self.containerd as i32), Signal::SIGTERM);
            let deadline = Instant::now() + quick;
            while Instant::now() < deadline && matches!(self.unshare.try_wait(), Ok(None)) {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        // unshare's --kill-child ends the namespaces' PID 1, and with it every process in them;
        // their mounts go with the mount namespace.
        let _ = self.unshare.kill();
        let _ = self.unshare.wait();
    }
}

#[test]
fn ntpd_image_measures_chronyd_under_our_shim() {
    let setup = Instant::now();
    let mut host = ShimHost::start("ntpd");
    let image = host.import("ntpd");
    eprintln!(
        "ntpd: images built, shim extracted, containerd up, image imported in {:?}",
        setup.elapsed()
    );
    let chrony = Chrony::start();
    let server = chrony.addr.to_string();
    let id = format!("ntpd-{}", std::process::id());
    // No runtime named, as LinuxKit's service tool does: containerd runs containerd-shim-runc-v2,
    // which the shim's image provides, so our shim serves it (assert_ours checks the binary).
    let c = host.create(
        &id,
        &image,
        "ntpd",
        None,
        &[
            "/usr/sbin/ntpd",
            // Not the image's config (pool.ntp.org): chronyd alone, no name lookups.
            "-f",
            "/dev/null",
            "-q",
            "--dry-run",
            "--no-dhcp",
            // A burst of 4 a quarter second apart: long enough to look at the shim meanwhile.
            "--burst-interval",
            "0.25",
            "-p",
            &server,
        ],
    );
    assert!(c.dropped.is_empty(), "CAP_SYS_TIME alone: {:?}", c.dropped);

    let started = Instant::now();
    let mut run = host.start_task(&id);
    let mut seen = None;
    let status = poll(T, || {
        if seen.is_none() {
            seen = host.serving_shim(&id);
        }
        run.try_wait()
    })
    .unwrap_or_else(|| {
        panic!(
            "ntpd -q still runs after {T:?}\n{}\n{}",
            run.output(),
            host.log()
        )
    });
    let elapsed = started.elapsed();
    let seen = seen.unwrap_or_else(|| {
        panic!(
            "ntpd ran {elapsed:?} and no shim of ours was seen serving it\n{}",
            host.log()
        )
    });
    host.assert_ours(&seen, &id);
    assert!(
        status.success(),
        "{status}\n{}\n{}",
        run.output(),
        host.log()
    );
    let log = run.stderr();
    let (line, offset) = offset_line(&log);
    // Same machine, same clock.
    assert!(offset.abs() < 0.01, "{line}");
    assert!(line.contains(&server), "{line}");
    host.assert_shim_logged(&id);

    host.ctr_ok(&["containers", "delete", &id]);
    host.assert_cleaned_up(&c);
    host.shutdown();
    eprintln!(
        "ntpd under our shim measured {offset:+.6} s against chronyd; the task took {elapsed:?}"
    );
}

#[test]
fn sshd_wrap_image_serves_an_openssh_login_under_our_shim() {
    require("ssh", "openssh-client");
    require("ssh-keygen", "openssh-client");
    let setup = Instant::now();
    let mut host = ShimHost::start("sshd");
    let image = host.import("sshd-wrap");
    eprintln!(
        "sshd-wrap: images built, shim extracted, containerd up, image imported in {:?}",
        setup.elapsed()
    );

    // The operator's key in the host's /root/.ssh/authorized_keys (the test's folder), and a
    // file of the host's the session must see.
    let keys = host.dir.path().join("keys");
    fs::create_dir_all(&keys).unwrap();
    let key = ssh::keygen(&keys, "operator");
    let dot_ssh = host.host_root().join(".ssh");
    fs::create_dir_all(&dot_ssh).unwrap();
    fs::set_permissions(&dot_ssh, fs::Permissions::from_mode(0o700)).unwrap();
    fs::copy(key.with_extension("pub"), dot_ssh.join("authorized_keys")).unwrap();
    let marker = format!("the test's /root, run {}", std::process::id());
    fs::write(host.host_root().join("marker"), format!("{marker}\n")).unwrap();

    let id = format!("sshd-{}", std::process::id());
    let c = host.create(
        &id,
        &image,
        "sshd-wrap",
        Some(RUNTIME),
        &[
            "/usr/sbin/sshd-wrap",
            // Loopback only, a port the daemon picks and logs.
            "-l",
            "127.0.0.1:0",
            "--host-namespaces",
            "1",
            "--host-key",
            "/var/lib/sshd-wrap/ssh_host_ed25519_key",
        ],
    );
    if !c.dropped.is_empty() {
        eprintln!("this machine's runc cannot grant {:?}: removed", c.dropped);
    }

    let started = Instant::now();
    let mut run = host.start_task(&id);
    let line = run.wait_for_line("event=listening addr=", T);
    let port: u16 = line.rsplit(':').next().unwrap().trim().parse().unwrap();
    let ready = started.elapsed();
    let seen = poll(T, || host.serving_shim(&id)).unwrap_or_else(|| {
        panic!(
            "no shim of ours serving {id}\n{}\n{}",
            run.output(),
            host.log()
        )
    });
    host.assert_ours(&seen, &id);

    // The host key the daemon made is on the host's /var/lib (the test's folder): it is the key
    // the client must find.
    let host_key = host.host_var_lib().join("sshd-wrap/ssh_host_ed25519_key");
    let mode = fs::metadata(&host_key).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "{}", host_key.display());
    let derived = Command::new("ssh-keygen")
        .args(["-y", "-f"])
        .arg(&host_key)
        .output()
        .unwrap();
    assert!(derived.status.success(), "ssh-keygen -y: {derived:?}");
    let public = text(&derived.stdout);
    let known_hosts = keys.join("known_hosts");
    fs::write(&known_hosts, format!("[127.0.0.1]:{port} {public}")).unwrap();

    let login = Instant::now();
    let out = output_within(
        Command::new("ssh")
            .args(["-p", &port.to_string()])
            .args(ssh::options(&key, "yes", &known_hosts))
            .arg("root@127.0.0.1")
            .arg(
                "hostname; id -u; cat /root/marker; readlink /proc/self/ns/mnt; \
                 readlink /proc/self/ns/pid; echo to-stderr >&2; exit 7",
            ),
        T,
    )
    .unwrap_or_else(|| panic!("ssh took over {T:?}\n{}", run.output()));
    let login = login.elapsed();
    let stdout = text(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(7),
        "{stdout}{}\n{}",
        text(&out.stderr),
        run.output()
    );
    assert!(
        text(&out.stderr).contains("to-stderr"),
        "{}",
        text(&out.stderr)
    );
    // A shell of the host (the namespaces' PID 1), not of the container.
    let expected = [
        HOSTNAME.to_string(),
        "0".to_string(),
        marker,
        ns_link(host.init, "mnt"),
        ns_link(host.init, "pid"),
    ];
    assert_eq!(
        stdout.lines().collect::<Vec<_>>(),
        expected,
        "{}",
        run.output()
    );
    let daemon_log = run.stderr();
    assert!(daemon_log.contains("event=login user=root"), "{daemon_log}");
    host.assert_shim_logged(&id);

    // SIGTERM through containerd: the daemon stops, exit status 0 back through the shim.
    host.ctr_ok(&["task", "kill", &id]);
    let status = run.wait(T);
    assert!(
        status.success(),
        "{status}\n{}\n{}",
        run.output(),
        host.log()
    );
    host.ctr_ok(&["containers", "delete", &id]);
    host.assert_cleaned_up(&c);
    host.shutdown();
    eprintln!("sshd-wrap under our shim: listening {ready:?} after task start; login + command in {login:?}");
}
