//! Which compiler, linker and C library build each platform, and what is missing.
//!
//! Two routes: rustup's toolchain where the target's std is installed (plain `--target`),
//! otherwise Debian's `rustc-web` + `rust-web-src`, building std from source (`-Zbuild-std`).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::platform::{Libc, Platform};

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
    pub libc: Libc,
    pub route: Route,
    pub rustc: PathBuf,
    /// `rustc -vV`, hashed into the toolchain digest.
    pub rustc_version: String,
    pub linker: String,
    /// The linker's `--version` first line, hashed into the toolchain digest.
    pub linker_version: String,
    /// The static C library the linker takes, when it comes from the system (hashed into the
    /// toolchain digest); rustup's self-contained musl is covered by the rustc version.
    pub static_libc: Option<PathBuf>,
}

impl Toolchain {
    pub fn triple(&self) -> &'static str {
        self.platform.triple(self.libc)
    }

    /// The GNU compiler of the platform: it builds the musl unwinder's stub and, behind musl's
    /// specs file, links.
    pub fn gnu_gcc(&self) -> String {
        gnu_gcc(self.platform)
    }

    /// musl on the build-std route links against Debian's musl with the system's crt objects,
    /// and needs an unwinder library made for it (see `crate::musl`).
    pub fn system_musl(&self) -> bool {
        self.libc == Libc::Musl && self.route == Route::BuildStd
    }
}

#[derive(Debug, Clone, thiserror::Error)]
#[error("no toolchain for {platform} ({libc}): {}", missing.join("; "))]
pub struct Missing {
    pub platform: Platform,
    pub libc: Libc,
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

    /// Picks the toolchain for one platform and C library, or says what to install.
    pub fn select(&self, platform: Platform, libc: Libc) -> Result<Toolchain, Missing> {
        let triple = platform.triple(libc);
        let mut missing = Vec::new();
        let rustup_rustc = self.rustup_sysroot.as_ref().and_then(|sysroot| {
            let has_std = sysroot
                .join("lib/rustlib")
                .join(triple)
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
                        "a Rust std for {triple} (rustup target add {triple}, or apt-get install rustc-web rust-web-src)"
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

        // rustup's musl targets bring their own libc and crt objects: any gcc of the platform
        // links them. Debian's musl comes with a gcc wrapper that points the GNU gcc at it.
        let system_musl = libc == Libc::Musl && route == Route::BuildStd;
        let linker = if system_musl {
            format!("{}-gcc", platform.musl_prefix())
        } else if Platform::host() == Some(platform) {
            "cc".to_string()
        } else {
            gnu_gcc(platform)
        };
        let linker_version = match first_line(Command::new(&linker).arg("--version")) {
            Some(v) => v,
            None => {
                missing.push(format!(
                    "the linker {linker} (apt-get install {})",
                    linker_packages(platform, system_musl)
                ));
                String::new()
            }
        };
        if system_musl && first_line(Command::new(ar(platform)).arg("--version")).is_none() {
            missing.push(format!(
                "{} (apt-get install {})",
                ar(platform),
                linker_packages(platform, false)
            ));
        }
        let static_libc = match libc {
            Libc::Gnu => Some(glibc_archive(platform)),
            Libc::Musl if system_musl => Some(musl_archive(platform)),
            Libc::Musl => None,
        };
        if let Some(path) = static_libc.as_ref().filter(|p| !p.exists()) {
            missing.push(format!(
                "static {libc} libc {} (apt-get install {})",
                path.display(),
                libc_package(platform, libc)
            ));
        }

        let rustc_version = first_lines(Command::new(&rustc).arg("-vV")).unwrap_or_default();
        if rustc_version.is_empty() && missing.is_empty() {
            missing.push(format!("{} -vV failed", rustc.display()));
        }
        if !missing.is_empty() {
            return Err(Missing {
                platform,
                libc,
                missing,
            });
        }
        Ok(Toolchain {
            platform,
            libc,
            route,
            rustc,
            rustc_version,
            linker,
            linker_version,
            static_libc,
        })
    }
}

fn is_debian_sysroot(sysroot: &Path) -> bool {
    sysroot == Path::new("/usr")
}

fn gnu_gcc(platform: Platform) -> String {
    format!("{}-gcc", platform.gnu_prefix())
}

pub fn ar(platform: Platform) -> String {
    format!("{}-ar", platform.gnu_prefix())
}

fn glibc_archive(platform: Platform) -> PathBuf {
    if Platform::host() == Some(platform) {
        PathBuf::from(format!("/usr/lib/{}/libc.a", platform.gnu_prefix()))
    } else {
        PathBuf::from(format!("/usr/{}/lib/libc.a", platform.gnu_prefix()))
    }
}

fn musl_archive(platform: Platform) -> PathBuf {
    PathBuf::from(format!("/usr/lib/{}/libc.a", platform.musl_prefix()))
}

fn linker_packages(platform: Platform, system_musl: bool) -> String {
    let gcc = if Platform::host() == Some(platform) {
        "gcc".to_string()
    } else {
        format!("gcc-{}", platform.gnu_prefix())
    };
    if system_musl {
        format!("{gcc} {}", libc_package(platform, Libc::Musl))
    } else {
        gcc
    }
}

fn libc_package(platform: Platform, libc: Libc) -> String {
    let host = Platform::host() == Some(platform);
    match libc {
        Libc::Gnu if host => "libc6-dev".into(),
        Libc::Gnu => format!("libc6-dev-{}-cross", platform.debian_arch()),
        Libc::Musl if host => "musl-dev".into(),
        // Debian's musl-dev is multi-arch: the foreign one installs beside the native one.
        Libc::Musl => format!("musl-dev:{}", platform.debian_arch()),
    }
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
