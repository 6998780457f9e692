//! The integration tests' harness: a containerd of the test's own (root,
//! state and socket in a temp dir, the CRI plugin off, our shim on its
//! PATH), a busybox image built here, and `ctr` against that containerd.
//! Everything started here is killed by PID when the guard drops, also
//! when a test fails.

#![allow(dead_code)]

use std::fs::{self, File};
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

pub const RUNTIME: &str = "io.containerd.minios.v2";
pub const IMAGE: &str = "docker.io/minios/busybox:test";
pub const SHIM: &str = env!("CARGO_BIN_EXE_containerd-shim-minios-v2");

/// The busybox applets the test image links.
const APPLETS: &[&str] = &[
    "sh", "sleep", "echo", "cat", "true", "false", "tty", "ls", "ps", "kill", "env", "stty", "tail",
];

/// Fails the test with the package to install when `program` is missing.
pub fn require(program: &str, package: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin", "/usr/bin", "/bin"].map(PathBuf::from))
        .map(|d| d.join(program))
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "`{program}` is missing: apt-get install -y {package} (or run `cargo xtask test`)"
            )
        })
}

/// The host's static busybox, which the test image is made of.
pub fn busybox() -> PathBuf {
    let p = require("busybox", "busybox-static");
    let out = Command::new("file").arg("-L").arg(&p).output();
    if let Ok(out) = out {
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            !text.contains("dynamically linked"),
            "{} is dynamically linked: apt-get install -y busybox-static",
            p.display()
        );
    }
    p
}

pub fn require_peers() {
    require("containerd", "containerd");
    require("ctr", "containerd");
    require("runc", "runc");
    busybox();
}

/// Polls `f` every 50 ms until it gives Some, failing with `what` (and
/// `context()`) at the deadline.
pub fn poll<T>(
    what: &str,
    timeout: Duration,
    mut f: impl FnMut() -> Option<T>,
    context: impl Fn() -> String,
) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}\n{}",
            context()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

pub fn oci_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    }
}

fn sha256(data: &[u8]) -> String {
    format!("{:x}", Sha256::digest(data))
}

/// Writes an OCI archive (a tar of an OCI image layout) holding one image:
/// busybox at /bin/busybox with its applet links, named [`IMAGE`].
pub fn build_image(archive: &Path) {
    let busybox = fs::read(busybox()).unwrap();
    let mut layer = tar::Builder::new(Vec::new());
    let mut dir = |path: &str| {
        let mut h = tar::Header::new_ustar();
        h.set_entry_type(tar::EntryType::Directory);
        h.set_mode(0o755);
        h.set_size(0);
        h.set_mtime(0);
        layer.append_data(&mut h, path, std::io::empty()).unwrap();
    };
    for d in ["bin/", "dev/", "proc/", "sys/", "tmp/", "etc/"] {
        dir(d);
    }
    let mut h = tar::Header::new_ustar();
    h.set_entry_type(tar::EntryType::Regular);
    h.set_mode(0o755);
    h.set_size(busybox.len() as u64);
    h.set_mtime(0);
    layer
        .append_data(&mut h, "bin/busybox", &busybox[..])
        .unwrap();
    for applet in APPLETS {
        let mut h = tar::Header::new_ustar();
        h.set_entry_type(tar::EntryType::Symlink);
        h.set_mode(0o777);
        h.set_size(0);
        h.set_mtime(0);
        layer
            .append_link(&mut h, format!("bin/{applet}"), "busybox")
            .unwrap();
    }
    let layer = layer.into_inner().unwrap();
    let layer_digest = sha256(&layer);
    let config = serde_json::json!({
        "architecture": oci_arch(),
        "os": "linux",
        "config": {"Env": ["PATH=/bin"], "Cmd": ["/bin/sh"]},
        "rootfs": {"type": "layers", "diff_ids": [format!("sha256:{layer_digest}")]},
    })
    .to_string()
    .into_bytes();
    let config_digest = sha256(&config);
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": format!("sha256:{config_digest}"), "size": config.len()},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                    "digest": format!("sha256:{layer_digest}"), "size": layer.len()}],
    })
    .to_string()
    .into_bytes();
    let manifest_digest = sha256(&manifest);
    let index = serde_json::json!({
        "schemaVersion": 2,
        "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
                       "digest": format!("sha256:{manifest_digest}"), "size": manifest.len(),
                       "annotations": {"io.containerd.image.name": IMAGE,
                                       "org.opencontainers.image.ref.name": "test"}}],
    })
    .to_string()
    .into_bytes();
    let mut out = tar::Builder::new(File::create(archive).unwrap());
    let mut add = |path: &str, data: &[u8]| {
        let mut h = tar::Header::new_ustar();
        h.set_mode(0o644);
        h.set_size(data.len() as u64);
        h.set_mtime(0);
        out.append_data(&mut h, path, data).unwrap();
    };
    add("oci-layout", br#"{"imageLayoutVersion":"1.0.0"}"#);
    add("index.json", &index);
    add(&format!("blobs/sha256/{layer_digest}"), &layer);
    add(&format!("blobs/sha256/{config_digest}"), &config);
    add(&format!("blobs/sha256/{manifest_digest}"), &manifest);
    out.finish().unwrap();
}

