//! A machine's root filesystem in memory, filled from image layers and tars in order (a later
//! file replaces an earlier one, OCI whiteouts remove), written out as a deterministic gzip'd
//! newc cpio (an initrd) or tar: entries sorted with parents first, owners and modes as given,
//! one mtime, inode numbers in order.

use std::collections::BTreeMap;
use std::io::{Read, Write};

use anyhow::Context;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    Dir,
    File(Vec<u8>),
    Symlink(String),
    CharDevice { major: u32, minor: u32 },
    BlockDevice { major: u32, minor: u32 },
    Fifo,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    pub kind: Kind,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
}

/// Paths without a leading slash.
#[derive(Debug, Default, Clone)]
pub struct Root {
    nodes: BTreeMap<String, Node>,
}

fn clean(path: &str) -> String {
    path.trim_start_matches("./")
        .trim_start_matches('/')
        .trim_end_matches('/')
        .to_string()
}

impl Root {
    pub fn get(&self, path: &str) -> Option<&Node> {
        self.nodes.get(&clean(path))
    }

    pub fn paths(&self) -> impl Iterator<Item = &String> {
        self.nodes.keys()
    }

    /// Adds or replaces `path`, making missing parents (0755, root).
    pub fn insert(&mut self, path: &str, node: Node) {
        let path = clean(path);
        if path.is_empty() {
            return;
        }
        let mut parent = String::new();
        for part in path.split('/').collect::<Vec<_>>().split_last().unwrap().1 {
            if !parent.is_empty() {
                parent.push('/');
            }
            parent.push_str(part);
            match self.nodes.get(&parent) {
                Some(Node {
                    kind: Kind::Dir, ..
                }) => {}
                _ => {
                    self.nodes.insert(parent.clone(), dir(0o755));
                }
            }
        }
        // A file replacing a folder takes the folder's contents away.
        if !matches!(node.kind, Kind::Dir) {
            self.remove_below(&path);
        }
        self.nodes.insert(path, node);
    }

    /// Adds a folder unless one is there (keeping its mode).
    pub fn mkdir(&mut self, path: &str, mode: u32) {
        if !matches!(
            self.get(path),
            Some(Node {
                kind: Kind::Dir,
                ..
            })
        ) {
            self.insert(path, dir(mode));
        }
    }

    pub fn remove(&mut self, path: &str) {
        let path = clean(path);
        self.remove_below(&path);
        self.nodes.remove(&path);
    }

    fn remove_below(&mut self, path: &str) {
        let prefix = format!("{path}/");
        let below: Vec<String> = self
            .nodes
            .range(prefix.clone()..)
            .take_while(|(k, _)| k.starts_with(&prefix))
            .map(|(k, _)| k.clone())
            .collect();
        for k in below {
            self.nodes.remove(&k);
        }
    }

    /// Applies a tar (a layer, or a kernel's modules) under `prefix`. A layer's whiteouts hide
    /// what the layers below had, before its own entries go in (OCI's layer rules).
    pub fn apply_tar(&mut self, tar: impl Read, prefix: &str) -> anyhow::Result<()> {
        let mut archive = tar::Archive::new(tar);
        let mut whiteouts: Vec<(String, bool)> = Vec::new();
        let mut nodes: Vec<(String, Node)> = Vec::new();
        let mut links: Vec<(String, String)> = Vec::new();
        for entry in archive.entries()? {
            let mut entry = entry?;
            let header = entry.header().clone();
            let raw = entry.path()?.to_string_lossy().into_owned();
            let rel = clean(&raw);
            if rel.split('/').any(|c| c == "..") {
                anyhow::bail!("{raw}: a path that leaves the image's root");
            }
            let path = join(prefix, &rel);
            let (dir, name) = rel.rsplit_once('/').unwrap_or(("", rel.as_str()));
            // `.wh..wh..opq` empties the folder, `.wh.x` removes x.
            if name == ".wh..wh..opq" {
                whiteouts.push((join(prefix, dir), true));
                continue;
            }
            if let Some(gone) = name.strip_prefix(".wh.") {
                whiteouts.push((join(prefix, &join(dir, gone)), false));
                continue;
            }
            let mode = header.mode()? & 0o7777;
            let (uid, gid) = (header.uid()? as u32, header.gid()? as u32);
            let dev = || -> anyhow::Result<(u32, u32)> {
                Ok((
                    header.device_major()?.unwrap_or(0),
                    header.device_minor()?.unwrap_or(0),
                ))
            };
            let kind = match header.entry_type() {
                tar::EntryType::Directory => Kind::Dir,
                tar::EntryType::Regular | tar::EntryType::Continuous => {
                    let mut data = Vec::new();
                    entry.read_to_end(&mut data)?;
                    Kind::File(data)
                }
                tar::EntryType::Symlink => Kind::Symlink(
                    entry
                        .link_name()?
                        .map(|l| l.to_string_lossy().into_owned())
                        .unwrap_or_default(),
                ),
                tar::EntryType::Link => {
                    let target = entry
                        .link_name()?
                        .map(|l| join(prefix, &clean(&l.to_string_lossy())))
                        .unwrap_or_default();
                    links.push((path, target));
                    continue;
                }
                tar::EntryType::Char => {
                    let (major, minor) = dev()?;
                    Kind::CharDevice { major, minor }
                }
                tar::EntryType::Block => {
                    let (major, minor) = dev()?;
                    Kind::BlockDevice { major, minor }
                }
                tar::EntryType::Fifo => Kind::Fifo,
                _ => continue, // pax headers and the like
            };
            nodes.push((
                path,
                Node {
                    kind,
                    mode,
                    uid,
                    gid,
                },
            ));
        }
        for (path, opaque) in whiteouts {
            if opaque {
                self.remove_below(&path);
            } else {
                self.remove(&path);
            }
        }
        for (path, node) in nodes {
            if node.kind == Kind::Dir {
                // A folder entry sets the mode of one that children already made.
                self.remove_below_if_not_dir(&path);
            }
            self.nodes.remove(&path);
            self.insert(&path, node);
        }
        // Hard links become copies: an initrd is small enough, and the target is complete now.
        for (path, target) in links {
            match self.nodes.get(&target).cloned() {
                Some(node) => self.insert(&path, node),
                None => anyhow::bail!("hard link {path} to {target}, which the tar does not hold"),
            }
        }
        Ok(())
    }

