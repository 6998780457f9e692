//! `[package.metadata.pkg]`: how a package describes its image, read through `cargo metadata`.

use std::path::{Path, PathBuf};

use linuxkit_config::ImageConfig;
use serde::Deserialize;

use crate::platform::{Libc, Platform};

/// The image a package declares in its own Cargo.toml.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PkgMeta {
    /// Image name; defaults to the crate name.
    pub image: Option<String>,
    /// Registry namespace (LinuxKit's "org"); defaults to `linuxkit`.
    pub org: Option<String>,
    /// Platforms the image is built for; defaults to all supported.
    #[serde(default = "all_arches")]
    pub arches: Vec<Platform>,
    /// The C library linked into the static binary: `musl` (the default) or `gnu`.
    #[serde(default)]
    pub libc: Libc,
    /// The cargo binary target to package, when the crate has several.
    pub bin: Option<String>,
    /// Where the binary lands in the image; defaults to `/usr/bin/<bin>`.
    pub binary: Option<String>,
    /// Defaults to `[binary]`.
    pub entrypoint: Option<Vec<String>>,
    #[serde(default)]
    pub cmd: Vec<String>,
    #[serde(default)]
    pub env: Vec<String>,
    pub user: Option<String>,
    pub workdir: Option<String>,
    /// Extra files from the package folder.
    #[serde(default)]
    pub files: Vec<FileEntry>,
    /// Empty directories to create in the image (mount points).
    #[serde(default)]
    pub dirs: Vec<DirEntry>,
    /// Symbolic links, e.g. a second path under which LinuxKit's manifests call the binary.
    #[serde(default)]
    pub links: Vec<LinkEntry>,
    /// Runtime defaults, written as the `org.mobyproject.config` label: LinuxKit's schema.
    #[serde(default)]
    pub config: ImageConfig,
}

