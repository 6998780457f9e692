//! A fixture workspace made the way a user forks a package, and helpers to run pkgbuild on it.
#![allow(dead_code)]

pub mod chrony;
pub mod host;
pub mod kernel;
pub mod registry;
pub mod ssh;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use sha2::{Digest, Sha256};

/// Fails the test, naming the Debian package, when a peer program is missing.
pub fn require(program: &str, package: &str) {
    let found = std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
        .unwrap_or(false);
    assert!(
        found,
        "{program} is missing: apt-get install {package} (or run `cargo xtask test`)"
    );
}

pub fn git(dir: &Path, args: &[&str]) {
    let status = Command::new("git")
        .current_dir(dir)
        .args([
            "-c",
            "user.email=test@example.invalid",
            "-c",
            "user.name=test",
        ])
        .args(args)
        .env("GIT_AUTHOR_DATE", "2026-01-02T03:04:05Z")
        .env("GIT_COMMITTER_DATE", "2026-01-02T03:04:05Z")
        .status()
        .unwrap();
    assert!(status.success(), "git {args:?} failed");
}

fn write(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// A vendored crate, so the fixture resolves registry dependencies without a network.
fn vendor_crate(root: &Path, name: &str, version: &str, body: &str) {
    let dir = root.join(format!("vendor/{name}-{version}"));
    write(
        &dir.join("Cargo.toml"),
        &format!("[package]\nname = \"{name}\"\nversion = \"{version}\"\nedition = \"2021\"\nlicense = \"MIT/Apache-2.0\"\n"),
    );
    write(&dir.join("src/lib.rs"), body);
    let checksum = hex::encode(Sha256::digest(format!("{name}-{version}")));
    write(
        &dir.join(".cargo-checksum.json"),
        &format!("{{\"files\":{{}},\"package\":\"{checksum}\"}}"),
    );
}

/// The vendored source replaces crates.io for std too when std is built from source
/// (-Zbuild-std): offer std's own dependencies from Debian's rust-src.
fn link_std_vendor(root: &Path) {
    let std_vendor = Path::new("/usr/lib/rustlib/src/rust/library/vendor");
    std::fs::create_dir_all(root.join("vendor")).unwrap();
    let Ok(entries) = std::fs::read_dir(std_vendor) else {
        return;
    };
    for entry in entries {
        let entry = entry.unwrap();
        std::os::unix::fs::symlink(entry.path(), root.join("vendor").join(entry.file_name()))
            .unwrap();
    }
}

/// The cargo target dir the tests' pkgbuild runs build in: the workspace's own. std and the
/// registry crates are built once per platform for the whole run; cargo's trimmed paths and
/// checksum freshness (see pkgbuild's compile.rs) keep each checkout's own crates apart.
pub fn shared_target_dir() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// pkgbuild, building in the shared target dir.
pub fn pkgbuild_command() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_pkgbuild"));
    cmd.env("CARGO_TARGET_DIR", shared_target_dir());
    cmd
}

pub struct Fixture {
    pub dir: tempfile::TempDir,
    /// Builds in the shared target dir, or in the fixture's own `target/`.
    shared_target: bool,
}

pub const HELLO_CONFIG: &str =
    r#"{"binds":["/run/hello:/run/hello"],"capabilities":["CAP_NET_ADMIN"],"net":"host"}"#;

impl Fixture {
    /// A workspace with two packages: `hello` (a path dependency and a vendored registry crate,
    /// a config file, three platforms) and `other` (amd64 only, no dependencies). Committed.
    pub fn new() -> Fixture {
        let dir = tempfile::Builder::new()
            .prefix("pkgbuild-fixture")
            .tempdir()
            .unwrap();
        let root = dir.path();
        write(
            &root.join("Cargo.toml"),
            r#"[workspace]
resolver = "2"
members = ["pkgs/hello", "pkgs/other", "crates/greeting"]

[profile.release]
opt-level = "z"
lto = true
codegen-units = 1
panic = "abort"
strip = true
"#,
        );
        write(
            &root.join(".cargo/config.toml"),
            "[source.crates-io]\nreplace-with = \"vendored\"\n[source.vendored]\ndirectory = \"vendor\"\n",
        );
        write(&root.join(".gitignore"), "/target\n");
        link_std_vendor(root);
        vendor_crate(
            root,
            "leftpad",
            "1.0.0",
            "pub fn pad(s: &str) -> String { format!(\" {s}\") }\n",
        );
        vendor_crate(
            root,
            "leftpad",
            "1.0.1",
            "pub fn pad(s: &str) -> String { format!(\"  {s}\") }\n",
        );
        write(
            &root.join("crates/greeting/Cargo.toml"),
            "[package]\nname = \"greeting\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
        );
        write(
            &root.join("crates/greeting/src/lib.rs"),
            "pub const WORD: &str = \"hello\";\n",
        );
        write(
            &root.join("pkgs/hello/Cargo.toml"),
            r#"[package]
name = "hello"
version = "0.3.1"
edition = "2021"
license = "Apache-2.0"
repository = "https://example.invalid/hello"

[dependencies]
greeting = { path = "../../crates/greeting" }
leftpad = "=1.0.0"

[package.metadata.pkg]
binary = "/usr/sbin/hello"
cmd = ["--loud"]
env = ["GREETING=hi"]
files = [{ src = "hello.conf", dst = "/etc/hello.conf", mode = "0600" }]
dirs = [{ path = "/run" }]

[package.metadata.pkg.config]
capabilities = ["CAP_NET_ADMIN"]
net = "host"
binds = ["/run/hello:/run/hello"]
"#,
        );
        write(
            &root.join("pkgs/hello/src/main.rs"),
            "fn main() { println!(\"{} from {}\", leftpad::pad(greeting::WORD), std::env::consts::ARCH); }\n",
        );
        write(&root.join("pkgs/hello/hello.conf"), "greeting = hi\n");
        write(
            &root.join("pkgs/other/Cargo.toml"),
            "[package]\nname = \"other\"\nversion = \"1.0.0\"\nedition = \"2021\"\n\n[package.metadata.pkg]\norg = \"example\"\narches = [\"amd64\"]\n",
        );
        write(
            &root.join("pkgs/other/src/main.rs"),
            "fn main() { println!(\"other\"); }\n",
        );
        let status = Command::new(cargo())
            .current_dir(root)
            .args(["generate-lockfile", "--offline"])
            .status()
            .unwrap();
        assert!(status.success(), "cargo generate-lockfile failed");
        git(root, &["init", "-q", "-b", "main"]);
        git(root, &["add", "-A"]);
        git(root, &["commit", "-q", "-m", "fixture"]);
        Fixture {
            dir,
            shared_target: true,
        }
    }

