//! `pkgbuild new NAME --from PKG` on a clone of this repository: getty forked in one command,
//! one line of the fork changed, the fork built for all three platforms as an image of its own,
//! the original's tag and digest unchanged; names cargo would refuse and a failure half-way leave
//! the workspace as it was.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use pkgbuild::bundle::StoredImage;
use pkgbuild::platform::Platform;
use pkgbuild::store::Store;

use common::host::workspace_manifest;
use common::run_ok;

struct Clone {
    dir: tempfile::TempDir,
    store: tempfile::TempDir,
}

impl Clone {
    /// The repository's committed tree, cloned to a new path, with a store of its own.
    fn new() -> Clone {
        let dir = tempfile::Builder::new().prefix("fork").tempdir().unwrap();
        let repo = workspace_manifest().parent().unwrap().to_path_buf();
        run_ok(
            Command::new("git")
                .args(["clone", "-q"])
                .arg(&repo)
                .arg(dir.path()),
        );
        Clone {
            dir,
            store: tempfile::tempdir().unwrap(),
        }
    }

    fn root(&self) -> &Path {
        self.dir.path()
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = common::pkgbuild_command();
        cmd.arg("--cache")
            .arg(self.store.path())
            .arg("--manifest-path")
            .arg(self.root().join("Cargo.toml"))
            .args(args);
        cmd
    }

    fn pkgbuild(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }

    fn ok(&self, args: &[&str]) -> String {
        run_ok(&mut self.command(args))
    }

