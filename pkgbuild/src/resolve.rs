//! `pkgbuild resolve` and `pkgbuild verify`: pin a LinuxKit manifest's references by digest, and
//! check that every reference is pinned and held.

use std::collections::BTreeMap;
use std::io::Write;

use anyhow::Context;

use oci_spec::image::{ImageIndex, ImageManifest, MediaType};

use crate::build::{self, BuildOptions};
use crate::linuxkit::{self, ImageRef};
use crate::platform::Platform;
use crate::registry::{Client, Reference, Repo};
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
    for r in linuxkit::image_refs(text).context("reading the manifest")? {
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
    linuxkit::rewrite(text, |r| {
        pinned
            .get(linuxkit::parse_reference(&r.reference).name)
            .cloned()
    })
    .context("rewriting the manifest")
}

/// A reference that fails verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub line: usize,
    pub reference: String,
    pub message: String,
}

/// Where verification looks for manifests and blobs: the local store or a registry.
trait Holder {
    /// The manifest or index stored under `digest`, None when it is not held.
    fn manifest(&self, r: &ImageRef, digest: &str) -> Result<Option<Vec<u8>>, String>;
    fn has_blob(&self, r: &ImageRef, digest: &str) -> Result<bool, String>;
}

struct Local<'a>(&'a Store);

impl Holder for Local<'_> {
    fn manifest(&self, _: &ImageRef, digest: &str) -> Result<Option<Vec<u8>>, String> {
        match self.0.read(digest) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(StoreError::Missing { .. }) => Ok(None),
            Err(e) => Err(e.to_string()),
        }
    }

    fn has_blob(&self, r: &ImageRef, digest: &str) -> Result<bool, String> {
        self.manifest(r, digest).map(|b| b.is_some())
    }
}

struct Remote<'a>(&'a Client);

fn repo_of(r: &ImageRef) -> Result<Repo, String> {
    Reference::parse(&r.reference)
        .map(|p| p.repo())
        .map_err(|e| e.to_string())
}

impl Holder for Remote<'_> {
    fn manifest(&self, r: &ImageRef, digest: &str) -> Result<Option<Vec<u8>>, String> {
        let found = self
            .0
            .get_manifest(&repo_of(r)?, digest, &[])
            .map_err(|e| e.to_string())?;
        Ok(found.map(|m| m.bytes))
    }

    fn has_blob(&self, r: &ImageRef, digest: &str) -> Result<bool, String> {
        self.0
            .blob_exists(&repo_of(r)?, digest)
            .map_err(|e| e.to_string())
    }
}

/// Checks every reference against the local store: pinned, present, intact, every platform.
pub fn verify_local(store: &Store, text: &str, platforms: &[Platform]) -> Vec<Problem> {
    verify(&Local(store), "the local store", text, platforms)
}

/// Checks every reference against its registry: pinned, held, every platform with its blobs.
pub fn verify_registry(client: &Client, text: &str, platforms: &[Platform]) -> Vec<Problem> {
    verify(&Remote(client), "the registry", text, platforms)
}

/// The manifest's structure as LinuxKit checks it, then every reference.
fn verify(holder: &dyn Holder, place: &str, text: &str, platforms: &[Platform]) -> Vec<Problem> {
    let mut problems = Vec::new();
    if let Err(e) = crate::machine::parse_manifest(text) {
        problems.push(Problem {
            line: e.line.unwrap_or(1),
            reference: "(manifest)".into(),
            message: e.message,
        });
    }
    let refs = match linuxkit::image_refs(text) {
        Ok(refs) => refs,
        Err(e) => {
            problems.push(Problem {
                line: e.line,
                reference: "(manifest)".into(),
                message: e.message,
            });
            return problems;
        }
    };
    problems.extend(refs.into_iter().filter_map(|r| {
        check(holder, place, &r, platforms)
            .err()
            .map(|message| Problem {
                line: r.line,
                reference: r.reference.clone(),
                message,
            })
    }));
    problems
}

fn check(
    holder: &dyn Holder,
    place: &str,
    r: &ImageRef,
    platforms: &[Platform],
) -> Result<(), String> {
    let digest = pinned_digest(&r.reference)?;
    let bytes = holder
        .manifest(r, digest)?
        .ok_or_else(|| format!("{digest} is not in {place}"))?;
    let media_type = serde_json::from_slice::<serde_json::Value>(&bytes)
        .ok()
        .and_then(|v| v["mediaType"].as_str().map(String::from))
        .unwrap_or_default();
    if media_type != MediaType::ImageIndex.as_ref() {
        return check_image(holder, place, r, digest);
    }
    let index: ImageIndex =
        serde_json::from_slice(&bytes).map_err(|e| format!("bad index {digest}: {e}"))?;
    for platform in platforms {
        let entry = crate::image::entry_for(&index, *platform)
            .ok_or_else(|| format!("has no {platform} image"))?;
        check_image(holder, place, r, entry.digest().as_ref())?;
    }
    Ok(())
}

fn check_image(holder: &dyn Holder, place: &str, r: &ImageRef, digest: &str) -> Result<(), String> {
    let bytes = holder
        .manifest(r, digest)?
        .ok_or_else(|| format!("manifest {digest} is not in {place}"))?;
    let manifest: ImageManifest =
        serde_json::from_slice(&bytes).map_err(|e| format!("bad manifest {digest}: {e}"))?;
    for blob in std::iter::once(manifest.config()).chain(manifest.layers()) {
        if !holder.has_blob(r, blob.digest().as_ref())? {
            return Err(format!(
                "blob {} of {digest} is not in {place}",
                blob.digest()
            ));
        }
    }
    Ok(())
}

/// The digest a reference is pinned to, or why it is not pinned.
pub fn pinned_digest(reference: &str) -> Result<&str, String> {
    match linuxkit::parse_reference(reference).digest {
        Some(d) if linuxkit::is_sha256_digest(d) => Ok(d),
        Some(d) => Err(format!("{d} is not a sha256 digest")),
        None => Err("not pinned by digest".into()),
    }
}
