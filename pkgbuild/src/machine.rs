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
use crate::linuxkit::parse_reference;
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

/// A manifest LinuxKit would refuse, with the line of what is wrong when it can be placed.
#[derive(Debug, thiserror::Error)]
#[error("{}{message}", line.map(|n| format!("line {n}: ")).unwrap_or_default())]
pub struct ManifestError {
    pub line: Option<usize>,
    pub message: String,
}

/// Reads the YAML, checks it as LinuxKit does; errors name the line of the field at fault.
pub fn parse_manifest(text: &str) -> Result<Manifest, ManifestError> {
    let docs = crate::yaml::parse(text).map_err(|e| ManifestError {
        line: Some(e.line),
        message: format!("the manifest is not YAML: {}", e.message),
    })?;
    let value: serde_json::Value = serde_yaml::from_str(text).map_err(|e| ManifestError {
        line: e.location().map(|l| l.line()),
        message: format!("the manifest is not YAML: {e}"),
    })?;
    Manifest::parse(&value).map_err(|e| ManifestError {
        line: docs
            .first()
            .and_then(|d| d.root.as_ref())
            .map(|root| root.deepest(&e.field).line()),
        message: e.to_string(),
    })
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
        let name = match (parsed.tag, parsed.digest) {
            (Some(tag), _) => format!("{}:{tag}", parsed.name),
            (None, Some(digest)) => format!("{}@{digest}", parsed.name),
            (None, None) => format!("{}:latest", parsed.name),
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

/// The `etc/hosts` LinuxKit gives every image.
const HOSTS: &[u8] = b"127.0.0.1       localhost
::1     localhost ip6-localhost ip6-loopback
fe00::0 ip6-localnet
ff00::0 ip6-mcastprefix
ff02::1 ip6-allnodes
ff02::2 ip6-allrouters
";

/// What `etc/resolv.conf` becomes in an image: `init:` images share the host's, which dhcpcd
/// writes under /run/resolvconf; a container gets a placeholder (or a bind from its config).
#[derive(Clone, Copy)]
enum Resolv {
    Host,
    Container,
}

/// LinuxKit's fix-ups of every image it unpacks: the image's own `etc/hostname`,
/// `dev/console`, `.dockerenv` and `Dockerfile` go; `etc/hosts` and `etc/resolv.conf` are
/// LinuxKit's; the mount points and `etc/mtab` are made when missing.
fn fix_up(root: &mut Root, at: &str, resolv: Resolv) {
    let path = |p: &str| format!("{at}/{p}");
    for dropped in [".dockerenv", "Dockerfile", "dev/console", "etc/hostname"] {
        root.remove(&path(dropped));
    }
    for d in ["dev", "dev/pts", "dev/shm", "etc", "proc", "sys"] {
        root.mkdir(&path(d), 0o755);
    }
    root.insert(&path("etc/hosts"), file(HOSTS.to_vec(), 0o644));
    let resolv_conf = match resolv {
        Resolv::Host => symlink("/run/resolvconf/resolv.conf"),
        Resolv::Container => file(b"\n# no resolv.conf configured\n".to_vec(), 0o644),
    };
    root.insert(&path("etc/resolv.conf"), resolv_conf);
    if root.get(&path("etc/mtab")).is_none() {
        root.insert(&path("etc/mtab"), symlink("/proc/mounts"));
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

/// `/containers/volumes/NAME`: the image's files (or nothing) in `lower/`, `merged/` where init
/// mounts it, and `tmp/` for the writes of a read-write volume.
fn add_volumes(root: &mut Root, ctx: &mut Assembly<'_>, manifest: &Manifest) -> anyhow::Result<()> {
    for (i, volume) in manifest.volumes.iter().enumerate() {
        let at = format!("containers/volumes/{}", volume.name);
        let lower = format!("{at}/lower");
        match &volume.image {
            Some(reference) => {
                let image = ctx
                    .resolve(reference)
                    .with_context(|| format!("volumes[{i}] ({})", volume.name))?;
                unpack(root, ctx.store, &image, &lower)?;
                fix_up(root, &lower, Resolv::Host);
            }
            None => root.mkdir(&lower, 0o755),
        }
        root.mkdir(&format!("{at}/merged"), 0o755);
        if !volume.readonly {
            root.mkdir(&format!("{at}/tmp"), 0o755);
        }
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
        let (spec, runtime) = to_oci(&label, entry, &image.defaults(), &ctx.ids)
            .with_context(|| format!("{section}[{i}] ({name})"))?;
        let readonly = spec["root"]["readonly"] == serde_json::Value::Bool(true);
        // An image used twice is extracted once; the others take it from there.
        let lower = match ctx.extracted.get(&(reference.clone(), readonly)) {
            Some(at) => at.clone(),
            None => {
                let at = format!("{bundle}/{}", extract_dir(readonly));
                unpack(root, ctx.store, &image, &at)?;
                fix_up(root, &at, Resolv::Container);
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
    /// Container names usable as uid/gid ([`Manifest::ids`]).
    ids: BTreeMap<String, u32>,
}

fn mode_of(text: &Option<String>, default: u32) -> anyhow::Result<u32> {
    match text {
        Some(m) => u32::from_str_radix(m, 8).with_context(|| format!("mode {m:?}")),
        None => Ok(default),
    }
}

/// `files:` entries, as LinuxKit writes them: after everything else; uid/gid names are the
/// manifest's container ids; each parent folder not written by an earlier entry is (re)made
/// with the entry's owner and its mode plus the x bits of every class that has any bit.
/// A relative `source` is read from the manifest's folder, `~/` from the home folder.
fn add_files(
    root: &mut Root,
    manifest: &Manifest,
    text: &str,
    base: &Path,
    ids: &BTreeMap<String, u32>,
) -> anyhow::Result<()> {
    let mut written_dirs = std::collections::BTreeSet::new();
    for (i, f) in manifest.files.iter().enumerate() {
        let path = f.path.strip_prefix('/').unwrap_or(&f.path);
        let what = || format!("files[{i}] ({})", f.path);
        let id = |id: &Option<linuxkit_config::Id>| -> anyhow::Result<u32> {
            match id {
                Some(id) => id
                    .number(ids)
                    .map_err(anyhow::Error::msg)
                    .with_context(what),
                None => Ok(0),
            }
        };
        let (uid, gid) = (id(&f.uid)?, id(&f.gid)?);
        let default_mode = if f.directory { 0o700 } else { 0o600 };
        let mode = mode_of(&f.mode, default_mode).with_context(what)?;
        let mut node = if f.directory {
            dir(mode)
        } else if let Some(target) = &f.symlink {
            symlink(target)
        } else if let Some(contents) = &f.contents {
            file(contents.clone().into_bytes(), mode)
        } else if let Some(source) = &f.source {
            let src = match source.strip_prefix("~/") {
                Some(rest) => {
                    PathBuf::from(std::env::var_os("HOME").unwrap_or_default()).join(rest)
                }
                None => base.join(source),
            };
            if f.optional && std::fs::symlink_metadata(&src).is_err() {
                continue;
            }
            let data = std::fs::read(&src)
                .with_context(|| format!("{}: reading {}", what(), src.display()))?;
            file(data, mode)
        } else if let Some(format) = &f.metadata {
            file(metadata(text, format).with_context(what)?, mode)
        } else {
            bail!("{}: nothing to write", what());
        };
        let dir_mode = mode
            | [0o700, 0o070, 0o007]
                .iter()
                .filter(|class| mode & **class != 0)
                .map(|class| class & 0o111)
                .sum::<u32>();
        let mut parent = String::new();
        for part in path
            .split('/')
            .collect::<Vec<_>>()
            .split_last()
            .map(|(_, p)| p)
            .unwrap_or(&[])
        {
            parent = if parent.is_empty() {
                part.to_string()
            } else {
                format!("{parent}/{part}")
            };
            if written_dirs.insert(parent.clone()) {
                let mut d = dir(dir_mode & 0o7777);
                (d.uid, d.gid) = (uid, gid);
                root.insert(&parent, d);
            }
        }
        if f.directory {
            written_dirs.insert(path.trim_end_matches('/').to_string());
        }
        node.uid = uid;
        node.gid = gid;
        root.insert(path, node);
    }
    Ok(())
}

/// A `metadata` file: the manifest as YAML, or as JSON indented by four spaces.
fn metadata(text: &str, format: &str) -> anyhow::Result<Vec<u8>> {
    let value: serde_json::Value = serde_yaml::from_str(text)?;
    match format {
        "yaml" => Ok(serde_yaml::to_string(&value)?.into_bytes()),
        _ => {
            let mut out = Vec::new();
            let indent = serde_json::ser::PrettyFormatter::with_indent(b"    ");
            let mut ser = serde_json::Serializer::with_formatter(&mut out, indent);
            serde::Serialize::serialize(&value, &mut ser)?;
            Ok(out)
        }
    }
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
        ids: manifest.ids(),
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
        match kroot.get(&tar_name).map(|n| &n.kind) {
            Some(crate::rootfs::Kind::File(data)) => root.apply_tar(&data[..], "")?,
            _ => bail!(
                "kernel image {} has no file {tar_name} (say `tar: none` for a kernel without modules)",
                kernel.image
            ),
        }
    }
    // Early microcode: its cpio goes before the initrd, uncompressed, as the kernel wants it.
    let ucode = match &kernel.ucode {
        Some(name) => match kroot.get(name).map(|n| &n.kind) {
            Some(crate::rootfs::Kind::File(data)) => data.clone(),
            _ => Vec::new(),
        },
        None => Vec::new(),
    };
    for (i, reference) in manifest.init.iter().enumerate() {
        let image = ctx
            .resolve(reference)
            .with_context(|| format!("init[{i}]"))?;
        unpack(&mut root, store, &image, "")?;
        fix_up(&mut root, "", Resolv::Host);
    }
    add_volumes(&mut root, &mut ctx, &manifest)?;
    for (section, entries) in [
        ("onboot", &manifest.onboot),
        ("onshutdown", &manifest.onshutdown),
        ("services", &manifest.services),
    ] {
        let entries = entries
            .iter()
            .map(|e| manifest.volume_binds(e))
            .collect::<Result<Vec<_>, _>>()?;
        add_bundles(&mut root, &mut ctx, section, &entries)?;
    }
    add_files(&mut root, &manifest, &text, &base, &ctx.ids)?;

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
        Format::KernelInitrd => write("initrd.img", &[ucode, root.to_initrd(0)?].concat())?,
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
            err.starts_with("line 8: field `services[1].cgroupns`"),
            "{err}"
        );
        let err = parse_manifest("kernel:\n  image: k\nvolume: []\n")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("line 3:"), "{err}");
        let err = parse_manifest("kernel: [\n").unwrap_err();
        assert_eq!(err.line, Some(2), "{err}");
        let err = parse_manifest("kernel: {image: k}\nonboot:\n  - {name: a, image: x:1}\n  - name: b\n    image: y:1\n    capabilities: [CAP_NOPE]\n")
            .unwrap_err();
        assert_eq!(err.line, Some(6), "{err}");
    }
}
