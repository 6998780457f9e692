//! Pulls one platform of an image from a registry into the store, as LinuxKit fills its cache
//! for `linuxkit build`: the index (or single manifest) under the reference, then that
//! platform's manifest, config and layers, each checked against its digest on arrival. Blobs
//! are written before the name, so a pull that fails half-way leaves no name pointing at a
//! partial image; the blobs already fetched are reused by the next try.

use std::io::Write;

use anyhow::{bail, Context};
use oci_spec::image::{Descriptor, ImageConfiguration, ImageIndex, ImageManifest, MediaType};

use crate::image::{descriptor_with, entry_for};
use crate::platform::Platform;
use crate::registry::{Client, Reference};
use crate::store::Store;

/// Pulls `reference` for `platform` and names it `ref_name` in the store; returns the digest of
/// what the reference points to (an index or a manifest).
pub fn pull(
    client: &Client,
    store: &Store,
    reference: &Reference,
    ref_name: &str,
    platform: Platform,
    log: &mut dyn Write,
) -> anyhow::Result<String> {
    let repo = reference.repo();
    writeln!(log, "pulling {reference} ({platform})")?;
    let top = client
        .get_manifest(&repo, reference.target(), &[])?
        .with_context(|| format!("{reference}: the registry has no such image"))?;
    let value: serde_json::Value = serde_json::from_slice(&top.bytes)
        .with_context(|| format!("{reference}: the manifest is not JSON"))?;
    let manifest = if value.get("manifests").is_some() {
        let index: ImageIndex = serde_json::from_slice(&top.bytes)
            .with_context(|| format!("{reference}: not an image index"))?;
        let entry = entry_for(&index, platform)
            .with_context(|| format!("{reference} has no {platform} image"))?;
        let digest = entry.digest().to_string();
        let media_type = entry.media_type().to_string();
        let manifest = client
            .get_manifest(&repo, &digest, &[media_type.as_str()])?
            .with_context(|| format!("{reference}: the index names {digest}, which is missing"))?;
        store.put_bytes(&manifest.digest, &manifest.bytes)?;
        manifest
    } else {
        top.clone()
    };
    let image: ImageManifest = serde_json::from_slice(&manifest.bytes)
        .with_context(|| format!("{reference}: {} is not an image manifest", manifest.digest))?;
    fetch_blob(client, store, &repo, image.config())?;
    if top.digest == manifest.digest {
        // A single-platform image: its config says which platform.
        let config: ImageConfiguration =
            serde_json::from_slice(&store.read(image.config().digest().as_ref())?)?;
        if config.architecture().to_string() != platform.arch() {
            bail!(
                "{reference} is a single-platform image for {}, not {platform}",
                config.architecture()
            );
        }
    }
    for layer in image.layers() {
        fetch_blob(client, store, &repo, layer)?;
    }
    store.put_bytes(&top.digest, &top.bytes)?;
    let media_type = match top.media_type.as_str() {
        "" => MediaType::ImageIndex,
        other => MediaType::from(other),
    };
    let lock = store.lock()?;
    store.set_ref(
        &lock,
        ref_name,
        descriptor_with(media_type, &top.digest, top.bytes.len() as u64),
    )?;
    Ok(top.digest)
}

/// One blob, unless the store already holds a valid copy; its size checked as well as its digest.
fn fetch_blob(
    client: &Client,
    store: &Store,
    repo: &crate::registry::Repo,
    descriptor: &Descriptor,
) -> anyhow::Result<()> {
    let digest = descriptor.digest().to_string();
    if store.read(&digest).is_ok() {
        return Ok(());
    }
    let bytes = client.get_blob(repo, &digest)?;
    if bytes.len() as u64 != descriptor.size() {
        bail!(
            "blob {digest} from {repo}: {} bytes, its descriptor says {}",
            bytes.len(),
            descriptor.size()
        );
    }
    store.put_bytes(&digest, &bytes)?;
    Ok(())
}
