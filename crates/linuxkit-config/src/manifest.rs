//! A LinuxKit manifest (the YAML `linuxkit build` reads), as typed values, checked as LinuxKit
//! checks it. It is read from a JSON value: the caller parses the YAML.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::config::{Id, ImageConfig, SchemaError};

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Manifest {
    pub kernel: Option<Kernel>,
    pub init: Vec<String>,
    pub onboot: Vec<ImageConfig>,
    pub onshutdown: Vec<ImageConfig>,
    pub services: Vec<ImageConfig>,
    pub files: Vec<File>,
    pub volumes: Vec<Volume>,
}

/// One `volumes:` entry: a folder under `/containers/volumes/NAME`, from an image or blank,
/// that entries bind by name (`NAME:/dst[:ro]`); init mounts it at boot.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Volume {
    pub name: String,
    pub image: Option<String>,
    #[serde(default)]
    pub readonly: bool,
    /// Only the default (the image's files) is supported; LinuxKit's `oci` layout is refused.
    pub format: Option<String>,
    pub platforms: Option<Vec<String>>,
}

/// Where a volume's files are seen once init has mounted it.
pub fn volume_path(name: &str) -> String {
    format!("/containers/volumes/{name}/merged")
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Kernel {
    #[serde(default)]
    pub image: String,
    #[serde(default)]
    pub cmdline: String,
    /// The kernel's file in the image; default `kernel`.
    pub binary: Option<String>,
    /// The modules' tar in the image; default `kernel.tar`, `none` for none.
    pub tar: Option<String>,
    pub ucode: Option<String>,
}

/// One `files:` entry: a file, folder or link written into the root.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct File {
    pub path: String,
    #[serde(default)]
    pub directory: bool,
    pub symlink: Option<String>,
    pub contents: Option<String>,
    /// A file on the building machine, relative to the manifest; `~/` is the home folder.
    pub source: Option<String>,
    /// `yaml` or `json`: the manifest itself, in that form.
    pub metadata: Option<String>,
    /// A missing `source` is skipped rather than an error.
    #[serde(default)]
    pub optional: bool,
    /// Octal string; default 0600, 0700 for folders.
    pub mode: Option<String>,
    pub uid: Option<Id>,
    pub gid: Option<Id>,
}

/// The first id LinuxKit hands to a container name used as a uid or gid.
const FIRST_CONTAINER_ID: u32 = 100;

impl Manifest {
    /// The ids of names used as uid/gid, as LinuxKit numbers them: every onboot, onshutdown and
    /// service entry in that order from 100 on, keyed by name (a name used again takes the
    /// later number).
    pub fn ids(&self) -> BTreeMap<String, u32> {
        let entries = self
            .onboot
            .iter()
            .chain(&self.onshutdown)
            .chain(&self.services);
        entries
            .zip(FIRST_CONTAINER_ID..)
            .map(|(entry, id)| (entry.name.clone().unwrap_or_default(), id))
            .collect()
    }

    /// `entry` with the volume names of its `binds` and `binds.add` (a source that is not a
    /// path) replaced by the volumes' paths, as LinuxKit does; a read-only volume must be bound
    /// with exactly `:ro`.
    pub fn volume_binds(&self, entry: &ImageConfig) -> Result<ImageConfig, SchemaError> {
        let mut entry = entry.clone();
        for (field, list) in [
            ("binds", &mut entry.binds),
            ("binds.add", &mut entry.binds_add),
        ] {
            for (i, bind) in list.iter_mut().flatten().enumerate() {
                let Some((source, rest)) = bind.split_once(':') else {
                    continue;
                };
                if source.starts_with('/') {
                    continue;
                }
                let fail = |reason: String| SchemaError {
                    field: format!("{field}[{i}]"),
                    reason,
                };
                let volume = self
                    .volumes
                    .iter()
                    .find(|v| v.name == source)
                    .ok_or_else(|| fail(format!("{bind:?}: no volume named {source:?}")))?;
                if volume.readonly && rest.split(':').nth(1) != Some("ro") {
                    return Err(fail(format!(
                        "{bind:?}: volume {source:?} is read-only: bind it with :ro"
                    )));
                }
                *bind = format!("{}:{rest}", volume_path(source));
            }
        }
        Ok(entry)
    }

