//! Image config, manifests and index, serialized to exact, canonical bytes.

use std::collections::HashMap;

use anyhow::Context;
use oci_spec::image::{
    Arch, ConfigBuilder, Descriptor, DescriptorBuilder, Digest, ImageConfigurationBuilder,
    ImageIndexBuilder, ImageManifestBuilder, MediaType, Os, PlatformBuilder, RootFsBuilder,
};

use crate::inputs::sha256_hex;
use crate::platform::Platform;

pub const SPDX_MEDIA_TYPE: &str = "application/spdx+json";
/// The empty config of an artifact manifest, `{}`.
pub const EMPTY_JSON: &[u8] = b"{}";

/// JSON with object keys sorted and no whitespace: the same value always gives the same bytes.
pub fn canonical_json(value: &serde_json::Value) -> Vec<u8> {
    fn sorted(v: &serde_json::Value) -> serde_json::Value {
        match v {
            serde_json::Value::Object(map) => {
                let mut keys: Vec<&String> = map.keys().collect();
                keys.sort();
                let mut out = serde_json::Map::new();
                for k in keys {
                    out.insert(k.clone(), sorted(&map[k]));
                }
                serde_json::Value::Object(out)
            }
            serde_json::Value::Array(items) => {
                serde_json::Value::Array(items.iter().map(sorted).collect())
            }
            other => other.clone(),
        }
    }
    serde_json::to_vec(&sorted(value)).expect("a JSON value always serializes")
}

pub fn to_canonical<T: serde::Serialize>(value: &T) -> anyhow::Result<Vec<u8>> {
    Ok(canonical_json(&serde_json::to_value(value)?))
}

/// Bytes with their media type and digest, as they are stored and pushed.
#[derive(Debug, Clone)]
pub struct Blob {
    pub media_type: MediaType,
    pub bytes: Vec<u8>,
    pub digest: String,
}

impl Blob {
    pub fn new(media_type: MediaType, bytes: Vec<u8>) -> Blob {
        let digest = format!("sha256:{}", sha256_hex(&bytes));
        Blob {
            media_type,
            bytes,
            digest,
        }
    }

    pub fn descriptor(&self) -> Descriptor {
        Descriptor::new(
            self.media_type.clone(),
            self.bytes.len() as u64,
            parse_digest(&self.digest),
        )
    }
}

pub fn parse_digest(digest: &str) -> Digest {
    digest.parse().expect("digests made here are well-formed")
}

fn arch(platform: Platform) -> Arch {
    match platform {
        Platform::Amd64 => Arch::Amd64,
        Platform::Arm64 => Arch::ARM64,
        Platform::S390x => Arch::s390x,
    }
}

/// The entry of an index for `platform`, if it has one.
pub fn entry_for(index: &oci_spec::image::ImageIndex, platform: Platform) -> Option<&Descriptor> {
    index.manifests().iter().find(|m| {
        m.platform()
            .as_ref()
            .is_some_and(|p| p.architecture().to_string() == platform.arch())
    })
}

pub fn platform_of(platform: Platform) -> oci_spec::image::Platform {
    PlatformBuilder::default()
        .architecture(arch(platform))
        .os(Os::Linux)
        .build()
        .expect("architecture and os are set")
}

/// What goes into one platform's image config.
pub struct ConfigSpec<'a> {
    pub platform: Platform,
    pub created: &'a str,
    pub entrypoint: Vec<String>,
    pub cmd: Vec<String>,
    pub env: Vec<String>,
    pub user: Option<String>,
    pub workdir: Option<String>,
    pub labels: &'a HashMap<String, String>,
    pub diff_id: &'a str,
}

pub fn config(spec: &ConfigSpec<'_>) -> anyhow::Result<Blob> {
    let mut runtime = ConfigBuilder::default();
    runtime = runtime
        .entrypoint(spec.entrypoint.clone())
        .labels(spec.labels.clone());
    if !spec.cmd.is_empty() {
        runtime = runtime.cmd(spec.cmd.clone());
    }
    if !spec.env.is_empty() {
        runtime = runtime.env(spec.env.clone());
    }
    if let Some(user) = &spec.user {
        runtime = runtime.user(user.clone());
    }
    if let Some(dir) = &spec.workdir {
        runtime = runtime.working_dir(dir.clone());
    }
    let config = ImageConfigurationBuilder::default()
        .created(spec.created.to_string())
        .architecture(arch(spec.platform))
        .os(Os::Linux)
        .config(runtime.build().context("image config")?)
        .rootfs(
            RootFsBuilder::default()
                .typ("layers")
                .diff_ids(vec![spec.diff_id.to_string()])
                .build()
                .context("rootfs")?,
        )
        .build()
        .context("image configuration")?;
    Ok(Blob::new(MediaType::ImageConfig, to_canonical(&config)?))
}

