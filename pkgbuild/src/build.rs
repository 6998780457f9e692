//! `pkgbuild build`: plan -> cache check -> compile -> layer -> image -> index -> store.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::time::Instant;

use anyhow::{anyhow, Context};
use oci_spec::image::{Descriptor, ImageIndex, ImageManifest};

use crate::compile::{self, CompileRequest};
use crate::git;
use crate::image::{self, Blob, ConfigSpec};
use crate::inputs::{sha256_hex, TOOLCHAIN_ANNOTATION};
use crate::layer::{self, Tree};
use crate::metadata::{parse_mode, Package};
use crate::platform::Platform;
use crate::sbom::{self, SbomSpec};
use crate::store::{Store, StoreError};
use crate::workspace::{Plan, Workspace};

pub const MOBY_CONFIG_LABEL: &str = "org.mobyproject.config";

#[derive(Debug, Clone, Default)]
pub struct BuildOptions {
    /// Platforms asked for; None means all the package declares.
    pub platforms: Option<Vec<Platform>>,
    pub force: bool,
}

/// One platform's image in the store.
#[derive(Debug, Clone)]
pub struct PlatformImage {
    pub platform: Platform,
    pub manifest: Descriptor,
    /// Compressed layer size in bytes.
    pub layer_size: u64,
    /// The binary's size, when it was compiled in this run.
    pub binary_size: Option<u64>,
    pub fresh: bool,
    /// The toolchain inputs' digest its manifest records (`TOOLCHAIN_ANNOTATION`).
    pub toolchain: Option<String>,
}

#[derive(Debug, Clone)]
pub struct BuiltImage {
    pub package: String,
    pub reference: String,
    pub index_digest: String,
    pub images: Vec<PlatformImage>,
}

impl PlatformImage {
    fn cached(platform: Platform, manifest: &Descriptor, held: Held) -> PlatformImage {
        PlatformImage {
            platform,
            manifest: manifest.clone(),
            layer_size: held.layer_size,
            binary_size: None,
            fresh: false,
            toolchain: held.toolchain,
        }
    }
}

/// The platform an index entry is for, if it is one we build.
fn platform_of(entry: &Descriptor) -> Option<Platform> {
    entry
        .platform()
        .as_ref()
        .and_then(|p| p.architecture().to_string().parse().ok())
}

impl BuiltImage {
    /// Nothing was compiled: every asked platform was already in the store.
    pub fn was_noop(&self) -> bool {
        self.images.iter().all(|i| !i.fresh)
    }
}

/// The labels and annotations every manifest, config and index of a package carries.
fn annotations(pkg: &Package, plan: &Plan, created: &str) -> HashMap<String, String> {
    let mut a = HashMap::new();
    a.insert(
        "org.opencontainers.image.title".into(),
        pkg.image().to_string(),
    );
    a.insert(
        "org.opencontainers.image.version".into(),
        pkg.version.clone(),
    );
    a.insert(
        "org.opencontainers.image.created".into(),
        created.to_string(),
    );
    if let Some(source) = &pkg.repository {
        a.insert("org.opencontainers.image.source".into(), source.clone());
    }
    if let Some(rev) = &plan.provenance.revision {
        a.insert("org.opencontainers.image.revision".into(), rev.clone());
    }
    if let Some(license) = &pkg.license {
        a.insert("org.opencontainers.image.licenses".into(), license.clone());
    }
    a
}

