//! One deterministic, gzip-compressed tar layer.
//!
//! Entries sorted, parents first, uid/gid 0 with no names, fixed modes, one mtime, ustar format,
//! gzip with mtime 0 and a pinned backend (miniz_oxide) and level.

use std::collections::BTreeMap;
use std::io::Write;

use flate2::{Compression, GzBuilder};

use crate::inputs::sha256_hex;

/// What a path in the image holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    Dir { mode: u32 },
    File { mode: u32, content: Vec<u8> },
    Symlink { target: String },
}

/// A root filesystem, keyed by path without the leading slash.
#[derive(Debug, Default, Clone)]
pub struct Tree {
    nodes: BTreeMap<String, Node>,
}

#[derive(Debug, thiserror::Error)]
pub enum TreeError {
    #[error("{0} is declared twice in the image")]
    Duplicate(String),
    #[error("{0} is both a file and a directory in the image")]
    FileAsDir(String),
}

impl Tree {
    pub fn add_file(&mut self, path: &str, mode: u32, content: Vec<u8>) -> Result<(), TreeError> {
        let rel = path.trim_start_matches('/').to_string();
        self.add_parents(&rel)?;
        if self.nodes.contains_key(&rel) {
            return Err(TreeError::Duplicate(format!("/{rel}")));
        }
        self.nodes.insert(rel, Node::File { mode, content });
        Ok(())
    }

    pub fn add_symlink(&mut self, path: &str, target: &str) -> Result<(), TreeError> {
        let rel = path.trim_start_matches('/').to_string();
        self.add_parents(&rel)?;
        if self.nodes.contains_key(&rel) {
            return Err(TreeError::Duplicate(format!("/{rel}")));
        }
        self.nodes.insert(
            rel,
            Node::Symlink {
                target: target.to_string(),
            },
        );
        Ok(())
    }

    pub fn add_dir(&mut self, path: &str, mode: u32) -> Result<(), TreeError> {
        let rel = path.trim_start_matches('/').to_string();
        self.add_parents(&rel)?;
        match self.nodes.get(&rel) {
            Some(Node::File { .. } | Node::Symlink { .. }) => {
                return Err(TreeError::FileAsDir(format!("/{rel}")))
            }
            // An explicit mode wins over the default a child gave its parent.
            _ => self.nodes.insert(rel, Node::Dir { mode }),
        };
        Ok(())
    }

    fn add_parents(&mut self, rel: &str) -> Result<(), TreeError> {
        let mut prefix = String::new();
        let parts: Vec<&str> = rel.split('/').collect();
        for part in &parts[..parts.len() - 1] {
            if !prefix.is_empty() {
                prefix.push('/');
            }
            prefix.push_str(part);
            match self.nodes.get(&prefix) {
                Some(Node::File { .. } | Node::Symlink { .. }) => {
                    return Err(TreeError::FileAsDir(format!("/{prefix}")))
                }
                Some(Node::Dir { .. }) => {}
                None => {
                    self.nodes.insert(prefix.clone(), Node::Dir { mode: 0o755 });
                }
            }
        }
        Ok(())
    }

    pub fn nodes(&self) -> impl Iterator<Item = (&String, &Node)> {
        self.nodes.iter()
    }
}

/// A finished layer: the compressed blob and the digest of its uncompressed tar (the diff_id).
#[derive(Debug, Clone)]
pub struct Layer {
    pub gzip: Vec<u8>,
    pub diff_id: String,
}

