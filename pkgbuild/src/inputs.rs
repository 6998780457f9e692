//! Everything that can change an image, written as canonical text and hashed into its tag.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::Context;
use cargo_metadata::{DependencyKind, Metadata, PackageId};
use sha2::{Digest, Sha256};

use crate::compile::BuildFlags;
use crate::git::Provenance;
use crate::metadata::Package;
use crate::platform::Platform;
use crate::toolchain::Toolchain;

/// Bumped whenever pkgbuild changes what it writes for the same inputs.
pub const FORMAT_VERSION: u32 = 2;

/// The tag's length in hex digits (80 bits).
const TAG_LEN: usize = 20;

/// One `Cargo.lock` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockedPackage {
    pub name: String,
    pub version: String,
    pub source: Option<String>,
    pub checksum: Option<String>,
}

/// The locked packages, by name and version.
#[derive(Debug, Default)]
pub struct Lockfile {
    packages: HashMap<(String, String), Vec<LockedPackage>>,
}

impl Lockfile {
    pub fn load(path: &Path) -> anyhow::Result<Lockfile> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        Self::parse(&text).with_context(|| format!("parsing {}", path.display()))
    }

    pub fn parse(text: &str) -> anyhow::Result<Lockfile> {
        #[derive(serde::Deserialize)]
        struct Raw {
            #[serde(default)]
            package: Vec<RawPackage>,
        }
        #[derive(serde::Deserialize)]
        struct RawPackage {
            name: String,
            version: String,
            source: Option<String>,
            checksum: Option<String>,
        }
        let raw: Raw = toml::from_str(text)?;
        let mut packages: HashMap<(String, String), Vec<LockedPackage>> = HashMap::new();
        for p in raw.package {
            packages
                .entry((p.name.clone(), p.version.clone()))
                .or_default()
                .push(LockedPackage {
                    name: p.name,
                    version: p.version,
                    source: p.source,
                    checksum: p.checksum,
                });
        }
        Ok(Lockfile { packages })
    }

    pub fn find(&self, name: &str, version: &str, source: Option<&str>) -> Option<&LockedPackage> {
        let candidates = self
            .packages
            .get(&(name.to_string(), version.to_string()))?;
        candidates
            .iter()
            .find(|p| p.source.as_deref() == source)
            .or(candidates.first())
    }
}

/// A crate in a package's dependency closure for one platform.
#[derive(Debug, Clone)]
pub struct ClosureEntry {
    pub name: String,
    pub version: String,
    pub source: Option<String>,
    pub checksum: Option<String>,
    pub license: Option<String>,
    pub features: Vec<String>,
    /// The folder of a path dependency, whose files are hashed.
    pub path_dir: Option<PathBuf>,
    /// Linked into the binary (a normal dependency that is not a proc-macro).
    pub linked: bool,
}

/// The closure of `root` over normal and build dependencies, from platform-filtered metadata.
/// Dev-dependencies are left out: they do not reach the binary.
pub fn closure(
    metadata: &Metadata,
    lock: &Lockfile,
    root: &PackageId,
) -> anyhow::Result<Vec<ClosureEntry>> {
    let resolve = metadata
        .resolve
        .as_ref()
        .context("cargo metadata gave no dependency graph")?;
    let nodes: HashMap<&PackageId, &cargo_metadata::Node> =
        resolve.nodes.iter().map(|n| (&n.id, n)).collect();
    let packages: HashMap<&PackageId, &cargo_metadata::Package> =
        metadata.packages.iter().map(|p| (&p.id, p)).collect();

    // Walk twice over the same graph: all edges that build, and the edges that link.
    let reach =
        |follow: &dyn Fn(DependencyKind, &cargo_metadata::Package) -> bool| -> BTreeSet<PackageId> {
            let mut seen = BTreeSet::new();
            let mut stack = vec![root.clone()];
            while let Some(id) = stack.pop() {
                let Some(node) = nodes.get(&id) else { continue };
                for dep in &node.deps {
                    let Some(pkg) = packages.get(&dep.pkg) else {
                        continue;
                    };
                    let wanted = dep.dep_kinds.iter().any(|k| follow(k.kind, pkg))
                    // Very old metadata has no dep_kinds: treat it as normal.
                    || dep.dep_kinds.is_empty();
                    if wanted && seen.insert(dep.pkg.clone()) {
                        stack.push(dep.pkg.clone());
                    }
                }
            }
            seen
        };
    let built = reach(&|kind, _| kind != DependencyKind::Development);
    let linked = reach(&|kind, pkg| kind == DependencyKind::Normal && !is_proc_macro(pkg));

    let mut out = Vec::new();
    for id in &built {
        let pkg = packages[id];
        let source = pkg.source.as_ref().map(|s| s.repr.clone());
        let locked = lock.find(&pkg.name, &pkg.version.to_string(), source.as_deref());
        let mut features = nodes
            .get(id)
            .map(|n| n.features.iter().map(|f| f.to_string()).collect::<Vec<_>>())
            .unwrap_or_default();
        features.sort();
        out.push(ClosureEntry {
            name: pkg.name.to_string(),
            version: pkg.version.to_string(),
            checksum: locked.and_then(|l| l.checksum.clone()),
            license: pkg.license.clone(),
            features,
            path_dir: source.is_none().then(|| {
                pkg.manifest_path
                    .parent()
                    .unwrap()
                    .as_std_path()
                    .to_path_buf()
            }),
            source,
            linked: linked.contains(id),
        });
    }
    out.sort_by(|a, b| (&a.name, &a.version, &a.source).cmp(&(&b.name, &b.version, &b.source)));
    Ok(out)
}