/// Builds what is missing of one package and records it in the store.
pub fn build_package(
    ws: &Workspace,
    store: &Store,
    pkg: &Package,
    opts: &BuildOptions,
    out: &mut dyn Write,
) -> anyhow::Result<BuiltImage> {
    let plan = ws.plan(pkg)?;
    let asked: Vec<Platform> = match &opts.platforms {
        None => pkg.meta.arches.clone(),
        Some(list) => list
            .iter()
            .copied()
            .filter(|p| pkg.meta.arches.contains(p))
            .collect(),
    };
    if let Some(list) = &opts.platforms {
        for p in list.iter().filter(|p| !pkg.meta.arches.contains(p)) {
            writeln!(
                out,
                "{} {p}: skipped, the package is not built for it",
                pkg.name
            )?;
        }
    }
    if asked.is_empty() {
        anyhow::bail!(
            "{} is built for {:?} only; none of the asked platforms",
            pkg.name,
            pkg.meta
                .arches
                .iter()
                .map(|p| p.to_string())
                .collect::<Vec<_>>()
        );
    }

    // What the store already holds under this tag, checked blob by blob.
    let mut held: BTreeMap<Platform, PlatformImage> = BTreeMap::new();
    if let Some(index) = load_index(store, &plan.reference, out)? {
        for entry in index.manifests() {
            let Some(platform) = platform_of(entry) else {
                continue;
            };
            if let Some(found) = verify_image(store, entry, out)? {
                held.insert(platform, PlatformImage::cached(platform, entry, found));
            }
        }
    }

    let created = git::rfc3339(plan.provenance.epoch);
    let annotations = annotations(pkg, &plan, &created);
    let mut referrers = Vec::new();
    let mut results = Vec::new();
    for &platform in &asked {
        let label = format!("{} {platform}", pkg.name);
        let toolchain = ws.toolchain(platform, pkg.meta.libc);
        let toolchain_digest = match &toolchain {
            Ok(tc) => Some(ws.toolchain_digest(tc)?),
            Err(_) => None,
        };
        if let (false, Some(image)) = (opts.force, held.get(&platform)) {
            // Without a toolchain here, the stored image is the one there is.
            if toolchain_digest.is_none() || image.toolchain == toolchain_digest {
                writeln!(
                    out,
                    "{label}: cached {} (layer {})",
                    short(image.manifest.digest().as_ref()),
                    size(image.layer_size)
                )?;
                results.push(image.clone());
                continue;
            }
            writeln!(
                out,
                "{label}: the store's image was built with another toolchain ({}), rebuilding",
                image
                    .toolchain
                    .as_deref()
                    .map(short)
                    .unwrap_or("none recorded".into())
            )?;
        }
        let toolchain =
            toolchain.map_err(|missing| anyhow!("{label}: {missing}; run `pkgbuild doctor`"))?;
        let toolchain_digest = toolchain_digest.expect("probed with the toolchain");
        let started = Instant::now();
        writeln!(
            out,
            "{label}: compiling with {} ({})",
            toolchain.route.name(),
            toolchain.triple()
        )?;
        let binary = compile::compile(&CompileRequest {
            pkg,
            toolchain: &toolchain,
            flags: &ws.flags,
            profile: &ws.profile,
            target_dir: &ws.target_dir,
            label: &label,
        })?;
        // The platform's manifest and config also name the toolchain; the index does not.
        let mut platform_annotations = annotations.clone();
        platform_annotations.insert(TOOLCHAIN_ANNOTATION.into(), toolchain_digest);
        let (image, sbom_manifest) = assemble(
            store,
            pkg,
            &plan,
            platform,
            &binary,
            &created,
            &platform_annotations,
        )?;
        referrers.push(sbom_manifest);
        writeln!(
            out,
            "{label}: built in {:.1}s, manifest {}, binary {}, layer {}",
            started.elapsed().as_secs_f64(),
            short(image.manifest.digest().as_ref()),
            size(image.binary_size.unwrap_or(0)),
            size(image.layer_size)
        )?;
        held.insert(platform, image.clone());
        results.push(image);
    }

    // The index holds every platform of this tag in the store, not only the ones asked now.
    // Under the lock, another pkgbuild's platforms added since we looked are kept too.
    let lock = store.lock()?;
    if let Some(current) = load_index(store, &plan.reference, out)? {
        for entry in current.manifests() {
            let Some(platform) = platform_of(entry) else {
                continue;
            };
            if held.contains_key(&platform) {
                continue;
            }
            if let Some(found) = verify_image(store, entry, out)? {
                held.insert(platform, PlatformImage::cached(platform, entry, found));
            }
        }
    }
    let manifests: Vec<(Platform, Descriptor)> =
        held.iter().map(|(p, i)| (*p, i.manifest.clone())).collect();
    let index = image::index(&manifests, &annotations)?;
    store.put(&index)?;
    if !referrers.is_empty() {
        store.add_unnamed(&lock, referrers)?;
    }
    let previous = store
        .find_ref(&plan.reference)?
        .map(|d| d.digest().to_string());
    if previous.as_deref() != Some(index.digest.as_str()) {
        store.set_ref(&lock, &plan.reference, index.descriptor())?;
    }
    drop(lock);
    let built = BuiltImage {
        package: pkg.name.clone(),
        reference: plan.reference.clone(),
        index_digest: index.digest.clone(),
        images: results,
    };
    if built.was_noop() {
        writeln!(
            out,
            "{}: {}@{} up to date, nothing to build",
            pkg.name, plan.reference, index.digest
        )?;
    } else {
        writeln!(out, "{}: {}@{}", pkg.name, plan.reference, index.digest)?;
    }
    Ok(built)
}

