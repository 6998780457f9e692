//! An image in the store -> an OCI bundle laid out as LinuxKit lays it out: the image's files in
//! `lower/` (read-write containers, under an overlay) or `rootfs/` (read-only ones), `config.json`
//! from the label + manifest entry conversion, and `runtime.json` with the rootfs mounts first.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use linuxkit_config::{bundle_runtime, extract_dir, to_oci, ImageConfig, ImageDefaults, Runtime};
use oci_spec::image::{ImageConfiguration, ImageIndex, ImageManifest};

use crate::build::MOBY_CONFIG_LABEL;
use crate::platform::Platform;
use crate::store::Store;

/// One platform's image, read from the store.
pub struct StoredImage {
    pub config: ImageConfiguration,
    /// The layers' digests, bottom first.
    pub layers: Vec<String>,
}

impl StoredImage {
    /// The image for `platform` of `digest`: an index, or a single manifest (pulled images may
    /// be either).
    pub fn read(store: &Store, digest: &str, platform: Platform) -> anyhow::Result<Self> {
        let top = store.read(digest)?;
        let value: serde_json::Value = serde_json::from_slice(&top)
            .with_context(|| format!("{digest} is not an image index or manifest"))?;
        let manifest_bytes = if value.get("manifests").is_some() {
            let index: ImageIndex = serde_json::from_slice(&top)
                .with_context(|| format!("{digest} is not an image index"))?;
            let entry = crate::image::entry_for(&index, platform)
                .with_context(|| format!("the image has no {platform} manifest"))?;
            store.read(entry.digest().as_ref())?
        } else {
            top
        };
        let manifest: ImageManifest = serde_json::from_slice(&manifest_bytes)
            .with_context(|| format!("{digest}: not an image manifest"))?;
        let config: ImageConfiguration =
            serde_json::from_slice(&store.read(manifest.config().digest().as_ref())?)?;
        Ok(StoredImage {
            config,
            layers: manifest
                .layers()
                .iter()
                .map(|l| l.digest().to_string())
                .collect(),
        })
    }

    /// A layer's tar stream: gzip'd or plain, told by its first bytes (registries' media types
    /// for the two vary).
    pub fn layer_tar(bytes: &[u8]) -> anyhow::Result<Box<dyn std::io::Read + '_>> {
        match bytes {
            [0x1f, 0x8b, ..] => Ok(Box::new(flate2::read::GzDecoder::new(bytes))),
            [0x28, 0xb5, 0x2f, 0xfd, ..] => bail!("zstd-compressed layers are not supported"),
            _ => Ok(Box::new(bytes)),
        }
    }

    /// The contents of the regular file at `path` once every layer is applied.
    pub fn file(&self, store: &Store, path: &str) -> anyhow::Result<Vec<u8>> {
        let mut tree = crate::rootfs::Root::default();
        for layer in &self.layers {
            let bytes = store.read(layer)?;
            tree.apply_tar(Self::layer_tar(&bytes)?, "")?;
        }
        match tree.get(path).map(|node| &node.kind) {
            Some(crate::rootfs::Kind::File(data)) => Ok(data.clone()),
            Some(_) => bail!("{path} in the image is not a regular file"),
            None => bail!("the image has no {path}"),
        }
    }

    /// The label, checked as LinuxKit checks it.
    pub fn label(&self) -> anyhow::Result<ImageConfig> {
        let text = self
            .config
            .config()
            .as_ref()
            .and_then(|c| c.labels().as_ref())
            .and_then(|l| l.get(MOBY_CONFIG_LABEL));
        match text {
            None => Ok(ImageConfig::default()),
            Some(text) => {
                let value: serde_json::Value = serde_json::from_str(text)
                    .with_context(|| format!("the {MOBY_CONFIG_LABEL} label is not JSON"))?;
                ImageConfig::parse_label(&value)
                    .with_context(|| format!("the {MOBY_CONFIG_LABEL} label"))
            }
        }
    }

    /// Entrypoint, Cmd, Env and WorkingDir: the image config's word on how to run it.
    pub fn defaults(&self) -> ImageDefaults {
        let c = self.config.config().clone().unwrap_or_default();
        ImageDefaults {
            entrypoint: c.entrypoint().clone().unwrap_or_default(),
            cmd: c.cmd().clone().unwrap_or_default(),
            env: c.env().clone().unwrap_or_default(),
            working_dir: c.working_dir().clone().unwrap_or_default(),
        }
    }

    /// Unpacks the layers into `dir`, keeping modes and owners.
    pub fn unpack(&self, store: &Store, dir: &Path) -> anyhow::Result<()> {
        std::fs::create_dir_all(dir)?;
        for digest in &self.layers {
            let bytes = store.read(digest)?;
            let mut archive = tar::Archive::new(Self::layer_tar(&bytes)?);
            archive.set_preserve_permissions(true);
            archive.set_preserve_ownerships(true);
            archive.set_unpack_xattrs(false);
            archive
                .unpack(dir)
                .with_context(|| format!("unpacking layer {digest} into {}", dir.display()))?;
        }
        Ok(())
    }
}

/// A bundle on disk, ready for `runc create`.
pub struct Bundle {
    pub dir: PathBuf,
    pub spec: serde_json::Value,
    /// runtime.json as written, rootfs mounts included.
    pub runtime: Runtime,
}

/// Writes a bundle at `dir` (absolute) for `image` run with the manifest `entry`'s overrides.
pub fn write_bundle(
    store: &Store,
    image: &StoredImage,
    entry: &ImageConfig,
    dir: &Path,
) -> anyhow::Result<Bundle> {
    if !dir.is_absolute() {
        bail!("a bundle needs an absolute path, got {}", dir.display());
    }
    let label = image.label()?;
    let (spec, runtime) = to_oci(&label, entry, &image.defaults(), &BTreeMap::new())
        .context("turning the label and the entry into a runtime spec")?;
    let readonly = spec["root"]["readonly"] == serde_json::Value::Bool(true);
    let files = dir.join(extract_dir(readonly));
    image.unpack(store, &files)?;
    std::fs::create_dir_all(dir.join("rootfs"))?;
    let dir_text = dir.to_str().context("bundle path is not UTF-8")?;
    let runtime = bundle_runtime(
        dir_text,
        readonly,
        files.to_str().unwrap_or(dir_text),
        &runtime,
    );
    write_json(&dir.join("config.json"), &spec)?;
    write_json(&dir.join("runtime.json"), &runtime)?;
    Ok(Bundle {
        dir: dir.to_path_buf(),
        spec,
        runtime,
    })
}

fn write_json<T: serde::Serialize>(path: &Path, value: &T) -> anyhow::Result<()> {
    let mut bytes = serde_json::to_vec_pretty(value)?;
    bytes.push(b'\n');
    let dir = path.parent().context("no parent folder")?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    std::io::Write::write_all(&mut tmp, &bytes)?;
    tmp.persist(path)
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}