fn is_proc_macro(pkg: &cargo_metadata::Package) -> bool {
    pkg.targets.iter().any(|t| t.is_proc_macro()) && !pkg.targets.iter().any(|t| t.is_lib())
}

/// The files of a package folder that make up its source: .gitignore honoured, target dirs skipped.
pub fn source_files(dir: &Path) -> anyhow::Result<Vec<(String, PathBuf)>> {
    let mut files = Vec::new();
    let walker = ignore::WalkBuilder::new(dir)
        .hidden(false)
        .git_global(false)
        .require_git(false)
        .filter_entry(|e| {
            let name = e.file_name();
            name != ".git" && name != "target"
        })
        .build();
    for entry in walker {
        let entry = entry.with_context(|| format!("walking {}", dir.display()))?;
        if entry
            .file_type()
            .is_some_and(|t| t.is_file() || t.is_symlink())
        {
            let rel = entry
                .path()
                .strip_prefix(dir)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            files.push((rel, entry.path().to_path_buf()));
        }
    }
    files.sort();
    Ok(files)
}

/// Hashes a folder's source files, path and executable bit included.
pub fn hash_dir(dir: &Path) -> anyhow::Result<String> {
    use std::os::unix::fs::PermissionsExt;
    let mut hasher = Sha256::new();
    for (rel, path) in source_files(dir)? {
        let meta = std::fs::symlink_metadata(&path)?;
        let content_hash = if meta.file_type().is_symlink() {
            sha256_hex(std::fs::read_link(&path)?.to_string_lossy().as_bytes())
        } else {
            sha256_file(&path)?
        };
        let exec = meta.permissions().mode() & 0o111 != 0;
        hasher.update(format!("{rel}\0{exec}\0{content_hash}\n"));
    }
    Ok(hex::encode(hasher.finalize()))
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

pub fn sha256_file(path: &Path) -> anyhow::Result<String> {
    let mut file =
        std::fs::File::open(path).with_context(|| format!("reading {}", path.display()))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}

/// The canonical text of every input; its hash is the tag.
#[derive(Debug, Default, Clone)]
pub struct Inputs {
    lines: Vec<String>,
}

impl Inputs {
    pub fn push(&mut self, key: &str, value: impl std::fmt::Display) {
        let value = value.to_string().replace('\n', "\\n");
        self.lines.push(format!("{key} = {value}"));
    }

    pub fn text(&self) -> String {
        let mut s = self.lines.join("\n");
        s.push('\n');
        s
    }

    pub fn tag(&self) -> String {
        self.digest()["sha256:".len()..][..TAG_LEN].to_string()
    }

    pub fn digest(&self) -> String {
        format!("sha256:{}", sha256_hex(self.text().as_bytes()))
    }
}

/// Per-platform inputs of the tag: the target and the dependencies cargo resolves for it. The
/// toolchain is not one of them (see `toolchain_inputs`).
pub struct PlatformInputs<'a> {
    pub platform: Platform,
    pub target: &'static str,
    pub metadata: &'a Metadata,
}

/// What one platform's toolchain brings to its binary: the compiler, the linker, the C library
/// and the flags. Recorded in that platform's manifest (`TOOLCHAIN_ANNOTATION`) rather than in
/// the tag, so one platform's toolchain is enough to build that platform, and a stored image
/// another toolchain made is rebuilt rather than reused.
pub fn toolchain_inputs(tc: &Toolchain, flags: &BuildFlags) -> anyhow::Result<Inputs> {
    let arch = tc.platform.arch();
    let mut inputs = Inputs::default();
    inputs.push(&format!("{arch}.toolchain"), tc.route.name());
    inputs.push(&format!("{arch}.rustc"), &tc.rustc_version);
    inputs.push(
        &format!("{arch}.linker"),
        format!("{} {}", tc.linker, tc.linker_version),
    );
    if let Some(libc) = &tc.static_libc {
        inputs.push(&format!("{arch}.libc"), sha256_file(libc)?);
    }
    inputs.push(&format!("{arch}.flags"), flags.describe(tc));
    Ok(inputs)
}

