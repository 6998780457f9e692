//! `pkgbuild push`: build what is missing, then push blobs, manifests by digest, the index by
//! digest, SBOM referrers, and last the tags.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;

use anyhow::{bail, Context};
use oci_spec::image::{Descriptor, ImageIndex, ImageManifest, MediaType};

use crate::build::{self, BuildOptions};
use crate::git;
use crate::image::{self, Blob};
use crate::metadata::Package;
use crate::registry::{BlobOutcome, Client, Repo};
use crate::store::Store;
use crate::workspace::Workspace;

#[derive(Debug, Clone, Default)]
pub struct PushOptions {
    pub build: BuildOptions,
    /// `REGISTRY/NAMESPACE` to push under instead of the package's org.
    pub org: Option<String>,
    pub allow_dirty: bool,
    /// Move a version tag that points to other content.
    pub force: bool,
}

/// What one push did.
#[derive(Debug, Clone)]
pub struct Pushed {
    /// `registry/repo:tag`
    pub reference: String,
    pub digest: String,
    pub uploaded: usize,
    pub existed: usize,
    pub mounted: usize,
}

/// Blobs pushed during this run, by digest, to mount them into other repositories.
#[derive(Default)]
pub struct Session {
    seen: HashMap<String, Repo>,
}

struct Counts {
    uploaded: usize,
    existed: usize,
    mounted: usize,
}

pub fn push_package(
    ws: &Workspace,
    store: &Store,
    client: &Client,
    session: &mut Session,
    pkg: &Package,
    opts: &PushOptions,
    out: &mut dyn Write,
) -> anyhow::Result<Pushed> {
    refuse_dirty(ws, pkg, opts)?;
    let built = build::build_package(ws, store, pkg, &opts.build, out)?;
    let org = opts
        .org
        .as_deref()
        .unwrap_or(pkg.org())
        .trim_end_matches('/');
    let repo = Repo::parse(&format!("{org}/{}", pkg.image()))?;
    let tag = built
        .reference
        .rsplit_once(':')
        .map(|(_, t)| t.to_string())
        .unwrap_or_default();
    let mut counts = Counts {
        uploaded: 0,
        existed: 0,
        mounted: 0,
    };

    let local: ImageIndex = serde_json::from_slice(&store.read(&built.index_digest)?)?;
    for entry in local.manifests() {
        push_manifest_tree(store, client, session, &repo, entry, &mut counts)?;
    }

    // Platforms pushed under this tag from elsewhere stay in the index.
    let index = merged_index(client, &repo, &tag, &local)?;
    client.put_manifest(
        &repo,
        &index.digest,
        MediaType::ImageIndex.as_ref(),
        &index.bytes,
    )?;

    // Tags last: the content tag, then the crate's version.
    client.put_manifest(&repo, &tag, MediaType::ImageIndex.as_ref(), &index.bytes)?;
    check_version_tag(client, &repo, &pkg.version, &index, opts.force)?;
    client.put_manifest(
        &repo,
        &pkg.version,
        MediaType::ImageIndex.as_ref(),
        &index.bytes,
    )?;

    let reference = format!("{repo}:{tag}");
    writeln!(
        out,
        "{}: pushed {reference}@{} and :{} ({} blobs uploaded, {} already there, {} mounted)",
        pkg.name, index.digest, pkg.version, counts.uploaded, counts.existed, counts.mounted
    )?;
    Ok(Pushed {
        reference,
        digest: index.digest,
        uploaded: counts.uploaded,
        existed: counts.existed,
        mounted: counts.mounted,
    })
}

/// Uncommitted changes in the package or its path dependencies are not pushed under a clean tag.
fn refuse_dirty(ws: &Workspace, pkg: &Package, opts: &PushOptions) -> anyhow::Result<()> {
    if opts.allow_dirty {
        return Ok(());
    }
    let plan = ws.plan(pkg)?;
    let mut dirs = vec![pkg.dir.clone()];
    for closure in plan.closures.values() {
        dirs.extend(closure.iter().filter_map(|c| c.path_dir.clone()));
    }
    dirs.sort();
    dirs.dedup();
    let dirty: Vec<String> = dirs.iter().flat_map(|d| git::dirty_files(d)).collect();
    if !dirty.is_empty() {
        bail!(
            "{} has uncommitted changes ({}); commit them, or push with --allow-dirty",
            pkg.name,
            dirty.join(", ")
        );
    }
    Ok(())
}

