//! What git knows about a package: when it last changed, at which commit, and whether it is dirty.

use std::path::Path;
use std::process::Command;

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

/// Formats seconds since the epoch as RFC 3339 UTC, as OCI's `created` wants.
pub fn rfc3339(epoch: i64) -> String {
    let days = epoch.div_euclid(86_400);
    let secs = epoch.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_rfc3339() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_796_000_000), "2026-11-30T00:53:20Z");
    }
}
