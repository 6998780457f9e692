//! Which compiler and linker build each platform, and what is missing.
//!
//! Two routes: rustup's toolchain where the target's std is installed (plain `--target`),
//! otherwise Debian's `rustc-web` + `rust-web-src`, building std from source (`-Zbuild-std`).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::platform::Platform;

/// Debian's compiler, used when rustup has no std for a target.
const DEBIAN_RUSTC: &str = "/usr/bin/rustc";
const DEBIAN_STD_SRC: &str = "/usr/lib/rustlib/src/rust/library/std";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// rustup has the target's std installed.
    Rustup,
    /// Debian's rustc builds std from Debian's rust source.
    BuildStd,
}

impl Route {
    pub fn name(self) -> &'static str {
        match self {
            Route::Rustup => "rustup",
            Route::BuildStd => "build-std",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Toolchain {
    pub platform: Platform,
    pub route: Route,
    pub rustc: PathBuf,
    /// `rustc -vV`, hashed into the tag.
    pub rustc_version: String,
    pub linker: String,
    /// The linker's `--version` first line, hashed into the tag.
    pub linker_version: String,
}

#[derive(Debug, thiserror::Error)]
#[error("no toolchain for {platform}: {}", missing.join("; "))]
pub struct Missing {
    pub platform: Platform,
    pub missing: Vec<String>,
}

/// What the machine offers; probed once.
#[derive(Debug, Clone)]
pub struct Probe {
    rustup_sysroot: Option<PathBuf>,
}

impl Probe {
    /// `dir` is where cargo will run, so a rust-toolchain file there is honoured.
    pub fn new(dir: &Path) -> Probe {
        let rustup_sysroot = Command::new("rustc")
            .args(["--print", "sysroot"])
            .current_dir(dir)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
        Probe { rustup_sysroot }
    }

    /// Picks the toolchain for one platform, or says what to install.
    pub fn select(&self, platform: Platform) -> Result<Toolchain, Missing> {
        let linker = if Platform::host() == Some(platform) {
            "cc".to_string()
        } else {
            format!("{}-gcc", platform.gnu_prefix())
        };
        let mut missing = Vec::new();
        let linker_version = match first_line(Command::new(&linker).arg("--version")) {
            Some(v) => v,
            None => {
                missing.push(format!(
                    "the linker {linker} (apt-get install {})",
                    linker_package(platform)
                ));
                String::new()
            }
        };
        if !static_libc(platform).exists() {
            missing.push(format!(
                "static glibc {} (apt-get install {})",
                static_libc(platform).display(),
                libc_package(platform)
            ));
        }

        let rustup_rustc = self.rustup_sysroot.as_ref().and_then(|sysroot| {
            let has_std = sysroot
                .join("lib/rustlib")
                .join(platform.triple())
                .join("lib")
                .is_dir();
            let rustc = sysroot.join("bin/rustc");
            (has_std && rustc.exists() && !is_debian_sysroot(sysroot)).then_some(rustc)
        });
        let (route, rustc) = match rustup_rustc {
            Some(rustc) => (Route::Rustup, rustc),
            None => {
                if !Path::new(DEBIAN_RUSTC).exists() {
                    missing.push(format!(
                        "a Rust std for {} (rustup target add {}, or apt-get install rustc-web rust-web-src)",
                        platform.triple(),
                        platform.triple()
                    ));
                } else if !Path::new(DEBIAN_STD_SRC).is_dir() {
                    missing.push(
                        "Rust's std source for -Zbuild-std (apt-get install rust-web-src)".into(),
                    );
                } else if let Some(problem) = debian_version_skew() {
                    missing.push(problem);
                }
                (Route::BuildStd, PathBuf::from(DEBIAN_RUSTC))
            }
        };
        let rustc_version = first_lines(Command::new(&rustc).arg("-vV")).unwrap_or_default();
        if rustc_version.is_empty() && missing.is_empty() {
            missing.push(format!("{} -vV failed", rustc.display()));
        }
        if !missing.is_empty() {
            return Err(Missing { platform, missing });
        }
        Ok(Toolchain {
            platform,
            route,
            rustc,
            rustc_version,
            linker,
            linker_version,
        })
    }
}

fn is_debian_sysroot(sysroot: &Path) -> bool {
    sysroot == Path::new("/usr")
}

fn static_libc(platform: Platform) -> PathBuf {
    if Platform::host() == Some(platform) {
        PathBuf::from(format!("/usr/lib/{}/libc.a", platform.gnu_prefix()))
    } else {
        PathBuf::from(format!("/usr/{}/lib/libc.a", platform.gnu_prefix()))
    }
}

fn linker_package(platform: Platform) -> String {
    if Platform::host() == Some(platform) {
        "gcc".into()
    } else {
        format!("gcc-{}", platform.gnu_prefix())
    }
}

fn libc_package(platform: Platform) -> String {
    if Platform::host() == Some(platform) {
        "libc6-dev".into()
    } else {
        format!("libc6-dev-{}-cross", platform.debian_arch())
    }
}

/// The Debian packages a platform needs on the build-std route.
pub fn debian_packages(platform: Platform) -> Vec<String> {
    vec![
        "rustc-web".into(),
        "cargo-web".into(),
        "rust-web-src".into(),
        linker_package(platform),
        libc_package(platform),
    ]
}

/// rustc-web and rust-web-src must be the same release; apt does not tie them.
fn debian_version_skew() -> Option<String> {
    let out = Command::new("dpkg-query")
        .args(["-W", "-f", "${Version}\\n", "rustc-web", "rust-web-src"])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let versions: Vec<&str> = text.lines().collect();
    match versions.as_slice() {
        [a, b] if a != b => Some(format!(
            "rustc-web {a} and rust-web-src {b} differ (apt-get install rustc-web={b} or rust-web-src={a})"
        )),
        _ => None,
    }
}

fn first_lines(cmd: &mut Command) -> Option<String> {
    let out = cmd.output().ok().filter(|o| o.status.success())?;
    Some(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

fn first_line(cmd: &mut Command) -> Option<String> {
    first_lines(cmd).map(|s| s.lines().next().unwrap_or_default().to_string())
}