/// A containerd of the test's own, with the test image imported; killed
/// by PID on drop, after the tasks it runs and the shims it started.
pub struct Containerd {
    child: Option<Child>,
    dir: tempfile::TempDir,
    /// Our shim, found by containerd on its PATH.
    shim: PathBuf,
    pub namespace: String,
}

impl Containerd {
    /// `name` makes the namespace (and so runc's state folder) unique.
    pub fn start(name: &str) -> Containerd {
        Self::start_with_shim(name, Path::new(SHIM))
    }

    /// With `shim` (named containerd-shim-minios-v2) as our shim: the benchmark runs the
    /// image's binary.
    pub fn start_with_shim(name: &str, shim: &Path) -> Containerd {
        require_peers();
        let dir = tempfile::Builder::new()
            .prefix("shim-ctrd")
            .tempdir_in("/tmp")
            .unwrap();
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o711)).unwrap();
        let d = dir.path();
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
  level = "debug"
[metrics]
  address = ""
"#,
            root = d.join("root").display(),
            state = d.join("state").display(),
            sock = d.join("c.sock").display(),
        );
        fs::write(d.join("config.toml"), config).unwrap();
        let mut c = Containerd {
            child: None,
            dir,
            shim: shim.to_path_buf(),
            namespace: format!("minios-{name}"),
        };
        c.spawn();
        let archive = c.dir.path().join("image.tar");
        build_image(&archive);
        c.ctr_ok(
            &["images", "import", "--all-platforms"],
            &[archive.to_str().unwrap()],
        );
        c
    }

    fn spawn(&mut self) {
        let d = self.dir.path();
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(d.join("containerd.log"))
            .unwrap();
        // containerd finds the shim as containerd-shim-minios-v2 on its PATH.
        let shim_dir = self.shim.parent().unwrap();
        let path = format!(
            "{}:{}",
            shim_dir.display(),
            std::env::var("PATH").unwrap_or_else(|_| "/usr/sbin:/usr/bin:/sbin:/bin".into())
        );
        let child = Command::new("containerd")
            .arg("--config")
            .arg(d.join("config.toml"))
            .env("PATH", path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start containerd");
        self.child = Some(child);
        poll(
            "containerd to answer",
            Duration::from_secs(60),
            || {
                Command::new("ctr")
                    .arg("--address")
                    .arg(self.socket())
                    .arg("version")
                    .output()
                    .ok()
                    .filter(|o| o.status.success())
            },
            || self.log(),
        );
    }

    /// Kills containerd by PID (SIGKILL, as a crash would) and starts it
    /// again with the same config.
    pub fn restart(&mut self) {
        if let Some(mut c) = self.child.take() {
            c.kill().unwrap();
            c.wait().unwrap();
        }
        self.spawn();
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().unwrap().id()
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn socket(&self) -> PathBuf {
        self.dir.path().join("c.sock")
    }

    pub fn log(&self) -> String {
        let log = fs::read_to_string(self.dir.path().join("containerd.log")).unwrap_or_default();
        // The end is what explains a failure.
        let start = log.len().saturating_sub(20_000);
        format!(
            "--- containerd log (end) ---\n{}",
            &log[log.ceil_char_boundary_compat(start)..]
        )
    }

    pub fn ctr(&self) -> Command {
        let mut cmd = Command::new("ctr");
        cmd.arg("--address")
            .arg(self.socket())
            .args(["--namespace", &self.namespace])
            .stdin(Stdio::null());
        cmd
    }

    /// `ctr ARGS... EXTRA...`, which must succeed; its stdout.
    pub fn ctr_ok(&self, args: &[&str], extra: &[&str]) -> String {
        let out = self.ctr().args(args).args(extra).output().unwrap();
        assert!(
            out.status.success(),
            "ctr {args:?} {extra:?} failed: {}\nstdout: {}\nstderr: {}\n{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            self.log()
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// `ctr run` with our runtime: `flags` before the image, `cmd` after
    /// the container id.
    pub fn run(&self, flags: &[&str], id: &str, cmd: &[&str]) -> Output {
        self.ctr()
            .arg("run")
            .args(["--runtime", RUNTIME])
            .args(flags)
            .arg(IMAGE)
            .arg(id)
            .args(cmd)
            .output()
            .unwrap()
    }

    /// Starts a detached container running `cmd`, and waits until it runs.
    pub fn run_detached(&self, flags: &[&str], id: &str, cmd: &[&str]) {
        let mut all = vec!["-d"];
        all.extend_from_slice(flags);
        let out = self.run(&all, id, cmd);
        assert!(
            out.status.success(),
            "ctr run -d {id}: {}\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            self.log()
        );
        self.wait_status(id, "RUNNING");
    }

    /// The STATUS column of `ctr task ls` for task `id`, if listed.
    pub fn task_status(&self, id: &str) -> Option<String> {
        let out = self.ctr().args(["task", "ls"]).output().ok()?;
        String::from_utf8_lossy(&out.stdout).lines().find_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.first() == Some(&id)).then(|| f.get(2).unwrap_or(&"").to_string())
        })
    }

    pub fn wait_status(&self, id: &str, status: &str) {
        poll(
            &format!("task {id} to be {status}"),
            Duration::from_secs(60),
            || (self.task_status(id).as_deref() == Some(status)).then_some(()),
            || format!("ctr task ls: {:?}\n{}", self.task_status(id), self.log()),
        );
    }

    /// The PIDs of our shim's serving processes for this containerd.
    pub fn shim_pids(&self) -> Vec<u32> {
        self.shims("containerd-shim-minios-v2")
    }

    /// The PIDs of the serving processes of shim `binary` for this
    /// containerd (not its `start` or `delete` runs).
    pub fn shims(&self, binary: &str) -> Vec<u32> {
        let addr = self.socket().display().to_string();
        processes()
            .into_iter()
            .filter(|p| {
                let cmd = cmdline(*p);
                cmd.first().is_some_and(|c| c.ends_with(binary))
                    && cmd.contains(&addr)
                    && !cmd.iter().any(|a| a == "start" || a == "delete")
            })
            .collect()
    }

    /// Kills and deletes every task, then containerd, then any shim of
    /// this containerd that is left, all by PID.
    fn cleanup(&mut self) {
        if let Some(child) = self.child.as_mut() {
            if let Ok(None) = child.try_wait() {
                let out = self.ctr().args(["task", "ls", "-q"]).output();
                if let Ok(out) = out {
                    for id in String::from_utf8_lossy(&out.stdout).lines() {
                        let _ = self
                            .ctr()
                            .args(["task", "kill", "-s", "SIGKILL", id])
                            .output();
                    }
                    for id in String::from_utf8_lossy(&out.stdout).lines() {
                        let deadline = Instant::now() + Duration::from_secs(10);
                        while self.task_status(id).as_deref() == Some("RUNNING")
                            && Instant::now() < deadline
                        {
                            std::thread::sleep(Duration::from_millis(50));
                        }
                        let _ = self.ctr().args(["task", "delete", "-f", id]).output();
                        let _ = self.ctr().args(["container", "delete", id]).output();
                    }
                }
            }
        }
        for pid in self.shim_pids() {
            kill(pid, libc::SIGKILL);
        }
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        // runc's state folder for the namespace, left empty.
        let _ = fs::remove_dir(Path::new("/run/containerd/runc").join(&self.namespace));
        // containerd leaves its snapshot mounts behind; ours are under our temp dir.
        for m in mounts_under(self.dir.path()).into_iter().rev() {
            let _ = Command::new("umount").arg("-l").arg(&m).output();
        }
    }
}

