//! `pkgbuild image`: a LinuxKit manifest -> a bootable machine, as `linuxkit build` lays it out:
//! the kernel image's `kernel` beside, its `kernel.tar` and the `init:` images in the root, each
//! onboot/onshutdown/services entry a bundle under `/containers/...` with config.json and
//! runtime.json from the label + entry conversion, `files:` last; written as a gzip'd newc
//! initrd (or a tar) and the kernel command line.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use linuxkit_config::{bundle_runtime, extract_dir, to_oci, ImageConfig, Manifest};

use crate::build::{self, BuildOptions};
use crate::bundle::StoredImage;
use crate::linuxkit::{image_refs, parse_reference};
use crate::platform::Platform;
use crate::registry::{Client, Reference};
use crate::rootfs::{dir, file, symlink, Root};
use crate::store::Store;
use crate::workspace::Workspace;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    KernelInitrd,
    Tar,
}

impl std::str::FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "kernel+initrd" => Ok(Format::KernelInitrd),
            "tar" => Ok(Format::Tar),
            other => Err(format!("unknown format {other:?} (kernel+initrd or tar)")),
        }
    }
}

pub struct Outputs {
    pub files: Vec<PathBuf>,
    pub root_entries: usize,
}

/// Reads the YAML, checks it as LinuxKit does; errors name the line where it can be found.
pub fn parse_manifest(text: &str) -> anyhow::Result<Manifest> {
    let value: serde_json::Value =
        serde_yaml::from_str(text).context("the manifest is not YAML")?;
    Manifest::parse(&value).map_err(|e| {
        let line = line_of(text, &e.field);
        match line {
            Some(n) => anyhow::anyhow!("line {n}: {e}"),
            None => anyhow::anyhow!("{e}"),
        }
    })
}

/// The line of `section[i]`'s image reference (or of the section), for errors.
fn line_of(text: &str, field: &str) -> Option<usize> {
    let section = field.split(['[', '.']).next()?;
    let index: Option<usize> = field
        .split_once('[')
        .and_then(|(_, rest)| rest.split(']').next())
        .and_then(|i| i.parse().ok());
    if let Some(i) = index {
        if let Some(r) = image_refs(text)
            .into_iter()
            .filter(|r| r.section == section)
            .nth(i)
        {
            return Some(r.line);
        }
    }
    text.lines()
        .position(|l| l.starts_with(&format!("{section}:")))
        .map(|i| i + 1)
}

impl Assembly<'_> {
    /// Finds an image for `reference`: a workspace package (built for the platform if missing),
    /// an image in the store by its name or pinned digest, or else one pulled from its registry
    /// into the store (with push's credentials), as LinuxKit fills its cache.
    fn resolve(&mut self, reference: &str) -> anyhow::Result<StoredImage> {
        let bare = reference.strip_prefix("docker.io/").unwrap_or(reference);
        let parsed = parse_reference(bare);
        if let Some(pkg) = self.ws.packages.iter().find(|p| p.repo() == parsed.name) {
            let opts = BuildOptions {
                platforms: Some(vec![self.platform]),
                force: false,
            };
            let built = build::build_package(self.ws, self.store, pkg, &opts, self.log)?;
            if let Some(pinned) = parsed.digest {
                if pinned != built.index_digest && self.store.read(pinned).is_ok() {
                    return StoredImage::read(self.store, pinned, self.platform);
                }
            }
            return StoredImage::read(self.store, &built.index_digest, self.platform);
        }
        let name = match parsed.tag {
            Some(tag) => format!("{}:{tag}", parsed.name),
            None if parsed.digest.is_some() => {
                format!("{}@{}", parsed.name, parsed.digest.unwrap())
            }
            None => format!("{}:latest", parsed.name),
        };
        let held = match parsed.digest {
            Some(d) => Some(d.to_string()),
            None => self.store.find_ref(&name)?.map(|d| d.digest().to_string()),
        };
        if let Some(digest) = &held {
            // A stored image may lack this platform (a pull takes one platform only).
            if let Ok(image) = StoredImage::read(self.store, digest, self.platform) {
                return Ok(image);
            }
        }
        let remote = Reference::parse(bare).with_context(|| format!("image {reference}"))?;
        let digest = crate::pull::pull(
            self.client,
            self.store,
            &remote,
            &name,
            self.platform,
            self.log,
        )
        .with_context(|| {
            format!(
                "{reference} is neither a package of this workspace nor in the store, and \
                 pulling it failed (for LinuxKit's kernel, runc and containerd here: cargo xtask \
                 standins)"
            )
        })?;
        StoredImage::read(self.store, &digest, self.platform)
            .with_context(|| format!("image {reference}"))
    }
}

