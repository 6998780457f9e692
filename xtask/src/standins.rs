//! `cargo xtask standins`: stand-ins for LinuxKit's kernel, runc, containerd and busybox images,
//! made from Debian bookworm's packages, in pkgbuild's store and LinuxKit's layout.
//!
//! LinuxKit's own images cannot be pulled here. A manifest written for them boots with these after
//! swapping only the image lines:
//!
//! - `linuxkit/kernel:<abi>-debian`: `kernel` (Debian's vmlinuz), `kernel.tar` (the modules a VM
//!   needs under `lib/modules/<release>/`, their dependencies, and depmod's indexes made for
//!   exactly that set) and `config`, at the image root. No `System.map`: Debian's is a placeholder.
//! - `linuxkit/runc:<version>`: `/usr/bin/runc` with its shared libraries and dynamic loader.
//! - `linuxkit/containerd:<version>`: `containerd`, `ctr` and `containerd-shim-runc-v2` in
//!   `/usr/bin`, with their libraries.
//! - `linuxkit/busybox:<version>`: the static busybox at `/bin/busybox` and its applet links.
//!
//! The main package's version is the newest one that all three architectures have, so that one tag
//! (one index) holds every architecture whichever were asked. The images are deterministic: the
//! same .debs give the same digests (pkgbuild's tar and gzip settings, mtimes from the packages).
//! The .debs are kept under `target/standins/debs`. An image whose tag the store already holds for
//! an architecture, made by the same recipe (this file and the same .debs, recorded in the
//! store's index.json, not in the image), is not made again.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{bail, Context};
use oci_spec::image::{Descriptor, ImageIndex, ImageManifest, MediaType};
use pkgbuild::checked_output;
use pkgbuild::image::{self, Blob, ConfigSpec};
use pkgbuild::inputs::{sha256_file, sha256_hex};
use pkgbuild::layer::{self, Tree};
use pkgbuild::platform::Platform;
use pkgbuild::store::{Store, StoreError};

use crate::{ensure_packages, nix_is_root, run as run_cmd, workspace_root};

const ORG: &str = "linuxkit";
/// index.json annotation (per architecture) naming the recipe an image was made by.
const RECIPE_KEY: &str = "org.minios.standins.recipe";
/// Manifest annotation listing the .debs an image was made from.
const DEBS_KEY: &str = "org.minios.standins.debs";
/// The code that turns .debs into images: part of every recipe.
const SOURCE: &str = include_str!("standins.rs");

/// The modules every VM of ours needs; each must be a module of the package or built in.
const REQUIRED_MODULES: &[&str] = &[
    "virtio",
    "virtio_pci",
    "virtio_ring",
    "virtio_net",
    "net_failover",
    "failover",
    "virtio_console",
    "virtio_blk",
    "overlay",
    "veth",
    "bridge",
    "stp",
    "llc",
    "af_packet",
];

/// Taken when the package has them as modules: other virtual hardware QEMU offers, the file
/// systems a disk or a CD image may hold, and the usual container networking devices.
const OPTIONAL_MODULES: &[&str] = &[
    // virtio transports and devices
    "virtio_mmio",
    "virtio_pci_modern_dev",
    "virtio_pci_legacy_dev",
    "virtio_ccw",
    "virtio_scsi",
    "virtio_rng",
    "virtio_balloon",
    "virtio_input",
    "virtiofs",
    "vsock",
    "vmw_vsock_virtio_transport",
    "vmw_vsock_virtio_transport_common",
    "9p",
    "9pnet",
    "9pnet_virtio",
    // QEMU's default NIC and disks on amd64
    "e1000",
    "e1000e",
    "ata_piix",
    "ahci",
    "libata",
    "sd_mod",
    "sr_mod",
    "cdrom",
    "scsi_mod",
    // file systems
    "ext4",
    "crc32c_generic",
    "squashfs",
    "isofs",
    "vfat",
    "nls_cp437",
    "nls_ascii",
    "fuse",
    "loop",
    // networking
    "tun",
    "dummy",
    "macvlan",
    "ipvlan",
    "vxlan",
    "ipv6",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Standin {
    Kernel,
    Runc,
    Containerd,
    Busybox,
}

impl Standin {
    const ALL: [Standin; 4] = [
        Standin::Kernel,
        Standin::Runc,
        Standin::Containerd,
        Standin::Busybox,
    ];

    fn image(self) -> &'static str {
        match self {
            Standin::Kernel => "kernel",
            Standin::Runc => "runc",
            Standin::Containerd => "containerd",
            Standin::Busybox => "busybox",
        }
    }

    /// The Debian package whose version names the tag (for the kernel, the metapackage).
    fn package(self, arch: Platform) -> String {
        match self {
            Standin::Kernel => format!("linux-image-{}", arch.arch()),
            Standin::Runc => "runc".into(),
            Standin::Containerd => "containerd".into(),
            Standin::Busybox => "busybox-static".into(),
        }
    }

    /// The executables the image carries, with their shared-library closure.
    fn binaries(self) -> &'static [&'static str] {
        match self {
            Standin::Kernel => &[],
            Standin::Runc => &["/usr/bin/runc"],
            Standin::Containerd => &[
                "/usr/bin/containerd",
                "/usr/bin/ctr",
                "/usr/bin/containerd-shim-runc-v2",
            ],
            Standin::Busybox => &["/bin/busybox"],
        }
    }
}

struct Options {
    arches: Vec<Platform>,
    store: PathBuf,
    force: bool,
    only: Vec<Standin>,
}

const USAGE: &str = "usage: cargo xtask standins [kernel|runc|containerd|busybox ...] \
[--arch amd64|arm64|s390x ...] [--cache DIR] [--force]";