/// Lays out the image for one platform and writes its blobs; returns it and its SBOM manifest.
fn assemble(
    store: &Store,
    pkg: &Package,
    plan: &Plan,
    platform: Platform,
    binary: &std::path::Path,
    created: &str,
    annotations: &HashMap<String, String>,
) -> anyhow::Result<(PlatformImage, Descriptor)> {
    let binary_bytes =
        std::fs::read(binary).with_context(|| format!("reading {}", binary.display()))?;
    let binary_size = binary_bytes.len() as u64;
    let binary_sha256 = sha256_hex(&binary_bytes);
    let mut tree = Tree::default();
    tree.add_file(&pkg.binary_path(), 0o755, binary_bytes)?;
    for file in &pkg.meta.files {
        let src = pkg.dir.join(&file.src);
        let content = std::fs::read(&src).with_context(|| {
            format!(
                "{}: files: reading {}",
                pkg.manifest_path.display(),
                src.display()
            )
        })?;
        let mode = file
            .mode
            .as_deref()
            .map(parse_mode)
            .transpose()
            .map_err(anyhow::Error::msg)?;
        tree.add_file(&file.dst, mode.unwrap_or(0o644), content)?;
    }
    for dir in &pkg.meta.dirs {
        let mode = dir
            .mode
            .as_deref()
            .map(parse_mode)
            .transpose()
            .map_err(anyhow::Error::msg)?;
        tree.add_dir(&dir.path, mode.unwrap_or(0o755))?;
    }
    for link in &pkg.meta.links {
        tree.add_symlink(&link.path, &link.target)?;
    }
    let layer = layer::build(&tree, plan.provenance.epoch.max(0) as u64)?;
    let layer_blob = Blob::new(oci_spec::image::MediaType::ImageLayerGzip, layer.gzip);

    let mut labels = annotations.clone();
    labels.insert(
        MOBY_CONFIG_LABEL.into(),
        String::from_utf8(image::to_canonical(&pkg.meta.config)?)?,
    );
    let config = image::config(&ConfigSpec {
        platform,
        created,
        entrypoint: pkg.entrypoint(),
        cmd: pkg.meta.cmd.clone(),
        env: pkg.meta.env.clone(),
        user: pkg.meta.user.clone(),
        workdir: pkg.meta.workdir.clone(),
        labels: &labels,
        diff_id: &layer.diff_id,
    })?;
    let manifest = image::manifest(&config, &layer_blob, annotations)?;

    let sbom_doc = sbom::spdx(&SbomSpec {
        reference: &plan.reference,
        platform: &platform.to_string(),
        created,
        root_name: &pkg.name,
        root_version: &pkg.version,
        root_license: pkg.license.as_deref(),
        binary_sha256: &binary_sha256,
        crates: &plan.closures[&platform],
    });
    let sbom_blob = Blob::new(
        oci_spec::image::MediaType::Other(image::SPDX_MEDIA_TYPE.into()),
        image::canonical_json(&sbom_doc),
    );
    let sbom_manifest = image::sbom_manifest(&sbom_blob, &manifest, created)?;
    let empty = Blob::new(
        oci_spec::image::MediaType::EmptyJSON,
        image::EMPTY_JSON.to_vec(),
    );

    // Content before the manifests that point at it.
    for blob in [
        &layer_blob,
        &config,
        &sbom_blob,
        &empty,
        &manifest,
        &sbom_manifest,
    ] {
        store.put(blob)?;
    }
    let mut sbom_desc = sbom_manifest.descriptor();
    sbom_desc.set_artifact_type(Some(oci_spec::image::MediaType::Other(
        image::SPDX_MEDIA_TYPE.into(),
    )));
    Ok((
        PlatformImage {
            platform,
            manifest: manifest.descriptor(),
            layer_size: layer_blob.bytes.len() as u64,
            binary_size: Some(binary_size),
            fresh: true,
            toolchain: annotations.get(TOOLCHAIN_ANNOTATION).cloned(),
        },
        sbom_desc,
    ))
}