    /// Builds in the fixture's own `target/`, from nothing, as a fresh checkout does.
    pub fn with_own_target_dir(mut self) -> Fixture {
        self.shared_target = false;
        self
    }

    /// A second checkout of the same commit, at another path.
    pub fn clone_to_new_path(&self) -> Fixture {
        let dir = tempfile::Builder::new()
            .prefix("pkgbuild-clone")
            .tempdir()
            .unwrap();
        let status = Command::new("git")
            .args(["clone", "-q"])
            .arg(self.root())
            .arg(dir.path())
            .status()
            .unwrap();
        assert!(status.success());
        Fixture {
            dir,
            shared_target: self.shared_target,
        }
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    pub fn write(&self, rel: &str, text: &str) {
        write(&self.root().join(rel), text);
    }

    pub fn edit(&self, rel: &str, from: &str, to: &str) {
        let path = self.root().join(rel);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains(from), "{rel} does not contain {from:?}");
        std::fs::write(&path, text.replace(from, to)).unwrap();
    }

    /// pkgbuild in the fixture, with `store` as its store.
    pub fn pkgbuild_command(&self, store: &Path) -> Command {
        let mut cmd = pkgbuild_command();
        if !self.shared_target {
            cmd.env_remove("CARGO_TARGET_DIR");
        }
        cmd.current_dir(self.root())
            .arg("--cache")
            .arg(store)
            .env_remove("SOURCE_DATE_EPOCH");
        cmd
    }

    /// Runs pkgbuild in the fixture with its own store.
    pub fn pkgbuild(&self, store: &Path, args: &[&str]) -> Output {
        self.pkgbuild_command(store).args(args).output().unwrap()
    }

    /// Runs pkgbuild and fails the test, showing its output, unless it succeeds.
    pub fn pkgbuild_ok(&self, store: &Path, args: &[&str]) -> String {
        let out = self.pkgbuild(store, args);
        let stdout = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(
            out.status.success(),
            "pkgbuild {args:?} failed\nstdout:\n{stdout}\nstderr:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        stdout
    }

    /// Exports `hello` for linux/amd64 as an OCI archive and returns pkgbuild's output.
    pub fn export_hello(&self, store: &Path, archive: &Path) -> String {
        let archive = archive.to_str().unwrap();
        self.pkgbuild_ok(
            store,
            &[
                "export",
                "hello",
                "-o",
                archive,
                "--platforms",
                "linux/amd64",
            ],
        )
    }

    pub fn show_tag(&self, store: &Path, pkg: &str) -> String {
        self.pkgbuild_ok(store, &["show-tag", pkg])
            .trim()
            .to_string()
    }
}

pub fn cargo() -> PathBuf {
    std::env::var_os("CARGO")
        .map(PathBuf::from)
        .unwrap_or_else(|| "cargo".into())
}

/// The `ref@digest` pkgbuild prints last for a package.
pub fn pinned(stdout: &str, pkg: &str) -> (String, String) {
    let line = stdout
        .lines()
        .rev()
        .find(|l| l.starts_with(&format!("{pkg}: ")) && l.contains('@'))
        .unwrap_or_else(|| panic!("no result line for {pkg} in:\n{stdout}"));
    let pinned = line[pkg.len() + 2..].split_whitespace().next().unwrap();
    let (reference, digest) = pinned.split_once('@').unwrap();
    (reference.to_string(), digest.to_string())
}

pub fn run_ok(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed\nstdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).to_string()
}

pub fn read_json(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}