fn all_arches() -> Vec<Platform> {
    Platform::ALL.to_vec()
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileEntry {
    /// Relative to the package folder.
    pub src: String,
    /// Absolute path in the image.
    pub dst: String,
    /// Octal, as a string ("0644"); defaults to 0644.
    pub mode: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkEntry {
    /// Absolute path of the link in the image.
    pub path: String,
    /// What it points to, as written (absolute or relative).
    pub target: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DirEntry {
    pub path: String,
    pub mode: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum MetadataError {
    #[error("{manifest}: [package.metadata.pkg] field `{field}`: {message}")]
    Field {
        manifest: PathBuf,
        field: String,
        message: String,
    },
}

impl PkgMeta {
    /// Parses the table, naming the manifest and the field on error.
    pub fn parse(manifest: &Path, value: &serde_json::Value) -> Result<PkgMeta, MetadataError> {
        let field_error = |field: String, message: String| MetadataError::Field {
            manifest: manifest.to_path_buf(),
            field,
            message,
        };
        // The label first, checked as LinuxKit checks it, so its errors name LinuxKit's reason.
        if let Some(config) = value.get("config") {
            ImageConfig::parse_label(config).map_err(|err| {
                let field = if err.field.is_empty() {
                    "config".to_string()
                } else {
                    format!("config.{}", err.field)
                };
                field_error(field, err.reason)
            })?;
        }
        let meta: PkgMeta = serde_path_to_error::deserialize(value).map_err(|err| {
            let path = err.path().to_string();
            field_error(path, err.into_inner().to_string())
        })?;
        meta.validate().map_err(|(f, m)| field_error(f, m))?;
        Ok(meta)
    }

    fn validate(&self) -> Result<(), (String, String)> {
        if self.arches.is_empty() {
            return Err(("arches".into(), "expected at least one platform".into()));
        }
        for name in [&self.image, &self.org].into_iter().flatten() {
            if !valid_repo_component(name) {
                return Err((
                    if Some(name) == self.image.as_ref() { "image" } else { "org" }.into(),
                    format!("{name:?} is not a valid repository name (lowercase letters, digits, '.', '_', '-', '/')"),
                ));
            }
        }
        if let Some(binary) = &self.binary {
            check_abs(binary).map_err(|m| ("binary".to_string(), m))?;
        }
        for (i, file) in self.files.iter().enumerate() {
            check_abs(&file.dst).map_err(|m| (format!("files[{i}].dst"), m))?;
            if Path::new(&file.src).is_absolute() || file.src.split('/').any(|c| c == "..") {
                return Err((
                    format!("files[{i}].src"),
                    "expected a path inside the package folder".into(),
                ));
            }
            if let Some(mode) = &file.mode {
                parse_mode(mode).map_err(|m| (format!("files[{i}].mode"), m))?;
            }
        }
        for (i, link) in self.links.iter().enumerate() {
            check_abs(&link.path).map_err(|m| (format!("links[{i}].path"), m))?;
            if link.target.is_empty() {
                return Err((format!("links[{i}].target"), "expected a path".into()));
            }
        }
        for (i, dir) in self.dirs.iter().enumerate() {
            check_abs(&dir.path).map_err(|m| (format!("dirs[{i}].path"), m))?;
            if let Some(mode) = &dir.mode {
                parse_mode(mode).map_err(|m| (format!("dirs[{i}].mode"), m))?;
            }
        }
        Ok(())
    }
}

fn check_abs(path: &str) -> Result<(), String> {
    if !path.starts_with('/')
        || path.ends_with('/')
        || path.split('/').any(|c| c == ".." || c == ".")
    {
        return Err(format!(
            "expected an absolute path to a file in the image, got {path:?}"
        ));
    }
    Ok(())
}

fn valid_repo_component(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-/".contains(c))
        && !name.starts_with(['.', '_', '-', '/'])
        && !name.ends_with(['.', '_', '-', '/'])
}

/// Parses an octal mode string such as "0755".
pub fn parse_mode(mode: &str) -> Result<u32, String> {
    let parsed = u32::from_str_radix(mode, 8)
        .map_err(|_| format!("expected an octal mode such as \"0644\", got {mode:?}"))?;
    if parsed > 0o7777 {
        return Err(format!("mode {mode:?} is out of range"));
    }
    Ok(parsed)
}

/// A workspace package that declares an image.
#[derive(Debug, Clone)]
pub struct Package {
    pub name: String,
    pub version: String,
    pub id: cargo_metadata::PackageId,
    pub manifest_path: PathBuf,
    pub dir: PathBuf,
    pub bin: String,
    pub license: Option<String>,
    pub repository: Option<String>,
    pub meta: PkgMeta,
}

impl Package {
    pub fn image(&self) -> &str {
        self.meta.image.as_deref().unwrap_or(&self.name)
    }
    pub fn org(&self) -> &str {
        self.meta.org.as_deref().unwrap_or("linuxkit")
    }
    /// `org/image`, the repository name in a store or registry.
    pub fn repo(&self) -> String {
        format!("{}/{}", self.org(), self.image())
    }
    pub fn binary_path(&self) -> String {
        self.meta
            .binary
            .clone()
            .unwrap_or_else(|| format!("/usr/bin/{}", self.bin))
    }
    pub fn entrypoint(&self) -> Vec<String> {
        self.meta
            .entrypoint
            .clone()
            .unwrap_or_else(|| vec![self.binary_path()])
    }
}

/// Finds the workspace packages that carry a `[package.metadata.pkg]` table.
pub fn discover(metadata: &cargo_metadata::Metadata) -> anyhow::Result<Vec<Package>> {
    let mut found = Vec::new();
    for pkg in metadata.workspace_packages() {
        let Some(table) = pkg.metadata.get("pkg") else {
            continue;
        };
        let manifest_path = pkg.manifest_path.clone().into_std_path_buf();
        let meta = PkgMeta::parse(&manifest_path, table)?;
        let bins: Vec<&str> = pkg
            .targets
            .iter()
            .filter(|t| t.is_bin())
            .map(|t| t.name.as_str())
            .collect();
        let bin = match &meta.bin {
            Some(b) if bins.contains(&b.as_str()) => b.clone(),
            Some(b) => {
                return Err(MetadataError::Field {
                    manifest: manifest_path,
                    field: "bin".into(),
                    message: format!("no binary target named {b:?} (found {bins:?})"),
                }
                .into())
            }
            None if bins.len() == 1 => bins[0].to_string(),
            None => {
                return Err(MetadataError::Field {
                    manifest: manifest_path,
                    field: "bin".into(),
                    message: format!("expected the binary target to package, one of {bins:?}"),
                }
                .into())
            }
        };
        found.push(Package {
            name: pkg.name.to_string(),
            version: pkg.version.to_string(),
            id: pkg.id.clone(),
            dir: manifest_path.parent().unwrap().to_path_buf(),
            manifest_path,
            bin,
            license: pkg.license.clone(),
            repository: pkg.repository.clone(),
            meta,
        });
    }
    found.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(v: serde_json::Value) -> Result<PkgMeta, MetadataError> {
        PkgMeta::parse(Path::new("/x/Cargo.toml"), &v)
    }

    #[test]
    fn defaults_cover_every_platform() {
        let meta = parse(json!({})).unwrap();
        assert_eq!(meta.arches, Platform::ALL.to_vec());
        assert_eq!(meta.config, ImageConfig::default());
    }

    #[test]
    fn wrong_type_names_file_and_field() {
        let err = parse(json!({"config": {"capabilities": "CAP_NET_ADMIN"}})).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("/x/Cargo.toml"), "{text}");
        assert!(text.contains("config.capabilities"), "{text}");
        assert!(text.contains("expected a sequence"), "{text}");
    }

    #[test]
    fn unknown_field_is_refused() {
        let text = parse(json!({"config": {"capabilites": []}}))
            .unwrap_err()
            .to_string();
        assert!(text.contains("capabilites"), "{text}");
    }

    #[test]
    fn labels_linuxkit_refuses_are_refused_at_build_time() {
        for (config, field, reason) in [
            (
                json!({"cgroupns": "host"}),
                "config.cgroupns",
                "unknown field",
            ),
            (
                json!({"resources": {"unified": {}}}),
                "config.resources.unified",
                "unknown field",
            ),
            (
                json!({"devices": [{"path": "/dev/kmsg", "type": "c", "major": 1, "minor": 11}]}),
                "config.devices[0]",
                "mode",
            ),
            (
                json!({"capabilities.add": ["CAP_KILL"]}),
                "config.capabilities.add",
                "manifest",
            ),
        ] {
            let text = parse(json!({ "config": config })).unwrap_err().to_string();
            assert!(text.contains("/x/Cargo.toml"), "{text}");
            assert!(text.contains(&format!("`{field}`")), "{text}");
            assert!(text.contains(reason), "{text}");
        }
        let meta = parse(json!({"config": {"uid": "root", "annotations": {"a": "b"}}})).unwrap();
        assert_eq!(meta.config.annotations.unwrap()["a"], "b");
    }

    #[test]
    fn unknown_arch_and_bad_mode_are_refused() {
        let text = parse(json!({"arches": ["mips"]})).unwrap_err().to_string();
        assert!(text.contains("arches[0]"), "{text}");
        let text = parse(json!({"files": [{"src": "a", "dst": "/a", "mode": "999"}]}))
            .unwrap_err()
            .to_string();
        assert!(text.contains("files[0].mode"), "{text}");
        let text = parse(json!({"files": [{"src": "../a", "dst": "/a"}]}))
            .unwrap_err()
            .to_string();
        assert!(text.contains("files[0].src"), "{text}");
    }

    #[test]
    fn config_keeps_linuxkit_field_names() {
        let meta = parse(json!({"config": {
            "capabilities": ["CAP_NET_ADMIN"], "binds": ["/run/resolvconf:/etc"],
            "net": "host", "rootfsPropagation": "shared", "readonly": true,
            "devices": [{"path": "/dev/console", "type": "c", "major": 5, "minor": 1, "mode": "0666"}]
        }}))
        .unwrap();
        let label = serde_json::to_value(&meta.config).unwrap();
        assert_eq!(label["rootfsPropagation"], "shared");
        assert_eq!(label["devices"][0]["type"], "c");
        assert!(label.get("pid").is_none());
    }
}