    fn remove_below_if_not_dir(&mut self, path: &str) {
        if !matches!(
            self.nodes.get(path),
            Some(Node {
                kind: Kind::Dir,
                ..
            }) | None
        ) {
            self.nodes.remove(path);
        }
    }

    /// The root as a newc cpio archive, gzip'd with pinned settings.
    pub fn to_initrd(&self, mtime: u32) -> anyhow::Result<Vec<u8>> {
        let mut cpio = Vec::new();
        for (ino, (path, node)) in self.nodes.iter().enumerate() {
            let (type_bits, data, rdev): (u32, &[u8], (u32, u32)) = match &node.kind {
                Kind::Dir => (0o040000, &[], (0, 0)),
                Kind::File(d) => (0o100000, d, (0, 0)),
                Kind::Symlink(t) => (0o120000, t.as_bytes(), (0, 0)),
                Kind::CharDevice { major, minor } => (0o020000, &[], (*major, *minor)),
                Kind::BlockDevice { major, minor } => (0o060000, &[], (*major, *minor)),
                Kind::Fifo => (0o010000, &[], (0, 0)),
            };
            let mode = if matches!(node.kind, Kind::Symlink(_)) {
                0o777
            } else {
                node.mode
            };
            let nlink = if node.kind == Kind::Dir { 2 } else { 1 };
            write_newc(
                &mut cpio,
                path,
                [
                    ino as u32 + 1,
                    type_bits | mode,
                    node.uid,
                    node.gid,
                    nlink,
                    mtime,
                    data.len() as u32,
                    0,
                    0,
                    rdev.0,
                    rdev.1,
                ],
                data,
            );
        }
        write_newc(
            &mut cpio,
            "TRAILER!!!",
            [0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0],
            &[],
        );
        let mut gz = flate2::GzBuilder::new()
            .mtime(0)
            .operating_system(255)
            .write(Vec::new(), flate2::Compression::best());
        gz.write_all(&cpio)?;
        Ok(gz.finish()?)
    }

    /// The root as an uncompressed tar, for `--format tar`.
    pub fn to_tar(&self, mtime: u64) -> anyhow::Result<Vec<u8>> {
        let mut builder = tar::Builder::new(Vec::new());
        for (path, node) in &self.nodes {
            let mut h = tar::Header::new_ustar();
            h.set_uid(node.uid as u64);
            h.set_gid(node.gid as u64);
            h.set_mtime(mtime);
            h.set_mode(node.mode);
            h.set_size(0);
            match &node.kind {
                Kind::Dir => {
                    h.set_entry_type(tar::EntryType::Directory);
                    builder.append_data(&mut h, format!("{path}/"), std::io::empty())?;
                }
                Kind::File(d) => {
                    h.set_entry_type(tar::EntryType::Regular);
                    h.set_size(d.len() as u64);
                    builder.append_data(&mut h, path, d.as_slice())?;
                }
                Kind::Symlink(t) => {
                    h.set_entry_type(tar::EntryType::Symlink);
                    h.set_mode(0o777);
                    builder.append_link(&mut h, path, t)?;
                }
                Kind::CharDevice { major, minor } | Kind::BlockDevice { major, minor } => {
                    h.set_entry_type(if matches!(node.kind, Kind::CharDevice { .. }) {
                        tar::EntryType::Char
                    } else {
                        tar::EntryType::Block
                    });
                    h.set_device_major(*major)?;
                    h.set_device_minor(*minor)?;
                    builder.append_data(&mut h, path, std::io::empty())?;
                }
                Kind::Fifo => {
                    h.set_entry_type(tar::EntryType::Fifo);
                    builder.append_data(&mut h, path, std::io::empty())?;
                }
            }
        }
        builder.into_inner().context("writing the tar")
    }
}

