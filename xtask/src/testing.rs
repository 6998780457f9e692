//! `cargo xtask test [CARGO ARGS] [-- TEST ARGS]`: every test of the workspace, and the I/O-free
//! unit tests on s390x, in two lanes side by side.
//!
//! The tests that compile images (CPU for minutes) are compiled first. The images lane starts at
//! once: the stand-ins, then the boot and fork tests. The other lane compiles and runs every
//! other test, the doctests and the s390x step; those mostly wait (on peers, timers, a guest),
//! which leaves a core to the builds. The remaining image tests go to whichever lane is free
//! first.

use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, Context};

use crate::lanes::{self, Lane};
use crate::{cargo, standins_for_tests, workspace_root};

/// The test targets that compile images, all pkgbuild's, in the order they run: boot first, as it
/// builds the images the other lane's service tests run, then the longest first.
const BUILDING_TESTS: &[&str] = &["boot", "fork", "store", "images", "push"];

/// How many of BUILDING_TESTS the images lane runs itself; the rest go to the shared queue.
const IMAGES_LANE_OWN: usize = 2;

/// One compiled integration test.
struct TestBinary {
    name: String,
    executable: PathBuf,
    package_dir: PathBuf,
}

pub fn run(extra: &[String]) -> anyhow::Result<()> {
    let (cargo_args, harness_args) = match extra.iter().position(|a| a == "--") {
        Some(i) => (&extra[..i], &extra[i + 1..]),
        None => (extra, &[][..]),
    };
    let keep_going = cargo_args.iter().any(|a| a == "--no-fail-fast");

    let mut building = compile_building_tests(cargo_args)?;
    let shared: Vec<Command> = building
        .split_off(IMAGES_LANE_OWN)
        .iter()
        .map(|t| test_command(t, harness_args))
        .collect();
    let mut images = vec![{
        // The boot test takes LinuxKit's kernel, runc and containerd from the store the
        // service tests share: the stand-ins go there first.
        let mut cmd = Command::new(std::env::current_exe().context("finding xtask itself")?);
        cmd.arg("standins").args(standins_for_tests("amd64"));
        cmd
    }];
    images.extend(building.iter().map(|t| test_command(t, harness_args)));

    let mut others = cargo();
    others.args(["test", "--workspace", "--locked", "--lib", "--bins"]);
    let metadata = workspace_metadata()?;
    for t in test_targets(&metadata) {
        if !BUILDING_TESTS.contains(&t.as_str()) {
            others.args(["--test", &t]);
        }
    }
    others.args(extra);
    let mut docs = cargo();
    docs.args(["test", "--workspace", "--locked", "--doc"])
        .args(extra);
    let mut waiting = vec![others, docs];
    waiting.extend(big_endian_unit_tests(&big_endian_libraries(&metadata)));

    lanes::run(
        vec![
            Lane::new("images", images, keep_going),
            Lane::new("others", waiting, keep_going),
        ],
        shared,
    )
}

/// A compiled test, run as cargo runs it: from its package, knowing cargo.
fn test_command(test: &TestBinary, harness_args: &[String]) -> Command {
    let mut cmd = Command::new(&test.executable);
    cmd.current_dir(&test.package_dir)
        .env("CARGO_MANIFEST_DIR", &test.package_dir)
        .args(harness_args);
    if std::env::var_os("CARGO").is_none() {
        cmd.env("CARGO", "cargo");
    }
    cmd
}

/// Compiles the image-building tests and names their binaries, in BUILDING_TESTS' order.
fn compile_building_tests(cargo_args: &[String]) -> anyhow::Result<Vec<TestBinary>> {
    let mut cmd = cargo();
    cmd.args(["test", "--workspace", "--locked", "--no-run"])
        .args(["--message-format", "json-render-diagnostics"]);
    for t in BUILDING_TESTS {
        cmd.args(["--test", t]);
    }
    cmd.args(cargo_args).stdout(Stdio::piped());
    eprintln!("xtask: running {cmd:?}");
    let mut child = cmd.spawn().context("starting cargo")?;
    let mut found = Vec::new();
    let reader = BufReader::new(child.stdout.take().unwrap());
    for line in std::io::BufRead::lines(reader) {
        let line = line.context("reading cargo's output")?;
        let Ok(message) = serde_json::from_str::<serde_json::Value>(&line) else {
            continue;
        };
        let target = &message["target"];
        let is_test = target["kind"]
            .as_array()
            .is_some_and(|k| k.iter().any(|k| k == "test"));
        let (Some(name), Some(executable), Some(manifest)) = (
            target["name"].as_str(),
            message["executable"].as_str(),
            message["manifest_path"].as_str(),
        ) else {
            continue;
        };
        if message["reason"] == "compiler-artifact" && is_test {
            found.push(TestBinary {
                name: name.to_string(),
                executable: executable.into(),
                package_dir: PathBuf::from(manifest).parent().unwrap().to_path_buf(),
            });
        }
    }
    let status = child.wait().context("waiting for cargo")?;
    if !status.success() {
        bail!("{cmd:?} failed ({status})");
    }
    // The other lane leaves out these names in every package: each must be pkgbuild's alone.
    for t in BUILDING_TESTS {
        if found.iter().filter(|b| b.name == *t).count() > 1 {
            bail!("several packages have a test {t:?}: rename one, or update BUILDING_TESTS");
        }
    }
    BUILDING_TESTS
        .iter()
        .map(|t| {
            let i = found
                .iter()
                .position(|b| b.name == *t)
                .with_context(|| format!("cargo built no test {t:?}: update BUILDING_TESTS"))?;
            Ok(found.swap_remove(i))
        })
        .collect()
}

