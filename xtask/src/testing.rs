//! `cargo xtask test [CARGO ARGS] [-- TEST ARGS]`: every test of the workspace, and the I/O-free
//! unit tests on s390x, in two lanes side by side.
//!
//! The tests that compile images (CPU for minutes) are compiled first, and their lane starts at
//! once: the stand-ins, then each of those test binaries. The other lane compiles and runs every
//! other test, the doctests and the s390x step; those mostly wait (on peers, timers, a guest),
//! which leaves a core to the builds.

use std::io::BufReader;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use anyhow::{bail, Context};

use crate::lanes::{self, Lane};
use crate::{big_endian_unit_tests, cargo, standins_for_tests};

/// The test targets that compile images, all pkgbuild's, in the order their lane runs them: boot
/// first, as it builds the images the other lane's service tests run.
const BUILDING_TESTS: &[&str] = &["boot", "fork", "images", "store", "push"];

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

    let building = compile_building_tests(cargo_args)?;
    let mut images = vec![{
        // The boot test takes LinuxKit's kernel, runc and containerd from the store the
        // service tests share: the stand-ins go there first.
        let mut cmd = Command::new(std::env::current_exe().context("finding xtask itself")?);
        cmd.arg("standins").args(standins_for_tests("amd64"));
        cmd
    }];
    for test in &building {
        let mut cmd = Command::new(&test.executable);
        // As cargo runs a test: from its package, knowing cargo.
        cmd.current_dir(&test.package_dir)
            .env("CARGO_MANIFEST_DIR", &test.package_dir)
            .args(harness_args);
        if std::env::var_os("CARGO").is_none() {
            cmd.env("CARGO", "cargo");
        }
        images.push(cmd);
    }

    let mut others = cargo();
    others.args(["test", "--workspace", "--locked", "--lib", "--bins"]);
    for t in test_targets()? {
        if !BUILDING_TESTS.contains(&t.as_str()) {
            others.args(["--test", &t]);
        }
    }
    others.args(extra);
    let mut docs = cargo();
    docs.args(["test", "--workspace", "--locked", "--doc"])
        .args(extra);
    let mut waiting = vec![others, docs];
    waiting.extend(big_endian_unit_tests()?);

    lanes::run(vec![
        Lane::new("images", images, keep_going),
        Lane::new("others", waiting, keep_going),
    ])
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

/// The names of the workspace's integration test targets.
fn test_targets() -> anyhow::Result<Vec<String>> {
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
    let metadata: serde_json::Value =
        serde_json::from_slice(&out.stdout).context("reading cargo metadata's output")?;
    let mut names = std::collections::BTreeSet::new();
    for package in metadata["packages"].as_array().into_iter().flatten() {
        for target in package["targets"].as_array().into_iter().flatten() {
            let is_test = target["kind"]
                .as_array()
                .is_some_and(|k| k.iter().any(|k| k == "test"));
            if let (true, Some(name)) = (is_test, target["name"].as_str()) {
                names.insert(name.to_string());
            }
        }
    }
    Ok(names.into_iter().collect())
}
