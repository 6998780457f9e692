//! The store and the tag under change and abuse: no-op rebuilds, which edits move which tags,
//! bad metadata, failing builds, corrupted blobs, concurrent builds, export. amd64 only, for speed.

mod common;

use std::path::Path;
use std::process::Command;

use common::{pinned, read_json, require, run_ok, Fixture};

const AMD64: &[&str] = &["--platforms", "linux/amd64"];

fn build(fx: &Fixture, store: &Path, pkgs: &[&str]) -> String {
    let mut args = vec!["build"];
    args.extend_from_slice(pkgs);
    args.extend_from_slice(AMD64);
    fx.pkgbuild_ok(store, &args)
}

fn blob_files(store: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(store.join("blobs/sha256"))
        .map(|d| {
            d.map(|e| e.unwrap().file_name().to_string_lossy().to_string())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

#[test]
fn second_build_is_a_noop_and_changes_nothing() {
    let fx = Fixture::new();
    let store = tempfile::tempdir().unwrap();
    let first = build(&fx, store.path(), &["hello"]);
    assert!(first.contains("hello linux/amd64: built in"), "{first}");
    let index_before = std::fs::read(store.path().join("index.json")).unwrap();
    let blobs_before = blob_files(store.path());

    let second = build(&fx, store.path(), &["hello"]);
    assert!(second.contains("up to date, nothing to build"), "{second}");
    assert!(!second.contains("compiling"), "{second}");
    assert_eq!(pinned(&first, "hello"), pinned(&second, "hello"));
    assert_eq!(
        std::fs::read(store.path().join("index.json")).unwrap(),
        index_before
    );
    assert_eq!(blob_files(store.path()), blobs_before);

    // show-tag names the same reference without building.
    assert_eq!(
        fx.show_tag(store.path(), "hello"),
        pinned(&first, "hello").0
    );
    // --force rebuilds, to the same digest.
    let forced = fx.pkgbuild_ok(
        store.path(),
        &["build", "hello", "--force", "--platforms", "linux/amd64"],
    );
    assert!(forced.contains("built in"), "{forced}");
    assert_eq!(pinned(&forced, "hello"), pinned(&first, "hello"));
}

#[test]
fn each_edit_moves_exactly_the_tags_of_the_packages_it_feeds() {
    let fx = Fixture::new();
    let store = tempfile::tempdir().unwrap();
    let tags = |fx: &Fixture| {
        (
            fx.show_tag(store.path(), "hello"),
            fx.show_tag(store.path(), "other"),
        )
    };
    let (hello0, other0) = tags(&fx);
    assert!(hello0.starts_with("linuxkit/hello:"), "{hello0}");
    assert!(other0.starts_with("example/other:"), "{other0}");
    assert_eq!(hello0.len(), "linuxkit/hello:".len() + 20);

    // Editing one package changes only its tag.
    fx.edit("pkgs/other/src/main.rs", "other", "other, edited");
    let (hello1, other1) = tags(&fx);
    assert_eq!(hello1, hello0);
    assert_ne!(other1, other0);

    // A path dependency belongs to the packages that use it.
    fx.edit("crates/greeting/src/lib.rs", "hello", "hullo");
    let (hello2, other2) = tags(&fx);
    assert_ne!(hello2, hello1);
    assert_eq!(other2, other1);

    // A file the image declares.
    fx.write("pkgs/hello/hello.conf", "greeting = hullo\n");
    let (hello3, _) = tags(&fx);
    assert_ne!(hello3, hello2);

    // Bumping a locked registry dependency moves exactly the packages that use it.
    fx.edit(
        "pkgs/hello/Cargo.toml",
        "leftpad = \"=1.0.0\"",
        "leftpad = \"1.0.0\"",
    );
    let (hello4, other4) = tags(&fx);
    run_ok(Command::new(common::cargo()).current_dir(fx.root()).args([
        "update",
        "--offline",
        "-p",
        "leftpad",
        "--precise",
        "1.0.1",
    ]));
    let lock = std::fs::read_to_string(fx.root().join("Cargo.lock")).unwrap();
    assert!(lock.contains("version = \"1.0.1\""), "{lock}");
    let (hello5, other5) = tags(&fx);
    assert_ne!(hello5, hello4);
    assert_eq!(other5, other4);

    // The profile is an input of every package.
    fx.edit("Cargo.toml", "opt-level = \"z\"", "opt-level = \"s\"");
    let (hello6, other6) = tags(&fx);
    assert_ne!(hello6, hello5);
    assert_ne!(other6, other5);

    // --inputs shows what the tag is made of.
    let inputs = fx.pkgbuild_ok(store.path(), &["show-tag", "hello", "--inputs"]);
    for key in [
        "pkgbuild.format",
        "package.files",
        "amd64.rustc",
        "amd64.target = x86_64-unknown-linux-musl",
        "s390x.libc = ",
        "arm64.dep = leftpad 1.0.1",
        "path_dep.files = greeting",
    ] {
        assert!(inputs.contains(key), "{key} missing from\n{inputs}");
    }

    // glibc instead of musl is another target: another tag, for that package only.
    fx.edit(
        "pkgs/hello/Cargo.toml",
        "[package.metadata.pkg]\n",
        "[package.metadata.pkg]\nlibc = \"gnu\"\n",
    );
    let (hello7, other7) = tags(&fx);
    assert_ne!(hello7, hello6);
    assert_eq!(other7, other6);
    let inputs = fx.pkgbuild_ok(store.path(), &["show-tag", "hello", "--inputs"]);
    assert!(
        inputs.contains("arm64.target = aarch64-unknown-linux-gnu"),
        "{inputs}"
    );
}

#[test]
fn malformed_metadata_names_the_file_and_field() {
    let fx = Fixture::new();
    let store = tempfile::tempdir().unwrap();
    fx.edit(
        "pkgs/hello/Cargo.toml",
        "capabilities = [\"CAP_NET_ADMIN\"]",
        "capabilities = \"CAP_NET_ADMIN\"",
    );
    let out = fx.pkgbuild(store.path(), &["build", "hello"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    let manifest = fx.root().join("pkgs/hello/Cargo.toml");
    assert!(stderr.contains(&manifest.display().to_string()), "{stderr}");
    assert!(stderr.contains("config.capabilities"), "{stderr}");
    assert!(stderr.contains("expected a sequence"), "{stderr}");

    fx.edit(
        "pkgs/hello/Cargo.toml",
        "capabilities = \"CAP_NET_ADMIN\"",
        "arches = [\"mips\"]",
    );
    let stderr = String::from_utf8_lossy(&fx.pkgbuild(store.path(), &["build"]).stderr).to_string();
    assert!(stderr.contains("config.arches"), "{stderr}");

    fx.edit(
        "pkgs/hello/Cargo.toml",
        "arches = [\"mips\"]",
        "capabilities = [\"CAP_NET_ADMIN\"]",
    );
    fx.edit(
        "pkgs/hello/Cargo.toml",
        "[package.metadata.pkg]\n",
        "[package.metadata.pkg]\nlibc = \"uclibc\"\n",
    );
    let stderr = String::from_utf8_lossy(&fx.pkgbuild(store.path(), &["build"]).stderr).to_string();
    assert!(
        stderr.contains("field `libc`") && stderr.contains("uclibc"),
        "{stderr}"
    );
}

#[test]
fn failing_cargo_build_shows_the_error_and_leaves_no_store_entry() {
    let fx = Fixture::new();
    let store = tempfile::tempdir().unwrap();
    fx.write(
        "pkgs/hello/src/main.rs",
        "fn main() { let x: u32 = \"not a number\"; }\n",
    );
    let out = fx.pkgbuild(
        store.path(),
        &["build", "hello", "--platforms", "linux/amd64"],
    );
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("mismatched types"),
        "cargo's error must be shown: {stderr}"
    );
    assert!(
        stderr.contains("cargo build of hello for linux/amd64 failed"),
        "{stderr}"
    );
    let index = read_json(&store.path().join("index.json"));
    assert_eq!(index["manifests"].as_array().unwrap().len(), 0);
    assert!(
        blob_files(store.path()).is_empty(),
        "{:?}",
        blob_files(store.path())
    );
    let tmp: Vec<_> = std::fs::read_dir(store.path().join(".pkgbuild/tmp"))
        .unwrap()
        .collect();
    assert!(tmp.is_empty());
}

#[test]
fn corrupted_blob_is_reported_and_rebuilt_never_used() {
    let fx = Fixture::new();
    let store = tempfile::tempdir().unwrap();
    let first = build(&fx, store.path(), &["hello"]);
    let (_, index_digest) = pinned(&first, "hello");

    // Flip bytes in the layer, the largest blob.
    let blobs = store.path().join("blobs/sha256");
    let layer = std::fs::read_dir(&blobs)
        .unwrap()
        .map(|e| e.unwrap().path())
        .max_by_key(|p| std::fs::metadata(p).unwrap().len())
        .unwrap();
    let mut bytes = std::fs::read(&layer).unwrap();
    bytes[100] ^= 0xff;
    std::fs::write(&layer, &bytes).unwrap();

    let second = build(&fx, store.path(), &["hello"]);
    let name = layer.file_name().unwrap().to_string_lossy().to_string();
    assert!(
        second.contains(&format!("blob sha256:{name} is corrupted")),
        "{second}"
    );
    assert!(second.contains("built in"), "{second}");
    assert_eq!(pinned(&second, "hello").1, index_digest);
    let repaired = std::fs::read(&layer).unwrap();
    assert_eq!(common_sha256(&repaired), name);
}

#[test]
fn concurrent_builds_leave_a_consistent_store() {
    require("skopeo", "skopeo");
    let fx = Fixture::new();
    let store = tempfile::tempdir().unwrap();
    // Warm cargo's target dir so the runs overlap in the store, not only in cargo's lock.
    let warm = tempfile::tempdir().unwrap();
    build(&fx, warm.path(), &["hello", "other"]);

    let spawn = |pkg: &str| {
        fx.pkgbuild_command(store.path())
            .args(["build", pkg, "--force", "--platforms", "linux/amd64"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };
    let children: Vec<_> = ["hello", "other", "hello", "other"]
        .iter()
        .map(|p| spawn(p))
        .collect();
    let mut results = Vec::new();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        results.push(String::from_utf8_lossy(&out.stdout).to_string());
    }
    assert_eq!(pinned(&results[0], "hello"), pinned(&results[2], "hello"));
    assert_eq!(pinned(&results[1], "other"), pinned(&results[3], "other"));

    let index = read_json(&store.path().join("index.json"));
    let named: Vec<&str> = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["annotations"]["org.opencontainers.image.ref.name"].as_str())
        .collect();
    assert_eq!(named.len(), 2, "{index}");
    for (pkg, out) in [("hello", &results[0]), ("other", &results[1])] {
        let (reference, digest) = pinned(out, pkg);
        let raw = run_ok(Command::new("skopeo").args([
            "inspect",
            "--raw",
            &format!("oci:{}:{reference}", store.path().display()),
        ]));
        assert_eq!(format!("sha256:{}", common_sha256(raw.as_bytes())), digest);
    }
    assert!(std::fs::read_dir(store.path().join(".pkgbuild/tmp"))
        .unwrap()
        .next()
        .is_none());
}

#[test]
fn build_killed_half_way_leaves_a_usable_store() {
    use std::io::{BufRead, BufReader};
    let fx = Fixture::new();
    let store = tempfile::tempdir().unwrap();
    build(&fx, store.path(), &["other"]);
    let index_before = std::fs::read(store.path().join("index.json")).unwrap();

    let mut child = fx
        .pkgbuild_command(store.path())
        .args(["build", "hello", "--platforms", "linux/amd64"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let started = lines.next().unwrap().unwrap();
    assert!(started.contains("compiling"), "{started}");
    child.kill().unwrap();
    child.wait().unwrap();

    // The store is as it was, and the next build completes.
    assert_eq!(
        std::fs::read(store.path().join("index.json")).unwrap(),
        index_before
    );
    let out = build(&fx, store.path(), &["hello", "other"]);
    assert!(out.contains("hello linux/amd64: built in"), "{out}");
    assert!(out.contains("other: example/other:"), "{out}");
}

#[test]
fn export_writes_an_archive_skopeo_reads() {
    require("skopeo", "skopeo");
    let fx = Fixture::new();
    let store = tempfile::tempdir().unwrap();
    let archive = store.path().join("out/hello.tar");
    std::fs::create_dir_all(archive.parent().unwrap()).unwrap();
    let out = fx.export_hello(store.path(), &archive);
    let (reference, digest) = pinned(&out, "hello");
    let tag = reference.rsplit_once(':').unwrap().1;
    // The archive names the image three ways (content tag, version, pin): skopeo is told which.
    for name in [
        tag.to_string(),
        "0.3.1".to_string(),
        format!("{tag}@{digest}"),
    ] {
        let raw = run_ok(Command::new("skopeo").args([
            "inspect",
            "--raw",
            &format!("oci-archive:{}:{name}", archive.display()),
        ]));
        assert_eq!(
            format!("sha256:{}", common_sha256(raw.as_bytes())),
            digest,
            "{name}"
        );
    }
    let copy = tempfile::tempdir().unwrap();
    run_ok(Command::new("skopeo").args([
        "copy",
        "--all",
        "--preserve-digests",
        &format!("oci-archive:{}:{tag}", archive.display()),
        &format!("oci:{}:hello", copy.path().display()),
    ]));
    // The same package again gives the same archive, byte for byte.
    let first = std::fs::read(&archive).unwrap();
    fx.export_hello(store.path(), &archive);
    assert_eq!(std::fs::read(&archive).unwrap(), first);
    let listing = fx.pkgbuild_ok(store.path(), &["ls"]);
    assert!(
        listing.contains(&digest) && listing.contains("linux/amd64"),
        "{listing}"
    );
}

#[test]
fn doctor_names_a_toolchain_for_every_platform() {
    let fx = Fixture::new();
    let store = tempfile::tempdir().unwrap();
    let out = fx.pkgbuild_ok(store.path(), &["doctor"]);
    for arch in ["amd64", "arm64", "s390x"] {
        for libc in ["musl", "gnu"] {
            let line = out
                .lines()
                .find(|l| l.starts_with(&format!("linux/{arch} {libc}: ")))
                .unwrap_or_else(|| panic!("no line for {arch} {libc}:\n{out}"));
            assert!(
                line.contains("rustup") || line.contains("build-std"),
                "{line}"
            );
        }
    }
}

fn common_sha256(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(bytes))
}

/// A PATH with every program of this one except the arm64 and s390x toolchains, and with
/// `replace` (name, shell script) in place of the program of that name.
fn path_without_cross_toolchains(dir: &Path, replace: Option<(&str, &str)>) -> String {
    use std::os::unix::fs::{symlink, PermissionsExt};
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    if let Some((name, script)) = replace {
        std::fs::write(bin.join(name), script).unwrap();
        std::fs::set_permissions(bin.join(name), std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    for dir in std::env::split_paths(&std::env::var_os("PATH").unwrap()) {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries {
            let name = entry.unwrap().file_name();
            let text = name.to_string_lossy();
            if text.starts_with("aarch64-") || text.starts_with("s390x-") {
                continue;
            }
            if !bin.join(&name).exists() {
                symlink(dir.join(&name), bin.join(&name)).unwrap();
            }
        }
    }
    bin.display().to_string()
}

#[test]
fn one_platforms_toolchain_builds_that_platform_under_the_same_tag() {
    require("skopeo", "skopeo");
    let fx = Fixture::new();
    let store = tempfile::tempdir().unwrap();
    let tag = fx.show_tag(store.path(), "hello");
    let farm = tempfile::tempdir().unwrap();
    let amd64_only = path_without_cross_toolchains(farm.path(), None);
    let run = |path: &str, args: &[&str]| {
        fx.pkgbuild_command(store.path())
            .env("PATH", path)
            .args(args)
            .output()
            .unwrap()
    };

    // The tag needs no toolchain: a machine with amd64's alone computes the same one.
    let out = run(&amd64_only, &["show-tag", "hello", "--inputs"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(stdout.lines().last(), Some(tag.as_str()), "{stdout}");
    assert!(
        stdout.contains("# no toolchain for linux/arm64"),
        "{stdout}"
    );
    assert!(stdout.contains("amd64.rustc = "), "{stdout}");

    // It builds amd64 under that tag, and refuses arm64 naming what is missing.
    let out = run(
        &amd64_only,
        &["build", "hello", "--platforms", "linux/amd64"],
    );
    assert!(out.status.success(), "{out:?}");
    let (reference, amd64_index) = pinned(&String::from_utf8_lossy(&out.stdout), "hello");
    assert_eq!(reference, tag);
    let out = run(
        &amd64_only,
        &["build", "hello", "--platforms", "linux/arm64"],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("hello linux/arm64: no toolchain for linux/arm64")
            && stderr.contains("aarch64-linux-musl-gcc")
            && stderr.contains("pkgbuild doctor"),
        "{stderr}"
    );

    // A machine with every toolchain keeps that amd64 image and adds the other two.
    let all = fx.pkgbuild_ok(store.path(), &["build", "hello"]);
    assert!(all.contains("hello linux/amd64: cached"), "{all}");
    assert!(all.contains("hello linux/arm64: built in"), "{all}");
    let (reference, _) = pinned(&all, "hello");
    assert_eq!(reference, tag);

    // Another linker release is another toolchain: the same tag, the image rebuilt, and its
    // manifest names the toolchain it was built with.
    let farm = tempfile::tempdir().unwrap();
    let newer_gcc = path_without_cross_toolchains(
        farm.path(),
        Some((
            "x86_64-linux-musl-gcc",
            "#!/bin/sh\n[ \"$1\" = --version ] && { echo 'gcc (newer) 99.1'; exit 0; }\n\
             exec /usr/bin/x86_64-linux-musl-gcc \"$@\"\n",
        )),
    );
    let out = run(
        &newer_gcc,
        &["build", "hello", "--platforms", "linux/amd64"],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{out:?}");
    assert!(
        stdout.contains("hello linux/amd64: the store's image was built with another toolchain"),
        "{stdout}"
    );
    let (reference, rebuilt_index) = pinned(&stdout, "hello");
    assert_eq!(reference, tag);
    assert_ne!(rebuilt_index, amd64_index);
    let inputs =
        String::from_utf8_lossy(&run(&newer_gcc, &["show-tag", "hello", "--inputs"]).stdout)
            .to_string();
    let recorded = inputs
        .lines()
        .find_map(|l| l.strip_prefix("# linux/amd64 toolchain, "))
        .and_then(|l| l.strip_suffix(':'))
        .unwrap_or_else(|| panic!("{inputs}"))
        .to_string();
    let config = run_ok(Command::new("skopeo").args([
        "inspect",
        "--override-arch",
        "amd64",
        &format!("oci:{}:{reference}", store.path().display()),
    ]));
    let labels: serde_json::Value = serde_json::from_str(&config).unwrap();
    assert_eq!(
        labels["Labels"]["org.pkgbuild.toolchain"],
        recorded.as_str()
    );
}
