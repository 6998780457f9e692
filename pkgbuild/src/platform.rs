//! The platforms images are built for, and how each maps to Rust and OCI names.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Platform {
    Amd64,
    Arm64,
    S390x,
}

impl Platform {
    pub const ALL: [Platform; 3] = [Platform::Amd64, Platform::Arm64, Platform::S390x];

    /// The OCI/Go architecture name.
    pub fn arch(self) -> &'static str {
        match self {
            Platform::Amd64 => "amd64",
            Platform::Arm64 => "arm64",
            Platform::S390x => "s390x",
        }
    }

    /// The Rust target triple for a C library, linked statically either way.
    pub fn triple(self, libc: Libc) -> &'static str {
        match (self, libc) {
            (Platform::Amd64, Libc::Musl) => "x86_64-unknown-linux-musl",
            (Platform::Arm64, Libc::Musl) => "aarch64-unknown-linux-musl",
            (Platform::S390x, Libc::Musl) => "s390x-unknown-linux-musl",
            (Platform::Amd64, Libc::Gnu) => "x86_64-unknown-linux-gnu",
            (Platform::Arm64, Libc::Gnu) => "aarch64-unknown-linux-gnu",
            (Platform::S390x, Libc::Gnu) => "s390x-unknown-linux-gnu",
        }
    }

    /// Debian's multiarch name for musl: its libc lives in `/usr/lib/<this>`, and
    /// `<this>-gcc` is the GNU cross compiler wrapped with musl's specs file.
    pub fn musl_prefix(self) -> &'static str {
        match self {
            Platform::Amd64 => "x86_64-linux-musl",
            Platform::Arm64 => "aarch64-linux-musl",
            Platform::S390x => "s390x-linux-musl",
        }
    }

    /// The GNU cross prefix used for linker names and Debian package names.
    pub fn gnu_prefix(self) -> &'static str {
        match self {
            Platform::Amd64 => "x86_64-linux-gnu",
            Platform::Arm64 => "aarch64-linux-gnu",
            Platform::S390x => "s390x-linux-gnu",
        }
    }

    /// The Debian architecture name, for `-cross` package names.
    pub fn debian_arch(self) -> &'static str {
        self.arch()
    }

    /// The qemu-user binary that runs this platform's programs on another host.
    pub fn qemu(self) -> &'static str {
        match self {
            Platform::Amd64 => "qemu-x86_64-static",
            Platform::Arm64 => "qemu-aarch64-static",
            Platform::S390x => "qemu-s390x-static",
        }
    }

    /// The platform of the machine running pkgbuild, if it is one we build for.
    pub fn host() -> Option<Platform> {
        match std::env::consts::ARCH {
            "x86_64" => Some(Platform::Amd64),
            "aarch64" => Some(Platform::Arm64),
            "s390x" => Some(Platform::S390x),
            _ => None,
        }
    }
}

impl fmt::Display for Platform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "linux/{}", self.arch())
    }
}

/// The C library a package's binary links statically: `libc` in `[package.metadata.pkg]`.
/// musl gives smaller binaries; glibc stays selectable per package.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Libc {
    #[default]
    Musl,
    Gnu,
}

impl Libc {
    pub fn name(self) -> &'static str {
        match self {
            Libc::Musl => "musl",
            Libc::Gnu => "gnu",
        }
    }
}

impl fmt::Display for Libc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[derive(Debug, thiserror::Error)]
#[error("unknown platform {0:?}: expected linux/amd64, linux/arm64 or linux/s390x")]
pub struct UnknownPlatform(String);

impl FromStr for Platform {
    type Err = UnknownPlatform;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let arch = s.strip_prefix("linux/").unwrap_or(s);
        Platform::ALL
            .into_iter()
            .find(|p| p.arch() == arch)
            .ok_or_else(|| UnknownPlatform(s.to_string()))
    }
}

impl<'de> Deserialize<'de> for Platform {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Parses a comma-separated `--platforms` list, keeping the order stable and dropping repeats.
pub fn parse_list(list: &str) -> Result<Vec<Platform>, UnknownPlatform> {
    let mut out: Vec<Platform> = Vec::new();
    for item in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let p: Platform = item.parse()?;
        if !out.contains(&p) {
            out.push(p);
        }
    }
    out.sort();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_both_spellings() {
        assert_eq!("linux/arm64".parse::<Platform>().unwrap(), Platform::Arm64);
        assert_eq!("s390x".parse::<Platform>().unwrap(), Platform::S390x);
        assert!("linux/riscv64".parse::<Platform>().is_err());
        assert_eq!(
            parse_list("linux/s390x, linux/amd64,linux/s390x").unwrap(),
            vec![Platform::Amd64, Platform::S390x]
        );
    }
}