    /// Reads a manifest, refusing what LinuxKit refuses; errors carry the path of the field
    /// (`services[2].binds[0]`).
    pub fn parse(value: &Value) -> Result<Manifest, SchemaError> {
        let err = |field: String, reason: String| SchemaError { field, reason };
        let map = value
            .as_object()
            .ok_or_else(|| err(String::new(), "a manifest is a mapping".into()))?;
        let mut manifest = Manifest::default();
        for (key, v) in map {
            match key.as_str() {
                "kernel" => {
                    manifest.kernel = Some(
                        serde_path_to_error::deserialize(v)
                            .map_err(|e| err(format!("kernel.{}", e.path()), e.inner().to_string()))?,
                    )
                }
                "init" => {
                    manifest.init = serde_json::from_value(v.clone())
                        .map_err(|e| err("init".into(), format!("expected a list of image references: {e}")))?
                }
                "onboot" | "onshutdown" | "services" => {
                    let list = v
                        .as_array()
                        .ok_or_else(|| err(key.clone(), "expected a list of entries".into()))?;
                    let mut entries = Vec::new();
                    for (i, item) in list.iter().enumerate() {
                        let entry = ImageConfig::parse_entry(item).map_err(|e| {
                            let at = if e.field.is_empty() {
                                format!("{key}[{i}]")
                            } else {
                                format!("{key}[{i}].{}", e.field)
                            };
                            err(at, e.reason)
                        })?;
                        entries.push(entry);
                    }
                    match key.as_str() {
                        "onboot" => manifest.onboot = entries,
                        "onshutdown" => manifest.onshutdown = entries,
                        _ => manifest.services = entries,
                    }
                }
                "files" => {
                    manifest.files = serde_path_to_error::deserialize(v)
                        .map_err(|e| err(format!("files{}", bracket(&e.path().to_string())), e.inner().to_string()))?
                }
                "volumes" => {
                    manifest.volumes = serde_path_to_error::deserialize(v).map_err(|e| {
                        err(format!("volumes{}", bracket(&e.path().to_string())), e.inner().to_string())
                    })?
                }
                // Docker Content Trust, long gone: accepted, as LinuxKit still accepts it.
                "trust" => {}
                other => {
                    return Err(err(
                        other.into(),
                        "unknown key (expected kernel, init, volumes, onboot, onshutdown, services, files, trust)".into(),
                    ))
                }
            }
        }
        let mut names = std::collections::BTreeSet::new();
        for (i, s) in manifest.services.iter().enumerate() {
            let name = s.name.clone().unwrap_or_default();
            if !names.insert(name.clone()) {
                return Err(err(
                    format!("services[{i}].name"),
                    format!("duplicate service name {name:?}"),
                ));
            }
        }
        let mut volume_names = std::collections::BTreeSet::new();
        for (i, v) in manifest.volumes.iter().enumerate() {
            let valid = !v.name.is_empty()
                && v.name.bytes().all(|b| {
                    b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-'
                });
            if !valid {
                return Err(err(
                    format!("volumes[{i}].name"),
                    format!("{:?}: lowercase letters, digits, _ and - only", v.name),
                ));
            }
            if !volume_names.insert(v.name.clone()) {
                return Err(err(
                    format!("volumes[{i}].name"),
                    format!("duplicate volume name {:?}", v.name),
                ));
            }
            if let Some(format) = v.format.as_deref().filter(|f| !f.is_empty()) {
                return Err(err(
                    format!("volumes[{i}].format"),
                    format!("{format:?}: only the default format (the image's files) is supported"),
                ));
            }
        }
        for (section, entries) in [
            ("onboot", &manifest.onboot),
            ("onshutdown", &manifest.onshutdown),
            ("services", &manifest.services),
        ] {
            for (i, entry) in entries.iter().enumerate() {
                manifest
                    .volume_binds(entry)
                    .map_err(|e| err(format!("{section}[{i}].{}", e.field), e.reason))?;
            }
        }
        for (i, f) in manifest.files.iter().enumerate() {
            let kinds = [
                f.directory,
                f.symlink.is_some(),
                f.contents.is_some(),
                f.source.is_some(),
                f.metadata.is_some(),
            ];
            if kinds.iter().filter(|k| **k).count() > 1 {
                return Err(err(
                    format!("files[{i}]"),
                    "only one of directory, symlink, contents, source and metadata".into(),
                ));
            }
            if f.path.is_empty() {
                return Err(err(
                    format!("files[{i}].path"),
                    "a file needs a path".into(),
                ));
            }
            if !(kinds.contains(&true)) {
                return Err(err(
                    format!("files[{i}]"),
                    "one of directory, symlink, contents, source or metadata is needed".into(),
                ));
            }
            if let Some(format) = &f.metadata {
                if format != "yaml" && format != "json" {
                    return Err(err(
                        format!("files[{i}].metadata"),
                        format!("{format:?}: yaml or json"),
                    ));
                }
            }
            if let Some(mode) = &f.mode {
                crate::config::parse_octal(mode).map_err(|r| err(format!("files[{i}].mode"), r))?;
            }
        }
        Ok(manifest)
    }
}

