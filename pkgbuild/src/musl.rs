//! The unwinder library a musl build links when std is built from source.
//!
//! On musl targets std's `unwind` crate links a static `libunwind.a`. rustup's musl targets ship
//! one; Debian has none for musl. The platform's GNU gcc has the same unwinder as `libgcc_eh.a`,
//! which only lacks glibc's `_dl_find_object`: a stub that reports "not found" makes it fall back
//! to `dl_iterate_phdr`, which musl has.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context};

use crate::inputs::sha256_file;
use crate::toolchain::{self, Toolchain};

const STUB: &str = "int _dl_find_object(void *address, void *result) { return -1; }\n";

/// The folder holding `libunwind.a` for the toolchain's target, made once per gcc release.
pub fn unwind_dir(target_dir: &Path, tc: &Toolchain) -> anyhow::Result<PathBuf> {
    let gcc = tc.gnu_gcc();
    let eh = gcc_file(&gcc, "libgcc_eh.a")?;
    // Keyed by the archive's content, so a gcc upgrade makes a fresh one.
    let key = &sha256_file(&eh)?[..16];
    let dir = target_dir
        .join("musl-unwind")
        .join(format!("{}-{key}", tc.triple()));
    if dir.join("libunwind.a").is_file() {
        return Ok(dir);
    }
    std::fs::create_dir_all(dir.parent().unwrap())?;
    let tmp = tempfile::Builder::new()
        .prefix(".unwind-")
        .tempdir_in(dir.parent().unwrap())?;
    let archive = tmp.path().join("libunwind.a");
    std::fs::copy(&eh, &archive).with_context(|| format!("copying {}", eh.display()))?;
    std::fs::write(tmp.path().join("stub.c"), STUB)?;
    crate::checked_output(
        Command::new(&gcc)
            .current_dir(tmp.path())
            .args(["-O2", "-c", "stub.c", "-o", "stub.o"]),
    )?;
    crate::checked_output(
        Command::new(toolchain::ar(tc.platform))
            .current_dir(tmp.path())
            .args(["rs", "libunwind.a", "stub.o"]),
    )?;
    // Another pkgbuild may have made it meanwhile: theirs is as good as ours.
    let made = tmp.keep();
    if std::fs::rename(&made, &dir).is_err() {
        std::fs::remove_dir_all(&made).ok();
        if !dir.join("libunwind.a").is_file() {
            bail!("could not make {}", dir.display());
        }
    }
    Ok(dir)
}

fn gcc_file(gcc: &str, name: &str) -> anyhow::Result<PathBuf> {
    let out = Command::new(gcc)
        .arg(format!("-print-file-name={name}"))
        .output()
        .with_context(|| format!("starting {gcc}"))?;
    let path = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    // gcc prints the bare name when it has no such file.
    if !out.status.success() || !path.is_absolute() || !path.is_file() {
        bail!("{gcc} has no {name}: is the platform's gcc installed whole?");
    }
    Ok(path)
}
