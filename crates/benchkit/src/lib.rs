//! The report of a package's `benches/rival.rs`: rows of ours against the program users run
//! today, printed as a table and written as JSON to `BENCH_OUTPUT` (which `cargo xtask bench`
//! sets to `target/bench/<package>.json`). The format is stable: `[{metric, unit, ours, rival,
//! rival_name, ratio}]` with `ratio = ours / rival`.
#![forbid(unsafe_code)]

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// One measurement, ours against a rival.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Row {
    pub metric: String,
    pub unit: String,
    pub ours: f64,
    pub rival: f64,
    pub rival_name: String,
    pub ratio: f64,
}

impl Row {
    pub fn new(metric: &str, unit: &str, ours: f64, rival: f64, rival_name: &str) -> Row {
        Row {
            metric: metric.into(),
            unit: unit.into(),
            ours,
            rival,
            rival_name: rival_name.into(),
            ratio: ours / rival,
        }
    }
}

/// The median; NaN for no values.
pub fn median(values: &[f64]) -> f64 {
    let mut v = values.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    match n {
        0 => f64::NAN,
        _ if n % 2 == 1 => v[n / 2],
        _ => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

/// Our program under test: the binary the image ships, which `cargo xtask bench` takes out of the
/// image pkgbuild built and names in `BENCH_OURS`; else `cargo_built`, the one cargo built for
/// `cargo bench` (dynamically linked, so its figures differ from the image's).
pub fn ours(cargo_built: &str) -> PathBuf {
    match std::env::var_os("BENCH_OURS") {
        Some(path) => {
            println!(
                "  ours: {} (the image's binary)",
                Path::new(&path).display()
            );
            PathBuf::from(path)
        }
        None => {
            println!("  ours: {cargo_built} (cargo's build, not the image's: BENCH_OURS not set)");
            PathBuf::from(cargo_built)
        }
    }
}

/// A `Key:  N kB` field of `/proc/PID/<file>` (`status`, `smaps_rollup`), in KiB.
pub fn proc_kib(pid: u32, file: &str, key: &str) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/{file}")).ok()?;
    field_kib(&text, key)
}

/// The `Key:  N kB` line of `key` exactly (`Pss`, not `Pss_Anon`).
fn field_kib(text: &str, key: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.strip_prefix(key)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
}

/// VmRSS: every page the process maps, shared ones counted whole.
pub fn rss_kib(pid: u32) -> Option<u64> {
    proc_kib(pid, "status", "VmRSS")
}

/// Pss: shared pages split between the processes that map them, so a sum over several
/// processes counts each page once.
pub fn pss_kib(pid: u32) -> Option<u64> {
    proc_kib(pid, "smaps_rollup", "Pss")
}

pub fn print_table(title: &str, rows: &[Row]) {
    println!("{title}");
    println!(
        "  {:<20} {:>12} {:>12} {:<24} {:>8}",
        "metric", "ours", "rival", "rival_name", "ratio"
    );
    for r in rows {
        println!(
            "  {:<20} {:>9.3} {:<2} {:>9.3} {:<2} {:<24} {:>8.3}",
            r.metric, r.ours, r.unit, r.rival, r.unit, r.rival_name, r.ratio
        );
    }
}

/// Prints the table and writes the rows to `BENCH_OUTPUT`, if set (atomically: a temp file
/// renamed into place).
pub fn report(title: &str, rows: &[Row]) {
    print_table(title, rows);
    let Some(path) = std::env::var_os("BENCH_OUTPUT") else {
        println!("  (BENCH_OUTPUT not set: no JSON written)");
        return;
    };
    let path = Path::new(&path);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).expect("creating the BENCH_OUTPUT directory");
    }
    let tmp = path.with_extension("json.tmp");
    std::fs::write(
        &tmp,
        serde_json::to_string_pretty(rows).expect("rows as JSON"),
    )
    .expect("writing BENCH_OUTPUT");
    std::fs::rename(&tmp, path).expect("renaming BENCH_OUTPUT into place");
    println!("  written to {}", path.display());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratio_is_ours_over_rival() {
        let r = Row::new("rss", "KiB", 2.0, 8.0, "x");
        assert_eq!(r.ratio, 0.25);
        let json = serde_json::to_string(&r).unwrap();
        assert_eq!(serde_json::from_str::<Row>(&json).unwrap(), r);
    }

    #[test]
    fn fields_are_matched_whole() {
        let rollup = "Rss:                2340 kB\nPss_Anon:            700 kB\nPss:                 910 kB\n";
        assert_eq!(field_kib(rollup, "Pss"), Some(910));
        assert_eq!(field_kib(rollup, "Pss_Anon"), Some(700));
        assert_eq!(field_kib(rollup, "Rss"), Some(2340));
        assert_eq!(field_kib(rollup, "Swap"), None);
        // A live process has both (their values move between two reads, so only that).
        let me = std::process::id();
        assert!(rss_kib(me).unwrap() > 0);
        assert!(pss_kib(me).unwrap() > 0);
    }

    #[test]
    fn medians() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        assert!(median(&[]).is_nan());
    }
}
