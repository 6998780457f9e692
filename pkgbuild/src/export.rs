//! `pkgbuild export`: one image as an OCI archive (a tar of an image layout).

use std::collections::{BTreeSet, HashMap};
use std::io::Write;
use std::path::Path;

use anyhow::Context;
use oci_spec::image::{ImageIndex, ImageManifest, MediaType};

use crate::image::{descriptor_with, to_canonical, with_annotations};
use crate::layer::{self, Tree};
use crate::store::{Store, REF_NAME};

/// containerd's import names an image from this annotation.
const CONTAINERD_IMAGE_NAME: &str = "io.containerd.image.name";

/// Writes `reference` (an index in the store) as an OCI archive at `dest`, atomically.
///
/// The archive names the image three ways, each a descriptor of the same index, so containerd's
/// import and `linuxkit cache import` (which looks images up by the whole reference string) find
/// it as manifests write it: `org/image:<content tag>`, `org/image:<version>` and
/// `org/image:<content tag>@sha256:...` (what `pkgbuild resolve` pins).
pub fn export(
    store: &Store,
    reference: &str,
    index_digest: &str,
    version: Option<&str>,
    dest: &Path,
) -> anyhow::Result<()> {
    let mut blobs: BTreeSet<String> = BTreeSet::new();
    let index_bytes = store.read(index_digest)?;
    blobs.insert(index_digest.to_string());
    let index: ImageIndex = serde_json::from_slice(&index_bytes)?;
    for m in index.manifests() {
        let digest = m.digest().to_string();
        let manifest: ImageManifest = serde_json::from_slice(&store.read(&digest)?)?;
        blobs.insert(digest);
        blobs.insert(manifest.config().digest().to_string());
        for layer in manifest.layers() {
            blobs.insert(layer.digest().to_string());
        }
    }

    let entries = names(reference, index_digest, version)
        .into_iter()
        .map(|(ref_name, image_name)| {
            with_annotations(
                descriptor_with(
                    MediaType::ImageIndex,
                    index_digest,
                    index_bytes.len() as u64,
                ),
                HashMap::from([
                    (REF_NAME.to_string(), ref_name),
                    (CONTAINERD_IMAGE_NAME.to_string(), image_name),
                ]),
            )
        })
        .collect::<Vec<_>>();
    let top = oci_spec::image::ImageIndexBuilder::default()
        .schema_version(2u32)
        .media_type(MediaType::ImageIndex)
        .manifests(entries)
        .build()?;

    let mut tree = Tree::default();
    tree.add_file(
        "oci-layout",
        0o644,
        br#"{"imageLayoutVersion":"1.0.0"}"#.to_vec(),
    )?;
    tree.add_file("index.json", 0o644, to_canonical(&top)?)?;
    for digest in &blobs {
        let bytes = store.read(digest)?;
        let hex = digest.trim_start_matches("sha256:");
        tree.add_file(&format!("blobs/sha256/{hex}"), 0o644, bytes)?;
    }
    let tar = layer::tar(&tree, 0)?;

    let dir = dest
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("writing into {}", dir.display()))?;
    tmp.write_all(&tar)?;
    tmp.as_file().sync_all()?;
    tmp.persist(dest)
        .with_context(|| format!("writing {}", dest.display()))?;
    Ok(())
}

/// (ref.name, containerd image name) for each name the archive gives the image.
fn names(reference: &str, digest: &str, version: Option<&str>) -> Vec<(String, String)> {
    let (repo, tag) = reference.rsplit_once(':').unwrap_or((reference, "latest"));
    let mut refs = vec![tag.to_string()];
    if let Some(v) = version.filter(|v| *v != tag) {
        refs.push(v.to_string());
    }
    refs.push(format!("{tag}@{digest}"));
    refs.into_iter()
        .map(|r| {
            let image = full_name(&format!("{repo}:{r}"));
            (r, image)
        })
        .collect()
}

/// `org/image:tag` as a fully qualified name, the way containerd stores images.
fn full_name(reference: &str) -> String {
    let first = reference.split('/').next().unwrap_or_default();
    if reference.contains('/')
        && (first.contains('.') || first.contains(':') || first == "localhost")
    {
        reference.to_string()
    } else {
        format!("docker.io/{reference}")
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_archive_names_the_content_tag_the_version_and_the_pin() {
        let names = super::names("linuxkit/dhcpcd:abc", "sha256:00", Some("0.1.0"));
        assert_eq!(
            names,
            [
                (
                    "abc".to_string(),
                    "docker.io/linuxkit/dhcpcd:abc".to_string()
                ),
                (
                    "0.1.0".to_string(),
                    "docker.io/linuxkit/dhcpcd:0.1.0".to_string()
                ),
                (
                    "abc@sha256:00".to_string(),
                    "docker.io/linuxkit/dhcpcd:abc@sha256:00".to_string()
                ),
            ]
        );
    }

    #[test]
    fn names_are_qualified_like_containerd() {
        assert_eq!(super::full_name("linuxkit/x:1"), "docker.io/linuxkit/x:1");
        assert_eq!(
            super::full_name("localhost:5000/a/x:1"),
            "localhost:5000/a/x:1"
        );
    }
}
