//! Image references, `[host[:port]/]path[:tag][@sha256:hex]`, with Docker's defaults.

use std::fmt;
use std::str::FromStr;

use sha2::{Digest as _, Sha256};

use super::RegistryError;

/// Where `docker.io` references are served from.
pub const DOCKER_HUB: &str = "registry-1.docker.io";

/// A repository on a registry: what every [`super::Client`] call addresses.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Repo {
    /// `host[:port]` as used in URLs, e.g. `127.0.0.1:5000` or `registry-1.docker.io`.
    pub registry: String,
    /// The path inside the registry, e.g. `linuxkit/dhcpcd` or `library/alpine`.
    pub name: String,
}

impl Repo {
    pub fn new(registry: impl Into<String>, name: impl Into<String>) -> Repo {
        Repo {
            registry: registry.into(),
            name: name.into(),
        }
    }

    /// Parses `host[:port]/path`, refusing a tag or digest.
    pub fn parse(input: &str) -> Result<Repo, RegistryError> {
        let r = Reference::parse(input)?;
        if r.tag.is_some() || r.digest.is_some() {
            return Err(bad(input, "a repository takes no tag or digest"));
        }
        Ok(r.repo())
    }
}

impl fmt::Display for Repo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.name)
    }
}

/// A parsed image reference. `docker.io` (or no registry at all) becomes [`DOCKER_HUB`], and a
/// one-component Docker Hub name gets the `library/` prefix, as `docker pull` does.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Reference {
    pub registry: String,
    pub repository: String,
    pub tag: Option<String>,
    pub digest: Option<String>,
}

impl Reference {
    pub fn parse(input: &str) -> Result<Reference, RegistryError> {
        let (rest, digest) = match input.split_once('@') {
            Some((rest, digest)) if is_digest(digest) => (rest, Some(digest.to_string())),
            Some(_) => return Err(bad(input, "the digest must be sha256: and 64 hex digits")),
            None => (input, None),
        };
        // A colon after the last slash starts the tag; one before it belongs to host:port.
        let (name, tag) = match rest.rfind(':') {
            Some(i) if !rest[i..].contains('/') => (&rest[..i], Some(&rest[i + 1..])),
            _ => (rest, None),
        };
        if let Some(tag) = tag {
            if !is_tag(tag) {
                return Err(bad(
                    input,
                    "a tag is 1-128 of [A-Za-z0-9_.-], not starting with . or -",
                ));
            }
        }
        // Docker's rule: the first component is a registry when it looks like a host.
        let (registry, path) = match name.split_once('/') {
            Some((first, path))
                if first.contains('.') || first.contains(':') || first == "localhost" =>
            {
                (first, path)
            }
            _ => ("docker.io", name),
        };
        let (registry, repository) = match registry {
            "docker.io" | "index.docker.io" | DOCKER_HUB if !path.contains('/') => {
                (DOCKER_HUB, format!("library/{path}"))
            }
            "docker.io" | "index.docker.io" => (DOCKER_HUB, path.to_string()),
            other => (other, path.to_string()),
        };
        if !repository.split('/').all(is_path_component) {
            return Err(bad(
                input,
                "path components are lowercase letters and digits, separated by . _ __ or -",
            ));
        }
        Ok(Reference {
            registry: registry.to_string(),
            repository,
            tag: tag.map(str::to_string),
            digest,
        })
    }

    pub fn repo(&self) -> Repo {
        Repo::new(&self.registry, &self.repository)
    }

    /// What to ask the registry for: the digest when pinned, else the tag, else `latest`.
    pub fn target(&self) -> &str {
        self.digest
            .as_deref()
            .or(self.tag.as_deref())
            .unwrap_or("latest")
    }
}