/// The manifest annotation that names the toolchain inputs an image was built with.
pub const TOOLCHAIN_ANNOTATION: &str = "org.pkgbuild.toolchain";

/// Collects the inputs of a package over all its platforms.
pub fn compute(
    pkg: &Package,
    workspace_root: &Path,
    lock: &Lockfile,
    profile: &str,
    provenance: &Provenance,
    platforms: &[PlatformInputs<'_>],
) -> anyhow::Result<Inputs> {
    let mut inputs = Inputs::default();
    inputs.push("pkgbuild.format", FORMAT_VERSION);
    inputs.push("package", format!("{} {}", pkg.name, pkg.version));
    inputs.push("package.files", hash_dir(&pkg.dir)?);
    inputs.push("profile", profile);
    inputs.push(
        "profile.settings",
        profile_settings(workspace_root, profile)?,
    );
    inputs.push("source_date_epoch", provenance.epoch);
    inputs.push("revision", provenance.revision.as_deref().unwrap_or("none"));

    let mut path_dirs: BTreeMap<String, PathBuf> = BTreeMap::new();
    for p in platforms {
        let arch = p.platform.arch();
        inputs.push(&format!("{arch}.target"), p.target);
        for dep in closure(p.metadata, lock, &pkg.id)? {
            let source = dep.source.as_deref().unwrap_or("path");
            inputs.push(
                &format!("{arch}.dep"),
                format!(
                    "{} {} {} checksum={} features=[{}]",
                    dep.name,
                    dep.version,
                    source,
                    dep.checksum.as_deref().unwrap_or("-"),
                    dep.features.join(",")
                ),
            );
            if let Some(dir) = dep.path_dir {
                path_dirs.insert(format!("{} {}", dep.name, dep.version), dir);
            }
        }
    }
    for (name, dir) in path_dirs {
        inputs.push("path_dep.files", format!("{name} {}", hash_dir(&dir)?));
    }
    Ok(inputs)
}

/// The `[profile.<name>]` table of the workspace manifest, as canonical JSON.
fn profile_settings(workspace_root: &Path, profile: &str) -> anyhow::Result<String> {
    let path = workspace_root.join("Cargo.toml");
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    let doc: toml::Table =
        toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    let table = doc
        .get("profile")
        .and_then(|p| p.get(profile))
        .cloned()
        .unwrap_or(toml::Value::Table(Default::default()));
    let json = serde_json::to_value(table)?;
    Ok(String::from_utf8(crate::image::canonical_json(&json))?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lockfile_lookup_prefers_matching_source() {
        let lock = Lockfile::parse(
            r#"
version = 4
[[package]]
name = "a"
version = "1.0.0"
source = "registry+https://github.com/rust-lang/crates.io-index"
checksum = "aa"
[[package]]
name = "a"
version = "1.0.0"
source = "git+https://example.invalid/a#abc"
"#,
        )
        .unwrap();
        let git = lock
            .find("a", "1.0.0", Some("git+https://example.invalid/a#abc"))
            .unwrap();
        assert_eq!(git.checksum, None);
        let reg = lock
            .find(
                "a",
                "1.0.0",
                Some("registry+https://github.com/rust-lang/crates.io-index"),
            )
            .unwrap();
        assert_eq!(reg.checksum.as_deref(), Some("aa"));
        assert!(lock.find("b", "1.0.0", None).is_none());
    }

    #[test]
    fn tag_follows_every_line() {
        let mut a = Inputs::default();
        a.push("x", 1);
        let mut b = a.clone();
        assert_eq!(a.tag(), b.tag());
        b.push("y", 2);
        assert_ne!(a.tag(), b.tag());
        assert_eq!(a.tag().len(), TAG_LEN);
    }

    #[test]
    fn dir_hash_sees_content_names_and_modes() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a"), "1").unwrap();
        let h1 = hash_dir(dir.path()).unwrap();
        std::fs::write(dir.path().join("a"), "2").unwrap();
        let h2 = hash_dir(dir.path()).unwrap();
        assert_ne!(h1, h2);
        std::fs::set_permissions(dir.path().join("a"), std::fs::Permissions::from_mode(0o755))
            .unwrap();
        assert_ne!(h2, hash_dir(dir.path()).unwrap());
        // Build output is not source.
        std::fs::create_dir(dir.path().join("target")).unwrap();
        std::fs::write(dir.path().join("target/x"), "junk").unwrap();
        let h3 = hash_dir(dir.path()).unwrap();
        std::fs::write(dir.path().join("target/x"), "other junk").unwrap();
        assert_eq!(h3, hash_dir(dir.path()).unwrap());
    }
}