pub fn dir(mode: u32) -> Node {
    Node {
        kind: Kind::Dir,
        mode,
        uid: 0,
        gid: 0,
    }
}

pub fn file(data: Vec<u8>, mode: u32) -> Node {
    Node {
        kind: Kind::File(data),
        mode,
        uid: 0,
        gid: 0,
    }
}

pub fn symlink(target: &str) -> Node {
    Node {
        kind: Kind::Symlink(target.to_string()),
        mode: 0o777,
        uid: 0,
        gid: 0,
    }
}

fn join(a: &str, b: &str) -> String {
    match (a.is_empty(), b.is_empty()) {
        (true, _) => b.to_string(),
        (_, true) => a.to_string(),
        _ => format!("{}/{}", a.trim_end_matches('/'), b),
    }
}

/// One newc record: "070701", 13 fields of 8 hex digits, the name with its NUL, padding to 4,
/// the data, padding to 4. Fields: ino, mode, uid, gid, nlink, mtime, filesize, devmajor,
/// devminor, rdevmajor, rdevminor (namesize and check are filled in here).
fn write_newc(out: &mut Vec<u8>, name: &str, f: [u32; 11], data: &[u8]) {
    let header = format!(
        "070701{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}",
        f[0],
        f[1],
        f[2],
        f[3],
        f[4],
        f[5],
        f[6],
        f[7],
        f[8],
        f[9],
        f[10],
        name.len() + 1,
        0
    );
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(name.as_bytes());
    out.push(0);
    while !out.len().is_multiple_of(4) {
        out.push(0);
    }
    out.extend_from_slice(data);
    while !out.len().is_multiple_of(4) {
        out.push(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layer(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        for (path, data) in entries {
            let mut h = tar::Header::new_ustar();
            h.set_mode(0o644);
            h.set_uid(0);
            h.set_gid(0);
            h.set_mtime(0);
            h.set_size(data.len() as u64);
            h.set_entry_type(tar::EntryType::Regular);
            b.append_data(&mut h, path, *data).unwrap();
        }
        b.into_inner().unwrap()
    }

    #[test]
    fn later_layers_replace_and_whiteouts_remove() {
        let mut root = Root::default();
        root.apply_tar(
            &layer(&[("etc/a", b"1"), ("etc/b", b"2"), ("usr/x/y", b"3")])[..],
            "",
        )
        .unwrap();
        root.apply_tar(
            &layer(&[
                ("etc/a", b"new"),
                ("etc/.wh.b", b""),
                ("usr/x/.wh..wh..opq", b""),
            ])[..],
            "",
        )
        .unwrap();
        assert_eq!(root.get("etc/a").unwrap().kind, Kind::File(b"new".to_vec()));
        assert!(root.get("etc/b").is_none());
        assert!(root.get("usr/x/y").is_none());
        assert_eq!(root.get("usr/x").unwrap().kind, Kind::Dir);
        root.apply_tar(&layer(&[("bin/sh", b"#!")])[..], "containers/x/lower")
            .unwrap();
        assert!(root.get("containers/x/lower/bin/sh").is_some());
    }

    #[test]
    fn the_initrd_is_newc_in_order_and_the_same_bytes_every_time() {
        let mut root = Root::default();
        root.insert("init", file(b"ELF".to_vec(), 0o755));
        root.insert("sbin/init", symlink("/init"));
        root.insert(
            "dev/console",
            Node {
                kind: Kind::CharDevice { major: 5, minor: 1 },
                mode: 0o600,
                uid: 0,
                gid: 0,
            },
        );
        let a = root.to_initrd(0).unwrap();
        assert_eq!(a, root.to_initrd(0).unwrap());
        let mut cpio = Vec::new();
        flate2::read::GzDecoder::new(&a[..])
            .read_to_end(&mut cpio)
            .unwrap();
        let text = String::from_utf8_lossy(&cpio);
        let names: Vec<&str> = [
            "dev\0",
            "dev/console\0",
            "init\0",
            "sbin\0",
            "sbin/init\0",
            "TRAILER!!!\0",
        ]
        .into_iter()
        .collect();
        let mut at = 0;
        for name in names {
            let found = text[at..]
                .find(name)
                .unwrap_or_else(|| panic!("{name:?} missing or out of order"));
            at += found + name.len();
        }
        assert!(cpio.starts_with(b"070701"));
        assert_eq!(cpio.len() % 4, 0);
    }
}