/// Pushes an image manifest's blobs, the manifest by digest, and its SBOM referrers.
fn push_manifest_tree(
    store: &Store,
    client: &Client,
    session: &mut Session,
    repo: &Repo,
    entry: &Descriptor,
    counts: &mut Counts,
) -> anyhow::Result<()> {
    let digest = entry.digest().to_string();
    push_image_manifest(store, client, session, repo, &digest, counts)?;

    let referrers = store.referrers(&digest)?;
    for referrer in &referrers {
        push_image_manifest(
            store,
            client,
            session,
            repo,
            referrer.digest().as_ref(),
            counts,
        )?;
    }
    if referrers.is_empty() || client.referrers(repo, &digest)?.is_some() {
        // A registry with the referrers API indexes them by their subject itself.
        return Ok(());
    }
    // The tag schema fallback: an index of referrers under `sha256-<hex>`.
    let fallback_tag = digest.replace(':', "-");
    let mut listed: Vec<Descriptor> =
        match client.get_manifest(repo, &fallback_tag, &[MediaType::ImageIndex.as_ref()])? {
            Some(m) => serde_json::from_slice::<ImageIndex>(&m.bytes)
                .map(|i| i.manifests().clone())
                .unwrap_or_default(),
            None => Vec::new(),
        };
    for r in referrers {
        if !listed.iter().any(|d| d.digest() == r.digest()) {
            listed.push(r);
        }
    }
    listed.sort_by_key(|d| d.digest().to_string());
    let index = oci_spec::image::ImageIndexBuilder::default()
        .schema_version(2u32)
        .media_type(MediaType::ImageIndex)
        .manifests(listed)
        .build()?;
    let bytes = image::to_canonical(&index)?;
    client.put_manifest(repo, &fallback_tag, MediaType::ImageIndex.as_ref(), &bytes)?;
    Ok(())
}

fn push_image_manifest(
    store: &Store,
    client: &Client,
    session: &mut Session,
    repo: &Repo,
    digest: &str,
    counts: &mut Counts,
) -> anyhow::Result<()> {
    let bytes = store.read(digest)?;
    let manifest: ImageManifest =
        serde_json::from_slice(&bytes).with_context(|| format!("parsing {digest}"))?;
    // Content first: a registry may refuse a manifest whose blobs it lacks.
    for blob in std::iter::once(manifest.config()).chain(manifest.layers()) {
        let blob_digest = blob.digest().to_string();
        let data = store.read(&blob_digest)?;
        let mount_from = session
            .seen
            .get(&blob_digest)
            .filter(|r| r.registry == repo.registry && r.name != repo.name)
            .map(|r| r.name.clone());
        match client.push_blob(repo, &blob_digest, &data, mount_from.as_deref())? {
            BlobOutcome::Existed => counts.existed += 1,
            BlobOutcome::Mounted => counts.mounted += 1,
            BlobOutcome::Uploaded => counts.uploaded += 1,
        }
        session.seen.insert(blob_digest, repo.clone());
    }
    client.put_manifest(repo, digest, MediaType::ImageManifest.as_ref(), &bytes)?;
    Ok(())
}

/// Our index, plus the platforms the registry already has under the tag and we do not.
fn merged_index(
    client: &Client,
    repo: &Repo,
    tag: &str,
    local: &ImageIndex,
) -> anyhow::Result<Blob> {
    let local_bytes = image::to_canonical(local)?;
    let Some(remote) = client.get_manifest(repo, tag, &[MediaType::ImageIndex.as_ref()])? else {
        return Ok(Blob::new(MediaType::ImageIndex, local_bytes));
    };
    let Ok(remote) = serde_json::from_slice::<ImageIndex>(&remote.bytes) else {
        return Ok(Blob::new(MediaType::ImageIndex, local_bytes));
    };
    let key = |d: &Descriptor| {
        d.platform().as_ref().map(|p| {
            format!(
                "{}/{}/{}",
                p.os(),
                p.architecture(),
                p.variant().clone().unwrap_or_default()
            )
        })
    };
    let mut by_platform: BTreeMap<String, Descriptor> = BTreeMap::new();
    for d in remote.manifests() {
        if let Some(k) = key(d) {
            by_platform.insert(k, d.clone());
        }
    }
    for d in local.manifests() {
        if let Some(k) = key(d) {
            by_platform.insert(k, d.clone());
        }
    }
    if by_platform.len() == local.manifests().len() {
        return Ok(Blob::new(MediaType::ImageIndex, local_bytes));
    }
    let mut merged = local.clone();
    merged.set_manifests(by_platform.into_values().collect());
    Ok(Blob::new(
        MediaType::ImageIndex,
        image::to_canonical(&merged)?,
    ))
}

/// A version tag may move only to an index that keeps every image it pointed to.
fn check_version_tag(
    client: &Client,
    repo: &Repo,
    version: &str,
    index: &Blob,
    force: bool,
) -> anyhow::Result<()> {
    let Some(existing) = client.get_manifest(repo, version, &[])? else {
        return Ok(());
    };
    if existing.digest == index.digest || force {
        return Ok(());
    }
    let ours: ImageIndex = serde_json::from_slice(&index.bytes)?;
    let keeps_all = serde_json::from_slice::<ImageIndex>(&existing.bytes)
        .map(|old| {
            old.manifests()
                .iter()
                .all(|d| ours.manifests().iter().any(|o| o.digest() == d.digest()))
        })
        .unwrap_or(false);
    if !keeps_all {
        bail!(
            "{repo}:{version} already points to {}, other content than {}: bump the crate's version, or push with --force",
            existing.digest,
            index.digest
        );
    }
    Ok(())
}