pub fn manifest(
    config: &Blob,
    layer: &Blob,
    annotations: &HashMap<String, String>,
) -> anyhow::Result<Blob> {
    let manifest = ImageManifestBuilder::default()
        .schema_version(2u32)
        .media_type(MediaType::ImageManifest)
        .config(config.descriptor())
        .layers(vec![layer.descriptor()])
        .annotations(annotations.clone())
        .build()
        .context("image manifest")?;
    Ok(Blob::new(
        MediaType::ImageManifest,
        to_canonical(&manifest)?,
    ))
}

/// An index over per-platform manifests, sorted by platform.
pub fn index(
    manifests: &[(Platform, Descriptor)],
    annotations: &HashMap<String, String>,
) -> anyhow::Result<Blob> {
    let mut entries: Vec<(Platform, Descriptor)> = manifests.to_vec();
    entries.sort_by_key(|(p, _)| *p);
    let descriptors = entries
        .into_iter()
        .map(|(p, mut d)| {
            d.set_platform(Some(platform_of(p)));
            d
        })
        .collect::<Vec<_>>();
    let index = ImageIndexBuilder::default()
        .schema_version(2u32)
        .media_type(MediaType::ImageIndex)
        .manifests(descriptors)
        .annotations(annotations.clone())
        .build()
        .context("image index")?;
    Ok(Blob::new(MediaType::ImageIndex, to_canonical(&index)?))
}

/// An OCI 1.1 artifact manifest carrying an SBOM, whose subject is an image manifest.
pub fn sbom_manifest(sbom: &Blob, subject: &Blob, created: &str) -> anyhow::Result<Blob> {
    let empty = Blob::new(MediaType::EmptyJSON, EMPTY_JSON.to_vec());
    let mut annotations = HashMap::new();
    annotations.insert(
        "org.opencontainers.image.created".to_string(),
        created.to_string(),
    );
    let manifest = ImageManifestBuilder::default()
        .schema_version(2u32)
        .media_type(MediaType::ImageManifest)
        .artifact_type(MediaType::Other(SPDX_MEDIA_TYPE.into()))
        .config(empty.descriptor())
        .layers(vec![sbom.descriptor()])
        .subject(subject.descriptor())
        .annotations(annotations)
        .build()
        .context("sbom manifest")?;
    Ok(Blob::new(
        MediaType::ImageManifest,
        to_canonical(&manifest)?,
    ))
}

/// A descriptor with the annotations the layout's index.json gives it.
pub fn with_annotations(mut d: Descriptor, annotations: HashMap<String, String>) -> Descriptor {
    d.set_annotations(Some(annotations));
    d
}

pub fn descriptor_with(media_type: MediaType, digest: &str, size: u64) -> Descriptor {
    DescriptorBuilder::default()
        .media_type(media_type)
        .digest(parse_digest(digest))
        .size(size)
        .build()
        .expect("all fields set")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_json_sorts_keys_at_every_level() {
        let v: serde_json::Value =
            serde_json::from_str(r#"{"b":1,"a":{"d":[{"z":1,"y":2}],"c":2}}"#).unwrap();
        assert_eq!(
            String::from_utf8(canonical_json(&v)).unwrap(),
            r#"{"a":{"c":2,"d":[{"y":2,"z":1}]},"b":1}"#
        );
    }

    #[test]
    fn config_is_stable_and_complete() {
        let mut labels = HashMap::new();
        for i in 0..20 {
            labels.insert(format!("k{i}"), format!("v{i}"));
        }
        let spec = ConfigSpec {
            platform: Platform::S390x,
            created: "1970-01-01T00:00:00Z",
            entrypoint: vec!["/usr/bin/x".into()],
            cmd: vec!["-v".into()],
            env: vec!["A=1".into()],
            user: None,
            workdir: None,
            labels: &labels,
            diff_id: "sha256:0000000000000000000000000000000000000000000000000000000000000000",
        };
        let a = config(&spec).unwrap();
        let b = config(&spec).unwrap();
        assert_eq!(a.bytes, b.bytes);
        let v: serde_json::Value = serde_json::from_slice(&a.bytes).unwrap();
        assert_eq!(v["architecture"], "s390x");
        assert_eq!(v["config"]["Entrypoint"][0], "/usr/bin/x");
        assert_eq!(v["rootfs"]["type"], "layers");
    }
}