impl FromStr for Reference {
    type Err = RegistryError;
    fn from_str(s: &str) -> Result<Reference, RegistryError> {
        Reference::parse(s)
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)?;
        if let Some(tag) = &self.tag {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = &self.digest {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

fn bad(input: &str, reason: &str) -> RegistryError {
    RegistryError::BadReference {
        input: input.to_string(),
        reason: reason.to_string(),
    }
}

/// `sha256:` and 64 lowercase hex digits: the only digest this client makes or checks.
pub fn is_digest(s: &str) -> bool {
    s.strip_prefix("sha256:").is_some_and(|hex| {
        hex.len() == 64
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

/// The `sha256:<hex>` digest of `bytes`.
pub fn sha256_digest(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

fn is_tag(s: &str) -> bool {
    let ok = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b == b'.' || b == b'-';
    !s.is_empty() && s.len() <= 128 && !s.starts_with(['.', '-']) && s.bytes().all(ok)
}

/// `[a-z0-9]+` runs joined by one `.`, one or two `_`, or any number of `-`.
fn is_path_component(s: &str) -> bool {
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    let bytes = s.as_bytes();
    if bytes.is_empty() || !alnum(bytes[0]) || !alnum(bytes[bytes.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < bytes.len() {
        if alnum(bytes[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && !alnum(bytes[i]) {
            i += 1;
        }
        let sep = &s[start..i];
        let ok = sep == "." || sep == "_" || sep == "__" || sep.bytes().all(|b| b == b'-');
        if !ok {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(s: &str) -> Reference {
        Reference::parse(s).unwrap()
    }

    #[test]
    fn docker_hub_defaults() {
        let a = r("alpine");
        assert_eq!(
            (a.registry.as_str(), a.repository.as_str()),
            (DOCKER_HUB, "library/alpine")
        );
        assert_eq!(a.target(), "latest");
        assert_eq!(r("docker.io/alpine:3.20").repository, "library/alpine");
        assert_eq!(r("linuxkit/dhcpcd:v1").repository, "linuxkit/dhcpcd");
        assert_eq!(r("index.docker.io/linuxkit/dhcpcd").registry, DOCKER_HUB);
    }

    #[test]
    fn host_port_tag_and_digest() {
        let d = format!("sha256:{}", "a".repeat(64));
        let x = r(&format!("127.0.0.1:5000/linuxkit/dhcpcd:v1.0@{d}"));
        assert_eq!(x.registry, "127.0.0.1:5000");
        assert_eq!(x.repository, "linuxkit/dhcpcd");
        assert_eq!(x.tag.as_deref(), Some("v1.0"));
        assert_eq!(x.digest.as_deref(), Some(d.as_str()));
        assert_eq!(x.target(), d);
        assert_eq!(
            x.to_string(),
            format!("127.0.0.1:5000/linuxkit/dhcpcd:v1.0@{d}")
        );
        // A port alone is not a tag, and a one-component local name gets no library/.
        let y = r("localhost:5000/dhcpcd");
        assert_eq!((y.registry.as_str(), y.tag), ("localhost:5000", None));
        assert_eq!(y.repository, "dhcpcd");
        assert_eq!(r("localhost/a/b").registry, "localhost");
        assert_eq!(r("[::1]:5000/a:t").registry, "[::1]:5000");
    }

    #[test]
    fn rejects_malformed() {
        for s in [
            "Upper/case",
            "a//b",
            "a/b:",
            "a/b:-x",
            "a@sha256:abc",
            "a/-b",
            "a/b..c",
            "",
        ] {
            assert!(Reference::parse(s).is_err(), "{s} should be refused");
        }
        assert!(Repo::parse("127.0.0.1:5000/a/b:t").is_err());
        assert_eq!(
            Repo::parse("127.0.0.1:5000/a/b").unwrap().to_string(),
            "127.0.0.1:5000/a/b"
        );
    }

    #[test]
    fn digests() {
        assert_eq!(
            sha256_digest(b""),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert!(is_digest(&sha256_digest(b"x")));
        assert!(!is_digest(&format!("sha256:{}", "A".repeat(64))));
        assert!(!is_digest("sha512:00"));
    }
}
