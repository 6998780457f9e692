//! An exported image imported into a real containerd (started by the test) and run with runc.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{pinned, require, run_ok, Fixture};

/// A containerd of our own: its root, state and socket in a temp dir; killed by PID on drop.
struct Containerd {
    child: Child,
    dir: tempfile::TempDir,
}

impl Containerd {
    fn start() -> Containerd {
        let dir = tempfile::Builder::new()
            .prefix("ctrd")
            .tempdir_in("/tmp")
            .unwrap();
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
[metrics]
  address = ""
"#,
            root = d.join("root").display(),
            state = d.join("state").display(),
            sock = d.join("c.sock").display(),
        );
        std::fs::write(d.join("config.toml"), config).unwrap();
        let log = std::fs::File::create(d.join("containerd.log")).unwrap();
        let child = Command::new("containerd")
            .arg("--config")
            .arg(d.join("config.toml"))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        let ctrd = Containerd { child, dir };
        // Ready when ctr gets an answer over the socket.
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let ok = Command::new("ctr")
                .arg("--address")
                .arg(ctrd.socket())
                .arg("version")
                .output()
                .map(|o| o.status.success())
                .unwrap_or(false);
            if ok {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "containerd did not answer: {}",
                ctrd.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        ctrd
    }

    fn socket(&self) -> PathBuf {
        self.dir.path().join("c.sock")
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("containerd.log")).unwrap_or_default()
    }

    fn ctr(&self) -> Command {
        let mut cmd = Command::new("ctr");
        cmd.arg("--address")
            .arg(self.socket())
            .args(["--namespace", "pkgbuild-test"]);
        cmd
    }
}

impl Drop for Containerd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        // containerd leaves its snapshot mounts behind; ours are under our temp dir.
        let _ = Command::new("umount")
            .arg("-R")
            .arg(self.dir.path().join("root"))
            .output();
    }
}

fn import_and_run(ctrd: &Containerd, archive: &Path, reference: &str, digest: &str) {
    run_ok(
        ctrd.ctr()
            .args(["images", "import", "--snapshotter", "native"])
            .arg(archive),
    );
    // Named as manifests name it: the content tag, the crate's version, and the pin.
    let listing = run_ok(ctrd.ctr().args(["images", "ls"]));
    let repo = reference.rsplit_once(':').unwrap().0;
    let names = [
        format!("docker.io/{reference}"),
        format!("docker.io/{repo}:0.3.1"),
        format!("docker.io/{reference}@{digest}"),
    ];
    for name in &names {
        let line = listing
            .lines()
            .find(|l| l.split_whitespace().next() == Some(name))
            .unwrap_or_else(|| panic!("{name} not imported:\n{listing}"));
        assert!(line.contains(digest), "{line}");
    }
    let output = run_ok(ctrd.ctr().args([
        "run",
        "--rm",
        "--snapshotter",
        "native",
        &names[1],
        "pkgbuild-hello",
    ]));
    assert_eq!(output.trim(), "hello from x86_64");
}

#[test]
fn exported_archive_imports_into_containerd_and_runs() {
    require("containerd", "containerd");
    require("ctr", "containerd");
    require("runc", "runc");
    let fx = Fixture::new();
    let store = tempfile::tempdir().unwrap();
    let archive = store.path().join("hello.tar");
    let out = fx.export_hello(store.path(), &archive);
    let (reference, digest) = pinned(&out, "hello");
    let ctrd = Containerd::start();
    import_and_run(&ctrd, &archive, &reference, &digest);
}
