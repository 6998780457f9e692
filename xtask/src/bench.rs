//! `cargo xtask bench [PKG]`: runs each package's `rival` benchmark, which measures ours against the
//! program users run today, in one run. It writes rows to `target/bench/<package>.json`; this
//! prints them as a table.
//!
//! Ours is the binary the image ships: pkgbuild builds the package's image for this machine's
//! platform, and the binary is taken out of its layer and named to the benchmark in `BENCH_OURS`.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context};
use benchkit::{print_table, Row};
use pkgbuild::build::{build_package, BuildOptions};
use pkgbuild::bundle::StoredImage;
use pkgbuild::platform::Platform;
use pkgbuild::store::Store;
use pkgbuild::workspace::Workspace;

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
    let ws = Workspace::load(Some(&root.join("Cargo.toml")))?;
    let store_dir = pkgbuild::default_store_dir();
    let store =
        Store::open(&store_dir).with_context(|| format!("opening {}", store_dir.display()))?;
    for pkg in found {
        let ours = image_binary(&ws, &store, &pkg, &out_dir)?;
        eprintln!("xtask: {pkg}: ours is {}, from its image", ours.display());
        let output = out_dir.join(format!("{pkg}.json"));
        let status = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
            .current_dir(root)
            // By manifest path: a package's folder name need not be its crate name.
            .args(["bench", "--locked", "--bench", "rival", "--manifest-path"])
            .arg(root.join("pkgs").join(&pkg).join("Cargo.toml"))
            .env("BENCH_OUTPUT", &output)
            .env("BENCH_OURS", &ours)
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

/// Builds the image of the package in `pkgs/<folder>` for this machine's platform (into the
/// store) and writes the binary it ships to `out_dir/bin/<image>/`.
fn image_binary(
    ws: &Workspace,
    store: &Store,
    folder: &str,
    out_dir: &Path,
) -> anyhow::Result<PathBuf> {
    let platform = Platform::host().context("this machine's architecture has no image platform")?;
    let dir = ws.root.join("pkgs").join(folder);
    let pkg = ws
        .packages
        .iter()
        .find(|p| p.dir == dir)
        .with_context(|| format!("pkgs/{folder} declares no image"))?;
    let options = BuildOptions {
        platforms: Some(vec![platform]),
        force: false,
    };
    let built = build_package(ws, store, pkg, &options, &mut std::io::stderr())?;
    let path = pkg.binary_path();
    let data = StoredImage::read(store, &built.index_digest, platform)?
        .file(store, &path)
        .with_context(|| format!("the image of {}", pkg.name))?;
    let dest_dir = out_dir.join("bin").join(pkg.image());
    std::fs::create_dir_all(&dest_dir)?;
    let dest = dest_dir.join(Path::new(&path).file_name().unwrap());
    let tmp = dest.with_extension("tmp");
    std::fs::write(&tmp, data)?;
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o755))?;
    std::fs::rename(&tmp, &dest)?;
    Ok(dest)
}