/// LinuxKit's fix-ups of every image's files: mount points for /dev, /proc, /sys, an empty
/// resolv.conf, a hosts file, and /etc/mtab.
fn fix_up(root: &mut Root, at: &str) {
    for d in ["dev", "proc", "sys"] {
        root.mkdir(&format!("{at}/{d}"), 0o755);
    }
    root.mkdir(&format!("{at}/etc"), 0o755);
    if root.get(&format!("{at}/etc/resolv.conf")).is_none() {
        root.insert(&format!("{at}/etc/resolv.conf"), file(Vec::new(), 0o644));
    }
    if root.get(&format!("{at}/etc/hosts")).is_none() {
        root.insert(
            &format!("{at}/etc/hosts"),
            file(
                b"127.0.0.1       localhost\n::1     localhost ip6-localhost ip6-loopback\n"
                    .to_vec(),
                0o644,
            ),
        );
    }
    if root.get(&format!("{at}/etc/mtab")).is_none() {
        root.insert(&format!("{at}/etc/mtab"), symlink("/proc/mounts"));
    }
}

fn unpack(root: &mut Root, store: &Store, image: &StoredImage, at: &str) -> anyhow::Result<()> {
    for digest in &image.layers {
        let bytes = store.read(digest)?;
        root.apply_tar(StoredImage::layer_tar(&bytes)?, at)
            .with_context(|| format!("layer {digest}"))?;
    }
    Ok(())
}

/// The bundles of one section: `/containers/<section>/<folder>`.
fn add_bundles(
    root: &mut Root,
    ctx: &mut Assembly<'_>,
    section: &str,
    entries: &[ImageConfig],
) -> anyhow::Result<()> {
    for (i, entry) in entries.iter().enumerate() {
        let name = entry.name.clone().unwrap_or_default();
        let reference = entry.image.clone().unwrap_or_default();
        let folder = if section == "services" {
            name.clone()
        } else {
            format!("{i:03}-{name}")
        };
        let bundle = format!("containers/{section}/{folder}");
        let image = ctx
            .resolve(&reference)
            .with_context(|| format!("{section}[{i}] ({name})"))?;
        let label = image.label()?;
        let (spec, runtime) = to_oci(&label, entry, &image.defaults(), &BTreeMap::new())
            .with_context(|| format!("{section}[{i}] ({name})"))?;
        let readonly = spec["root"]["readonly"] == serde_json::Value::Bool(true);
        // An image used twice is extracted once; the others take it from there.
        let lower = match ctx.extracted.get(&(reference.clone(), readonly)) {
            Some(at) => at.clone(),
            None => {
                let at = format!("{bundle}/{}", extract_dir(readonly));
                unpack(root, ctx.store, &image, &at)?;
                fix_up(root, &at);
                ctx.extracted
                    .insert((reference.clone(), readonly), at.clone());
                at
            }
        };
        root.mkdir(&format!("{bundle}/rootfs"), 0o755);
        if !readonly {
            root.mkdir(&format!("{bundle}/tmp"), 0o755);
        }
        let runtime = bundle_runtime(
            &format!("/{bundle}"),
            readonly,
            &format!("/{lower}"),
            &runtime,
        );
        root.insert(
            &format!("{bundle}/config.json"),
            file(pretty_json(&spec)?, 0o644),
        );
        root.insert(
            &format!("{bundle}/runtime.json"),
            file(pretty_json(&runtime)?, 0o644),
        );
    }
    Ok(())
}

/// Pretty JSON with a final newline, for both files of a bundle.
fn pretty_json<T: serde::Serialize>(value: &T) -> anyhow::Result<Vec<u8>> {
    let mut v = serde_json::to_vec_pretty(value)?;
    v.push(b'\n');
    Ok(v)
}

struct Assembly<'a> {
    ws: &'a Workspace,
    store: &'a Store,
    client: &'a Client,
    platform: Platform,
    log: &'a mut dyn Write,
    extracted: BTreeMap<(String, bool), String>,
}

fn mode_of(text: &Option<String>, default: u32) -> anyhow::Result<u32> {
    match text {
        Some(m) => u32::from_str_radix(m, 8).with_context(|| format!("mode {m:?}")),
        None => Ok(default),
    }
}

/// `files:` entries, relative to the manifest's folder.
fn add_files(root: &mut Root, manifest: &Manifest, base: &Path) -> anyhow::Result<()> {
    for (i, f) in manifest.files.iter().enumerate() {
        let path = f.path.trim_start_matches('/');
        let what = || format!("files[{i}] ({})", f.path);
        let uid = match &f.uid {
            Some(linuxkit_config::Id::Number(n)) => *n,
            _ => 0,
        };
        let gid = match &f.gid {
            Some(linuxkit_config::Id::Number(n)) => *n,
            _ => 0,
        };
        let mut node = if f.directory {
            dir(mode_of(&f.mode, 0o755).with_context(what)?)
        } else if let Some(target) = &f.symlink {
            symlink(target)
        } else if let Some(text) = &f.contents {
            file(
                text.clone().into_bytes(),
                mode_of(&f.mode, 0o600).with_context(what)?,
            )
        } else if let Some(source) = &f.source {
            let src = match source.strip_prefix("~/") {
                Some(rest) => {
                    PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(rest)
                }
                None => base.join(source),
            };
            match std::fs::read(&src) {
                Ok(data) => file(data, mode_of(&f.mode, 0o600).with_context(what)?),
                Err(_) if f.optional => continue,
                Err(e) => bail!("{}: reading {}: {e}", what(), src.display()),
            }
        } else if f.metadata.is_some() {
            bail!("{}: metadata files are not supported yet", what());
        } else {
            file(Vec::new(), mode_of(&f.mode, 0o600).with_context(what)?)
        };
        node.uid = uid;
        node.gid = gid;
        root.insert(path, node);
    }
    Ok(())
}

