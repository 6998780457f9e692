//! `cargo xtask bench [PKG]`: runs each package's `rival` benchmark, which measures ours against the
//! program users run today, in one run. It writes rows to `target/bench/<package>.json`; this
//! prints them as a table.

use std::path::Path;
use std::process::Command;

use anyhow::{bail, Context};
use benchkit::{print_table, Row};

pub fn run(root: &Path, only: Option<&str>) -> anyhow::Result<()> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(root.join("pkgs"))? {
        let dir = entry?.path();
        let name = dir.file_name().unwrap().to_string_lossy().to_string();
        if dir.join("benches/rival.rs").exists() && only.is_none_or(|o| o == name) {
            found.push(name);
        }
    }
    found.sort();
    if found.is_empty() {
        match only {
            Some(pkg) => bail!("package {pkg:?} has no benches/rival.rs"),
            None => {
                println!("no package has a rival benchmark yet");
                return Ok(());
            }
        }
    }
    let out_dir = root.join("target/bench");
    std::fs::create_dir_all(&out_dir)?;
    for pkg in found {
        let output = out_dir.join(format!("{pkg}.json"));
        let status = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
            .current_dir(root)
            // By manifest path: a package's folder name need not be its crate name.
            .args(["bench", "--locked", "--bench", "rival", "--manifest-path"])
            .arg(root.join("pkgs").join(&pkg).join("Cargo.toml"))
            .env("BENCH_OUTPUT", &output)
            .status()
            .context("starting cargo bench")?;
        if !status.success() {
            bail!("benchmark of {pkg} failed ({status})");
        }
        let rows: Vec<Row> = serde_json::from_slice(
            &std::fs::read(&output).with_context(|| format!("reading {}", output.display()))?,
        )
        .with_context(|| format!("parsing {}", output.display()))?;
        print_table(&pkg, &rows);
    }
    Ok(())
}