/// Reads the index a reference names; a corrupted index is removed and reported.
fn load_index(
    store: &Store,
    reference: &str,
    out: &mut dyn Write,
) -> anyhow::Result<Option<ImageIndex>> {
    let Some(desc) = store.find_ref(reference)? else {
        return Ok(None);
    };
    let digest = desc.digest().to_string();
    match read_checked(store, &digest, out)? {
        Some(bytes) => Ok(Some(
            serde_json::from_slice(&bytes).with_context(|| format!("parsing index {digest}"))?,
        )),
        None => Ok(None),
    }
}

/// What the store holds of one platform's image.
struct Held {
    /// Compressed layer size in bytes.
    layer_size: u64,
    toolchain: Option<String>,
}

/// Checks that an image's manifest, config, layers and SBOM are all present and intact.
/// None means something must be rebuilt.
fn verify_image(
    store: &Store,
    manifest: &Descriptor,
    out: &mut dyn Write,
) -> anyhow::Result<Option<Held>> {
    let digest = manifest.digest().to_string();
    let Some(bytes) = read_checked(store, &digest, out)? else {
        return Ok(None);
    };
    let parsed: ImageManifest =
        serde_json::from_slice(&bytes).with_context(|| format!("parsing manifest {digest}"))?;
    let mut layer_size = 0;
    for blob in std::iter::once(parsed.config()).chain(parsed.layers()) {
        if read_checked(store, blob.digest().as_ref(), out)?.is_none() {
            return Ok(None);
        }
        if blob.media_type() != parsed.config().media_type() {
            layer_size += blob.size();
        }
    }
    // The SBOM travels with the image: without it the image is incomplete.
    let mut sbom_ok = false;
    for referrer in store.referrers(&digest)? {
        let Some(bytes) = read_checked(store, referrer.digest().as_ref(), out)? else {
            continue;
        };
        let sbom: ImageManifest = serde_json::from_slice(&bytes)?;
        let mut all = true;
        for blob in std::iter::once(sbom.config()).chain(sbom.layers()) {
            all &= read_checked(store, blob.digest().as_ref(), out)?.is_some();
        }
        sbom_ok |= all;
    }
    let toolchain = parsed
        .annotations()
        .as_ref()
        .and_then(|a| a.get(TOOLCHAIN_ANNOTATION).cloned());
    Ok(sbom_ok.then_some(Held {
        layer_size,
        toolchain,
    }))
}

/// Reads a blob; a corrupted one is reported, removed and treated as missing.
fn read_checked(
    store: &Store,
    digest: &str,
    out: &mut dyn Write,
) -> anyhow::Result<Option<Vec<u8>>> {
    match store.read(digest) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(StoreError::Missing { .. }) => Ok(None),
        Err(e @ StoreError::Corrupt { .. }) => {
            writeln!(out, "warning: {e}; removed it, rebuilding")?;
            store.remove(digest)?;
            Ok(None)
        }
        Err(e) => Err(e.into()),
    }
}

fn short(digest: &str) -> String {
    digest.chars().take("sha256:".len() + 12).collect()
}

/// A human size: bytes, KiB or MiB.
pub fn size(bytes: u64) -> String {
    if bytes >= 1024 * 1024 {
        format!("{:.2} MiB", bytes as f64 / (1024.0 * 1024.0))
    } else if bytes >= 1024 {
        format!("{:.1} KiB", bytes as f64 / 1024.0)
    } else {
        format!("{bytes} B")
    }
}
