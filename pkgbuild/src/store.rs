//! The local store: an OCI image layout (`oci-layout`, `index.json`, `blobs/sha256/`).
//!
//! Blobs are written to a temporary file and renamed into place, so a killed build never leaves a
//! partial blob under a digest name. `index.json` is changed only under an exclusive lock, by
//! read-modify-write-rename. Every blob read back is checked against its digest.

use std::collections::HashMap;
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use oci_spec::image::{Descriptor, ImageIndex, ImageIndexBuilder, MediaType};

use crate::image::{to_canonical, Blob};
use crate::inputs::sha256_hex;

pub const REF_NAME: &str = "org.opencontainers.image.ref.name";

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("store {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("blob {digest} is missing from the store")]
    Missing { digest: String },
    #[error("blob {digest} is corrupted: its content hashes to sha256:{actual}")]
    Corrupt { digest: String, actual: String },
    #[error("{path} is not a valid OCI index: {message}")]
    BadIndex { path: PathBuf, message: String },
    #[error("{0} is not a sha256 digest")]
    BadDigest(String),
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
    move |source| StoreError::Io {
        path: path.to_path_buf(),
        source,
    }
}

pub struct Store {
    root: PathBuf,
}

/// Held while `index.json` is being changed.
pub struct StoreLock {
    _file: File,
}

impl Store {
    /// Opens the layout at `root`, creating it if needed.
    pub fn open(root: &Path) -> Result<Store, StoreError> {
        let store = Store {
            root: root.to_path_buf(),
        };
        for dir in [store.blob_dir(), store.tmp_dir()] {
            std::fs::create_dir_all(&dir).map_err(io_err(&dir))?;
        }
        let layout = root.join("oci-layout");
        if !layout.exists() {
            store.write_atomic(&layout, br#"{"imageLayoutVersion":"1.0.0"}"#)?;
        }
        let index = store.index_path();
        if !index.exists() {
            let _lock = store.lock()?;
            if !index.exists() {
                store.write_index(&empty_index())?;
            }
        }
        Ok(store)
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn blob_dir(&self) -> PathBuf {
        self.root.join("blobs/sha256")
    }

    fn tmp_dir(&self) -> PathBuf {
        self.root.join(".pkgbuild/tmp")
    }

    fn index_path(&self) -> PathBuf {
        self.root.join("index.json")
    }

    pub fn blob_path(&self, digest: &str) -> Result<PathBuf, StoreError> {
        let hex = digest
            .strip_prefix("sha256:")
            .filter(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
            .ok_or_else(|| StoreError::BadDigest(digest.to_string()))?;
        Ok(self.blob_dir().join(hex))
    }

    /// Takes the store's exclusive lock, waiting for another pkgbuild to finish its update.
    pub fn lock(&self) -> Result<StoreLock, StoreError> {
        let path = self.root.join(".pkgbuild/lock");
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(io_err(&path))?;
        file.lock().map_err(io_err(&path))?;
        Ok(StoreLock { _file: file })
    }

    fn write_atomic(&self, dest: &Path, bytes: &[u8]) -> Result<(), StoreError> {
        let tmp_dir = self.tmp_dir();
        let mut tmp = tempfile::NamedTempFile::new_in(&tmp_dir).map_err(io_err(&tmp_dir))?;
        tmp.write_all(bytes).map_err(io_err(tmp.path()))?;
        tmp.as_file().sync_all().map_err(io_err(dest))?;
        tmp.persist(dest).map_err(|e| StoreError::Io {
            path: dest.to_path_buf(),
            source: e.error,
        })?;
        Ok(())
    }

    /// Stores a blob unless a valid copy is already there; a corrupted copy is replaced.
    pub fn put(&self, blob: &Blob) -> Result<(), StoreError> {
        self.put_bytes(&blob.digest, &blob.bytes)
    }

    pub fn put_bytes(&self, digest: &str, bytes: &[u8]) -> Result<(), StoreError> {
        debug_assert_eq!(digest, format!("sha256:{}", sha256_hex(bytes)));
        if self.read(digest).is_ok() {
            return Ok(());
        }
        self.write_atomic(&self.blob_path(digest)?, bytes)
    }

    /// Reads a blob and checks it against its digest.
    pub fn read(&self, digest: &str) -> Result<Vec<u8>, StoreError> {
        let path = self.blob_path(digest)?;
        let bytes = match std::fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(StoreError::Missing {
                    digest: digest.to_string(),
                })
            }
            Err(e) => return Err(io_err(&path)(e)),
        };
        let actual = sha256_hex(&bytes);
        if format!("sha256:{actual}") != digest {
            return Err(StoreError::Corrupt {
                digest: digest.to_string(),
                actual,
            });
        }
        Ok(bytes)
    }

    /// Removes a blob, so that a corrupted one is rebuilt rather than used.
    pub fn remove(&self, digest: &str) -> Result<(), StoreError> {
        let path = self.blob_path(digest)?;
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io_err(&path)(e)),
            _ => Ok(()),
        }
    }

    pub fn index(&self) -> Result<ImageIndex, StoreError> {
        let path = self.index_path();
        let bytes = std::fs::read(&path).map_err(io_err(&path))?;
        serde_json::from_slice(&bytes).map_err(|e| StoreError::BadIndex {
            path,
            message: e.to_string(),
        })
    }

    fn write_index(&self, index: &ImageIndex) -> Result<(), StoreError> {
        let bytes = to_canonical(index).map_err(|e| StoreError::BadIndex {
            path: self.index_path(),
            message: e.to_string(),
        })?;
        self.write_atomic(&self.index_path(), &bytes)
    }

    /// The descriptor named `ref_name` in index.json.
    pub fn find_ref(&self, ref_name: &str) -> Result<Option<Descriptor>, StoreError> {
        Ok(self
            .index()?
            .manifests()
            .iter()
            .find(|d| ref_of(d) == Some(ref_name))
            .cloned())
    }

    /// Every named entry of index.json.
    pub fn refs(&self) -> Result<Vec<(String, Descriptor)>, StoreError> {
        let mut out: Vec<(String, Descriptor)> = self
            .index()?
            .manifests()
            .iter()
            .filter_map(|d| ref_of(d).map(|r| (r.to_string(), d.clone())))
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(out)
    }

    /// Changes index.json: `edit` gets the current entries and returns the new ones. The caller
    /// holds the lock, so that what it read before deciding is still current.
    pub fn update_index(
        &self,
        _held: &StoreLock,
        edit: impl FnOnce(Vec<Descriptor>) -> Result<Vec<Descriptor>, StoreError>,
    ) -> Result<(), StoreError> {
        let current = self.index()?;
        let mut entries = edit(current.manifests().clone())?;
        // A stable order keeps index.json diffable and deterministic.
        entries.sort_by(|a, b| {
            (ref_of(a), a.digest().to_string()).cmp(&(ref_of(b), b.digest().to_string()))
        });
        entries.dedup_by(|a, b| a.digest() == b.digest() && ref_of(a) == ref_of(b));
        let mut index = current;
        index.set_manifests(entries);
        self.write_index(&index)
    }

    /// Names `descriptor` as `ref_name`, replacing what the name pointed to.
    pub fn set_ref(
        &self,
        held: &StoreLock,
        ref_name: &str,
        descriptor: Descriptor,
    ) -> Result<(), StoreError> {
        let mut annotations = descriptor.annotations().clone().unwrap_or_default();
        annotations.insert(REF_NAME.to_string(), ref_name.to_string());
        let mut named = descriptor;
        named.set_annotations(Some(annotations));
        self.update_index(held, |mut entries| {
            entries.retain(|d| ref_of(d) != Some(ref_name));
            entries.push(named);
            Ok(entries)
        })
    }

    /// Lists unnamed descriptors (SBOM referrers) so they stay reachable in the layout.
    pub fn add_unnamed(
        &self,
        held: &StoreLock,
        descriptors: Vec<Descriptor>,
    ) -> Result<(), StoreError> {
        self.update_index(held, |mut entries| {
            for d in descriptors {
                if !entries
                    .iter()
                    .any(|e| e.digest() == d.digest() && ref_of(e).is_none())
                {
                    entries.push(d);
                }
            }
            Ok(entries)
        })
    }

    /// Manifests in index.json whose `subject` is `digest`: the referrers of an image.
    pub fn referrers(&self, digest: &str) -> Result<Vec<Descriptor>, StoreError> {
        let mut out = Vec::new();
        for d in self.index()?.manifests() {
            if ref_of(d).is_some() || d.media_type() != &MediaType::ImageManifest {
                continue;
            }
            let Ok(bytes) = self.read(d.digest().as_ref()) else {
                continue;
            };
            let Ok(manifest) = serde_json::from_slice::<oci_spec::image::ImageManifest>(&bytes)
            else {
                continue;
            };
            if manifest
                .subject()
                .as_ref()
                .map(|s| s.digest().to_string())
                .as_deref()
                == Some(digest)
            {
                out.push(d.clone());
            }
        }
        Ok(out)
    }
}