    /// What a refused fork must leave as it was: the workspace files and the folders of pkgs/.
    fn snapshot(&self) -> (Vec<u8>, Vec<u8>, Vec<PathBuf>) {
        let mut dirs: Vec<PathBuf> = std::fs::read_dir(self.root().join("pkgs"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        dirs.sort();
        (
            std::fs::read(self.root().join("Cargo.toml")).unwrap(),
            std::fs::read(self.root().join("Cargo.lock")).unwrap(),
            dirs,
        )
    }
}

#[test]
fn a_fork_is_one_command_and_builds_an_image_of_its_own() {
    // getty: of the services, the fewest crates to build for two more platforms, and two path
    // dependencies (crates/hostns, crates/svckit) that the fork keeps.
    let clone = Clone::new();
    let original_tag = clone.ok(&["show-tag", "getty"]);
    let (_, original_digest) = common::pinned(
        &clone.ok(&["build", "getty", "--platforms", "linux/amd64"]),
        "getty",
    );
    let before = clone.snapshot();

    let out = clone.ok(&["new", "getty-lab", "--from", "getty"]);
    assert!(
        out.contains("pkgbuild build getty-lab") && out.contains("pkgbuild push getty-lab"),
        "{out}"
    );
    // The workspace gains the member and nothing else: the rest of Cargo.toml is byte for byte
    // what it was, comments included.
    let toml = std::fs::read_to_string(clone.root().join("Cargo.toml")).unwrap();
    let old_toml = String::from_utf8(before.0.clone()).unwrap();
    assert_eq!(
        toml,
        old_toml.replacen("\"pkgs/init\"]", "\"pkgs/init\", \"pkgs/getty-lab\"]", 1)
    );
    let fork = clone.root().join("pkgs/getty-lab");
    let manifest = std::fs::read_to_string(fork.join("Cargo.toml")).unwrap();
    assert!(
        manifest.contains("name = \"getty-lab\"\nversion = \"0.1.0\""),
        "{manifest}"
    );
    let changelog = std::fs::read_to_string(fork.join("CHANGELOG.md")).unwrap();
    let head = run_ok(
        Command::new("git")
            .arg("-C")
            .arg(clone.root())
            .args(["rev-parse", "HEAD"]),
    );
    assert!(
        changelog.contains(&format!(
            "Forked from `getty` 0.1.0 at commit {}",
            head.trim()
        )),
        "{changelog}"
    );
    // Cargo.lock is consistent: a locked, offline resolve takes it as it is.
    run_ok(
        Command::new(common::cargo())
            .args([
                "metadata",
                "--format-version",
                "1",
                "--locked",
                "--offline",
                "--manifest-path",
            ])
            .arg(clone.root().join("Cargo.toml")),
    );

    // One line changed in the fork, committed, then built for every platform it declares.
    let main_rs = fork.join("src/main.rs");
    let text = std::fs::read_to_string(&main_rs).unwrap();
    std::fs::write(&main_rs, format!("{text}// a line of the lab's own\n")).unwrap();
    common::git(clone.root(), &["add", "-A"]);
    common::git(clone.root(), &["commit", "-qm", "fork getty"]);
    let built = clone.ok(&["build", "getty-lab"]);
    let (reference, _) = common::pinned(&built, "getty-lab");
    assert!(reference.starts_with("linuxkit/getty-lab:"), "{built}");
    let listed = clone.ok(&["ls"]);
    let line = listed
        .lines()
        .find(|l| l.starts_with(&reference))
        .unwrap_or_else(|| panic!("{reference} not in the store:\n{listed}"));
    assert!(
        line.ends_with("linux/amd64,linux/arm64,linux/s390x"),
        "{line}"
    );

    // Each platform's binary is static (musl) and runs: natively, or under qemu-user.
    let digest = common::pinned(&built, "getty-lab").1;
    let store = Store::open(clone.store.path()).unwrap();
    for platform in Platform::ALL {
        let binary = StoredImage::read(&store, &digest, platform)
            .unwrap()
            .file(&store, "/usr/sbin/getty")
            .unwrap();
        let path = clone
            .store
            .path()
            .join(format!("getty-{}", platform.arch()));
        std::fs::write(&path, &binary).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        let mut cmd = if Platform::host() == Some(platform) {
            Command::new(&path)
        } else {
            common::require(platform.qemu(), "qemu-user-static");
            let mut c = Command::new(platform.qemu());
            c.arg(&path);
            c
        };
        let version = run_ok(cmd.arg("--version"));
        // The fork keeps the program's name (strings are not renamed) and starts at 0.1.0.
        assert_eq!(version.trim(), "getty 0.1.0", "{platform}");
    }

    // The original: the same tag, and rebuilt from scratch, the same digest.
    assert_eq!(clone.ok(&["show-tag", "getty"]), original_tag);
    let rebuilt = clone.ok(&["build", "getty", "--platforms", "linux/amd64", "--force"]);
    assert_eq!(common::pinned(&rebuilt, "getty").1, original_digest);
}

#[test]
fn refused_and_failed_forks_leave_the_workspace_as_it_was() {
    let clone = Clone::new();
    let before = clone.snapshot();
    for (args, expected) in [
        (
            ["new", "ntpd", "--from", "dhcpcd"],
            "already has a package named ntpd",
        ),
        (
            ["new", "9lives", "--from", "dhcpcd"],
            "is not a package name",
        ),
        (["new", "Lab", "--from", "dhcpcd"], "is not a package name"),
        (["new", "fn", "--from", "dhcpcd"], "is reserved"),
        (["new", "lab", "--from", "nosuch"], "no package nosuch"),
    ] {
        let out = clone.pkgbuild(&args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            !out.status.success() && err.contains(expected),
            "{args:?}: {err}"
        );
        assert!(clone.snapshot() == before, "{args:?} changed the workspace");
    }

    // Half-way: the fork is copied and Cargo.toml written when cargo refuses to update the
    // lock (a cargo that fails its offline metadata call stands in): all of it is undone.
    let cargo = clone.root().join("failing-cargo");
    std::fs::write(
        &cargo,
        format!(
            "#!/bin/sh\ncase \"$*\" in *--offline*) echo 'injected failure' >&2; exit 101;; esac\nexec {} \"$@\"\n",
            common::cargo().display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&cargo, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let out = clone
        .command(&["new", "lab", "--from", "dhcpcd"])
        .env("CARGO", &cargo)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("injected failure"),
        "{err}"
    );
    assert!(
        clone.snapshot() == before,
        "a failed fork left something behind"
    );
    let strays: Vec<_> = std::fs::read_dir(clone.root().join("pkgs"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| n.to_string_lossy().starts_with('.'))
        .collect();
    assert!(strays.is_empty(), "{strays:?}");
}