/// Writes the tree as a tar, every entry stamped with `mtime`.
pub fn tar(tree: &Tree, mtime: u64) -> std::io::Result<Vec<u8>> {
    let mut builder = tar::Builder::new(Vec::new());
    // BTreeMap order: a parent is a prefix of its children, so it comes first.
    for (path, node) in tree.nodes() {
        let mut header = tar::Header::new_ustar();
        header.set_uid(0);
        header.set_gid(0);
        header.set_mtime(mtime);
        match node {
            Node::Dir { mode } => {
                header.set_entry_type(tar::EntryType::Directory);
                header.set_mode(*mode);
                header.set_size(0);
                builder.append_data(&mut header, format!("{path}/"), std::io::empty())?;
            }
            Node::File { mode, content } => {
                header.set_entry_type(tar::EntryType::Regular);
                header.set_mode(*mode);
                header.set_size(content.len() as u64);
                builder.append_data(&mut header, path, content.as_slice())?;
            }
            Node::Symlink { target } => {
                header.set_entry_type(tar::EntryType::Symlink);
                header.set_mode(0o777);
                header.set_size(0);
                builder.append_link(&mut header, path, target)?;
            }
        }
    }
    builder.into_inner()
}

/// Compresses with pinned settings: level 9, header mtime 0, OS byte "unknown".
pub fn gzip(data: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut encoder = GzBuilder::new()
        .mtime(0)
        .operating_system(255)
        .write(Vec::new(), Compression::best());
    encoder.write_all(data)?;
    encoder.finish()
}

pub fn build(tree: &Tree, mtime: u64) -> std::io::Result<Layer> {
    let tar = tar(tree, mtime)?;
    Ok(Layer {
        diff_id: format!("sha256:{}", sha256_hex(&tar)),
        gzip: gzip(&tar)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Tree {
        let mut t = Tree::default();
        t.add_file("/usr/sbin/svc", 0o755, b"binary".to_vec())
            .unwrap();
        t.add_file("/etc/svc.conf", 0o644, b"conf".to_vec())
            .unwrap();
        t.add_dir("/run", 0o755).unwrap();
        t.add_symlink("/sbin/svc", "/usr/sbin/svc").unwrap();
        t
    }

    #[test]
    fn entries_are_sorted_parents_first_and_anonymous() {
        let tar_bytes = tar(&sample(), 1234).unwrap();
        let mut archive = tar::Archive::new(tar_bytes.as_slice());
        let mut names = Vec::new();
        for entry in archive.entries().unwrap() {
            let entry = entry.unwrap();
            let h = entry.header();
            assert_eq!(h.uid().unwrap(), 0);
            assert_eq!(h.gid().unwrap(), 0);
            assert_eq!(h.mtime().unwrap(), 1234);
            assert_eq!(h.username().unwrap(), Some(""));
            assert!(h.as_ustar().is_some());
            if h.entry_type() == tar::EntryType::Symlink {
                assert_eq!(
                    entry.link_name().unwrap().unwrap().to_str(),
                    Some("/usr/sbin/svc")
                );
            }
            names.push(entry.path().unwrap().to_string_lossy().to_string());
        }
        assert_eq!(
            names,
            [
                "etc/",
                "etc/svc.conf",
                "run/",
                "sbin/",
                "sbin/svc",
                "usr/",
                "usr/sbin/",
                "usr/sbin/svc"
            ]
        );
    }

    #[test]
    fn same_tree_same_bytes() {
        let a = build(&sample(), 7).unwrap();
        let b = build(&sample(), 7).unwrap();
        assert_eq!(a.gzip, b.gzip);
        assert_eq!(a.diff_id, b.diff_id);
        assert_ne!(a.diff_id, build(&sample(), 8).unwrap().diff_id);
        // gzip header: mtime 0, OS unknown.
        assert_eq!(&a.gzip[4..8], &[0, 0, 0, 0]);
        assert_eq!(a.gzip[9], 255);
    }

    #[test]
    fn conflicts_are_refused() {
        let mut t = sample();
        assert!(matches!(
            t.add_file("/etc/svc.conf", 0o644, vec![]),
            Err(TreeError::Duplicate(_))
        ));
        assert!(matches!(
            t.add_file("/usr/sbin/svc/x", 0o644, vec![]),
            Err(TreeError::FileAsDir(_))
        ));
    }
}