impl Drop for Containerd {
    fn drop(&mut self) {
        self.cleanup();
    }
}

trait CeilCompat {
    fn ceil_char_boundary_compat(&self, i: usize) -> usize;
}

impl CeilCompat for String {
    fn ceil_char_boundary_compat(&self, mut i: usize) -> usize {
        while i < self.len() && !self.is_char_boundary(i) {
            i += 1;
        }
        i
    }
}

pub fn kill(pid: u32, sig: i32) {
    // SAFETY: kill(2) on a PID this test found for itself.
    unsafe {
        libc::kill(pid as i32, sig);
    }
}

pub fn alive(pid: u32) -> bool {
    // A zombie is gone for our purposes.
    fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| stat_state(&s) != Some('Z'))
        .unwrap_or(false)
}

/// The state letter of a /proc/PID/stat line.
pub fn stat_state(stat: &str) -> Option<char> {
    stat.rsplit_once(')')?.1.trim_start().chars().next()
}

/// The parent PID in a /proc/PID/stat line.
pub fn stat_ppid(stat: &str) -> Option<u32> {
    stat.rsplit_once(')')?
        .1
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

pub fn processes() -> Vec<u32> {
    fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect()
}

pub fn cmdline(pid: u32) -> Vec<String> {
    fs::read(format!("/proc/{pid}/cmdline"))
        .map(|b| {
            b.split(|c| *c == 0)
                .filter(|s| !s.is_empty())
                .map(|s| String::from_utf8_lossy(s).into_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// Zombie children of `pid`.
pub fn zombies_of(pid: u32) -> Vec<u32> {
    processes()
        .into_iter()
        .filter(|p| {
            fs::read_to_string(format!("/proc/{p}/stat"))
                .map(|s| stat_ppid(&s) == Some(pid) && stat_state(&s) == Some('Z'))
                .unwrap_or(false)
        })
        .collect()
}

/// Children of `pid`.
pub fn children_of(pid: u32) -> Vec<u32> {
    processes()
        .into_iter()
        .filter(|p| {
            fs::read_to_string(format!("/proc/{p}/stat"))
                .map(|s| stat_ppid(&s) == Some(pid))
                .unwrap_or(false)
        })
        .collect()
}

/// Open descriptors of `pid`, as (fd, target) pairs.
pub fn fds(pid: u32) -> Vec<(String, String)> {
    let mut v: Vec<_> = fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|rd| {
            rd.filter_map(|e| {
                let e = e.ok()?;
                let target = fs::read_link(e.path()).ok()?;
                Some((
                    e.file_name().to_string_lossy().into_owned(),
                    target.display().to_string(),
                ))
            })
            .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// Mount points at or below `dir`, from /proc/self/mountinfo (in mount order).
pub fn mounts_under(dir: &Path) -> Vec<String> {
    let prefix = dir.display().to_string();
    fs::read_to_string("/proc/self/mountinfo")
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_whitespace().nth(4).map(str::to_string))
        .filter(|m| m.starts_with(&prefix))
        .collect()
}

/// Waits for a child with a deadline; kills it by PID at the deadline.
pub fn wait_child(child: &mut Child, timeout: Duration, what: &str) -> std::process::ExitStatus {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(st) = child.try_wait().unwrap() {
            return st;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{what} did not end in {timeout:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A child process killed by PID on drop (a `ctr run` in the background).
pub struct Guard(pub Child);

impl Drop for Guard {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

pub fn write_file(path: &Path, data: &str) {
    File::create(path)
        .unwrap()
        .write_all(data.as_bytes())
        .unwrap();
}