fn parse_args(args: &[String]) -> anyhow::Result<Options> {
    let mut arches = Vec::new();
    let mut store = std::env::var_os("PKGBUILD_CACHE")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from);
    let mut force = false;
    let mut only = Vec::new();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f, Some(v.to_string())),
            _ => (arg.as_str(), None),
        };
        let mut value = |name: &str| -> anyhow::Result<String> {
            match inline.clone() {
                Some(v) => Ok(v),
                None => it
                    .next()
                    .cloned()
                    .with_context(|| format!("{name} needs a value\n{USAGE}")),
            }
        };
        match flag {
            "--arch" | "--platforms" => {
                for item in value(flag)?.split(',').filter(|s| !s.trim().is_empty()) {
                    let p: Platform = item.trim().parse()?;
                    if !arches.contains(&p) {
                        arches.push(p);
                    }
                }
            }
            "--cache" => store = Some(PathBuf::from(value(flag)?)),
            "--force" => force = true,
            "-h" | "--help" => bail!("{USAGE}"),
            name => match Standin::ALL.iter().find(|s| s.image() == name) {
                Some(s) if !only.contains(s) => only.push(*s),
                Some(_) => {}
                None => bail!("unknown argument {name:?}\n{USAGE}"),
            },
        }
    }
    if arches.is_empty() {
        arches.push(Platform::host().context(
            "this machine's architecture is not one we build for: name one with --arch",
        )?);
    }
    arches.sort();
    if only.is_empty() {
        only = Standin::ALL.to_vec();
    }
    Ok(Options {
        arches,
        store: store.unwrap_or_else(pkgbuild::default_store_dir),
        force,
        only,
    })
}

/// `cargo xtask standins [IMAGE...] [--arch A ...] [--cache DIR] [--force]`.
pub fn run(args: &[String]) -> anyhow::Result<()> {
    let opts = parse_args(args)?;
    let started = Instant::now();
    let mut tools = vec!["binutils", "kmod", "xz-utils"];
    if opts.arches.iter().any(|a| Some(*a) != Platform::host()) {
        // busybox --list-full runs under qemu-user for the other architectures.
        tools.push("qemu-user-static");
    }
    ensure_packages(&tools)?;
    ensure_architectures()?;
    let store = Store::open(&opts.store)
        .with_context(|| format!("opening the store {}", opts.store.display()))?;
    let work = workspace_root().join("target/standins");
    let debs_dir = work.join("debs");
    std::fs::create_dir_all(&debs_dir)
        .with_context(|| format!("creating {}", debs_dir.display()))?;
    let tmp_dir = work.join("tmp");
    std::fs::create_dir_all(&tmp_dir)?;
    let mut apt = Apt::new(work.join("apt"))?;
    let mut written = Vec::new();
    for &standin in &opts.only {
        let plan = plan(&mut apt, standin, &opts.arches)?;
        written.push(make(&apt, &store, &plan, &opts, &debs_dir, &tmp_dir)?);
    }
    println!();
    println!(
        "stand-ins in {} ({:.1}s):",
        opts.store.display(),
        started.elapsed().as_secs_f64()
    );
    for w in written {
        println!("  {}@{}", w.reference, w.index_digest);
        for (arch, size) in w.sizes {
            println!("    {arch}: layer {}", pkgbuild::build::size(size));
        }
    }
    Ok(())
}

/// Both foreign architectures must be known to dpkg, so that apt can tell which version all
/// three have.
pub(crate) fn ensure_architectures() -> anyhow::Result<()> {
    let native = checked_output(Command::new("dpkg").arg("--print-architecture"))?;
    let foreign = checked_output(Command::new("dpkg").arg("--print-foreign-architectures"))?;
    let known: BTreeSet<&str> = native
        .split_whitespace()
        .chain(foreign.split_whitespace())
        .collect();
    let missing: Vec<&str> = Platform::ALL
        .iter()
        .map(|p| p.arch())
        .filter(|a| !known.contains(a))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    if !nix_is_root() {
        bail!(
            "dpkg does not know the architectures {}: run `dpkg --add-architecture <arch>` for each \
             and `apt-get update` as root",
            missing.join(" ")
        );
    }
    for arch in &missing {
        run_cmd(Command::new("dpkg").args(["--add-architecture", arch]))?;
    }
    run_cmd(Command::new("apt-get").args(["update", "-q"]))
}

// ---------------------------------------------------------------------------------------------
// apt: which .debs

/// One record of `apt-cache show`.
type Stanza = BTreeMap<String, String>;