/// serde_path_to_error writes `[0].path`; as a suffix of `files` that reads well already.
fn bracket(path: &str) -> String {
    if path == "." {
        String::new()
    } else {
        path.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_linuxkit_manifest_reads_into_types() {
        let m = Manifest::parse(&json!({
            "kernel": {"image": "linuxkit/kernel:6.6.71", "cmdline": "console=ttyS0"},
            "init": ["linuxkit/init:abc", "linuxkit/runc:def"],
            "onboot": [{"name": "dhcpcd", "image": "linuxkit/dhcpcd:0.1.0", "command": ["/sbin/dhcpcd", "-1"]}],
            "services": [{"name": "sshd", "image": "linuxkit/sshd-wrap:0.1.0", "binds.add": ["/a:/a"]}],
            "files": [{"path": "etc/hostname", "contents": "box\n", "mode": "0644"}],
            "trust": {"org": ["linuxkit"]},
        }))
        .unwrap();
        assert_eq!(m.kernel.unwrap().cmdline, "console=ttyS0");
        assert_eq!(m.init.len(), 2);
        assert_eq!(m.onboot[0].command.as_ref().unwrap()[0], "/sbin/dhcpcd");
        assert_eq!(m.services[0].binds_add.as_ref().unwrap()[0], "/a:/a");
        assert_eq!(m.files[0].contents.as_deref(), Some("box\n"));
    }

    #[test]
    fn errors_name_the_field() {
        let e = Manifest::parse(&json!({"services": [{"name": "a", "image": "x"}, {"name": "b", "image": "y", "cgroupns": "host"}]}))
            .unwrap_err();
        assert_eq!(e.field, "services[1].cgroupns");
        let e = Manifest::parse(&json!({"onboot": [{"image": "x"}]})).unwrap_err();
        assert_eq!(e.field, "onboot[0].name");
        let e = Manifest::parse(&json!({"kernel": {"image": "k", "cmdlin": ""}})).unwrap_err();
        assert!(e.field.starts_with("kernel"), "{e}");
        let e = Manifest::parse(&json!({"volume": []})).unwrap_err();
        assert_eq!(e.field, "volume");
        let e = Manifest::parse(
            &json!({"services": [{"name": "a", "image": "x"}, {"name": "a", "image": "y"}]}),
        )
        .unwrap_err();
        assert_eq!(e.field, "services[1].name");
        let e =
            Manifest::parse(&json!({"files": [{"path": "a", "contents": "x", "directory": true}]}))
                .unwrap_err();
        assert_eq!(e.field, "files[0]");
        let e = Manifest::parse(&json!({"files": [{"path": "a", "mode": "0644"}]})).unwrap_err();
        assert_eq!(e.field, "files[0]");
        let e =
            Manifest::parse(&json!({"files": [{"path": "a", "metadata": "toml"}]})).unwrap_err();
        assert_eq!(e.field, "files[0].metadata");
    }

    #[test]
    fn container_names_number_from_100_in_manifest_order() {
        let m = Manifest::parse(&json!({
            "onboot": [{"name": "a", "image": "x"}, {"name": "b", "image": "x"}],
            "onshutdown": [{"name": "c", "image": "x"}],
            "services": [{"name": "a", "image": "x"}, {"name": "d", "image": "x"}],
        }))
        .unwrap();
        let ids = m.ids();
        let expected = [("a", 103), ("b", 101), ("c", 102), ("d", 104)];
        assert_eq!(
            ids.iter()
                .map(|(k, v)| (k.as_str(), *v))
                .collect::<Vec<_>>(),
            expected
        );
        assert_eq!(crate::Id::Name("c".into()).number(&ids), Ok(102));
        assert_eq!(crate::Id::Name("root".into()).number(&ids), Ok(0));
        assert!(crate::Id::Name("nobody".into()).number(&ids).is_err());
    }

    #[test]
    fn volumes_are_checked_and_bound_by_name() {
        let m = Manifest::parse(&json!({
            "volumes": [{"name": "data"}, {"name": "tools", "image": "x:1", "readonly": true}],
            "services": [{"name": "a", "image": "y", "binds": ["data:/data", "/etc:/etc"],
                          "binds.add": ["tools:/tools:ro"]}],
        }))
        .unwrap();
        let bound = m.volume_binds(&m.services[0]).unwrap();
        assert_eq!(
            bound.binds.unwrap(),
            ["/containers/volumes/data/merged:/data", "/etc:/etc"]
        );
        assert_eq!(
            bound.binds_add.unwrap(),
            ["/containers/volumes/tools/merged:/tools:ro"]
        );
        let bad = [
            (json!({"volumes": [{"name": "Data"}]}), "volumes[0].name"),
            (
                json!({"volumes": [{"name": "a"}, {"name": "a"}]}),
                "volumes[1].name",
            ),
            (
                json!({"volumes": [{"name": "a", "format": "oci"}]}),
                "volumes[0].format",
            ),
            (json!({"volumes": [{"name": "a", "size": 1}]}), "volumes[0]"),
            (
                json!({"services": [{"name": "s", "image": "y", "binds": ["nope:/x"]}]}),
                "services[0].binds[0]",
            ),
            (
                json!({"volumes": [{"name": "r", "readonly": true}],
                       "onboot": [{"name": "s", "image": "y", "binds.add": ["r:/x:ro,rshared"]}]}),
                "onboot[0].binds.add[0]",
            ),
        ];
        for (manifest, field) in bad {
            let e = Manifest::parse(&manifest).unwrap_err();
            assert!(e.field.starts_with(field), "{manifest}: {e}");
        }
    }
}