/// `cargo metadata` of the workspace's own packages.
fn workspace_metadata() -> anyhow::Result<serde_json::Value> {
    let out = cargo()
        .args(["metadata", "--no-deps", "--locked", "--format-version", "1"])
        .output()
        .context("running cargo metadata")?;
    if !out.status.success() {
        bail!(
            "cargo metadata failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    serde_json::from_slice(&out.stdout).context("reading cargo metadata's output")
}

fn packages(metadata: &serde_json::Value) -> impl Iterator<Item = &serde_json::Value> {
    metadata["packages"].as_array().into_iter().flatten()
}

/// The names of the workspace's integration test targets.
fn test_targets(metadata: &serde_json::Value) -> Vec<String> {
    let mut names = std::collections::BTreeSet::new();
    for package in packages(metadata) {
        for target in package["targets"].as_array().into_iter().flatten() {
            let is_test = target["kind"]
                .as_array()
                .is_some_and(|k| k.iter().any(|k| k == "test"));
            if let (true, Some(name)) = (is_test, target["name"].as_str()) {
                names.insert(name.to_string());
            }
        }
    }
    names.into_iter().collect()
}

/// The packages whose library asks for the big-endian run: those whose own code reads or writes
/// bytes in an order (packets, on-disk records) or uses what differs per arch. In Cargo.toml:
///
/// ```toml
/// [package.metadata.xtask]
/// big-endian-tests = true
/// ```
///
/// A library whose bytes all go through codecs of other crates (SSH, protobuf) leaves it out:
/// building those stacks for s390x costs minutes and tests nothing of ours.
fn big_endian_libraries(metadata: &serde_json::Value) -> Vec<String> {
    let mut names: Vec<String> = packages(metadata)
        .filter(|p| p["metadata"]["xtask"]["big-endian-tests"] == true)
        .filter_map(|p| p["name"].as_str().map(str::to_string))
        .collect();
    names.sort();
    names
}

/// Byte-order bugs in packet code show up here rather than on a mainframe: the unit tests of
/// `libs`, built for s390x and run under qemu-user.
fn big_endian_unit_tests(libs: &[String]) -> Option<Command> {
    if libs.is_empty() {
        return None;
    }
    let triple = "s390x-unknown-linux-gnu";
    let env_triple = triple.to_uppercase().replace('-', "_");
    let mut cmd = cargo();
    cmd.args([
        "test",
        "--locked",
        "--lib",
        "--target",
        triple,
        "-Zbuild-std",
    ])
    .arg("--target-dir")
    .arg(workspace_root().join("target/xtask-s390x"));
    for lib in libs {
        cmd.args(["--package", lib]);
    }
    // rustup has no s390x std here: Debian's rustc builds it from source.
    let rustup_has_target = Command::new("rustc")
        .args(["--print", "target-libdir", "--target", triple])
        .output()
        .map(|o| Path::new(String::from_utf8_lossy(&o.stdout).trim()).is_dir())
        .unwrap_or(false);
    if !rustup_has_target {
        cmd.env("RUSTC", "/usr/bin/rustc");
    }
    cmd.env("RUSTC_BOOTSTRAP", "1")
        .env(
            format!("CARGO_TARGET_{env_triple}_LINKER"),
            "s390x-linux-gnu-gcc",
        )
        .env(
            format!("CARGO_TARGET_{env_triple}_RUNNER"),
            "qemu-s390x-static -L /usr/s390x-linux-gnu",
        )
        .env_remove("RUSTFLAGS");
    Some(cmd)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_libraries_that_ask_run_big_endian() {
        let metadata = serde_json::json!({ "packages": [
            { "name": "ntpd", "metadata": { "xtask": { "big-endian-tests": true } } },
            { "name": "shim", "metadata": { "pkg": { "image": "shim" } } },
            { "name": "dhcpcd", "metadata": { "xtask": { "big-endian-tests": true } } },
            { "name": "other", "metadata": { "xtask": { "big-endian-tests": "yes" } } },
            { "name": "plain", "metadata": null },
        ]});
        assert_eq!(big_endian_libraries(&metadata), ["dhcpcd", "ntpd"]);
        assert!(big_endian_unit_tests(&[]).is_none());
    }
}