fn parse_stanzas(text: &str) -> Vec<Stanza> {
    let mut out = Vec::new();
    let mut cur = Stanza::new();
    let mut last: Option<String> = None;
    for line in text.lines() {
        if line.trim().is_empty() {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            last = None;
        } else if line.starts_with([' ', '\t']) {
            if let Some(key) = &last {
                let v = cur.entry(key.clone()).or_default();
                v.push('\n');
                v.push_str(line.trim());
            }
        } else if let Some((k, v)) = line.split_once(':') {
            cur.insert(k.to_string(), v.trim().to_string());
            last = Some(k.to_string());
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// The first alternative of each item of a Depends-like field, as bare package names.
fn depends_names(field: &str) -> Vec<(String, Option<String>)> {
    field
        .split(',')
        .filter_map(|item| {
            let first = item.split('|').next()?.trim();
            if first.is_empty() {
                return None;
            }
            let (name, rest) = match first.find([' ', '(']) {
                Some(i) => (&first[..i], first[i..].trim()),
                None => (first, ""),
            };
            let name = name.split(':').next().unwrap_or(name).to_string();
            let exact = rest
                .strip_prefix('(')
                .and_then(|r| r.strip_suffix(')'))
                .and_then(|r| r.trim().strip_prefix('='))
                .map(|v| v.trim().to_string());
            Some((name, exact))
        })
        .collect()
}

/// A .deb to fetch.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Deb {
    name: String,
    arch: Platform,
    version: String,
    sha256: String,
    depends: String,
    /// The record's Architecture: the arch's name, or `all`.
    deb_arch: String,
}

impl Deb {
    fn from_stanza(s: &Stanza, arch: Platform) -> anyhow::Result<Deb> {
        let field = |k: &str| {
            s.get(k)
                .cloned()
                .with_context(|| format!("apt-cache record without {k}: {s:?}"))
        };
        let mut depends = s.get("Pre-Depends").cloned().unwrap_or_default();
        if let Some(d) = s.get("Depends") {
            if !depends.is_empty() {
                depends.push_str(", ");
            }
            depends.push_str(d);
        }
        Ok(Deb {
            name: field("Package")?,
            arch,
            version: field("Version")?,
            sha256: field("SHA256")?,
            depends,
            deb_arch: field("Architecture")?,
        })
    }

    /// The name `apt-get download` gives the file.
    fn file_name(&self) -> String {
        format!(
            "{}_{}_{}.deb",
            self.name,
            self.version.replace(':', "%3a"),
            self.deb_arch
        )
    }

    fn spec(&self) -> String {
        format!("{}:{}={}", self.name, self.arch.arch(), self.version)
    }
}

/// apt, with a package cache of our own: this image's apt keeps none (`Dir::Cache::pkgcache ""`),
/// so each apt-cache call would spend seconds rebuilding it.
struct Apt {
    cache_dir: PathBuf,
    updated: bool,
}

impl Apt {
    fn new(cache_dir: PathBuf) -> anyhow::Result<Apt> {
        std::fs::create_dir_all(&cache_dir)
            .with_context(|| format!("creating {}", cache_dir.display()))?;
        Ok(Apt {
            cache_dir,
            updated: false,
        })
    }

    fn command(&self, program: &str) -> Command {
        let mut cmd = Command::new(program);
        for (key, file) in [
            ("Dir::Cache::pkgcache", "pkgcache.bin"),
            ("Dir::Cache::srcpkgcache", "srcpkgcache.bin"),
        ] {
            cmd.arg("-o")
                .arg(format!("{key}={}", self.cache_dir.join(file).display()));
        }
        cmd
    }

    /// Every record apt has for `query` (`name:arch`, `name:arch=version`).
    fn show(&mut self, query: &str) -> anyhow::Result<Vec<Stanza>> {
        self.show_with(&[], query)
    }

    fn show_with(&mut self, flags: &[&str], query: &str) -> anyhow::Result<Vec<Stanza>> {
        loop {
            let out = self
                .command("apt-cache")
                .arg("show")
                .args(flags)
                .arg(query)
                .output()
                .context("starting apt-cache")?;
            let stanzas = parse_stanzas(&String::from_utf8_lossy(&out.stdout));
            if out.status.success() && !stanzas.is_empty() {
                return Ok(stanzas);
            }
            // The lists may predate an architecture added since: one update, then give up.
            if self.updated || !nix_is_root() {
                bail!(
                    "apt knows no {query} (apt-cache: {}); is `apt-get update` needed?",
                    String::from_utf8_lossy(&out.stderr).trim()
                );
            }
            self.updated = true;
            run_cmd(Command::new("apt-get").args(["update", "-q"]))?;
        }
    }

    /// The record of `name` for `arch` at `version`, or at the candidate version.
    fn record(&mut self, name: &str, arch: Platform, version: Option<&str>) -> anyhow::Result<Deb> {
        let query = match version {
            Some(v) => format!("{name}:{}={v}", arch.arch()),
            None => format!("{name}:{}", arch.arch()),
        };
        let stanzas = match version {
            Some(_) => self.show(&query)?,
            None => self.show_with(&["--no-all-versions"], &query)?,
        };
        let stanza = stanzas
            .first()
            .with_context(|| format!("apt has no record of {query}"))?;
        Deb::from_stanza(stanza, arch)
    }

    /// The newest version of `package(arch)` that every architecture has.
    fn common_version(&mut self, standin: Standin) -> anyhow::Result<String> {
        let mut common: Option<BTreeSet<String>> = None;
        for arch in Platform::ALL {
            let name = standin.package(arch);
            let versions: BTreeSet<String> = self
                .show(&format!("{name}:{}", arch.arch()))?
                .iter()
                .filter_map(|s| s.get("Version").cloned())
                .collect();
            common = Some(match common {
                None => versions,
                Some(c) => c.intersection(&versions).cloned().collect(),
            });
        }
        let mut best: Option<String> = None;
        for v in common.unwrap_or_default() {
            best = match best {
                Some(b) if !version_gt(&v, &b)? => Some(b),
                _ => Some(v),
            };
        }
        best.with_context(|| {
            format!(
                "no version of {} is available for all of amd64, arm64 and s390x",
                standin.package(Platform::Amd64)
            )
        })
    }
}

fn version_gt(a: &str, b: &str) -> anyhow::Result<bool> {
    Ok(Command::new("dpkg")
        .args(["--compare-versions", a, "gt", b])
        .status()
        .context("starting dpkg")?
        .success())
}

/// What one stand-in is made from, per architecture.
struct Plan {
    standin: Standin,
    tag: String,
    version: String,
    /// The main .deb first, then the libraries it depends on.
    debs: BTreeMap<Platform, Vec<Deb>>,
}

impl Plan {
    fn reference(&self) -> String {
        format!("{ORG}/{}:{}", self.standin.image(), self.tag)
    }

    /// The recipe of one architecture's image: this code and the exact .debs.
    fn recipe(&self, arch: Platform) -> String {
        let mut text = format!("source {}\n", sha256_hex(SOURCE.as_bytes()));
        for deb in &self.debs[&arch] {
            text.push_str(&format!("{} {}\n", deb.spec(), deb.sha256));
        }
        format!("sha256:{}", sha256_hex(text.as_bytes()))
    }
}

/// A tag from a Debian version: the epoch dropped, `+` and `~` (not allowed in tags) as `_`.
fn tag_of(version: &str) -> String {
    let v = version.split_once(':').map_or(version, |(_, v)| v);
    v.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

fn plan(apt: &mut Apt, standin: Standin, arches: &[Platform]) -> anyhow::Result<Plan> {
    let version = apt.common_version(standin)?;
    let mut debs = BTreeMap::new();
    let mut tag = None;
    for &arch in arches {
        let main = apt.record(&standin.package(arch), arch, Some(&version))?;
        let list = if standin == Standin::Kernel {
            // The metapackage names the real one: linux-image-6.1.0-50-amd64 (= 6.1.176-1).
            let (name, exact) = depends_names(&main.depends)
                .into_iter()
                .find(|(n, _)| n.starts_with("linux-image-"))
                .with_context(|| format!("{} depends on no linux-image", main.spec()))?;
            let image = apt.record(&name, arch, exact.as_deref())?;
            let abi = name
                .strip_prefix("linux-image-")
                .and_then(|n| n.strip_suffix(&format!("-{}", arch.arch())))
                .with_context(|| format!("unexpected kernel package name {name}"))?;
            let t = format!("{abi}-debian");
            if tag.as_ref().is_some_and(|x: &String| *x != t) {
                bail!("the kernel's ABI differs between architectures at {version}");
            }
            tag = Some(t);
            vec![image]
        } else {
            tag = Some(tag_of(&version));
            library_closure(apt, main)?
        };
        debs.insert(arch, list);
    }
    Ok(Plan {
        standin,
        tag: tag.unwrap_or_else(|| tag_of(&version)),
        version,
        debs,
    })
}

/// `main` and the library packages it depends on, transitively (candidate versions).
fn library_closure(apt: &mut Apt, main: Deb) -> anyhow::Result<Vec<Deb>> {
    let arch = main.arch;
    let mut seen: BTreeSet<String> = BTreeSet::from([main.name.clone()]);
    let mut queue: Vec<String> = depends_names(&main.depends)
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    let mut out = vec![main];
    while let Some(name) = queue.pop() {
        if !name.starts_with("lib") || !seen.insert(name.clone()) {
            continue;
        }
        let deb = apt.record(&name, arch, None)?;
        queue.extend(depends_names(&deb.depends).into_iter().map(|(n, _)| n));
        out.push(deb);
    }
    out[1..].sort();
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Fetching and unpacking

/// The .deb in the cache, downloaded when missing or not the one apt names.
fn fetch(apt: &Apt, deb: &Deb, dir: &Path) -> anyhow::Result<PathBuf> {
    let path = dir.join(deb.file_name());
    if path.exists() && sha256_file(&path)? == deb.sha256 {
        return Ok(path);
    }
    let _ = std::fs::remove_file(&path);
    let mut cmd = apt.command("apt-get");
    cmd.current_dir(dir).args(["download", "-q"]);
    if nix_is_root() {
        // The cache is root's: apt's _apt user could not write into it.
        cmd.args(["-o", "APT::Sandbox::User=root"]);
    }
    run_cmd(cmd.arg(deb.spec()))?;
    let got = sha256_file(&path)
        .with_context(|| format!("apt-get download left no {}", path.display()))?;
    if got != deb.sha256 {
        bail!(
            "{} hashes to {got}, apt says {}",
            path.display(),
            deb.sha256
        );
    }
    Ok(path)
}

fn unpack(deb: &Path, root: &Path) -> anyhow::Result<()> {
    run_quiet(Command::new("dpkg-deb").arg("-x").arg(deb).arg(root))
}

fn run_quiet(cmd: &mut Command) -> anyhow::Result<()> {
    checked_output(cmd).map(|_| ())
}

// ---------------------------------------------------------------------------------------------
// Making the images

struct Written {
    reference: String,
    index_digest: String,
    sizes: Vec<(Platform, u64)>,
}

/// One architecture's finished image.
struct Made {
    manifest: Descriptor,
    layer_size: u64,
}

fn make(
    apt: &Apt,
    store: &Store,
    plan: &Plan,
    opts: &Options,
    debs_dir: &Path,
    tmp_dir: &Path,
) -> anyhow::Result<Written> {
    let reference = plan.reference();
    let current = store.find_ref(&reference)?;
    let current_index = match &current {
        Some(d) => read_index(store, d)?,
        None => None,
    };
    let mut recipes: BTreeMap<Platform, String> = BTreeMap::new();
    let mut made: BTreeMap<Platform, Made> = BTreeMap::new();
    for (&arch, debs) in &plan.debs {
        let recipe = plan.recipe(arch);
        let label = format!("{reference} {arch}");
        if !opts.force {
            let held = current
                .as_ref()
                .and_then(|d| d.annotations().as_ref())
                .and_then(|a| a.get(&recipe_key(arch)))
                .is_some_and(|r| *r == recipe);
            let entry = current_index
                .as_ref()
                .and_then(|i| image::entry_for(i, arch))
                .cloned();
            if let (true, Some(entry)) = (held, entry) {
                if let Some(layer_size) = complete(store, &entry)? {
                    eprintln!("{label}: in the store, same recipe");
                    made.insert(
                        arch,
                        Made {
                            manifest: entry,
                            layer_size,
                        },
                    );
                    recipes.insert(arch, recipe);
                    continue;
                }
            }
        }
        let started = Instant::now();
        let mut files = Vec::new();
        for deb in debs {
            files.push(fetch(apt, deb, debs_dir)?);
        }
        let work = tempfile::Builder::new()
            .prefix(&format!("{}-{}-", plan.standin.image(), arch.arch()))
            .tempdir_in(tmp_dir)?;
        let root = work.path().join("root");
        for f in &files {
            unpack(f, &root)?;
        }
        let (tree, epoch, entrypoint) = match plan.standin {
            Standin::Kernel => (kernel_tree(&root, work.path(), arch)?, None, vec![]),
            s => {
                let mut content = Content::new(&root, arch);
                for bin in s.binaries() {
                    content.add_elf(bin)?;
                }
                if s == Standin::Busybox {
                    content.add_applets()?;
                }
                for deb in debs {
                    content.add_copyright(&deb.name)?;
                }
                let entrypoint = match s {
                    Standin::Busybox => vec!["/bin/sh".to_string()],
                    _ => vec![s.binaries()[0].to_string()],
                };
                (content.tree, Some(content.epoch), entrypoint)
            }
        };
        let epoch = match epoch {
            Some(e) => e,
            None => mtime(&root.join(format!("boot/vmlinuz-{}", kernel_release(&root)?)))?,
        };
        let image = write_image(store, plan, arch, &tree, epoch, entrypoint, debs)?;
        eprintln!(
            "{label}: made in {:.1}s, manifest {}, layer {}",
            started.elapsed().as_secs_f64(),
            image.manifest.digest(),
            pkgbuild::build::size(image.layer_size)
        );
        made.insert(arch, image);
        recipes.insert(arch, recipe);
    }

    // One index over every architecture this tag has in the store: the ones made now and, read
    // again under the lock, those another run made.
    let lock = store.lock()?;
    let current = store.find_ref(&reference)?;
    if let Some(desc) = &current {
        if let Some(index) = read_index(store, desc)? {
            for entry in index.manifests() {
                let Some(arch) = entry
                    .platform()
                    .as_ref()
                    .and_then(|p| p.architecture().to_string().parse::<Platform>().ok())
                else {
                    continue;
                };
                if made.contains_key(&arch) {
                    continue;
                }
                if let Some(layer_size) = complete(store, entry)? {
                    made.insert(
                        arch,
                        Made {
                            manifest: entry.clone(),
                            layer_size,
                        },
                    );
                    if let Some(r) = desc
                        .annotations()
                        .as_ref()
                        .and_then(|a| a.get(&recipe_key(arch)))
                    {
                        recipes.insert(arch, r.clone());
                    }
                }
            }
        }
    }
    let manifests: Vec<(Platform, Descriptor)> =
        made.iter().map(|(a, m)| (*a, m.manifest.clone())).collect();
    let index = image::index(&manifests, &index_annotations(plan))?;
    store.put(&index)?;
    let mut desc = index.descriptor();
    desc.set_annotations(Some(
        recipes
            .iter()
            .map(|(a, r)| (recipe_key(*a), r.clone()))
            .collect(),
    ));
    let unchanged = current.as_ref().is_some_and(|c| {
        c.digest() == desc.digest()
            && recipes.iter().all(|(a, r)| {
                c.annotations()
                    .as_ref()
                    .and_then(|x| x.get(&recipe_key(*a)))
                    == Some(r)
            })
    });
    if !unchanged {
        store.set_ref(&lock, &reference, desc)?;
    }
    drop(lock);
    Ok(Written {
        reference,
        index_digest: index.digest,
        sizes: made.iter().map(|(a, m)| (*a, m.layer_size)).collect(),
    })
}

fn recipe_key(arch: Platform) -> String {
    format!("{RECIPE_KEY}.{}", arch.arch())
}

fn read_index(store: &Store, desc: &Descriptor) -> anyhow::Result<Option<ImageIndex>> {
    match store.read(desc.digest().as_ref()) {
        Ok(bytes) => {
            Ok(Some(serde_json::from_slice(&bytes).with_context(|| {
                format!("parsing index {}", desc.digest())
            })?))
        }
        Err(StoreError::Missing { .. } | StoreError::Corrupt { .. }) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// The compressed layer size of an image whose manifest, config and layers are all intact.
fn complete(store: &Store, manifest: &Descriptor) -> anyhow::Result<Option<u64>> {
    let bytes = match store.read(manifest.digest().as_ref()) {
        Ok(b) => b,
        Err(StoreError::Missing { .. } | StoreError::Corrupt { .. }) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let parsed: ImageManifest = serde_json::from_slice(&bytes)?;
    let mut size = 0;
    for blob in std::iter::once(parsed.config()).chain(parsed.layers()) {
        match store.read(blob.digest().as_ref()) {
            Ok(_) => {}
            Err(StoreError::Missing { .. }) => return Ok(None),
            Err(StoreError::Corrupt { .. }) => {
                store.remove(blob.digest().as_ref())?;
                return Ok(None);
            }
            Err(e) => return Err(e.into()),
        }
        if blob.media_type() != parsed.config().media_type() {
            size += blob.size();
        }
    }
    Ok(Some(size))
}

fn description(plan: &Plan) -> String {
    let what = match plan.standin {
        Standin::Kernel => "Debian bookworm's kernel",
        Standin::Runc => "Debian bookworm's runc",
        Standin::Containerd => "Debian bookworm's containerd",
        Standin::Busybox => "Debian bookworm's busybox-static",
    };
    format!(
        "{what} {}, a stand-in for {ORG}/{} in LinuxKit's layout",
        plan.version,
        plan.standin.image()
    )
}

fn index_annotations(plan: &Plan) -> HashMap<String, String> {
    HashMap::from([
        (
            "org.opencontainers.image.title".to_string(),
            plan.standin.image().to_string(),
        ),
        (
            "org.opencontainers.image.version".to_string(),
            plan.version.clone(),
        ),
        (
            "org.opencontainers.image.description".to_string(),
            description(plan),
        ),
    ])
}

fn write_image(
    store: &Store,
    plan: &Plan,
    arch: Platform,
    tree: &Tree,
    epoch: u64,
    entrypoint: Vec<String>,
    debs: &[Deb],
) -> anyhow::Result<Made> {
    let layer = layer::build(tree, epoch)?;
    let layer_blob = Blob::new(MediaType::ImageLayerGzip, layer.gzip);
    let created = pkgbuild::git::rfc3339(epoch as i64);
    let mut annotations = index_annotations(plan);
    annotations.insert(
        "org.opencontainers.image.created".to_string(),
        created.clone(),
    );
    annotations.insert(
        DEBS_KEY.to_string(),
        debs.iter()
            .map(|d| format!("{} sha256:{}", d.file_name(), d.sha256))
            .collect::<Vec<_>>()
            .join(", "),
    );
    let config = image::config(&ConfigSpec {
        platform: arch,
        created: &created,
        entrypoint,
        cmd: vec![],
        env: vec![],
        user: None,
        workdir: Some("/".into()),
        labels: &annotations,
        diff_id: &layer.diff_id,
    })?;
    let manifest = image::manifest(&config, &layer_blob, &annotations)?;
    for blob in [&layer_blob, &config, &manifest] {
        store.put(blob)?;
    }
    Ok(Made {
        manifest: manifest.descriptor(),
        layer_size: layer_blob.bytes.len() as u64,
    })
}

fn mtime(path: &Path) -> anyhow::Result<u64> {
    let meta = std::fs::symlink_metadata(path).with_context(|| format!("{}", path.display()))?;
    Ok(meta
        .modified()?
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0))
}

// ---------------------------------------------------------------------------------------------
// runc, containerd, busybox: binaries and their shared-library closure

/// The files taken from an unpacked root into the image.
struct Content<'a> {
    root: &'a Path,
    arch: Platform,
    tree: Tree,
    added: BTreeSet<String>,
    /// The newest mtime of what was taken: the layer's mtime and the config's `created`.
    epoch: u64,
}

impl<'a> Content<'a> {
    fn new(root: &'a Path, arch: Platform) -> Self {
        Content {
            root,
            arch,
            tree: Tree::default(),
            added: BTreeSet::new(),
            epoch: 0,
        }
    }

    fn host_path(&self, path: &str) -> PathBuf {
        self.root.join(path.trim_start_matches('/'))
    }

    /// Adds `path` as it is in the root: a symbolic link with what it points to, or a file.
    /// Returns the path of the file at the end of the links.
    fn add_path(&mut self, path: &str) -> anyhow::Result<String> {
        let mut path = normalize(path);
        for _ in 0..40 {
            let host = self.host_path(&path);
            let meta = std::fs::symlink_metadata(&host)
                .with_context(|| format!("{path} is not in the unpacked packages"))?;
            self.epoch = self.epoch.max(mtime(&host)?);
            if meta.file_type().is_symlink() {
                let target = std::fs::read_link(&host)?.to_string_lossy().to_string();
                if self.added.insert(path.clone()) {
                    self.tree.add_symlink(&path, &target)?;
                }
                path = if target.starts_with('/') {
                    normalize(&target)
                } else {
                    let parent = Path::new(&path).parent().unwrap_or(Path::new("/"));
                    normalize(&format!("{}/{target}", parent.display()))
                };
                continue;
            }
            if !meta.is_file() {
                bail!("{path} is not a file in the unpacked packages");
            }
            if self.added.insert(path.clone()) {
                use std::os::unix::fs::PermissionsExt;
                let mode = meta.permissions().mode() & 0o7777;
                let content =
                    std::fs::read(&host).with_context(|| format!("reading {}", host.display()))?;
                self.tree.add_file(&path, mode, content)?;
            }
            return Ok(path);
        }
        bail!("{path}: too many levels of symbolic links")
    }

    /// Adds an executable, its dynamic loader and the shared libraries it needs, transitively.
    fn add_elf(&mut self, path: &str) -> anyhow::Result<()> {
        let mut queue = vec![path.to_string()];
        let mut done = BTreeSet::new();
        while let Some(p) = queue.pop() {
            let real = self.add_path(&p)?;
            if !done.insert(real.clone()) {
                continue;
            }
            let deps = elf_deps(&self.host_path(&real))?;
            if let Some(interp) = deps.interpreter {
                queue.push(interp);
            }
            for soname in deps.needed {
                let found = self
                    .lib_dirs()
                    .into_iter()
                    .map(|d| format!("{d}/{soname}"))
                    .find(|p| std::fs::symlink_metadata(self.host_path(p)).is_ok())
                    .with_context(|| {
                        format!(
                            "{real} needs {soname}, which none of the unpacked packages holds in {}",
                            self.lib_dirs().join(" ")
                        )
                    })?;
                queue.push(found);
            }
        }
        Ok(())
    }

    /// Where the dynamic loader looks without an ld.so.cache: Debian's multiarch directories.
    fn lib_dirs(&self) -> Vec<String> {
        let triple = self.arch.gnu_prefix();
        vec![
            format!("/lib/{triple}"),
            format!("/usr/lib/{triple}"),
            "/lib".into(),
            "/usr/lib".into(),
            "/lib64".into(),
            "/usr/lib64".into(),
        ]
    }

    /// busybox's applets as symbolic links to /bin/busybox, where `--list-full` puts them.
    fn add_applets(&mut self) -> anyhow::Result<()> {
        let busybox = self.host_path("/bin/busybox");
        let mut cmd = if Some(self.arch) == Platform::host() {
            Command::new(&busybox)
        } else {
            let mut c = Command::new(self.arch.qemu());
            c.arg(&busybox);
            c
        };
        let list = checked_output(cmd.arg("--list-full"))?;
        let mut count = 0;
        for applet in list.lines().map(str::trim).filter(|l| !l.is_empty()) {
            let path = format!("/{applet}");
            if path == "/bin/busybox" || self.added.contains(&path) {
                continue;
            }
            self.tree.add_symlink(&path, "/bin/busybox")?;
            self.added.insert(path);
            count += 1;
        }
        if !self.added.contains("/bin/sh") {
            bail!("busybox --list-full names no bin/sh ({count} applets)");
        }
        Ok(())
    }

    /// The package's copyright file, when it ships one.
    fn add_copyright(&mut self, package: &str) -> anyhow::Result<()> {
        let path = format!("/usr/share/doc/{package}/copyright");
        if self.host_path(&path).is_file() {
            self.add_path(&path)?;
        }
        Ok(())
    }
}

/// `/a/./b/../c` -> `/a/c`.
fn normalize(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    format!("/{}", parts.join("/"))
}

#[derive(Debug, Default, PartialEq, Eq)]
struct ElfDeps {
    interpreter: Option<String>,
    needed: Vec<String>,
}

/// The loader and NEEDED libraries of an ELF file, from binutils' readelf (any architecture).
fn elf_deps(path: &Path) -> anyhow::Result<ElfDeps> {
    let text = checked_output(
        Command::new("readelf")
            .args(["--wide", "--program-headers", "--dynamic"])
            .arg(path),
    )?;
    Ok(parse_readelf(&text))
}

fn parse_readelf(text: &str) -> ElfDeps {
    let bracketed = |line: &str, marker: &str| -> Option<String> {
        let rest = &line[line.find(marker)? + marker.len()..];
        let rest = rest.trim_start().strip_prefix('[')?;
        Some(rest[..rest.find(']')?].to_string())
    };
    let mut deps = ElfDeps::default();
    for line in text.lines() {
        // `[Requesting program interpreter: /lib64/ld-linux-x86-64.so.2]`
        if let Some(i) = line.split_once("Requesting program interpreter:") {
            let path = i.1.trim().trim_end_matches(']').trim();
            deps.interpreter = Some(path.to_string());
        } else if line.contains("(NEEDED)") {
            if let Some(n) = bracketed(line, "Shared library:") {
                deps.needed.push(n);
            }
        }
    }
    deps
}

// ---------------------------------------------------------------------------------------------
// The kernel: vmlinuz, and the modules a VM needs in kernel.tar

fn kernel_release(root: &Path) -> anyhow::Result<String> {
    let dir = root.join("lib/modules");
    let mut releases: Vec<String> = std::fs::read_dir(&dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .map(|e| e.file_name().to_string_lossy().to_string())
        .collect();
    releases.sort();
    match releases.as_slice() {
        [one] => Ok(one.clone()),
        other => bail!(
            "expected one kernel under {}, found {other:?}",
            dir.display()
        ),
    }
}

/// A module's name from its file name: `virtio-rng.ko.xz` -> `virtio_rng`.
fn module_name(file: &str) -> Option<String> {
    let stem = file
        .strip_suffix(".ko")
        .or_else(|| file.strip_suffix(".ko.xz"))
        .or_else(|| file.strip_suffix(".ko.zst"))
        .or_else(|| file.strip_suffix(".ko.gz"))?;
    Some(stem.replace('-', "_"))
}

/// A module's ELF bytes, decompressed when it is `.ko.xz`, `.ko.zst` or `.ko.gz`.
fn module_bytes(path: &Path) -> anyhow::Result<Vec<u8>> {
    let name = path.to_string_lossy();
    let tool = if name.ends_with(".xz") {
        "xz"
    } else if name.ends_with(".zst") {
        "zstd"
    } else if name.ends_with(".gz") {
        "gzip"
    } else {
        return std::fs::read(path).with_context(|| format!("reading {name}"));
    };
    let out = Command::new(tool)
        .args(["-d", "-c"])
        .arg(path)
        .output()
        .with_context(|| format!("starting {tool} for {name}"))?;
    if !out.status.success() {
        bail!(
            "{tool} -d {name} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(out.stdout)
}

/// The `key=value` strings of a module's `.modinfo` section.
fn modinfo(elf: &[u8]) -> anyhow::Result<Vec<(String, String)>> {
    use object::{Object, ObjectSection};
    let file = object::File::parse(elf).context("not an ELF module")?;
    let Some(section) = file.section_by_name(".modinfo") else {
        return Ok(vec![]);
    };
    let data = section.data()?;
    Ok(data
        .split(|b| *b == 0)
        .filter_map(|kv| {
            let s = std::str::from_utf8(kv).ok()?;
            let (k, v) = s.split_once('=')?;
            Some((k.to_string(), v.to_string()))
        })
        .collect())
}

/// The module names a module needs: `depends=` and the module names in `softdep=`.
fn module_deps(info: &[(String, String)]) -> Vec<String> {
    let mut out = Vec::new();
    for (k, v) in info {
        match k.as_str() {
            "depends" => out.extend(
                v.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(|s| s.replace('-', "_")),
            ),
            "softdep" => out.extend(
                v.split_whitespace()
                    .filter(|w| !w.ends_with(':'))
                    .map(|s| s.replace('-', "_")),
            ),
            _ => {}
        }
    }
    out
}

/// Chooses the modules: the wanted ones that are modules, and what they need.
/// `modules` maps a name to its path under lib/modules/<release>/.
fn choose_modules(
    modules: &BTreeMap<String, String>,
    builtin: &BTreeSet<String>,
    deps_of: &mut dyn FnMut(&str) -> anyhow::Result<Vec<String>>,
) -> anyhow::Result<BTreeSet<String>> {
    let mut chosen = BTreeSet::new();
    let mut queue: Vec<(String, bool)> = Vec::new();
    for m in REQUIRED_MODULES {
        if !modules.contains_key(*m) && !builtin.contains(*m) {
            bail!("the kernel has no module {m}, neither built in nor as a module");
        }
        queue.push((m.to_string(), true));
    }
    queue.extend(OPTIONAL_MODULES.iter().map(|m| (m.to_string(), false)));
    while let Some((name, hard)) = queue.pop() {
        if builtin.contains(&name) || chosen.contains(&name) {
            continue;
        }
        let Some(rel) = modules.get(&name) else {
            if hard {
                bail!("a module needs {name}, which the kernel package does not have");
            }
            continue;
        };
        chosen.insert(name.clone());
        for dep in deps_of(rel)? {
            // depends= names must exist; a softdep may name an alias, or be absent.
            queue.push((dep, false));
        }
    }
    Ok(chosen)
}

/// The kernel image's tree: kernel, kernel.tar, config.
fn kernel_tree(root: &Path, work: &Path, arch: Platform) -> anyhow::Result<Tree> {
    let release = kernel_release(root)?;
    let moddir = root.join("lib/modules").join(&release);
    let boot = |what: &str| root.join(format!("boot/{what}-{release}"));
    let vmlinuz = boot("vmlinuz");
    let epoch = mtime(&vmlinuz)?;

    let mut modules: BTreeMap<String, String> = BTreeMap::new();
    let mut stack = vec![moddir.join("kernel")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).with_context(|| format!("{}", dir.display()))? {
            let path = entry?.path();
            if path.is_dir() {
                stack.push(path);
            } else if let Some(name) = module_name(&path.file_name().unwrap().to_string_lossy()) {
                let rel = path.strip_prefix(&moddir)?.to_string_lossy().to_string();
                modules.insert(name, rel);
            }
        }
    }
    let builtin_text = std::fs::read_to_string(moddir.join("modules.builtin"))?;
    let builtin: BTreeSet<String> = builtin_text
        .lines()
        .filter_map(|l| module_name(l.rsplit('/').next()?))
        .collect();

    let mut depends: HashMap<String, Vec<String>> = HashMap::new();
    let mut strict_missing = Vec::new();
    let chosen = choose_modules(&modules, &builtin, &mut |rel| {
        if let Some(d) = depends.get(rel) {
            return Ok(d.clone());
        }
        let info = modinfo(&module_bytes(&moddir.join(rel))?)
            .with_context(|| format!("reading the modinfo of {rel}"))?;
        for (k, v) in &info {
            if k == "depends" {
                for d in v.split(',').filter(|s| !s.is_empty()) {
                    let d = d.replace('-', "_");
                    if !modules.contains_key(&d) && !builtin.contains(&d) {
                        strict_missing.push(format!("{rel} depends on {d}"));
                    }
                }
            }
        }
        let d = module_deps(&info);
        depends.insert(rel.to_string(), d.clone());
        Ok(d)
    })?;
    if !strict_missing.is_empty() {
        bail!("missing module dependencies: {}", strict_missing.join(", "));
    }
    let wanted_builtin: Vec<&str> = REQUIRED_MODULES
        .iter()
        .copied()
        .filter(|m| builtin.contains(*m))
        .collect();
    eprintln!(
        "kernel {release} ({arch}): {} modules; built in: {}",
        chosen.len(),
        wanted_builtin.join(" ")
    );

    // A module tree holding only those, with depmod's indexes made for exactly that set.
    let stage = work.join("modules");
    let stage_mods = stage.join("lib/modules").join(&release);
    let chosen_paths: BTreeSet<&str> = chosen.iter().map(|n| modules[n].as_str()).collect();
    for rel in &chosen_paths {
        let dst = stage_mods.join(rel);
        std::fs::create_dir_all(dst.parent().unwrap())?;
        std::fs::copy(moddir.join(rel), &dst)?;
    }
    let order = std::fs::read_to_string(moddir.join("modules.order")).unwrap_or_default();
    let order: String = order
        .lines()
        .filter(|l| {
            // modules.order names the .ko; a compressed file keeps the name plus its suffix.
            chosen_paths
                .iter()
                .any(|p| p == l || p.strip_prefix(*l).is_some_and(|s| s.starts_with('.')))
        })
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(stage_mods.join("modules.order"), order)?;
    for f in ["modules.builtin", "modules.builtin.modinfo"] {
        if moddir.join(f).exists() {
            std::fs::copy(moddir.join(f), stage_mods.join(f))?;
        }
    }
    let conf = work.join("depmod.d");
    std::fs::create_dir_all(&conf)?;
    // No symbol check (-e): Debian's System.map is a placeholder ("The real System.map is in the
    // linux-image-<version>-dbg package"). depends= comes from modpost's own symbol resolution,
    // so the closure above is complete by construction.
    let out = Command::new("depmod")
        .arg("-b")
        .arg(&stage)
        .arg("-C")
        .arg(&conf)
        .arg(&release)
        .output()
        .context("starting depmod (Debian package kmod)")?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        bail!(
            "depmod on the chosen modules failed ({}): {stderr}",
            out.status
        );
    }
    if !stderr.trim().is_empty() {
        eprintln!("depmod: {}", stderr.trim());
    }

    let mut mods = Tree::default();
    let mut stack = vec![stage.join("lib")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let path = entry?.path();
            let rel = path.strip_prefix(&stage)?.to_string_lossy().to_string();
            if path.is_dir() {
                mods.add_dir(&rel, 0o755)?;
                stack.push(path);
            } else {
                mods.add_file(&rel, 0o644, std::fs::read(&path)?)?;
            }
        }
    }
    let kernel_tar = layer::tar(&mods, epoch)?;

    let mut tree = Tree::default();
    tree.add_file("/kernel", 0o644, std::fs::read(&vmlinuz)?)?;
    tree.add_file("/kernel.tar", 0o644, kernel_tar)?;
    tree.add_file("/config", 0o644, std::fs::read(boot("config"))?)?;
    Ok(tree)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_from_debian_versions() {
        assert_eq!(tag_of("1.1.5+ds1-1+deb12u1"), "1.1.5_ds1-1_deb12u1");
        assert_eq!(tag_of("1:1.35.0-4+deb12u1+b1"), "1.35.0-4_deb12u1_b1");
        assert_eq!(tag_of("1.6.20~ds1-1+deb12u3"), "1.6.20_ds1-1_deb12u3");
    }

    #[test]
    fn depends_first_alternatives_and_exact_versions() {
        assert_eq!(
            depends_names("libc6 (>= 2.34), libseccomp2 (>= 2.5.0) | foo, bar:any, linux-image-6.1.0-50-amd64 (= 6.1.176-1)"),
            vec![
                ("libc6".to_string(), None),
                ("libseccomp2".to_string(), None),
                ("bar".to_string(), None),
                (
                    "linux-image-6.1.0-50-amd64".to_string(),
                    Some("6.1.176-1".to_string())
                ),
            ]
        );
    }

    #[test]
    fn stanzas_with_continuations() {
        let s =
            parse_stanzas("Package: a\nVersion: 1\nDescription: x\n y\n\nPackage: b\nVersion: 2\n");
        assert_eq!(s.len(), 2);
        assert_eq!(s[0]["Description"], "x\ny");
        assert_eq!(s[1]["Package"], "b");
    }

    #[test]
    fn readelf_output() {
        let text = "      [Requesting program interpreter: /lib64/ld-linux-x86-64.so.2]\n \
                    0x0000000000000001 (NEEDED)             Shared library: [libseccomp.so.2]\n \
                    0x0000000000000001 (NEEDED)             Shared library: [libc.so.6]\n";
        assert_eq!(
            parse_readelf(text),
            ElfDeps {
                interpreter: Some("/lib64/ld-linux-x86-64.so.2".into()),
                needed: vec!["libseccomp.so.2".into(), "libc.so.6".into()],
            }
        );
    }

    #[test]
    fn module_names_and_paths() {
        assert_eq!(module_name("virtio-rng.ko").as_deref(), Some("virtio_rng"));
        assert_eq!(module_name("overlay.ko.xz").as_deref(), Some("overlay"));
        assert_eq!(module_name("modules.dep"), None);
        assert_eq!(
            normalize("/lib/x86_64-linux-gnu/../../lib64/./x"),
            "/lib64/x"
        );
        assert_eq!(
            module_deps(&[
                ("depends".into(), "virtio_ring,virtio".into()),
                ("softdep".into(), "pre: crc32c".into()),
            ]),
            vec!["virtio_ring", "virtio", "crc32c"]
        );
    }

    #[test]
    fn closure_follows_depends_and_refuses_missing_ones() {
        let modules: BTreeMap<String, String> = REQUIRED_MODULES
            .iter()
            .chain(["a_dep"].iter())
            .filter(|m| **m != "af_packet")
            .map(|m| (m.to_string(), format!("kernel/{m}.ko")))
            .collect();
        let builtin = BTreeSet::from(["af_packet".to_string()]);
        let chosen = choose_modules(&modules, &builtin, &mut |rel| {
            Ok(if rel == "kernel/virtio.ko" {
                vec!["a_dep".to_string()]
            } else {
                vec![]
            })
        })
        .unwrap();
        assert!(chosen.contains("a_dep"));
        assert!(!chosen.contains("af_packet"));
        let mut fewer = modules.clone();
        fewer.remove("veth");
        assert!(choose_modules(&fewer, &builtin, &mut |_| Ok(vec![])).is_err());
    }

    #[test]
    fn compressed_modules_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let plain = dir.path().join("m.ko");
        std::fs::write(&plain, b"\x7fELF-not-really").unwrap();
        let status = Command::new("xz").arg("-k").arg(&plain).status();
        if status.map(|s| s.success()).unwrap_or(false) {
            assert_eq!(
                module_bytes(&dir.path().join("m.ko.xz")).unwrap(),
                b"\x7fELF-not-really"
            );
        }
    }
}
