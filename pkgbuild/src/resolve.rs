//! `pkgbuild resolve` and `pkgbuild verify`: pin a LinuxKit manifest's references by digest, and
//! check that every reference is pinned and held.

use std::collections::BTreeMap;
use std::io::Write;

use oci_spec::image::{ImageIndex, ImageManifest, MediaType};

use crate::build::{self, BuildOptions};
use crate::linuxkit::{self, ImageRef};
use crate::platform::Platform;
use crate::store::{Store, StoreError};
use crate::workspace::Workspace;

/// Rewrites the references to workspace packages as `name:tag@sha256:<index digest>`, building
/// what the store lacks. `org` matches references pushed under another namespace.
pub fn resolve(
    ws: &Workspace,
    store: &Store,
    text: &str,
    org: Option<&str>,
    opts: &BuildOptions,
    log: &mut dyn Write,
) -> anyhow::Result<String> {
    let mut pinned: BTreeMap<String, String> = BTreeMap::new();
    for r in linuxkit::image_refs(text) {
        let name = linuxkit::parse_reference(&r.reference).name.to_string();
        if pinned.contains_key(&name) {
            continue;
        }
        let Some(pkg) = ws.packages.iter().find(|p| {
            name == p.repo()
                || org.is_some_and(|o| name == format!("{}/{}", o.trim_end_matches('/'), p.image()))
        }) else {
            continue;
        };
        let built = build::build_package(ws, store, pkg, opts, log)?;
        let tag = built
            .reference
            .rsplit_once(':')
            .map(|(_, t)| t)
            .unwrap_or_default();
        pinned.insert(name.clone(), format!("{name}:{tag}@{}", built.index_digest));
    }
    Ok(linuxkit::rewrite(text, |r| {
        pinned
            .get(linuxkit::parse_reference(&r.reference).name)
            .cloned()
    }))
}

/// A reference that fails verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub line: usize,
    pub reference: String,
    pub message: String,
}

/// Checks every reference against the local store: pinned, present, intact, every platform.
pub fn verify_local(store: &Store, text: &str, platforms: &[Platform]) -> Vec<Problem> {
    linuxkit::image_refs(text)
        .into_iter()
        .filter_map(|r| {
            check_local(store, &r, platforms)
                .err()
                .map(|message| Problem {
                    line: r.line,
                    reference: r.reference.clone(),
                    message,
                })
        })
        .collect()
}

fn check_local(store: &Store, r: &ImageRef, platforms: &[Platform]) -> Result<(), String> {
    let digest = pinned_digest(&r.reference)?;
    let bytes = read(store, digest)?;
    let media_type = serde_json::from_slice::<serde_json::Value>(&bytes)
        .ok()
        .and_then(|v| v["mediaType"].as_str().map(String::from))
        .unwrap_or_default();
    if media_type == MediaType::ImageIndex.to_string() {
        let index: ImageIndex =
            serde_json::from_slice(&bytes).map_err(|e| format!("bad index {digest}: {e}"))?;
        for platform in platforms {
            let entry = index
                .manifests()
                .iter()
                .find(|m| {
                    m.platform()
                        .as_ref()
                        .is_some_and(|p| p.architecture().to_string() == platform.arch())
                })
                .ok_or_else(|| format!("has no {platform} image"))?;
            check_manifest(store, entry.digest().as_ref())?;
        }
        Ok(())
    } else {
        check_manifest(store, digest)
    }
}

fn check_manifest(store: &Store, digest: &str) -> Result<(), String> {
    let manifest: ImageManifest = serde_json::from_slice(&read(store, digest)?)
        .map_err(|e| format!("bad manifest {digest}: {e}"))?;
    for blob in std::iter::once(manifest.config()).chain(manifest.layers()) {
        read(store, blob.digest().as_ref())?;
    }
    Ok(())
}

fn read(store: &Store, digest: &str) -> Result<Vec<u8>, String> {
    store.read(digest).map_err(|e| match e {
        StoreError::Missing { .. } => format!("{digest} is not in the local store"),
        other => other.to_string(),
    })
}

/// Checks every reference against its registry: pinned, held, every platform with its blobs.
pub fn verify_registry(
    client: &crate::registry::Client,
    text: &str,
    platforms: &[Platform],
) -> Vec<Problem> {
    linuxkit::image_refs(text)
        .into_iter()
        .filter_map(|r| {
            check_registry(client, &r, platforms)
                .err()
                .map(|message| Problem {
                    line: r.line,
                    reference: r.reference.clone(),
                    message,
                })
        })
        .collect()
}

fn check_registry(
    client: &crate::registry::Client,
    r: &ImageRef,
    platforms: &[Platform],
) -> Result<(), String> {
    let digest = pinned_digest(&r.reference)?;
    let reference = crate::registry::Reference::parse(&r.reference).map_err(|e| e.to_string())?;
    let repo = reference.repo();
    let manifest = client
        .get_manifest(&repo, digest, &[])
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("{repo} does not hold {digest}"))?;
    let check_image = |digest: &str| -> Result<(), String> {
        let m = client
            .get_manifest(&repo, digest, &[MediaType::ImageManifest.as_ref()])
            .map_err(|e| e.to_string())?
            .ok_or_else(|| format!("{repo} does not hold manifest {digest}"))?;
        let parsed: ImageManifest =
            serde_json::from_slice(&m.bytes).map_err(|e| format!("bad manifest {digest}: {e}"))?;
        for blob in std::iter::once(parsed.config()).chain(parsed.layers()) {
            if !client
                .blob_exists(&repo, blob.digest().as_ref())
                .map_err(|e| e.to_string())?
            {
                return Err(format!("{repo} lacks blob {} of {digest}", blob.digest()));
            }
        }
        Ok(())
    };
    if manifest.media_type == MediaType::ImageIndex.as_ref() {
        let index: ImageIndex = serde_json::from_slice(&manifest.bytes)
            .map_err(|e| format!("bad index {digest}: {e}"))?;
        for platform in platforms {
            let entry = index
                .manifests()
                .iter()
                .find(|m| {
                    m.platform()
                        .as_ref()
                        .is_some_and(|p| p.architecture().to_string() == platform.arch())
                })
                .ok_or_else(|| format!("has no {platform} image"))?;
            check_image(entry.digest().as_ref())?;
        }
        Ok(())
    } else {
        check_image(digest)
    }
}

/// The digest a reference is pinned to, or why it is not pinned.
pub fn pinned_digest(reference: &str) -> Result<&str, String> {
    match linuxkit::parse_reference(reference).digest {
        Some(d) if linuxkit::is_sha256_digest(d) => Ok(d),
        Some(d) => Err(format!("{d} is not a sha256 digest")),
        None => Err("not pinned by digest".into()),
    }
}