pub fn ref_of(d: &Descriptor) -> Option<&str> {
    d.annotations()
        .as_ref()
        .and_then(|a| a.get(REF_NAME))
        .map(String::as_str)
}

fn empty_index() -> ImageIndex {
    ImageIndexBuilder::default()
        .schema_version(2u32)
        .media_type(MediaType::ImageIndex)
        .manifests(Vec::<Descriptor>::new())
        .build()
        .expect("all fields set")
}

/// Annotations for an index.json entry.
pub fn ref_annotations(ref_name: &str) -> HashMap<String, String> {
    HashMap::from([(REF_NAME.to_string(), ref_name.to_string())])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn corrupted_blob_is_reported_not_returned() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let blob = Blob::new(MediaType::ImageConfig, b"hello".to_vec());
        store.put(&blob).unwrap();
        assert_eq!(store.read(&blob.digest).unwrap(), b"hello");
        std::fs::write(store.blob_path(&blob.digest).unwrap(), b"HELLO").unwrap();
        assert!(matches!(
            store.read(&blob.digest),
            Err(StoreError::Corrupt { .. })
        ));
        // Putting it again repairs it.
        store.put(&blob).unwrap();
        assert_eq!(store.read(&blob.digest).unwrap(), b"hello");
    }

    #[test]
    fn refs_replace_and_survive_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let a = Blob::new(MediaType::ImageIndex, b"a".to_vec());
        let b = Blob::new(MediaType::ImageIndex, b"b".to_vec());
        let lock = store.lock().unwrap();
        store.set_ref(&lock, "org/x:1", a.descriptor()).unwrap();
        store.set_ref(&lock, "org/x:1", b.descriptor()).unwrap();
        store.set_ref(&lock, "org/y:1", a.descriptor()).unwrap();
        drop(lock);
        let store = Store::open(dir.path()).unwrap();
        let refs = store.refs().unwrap();
        assert_eq!(refs.len(), 2);
        assert_eq!(refs[0].1.digest().to_string(), b.digest);
        assert!(store.find_ref("org/z:1").unwrap().is_none());
    }
}
