//! What git knows about a package: when it last changed, at which commit, and whether it is dirty.

use std::path::Path;
use std::process::Command;
/// Seconds since the epoch as RFC 3339 UTC, as OCI's `created` wants.
pub use svckit::calendar::rfc3339;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provenance {
    /// Seconds since the epoch: SOURCE_DATE_EPOCH, else the last commit that touched the package.
    pub epoch: i64,
    /// The last commit that touched the package, if the folder is in a git repository.
    pub revision: Option<String>,
}

/// Reads the package's provenance; a folder outside git gets epoch 0 and no revision.
pub fn provenance(dir: &Path) -> anyhow::Result<Provenance> {
    let last = git(dir, &["log", "-1", "--format=%ct %H", "--", "."]);
    let (commit_epoch, revision) = match last.as_deref().and_then(|s| s.split_once(' ')) {
        Some((ct, hash)) => (ct.parse::<i64>().ok(), Some(hash.to_string())),
        None => (None, None),
    };
    let epoch = match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(v) if !v.is_empty() => v.trim().parse::<i64>().map_err(|_| {
            anyhow::anyhow!("SOURCE_DATE_EPOCH={v:?} is not a whole number of seconds")
        })?,
        _ => commit_epoch.unwrap_or(0),
    };
    Ok(Provenance { epoch, revision })
}

/// Files under `dir` that differ from HEAD (modified, staged or untracked and not ignored).
pub fn dirty_files(dir: &Path) -> Vec<String> {
    git(
        dir,
        &["status", "--porcelain", "--untracked-files=all", "--", "."],
    )
    .map(|s| {
        s.lines()
            .map(|l| l.get(3..).unwrap_or(l).to_string())
            .collect()
    })
    .unwrap_or_default()
}

fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8_lossy(&out.stdout).trim().to_string();
    (!text.is_empty()).then_some(text)
}