/// Builds the machine of `manifest_path` for `platform` into `out`.
#[allow(clippy::too_many_arguments)]
pub fn build_machine(
    ws: &Workspace,
    store: &Store,
    client: &Client,
    manifest_path: &Path,
    platform: Platform,
    format: Format,
    out: &Path,
    log: &mut dyn Write,
) -> anyhow::Result<Outputs> {
    let text = std::fs::read_to_string(manifest_path)
        .with_context(|| format!("reading {}", manifest_path.display()))?;
    let manifest = parse_manifest(&text).with_context(|| manifest_path.display().to_string())?;
    let base = manifest_path
        .parent()
        .unwrap_or(Path::new("."))
        .to_path_buf();
    let kernel = manifest
        .kernel
        .clone()
        .context("the manifest has no kernel")?;
    let mut root = Root::default();
    let mut ctx = Assembly {
        ws,
        store,
        client,
        platform,
        log,
        extracted: BTreeMap::new(),
    };

    // The kernel image: its binary beside the initrd, its modules in the root.
    let kimage = ctx.resolve(&kernel.image).context("kernel")?;
    let mut kroot = Root::default();
    unpack(&mut kroot, store, &kimage, "")?;
    let binary = kernel.binary.clone().unwrap_or_else(|| "kernel".into());
    let kernel_bytes = match kroot.get(&binary).map(|n| &n.kind) {
        Some(crate::rootfs::Kind::File(data)) => data.clone(),
        _ => bail!("kernel image {} has no file {binary}", kernel.image),
    };
    let tar_name = kernel.tar.clone().unwrap_or_else(|| "kernel.tar".into());
    if tar_name != "none" {
        if let Some(crate::rootfs::Kind::File(data)) = kroot.get(&tar_name).map(|n| &n.kind) {
            root.apply_tar(&data[..], "")?;
        }
    }
    for (i, reference) in manifest.init.iter().enumerate() {
        let image = ctx
            .resolve(reference)
            .with_context(|| format!("init[{i}]"))?;
        unpack(&mut root, store, &image, "")?;
    }
    add_bundles(&mut root, &mut ctx, "onboot", &manifest.onboot)?;
    add_bundles(&mut root, &mut ctx, "onshutdown", &manifest.onshutdown)?;
    add_bundles(&mut root, &mut ctx, "services", &manifest.services)?;
    // As LinuxKit does: the manifest itself, for whoever is on the machine.
    root.insert("etc/linuxkit.yml", file(text.clone().into_bytes(), 0o644));
    add_files(&mut root, &manifest, &base)?;

    std::fs::create_dir_all(out)?;
    let mut files = Vec::new();
    let mut write = |name: &str, bytes: &[u8]| -> anyhow::Result<()> {
        let path = out.join(name);
        let mut tmp = tempfile::NamedTempFile::new_in(out)?;
        tmp.write_all(bytes)?;
        tmp.persist(&path)
            .with_context(|| format!("writing {}", path.display()))?;
        files.push(path);
        Ok(())
    };
    write("kernel", &kernel_bytes)?;
    write("cmdline", format!("{}\n", kernel.cmdline.trim()).as_bytes())?;
    match format {
        Format::KernelInitrd => write("initrd.img", &root.to_initrd(0)?)?,
        Format::Tar => write("rootfs.tar", &root.to_tar(0)?)?,
    }
    Ok(Outputs {
        files,
        root_entries: root.paths().count(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_errors_name_the_line_of_the_entry() {
        let text = "kernel:\n  image: k:1\nservices:\n  - name: a\n    image: x:1\n  - name: b\n    image: y:1\n    cgroupns: host\n";
        let err = parse_manifest(text).unwrap_err().to_string();
        assert!(
            err.starts_with("line 7: field `services[1].cgroupns`"),
            "{err}"
        );
        let err = parse_manifest("kernel:\n  image: k\nvolumes: []\n")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("line 3:"), "{err}");
        let err = parse_manifest("kernel: [\n").unwrap_err();
        assert!(format!("{err:#}").contains("line 2"), "{err:#}");
    }
}
