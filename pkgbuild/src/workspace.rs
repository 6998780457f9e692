//! The Cargo workspace as pkgbuild sees it: packages with images, the lockfile, toolchains.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use anyhow::Context;
use cargo_metadata::{Metadata, MetadataCommand};

use crate::compile::BuildFlags;
use crate::git::{self, Provenance};
use crate::inputs::{self, ClosureEntry, Inputs, Lockfile, PlatformInputs};
use crate::metadata::{self, Package};
use crate::platform::{Libc, Platform};
use crate::toolchain::{Missing, Probe, Toolchain};

pub struct Workspace {
    pub root: PathBuf,
    pub target_dir: PathBuf,
    pub packages: Vec<Package>,
    pub lock: Lockfile,
    pub flags: BuildFlags,
    pub profile: String,
    manifest_path: Option<PathBuf>,
    probe: Probe,
    /// `cargo metadata --filter-platform`, by target triple.
    by_target: RefCell<HashMap<&'static str, std::rc::Rc<Metadata>>>,
    /// Plans made so far, by package name: a command plans each package once (a push checks the
    /// tree, builds and pushes from the same plan).
    plans: RefCell<HashMap<String, std::rc::Rc<Plan>>>,
    toolchains: RefCell<HashMap<(Platform, Libc), Result<Toolchain, Missing>>>,
    toolchain_digests: RefCell<HashMap<(Platform, Libc), String>>,
}

/// Everything known about a package before compiling it.
pub struct Plan {
    pub tag: String,
    /// `org/image:tag`
    pub reference: String,
    pub inputs: Inputs,
    pub provenance: Provenance,
    pub closures: BTreeMap<Platform, Vec<ClosureEntry>>,
}

impl Workspace {
    pub fn load(manifest_path: Option<&Path>) -> anyhow::Result<Workspace> {
        // Absolute, since cargo runs from the workspace's folder.
        let manifest_path = manifest_path
            .map(|p| std::fs::canonicalize(p).with_context(|| format!("manifest {}", p.display())))
            .transpose()?;
        let manifest_path = manifest_path.as_deref();
        let mut cmd = MetadataCommand::new();
        if let Some(path) = manifest_path {
            cmd.manifest_path(path);
            // From the workspace's folder, as every later cargo call: its .cargo/config.toml
            // (a vendored source, say) applies.
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                cmd.current_dir(dir);
            }
        }
        let metadata = cmd.exec().context("running cargo metadata")?;
        let root = metadata.workspace_root.clone().into_std_path_buf();
        let packages = metadata::discover(&metadata)?;
        // cargo metadata has just written Cargo.lock if it was missing.
        let lock = Lockfile::load(&root.join("Cargo.lock"))?;
        Ok(Workspace {
            target_dir: metadata
                .target_directory
                .clone()
                .into_std_path_buf()
                .join("pkgbuild"),
            flags: BuildFlags::new(&root),
            probe: Probe::new(&root),
            root,
            packages,
            lock,
            profile: "release".into(),
            manifest_path: manifest_path.map(Path::to_path_buf),
            by_target: RefCell::new(HashMap::new()),
            plans: RefCell::new(HashMap::new()),
            toolchains: RefCell::new(HashMap::new()),
            toolchain_digests: RefCell::new(HashMap::new()),
        })
    }

    /// The named packages, or all when none is named.
    pub fn select(&self, names: &[String]) -> anyhow::Result<Vec<&Package>> {
        if names.is_empty() {
            return Ok(self.packages.iter().collect());
        }
        names
            .iter()
            .map(|name| {
                self.packages
                    .iter()
                    .find(|p| &p.name == name || p.image() == name)
                    .with_context(|| {
                        let known: Vec<&str> = self.packages.iter().map(|p| p.name.as_str()).collect();
                        format!("no package {name:?} with [package.metadata.pkg] in this workspace (found {known:?})")
                    })
            })
            .collect()
    }

    /// The toolchain for one platform, probed once per Workspace.
    pub fn toolchain(&self, platform: Platform, libc: Libc) -> Result<Toolchain, Missing> {
        self.toolchains
            .borrow_mut()
            .entry((platform, libc))
            .or_insert_with(|| self.probe.select(platform, libc))
            .clone()
    }

    /// The digest of a toolchain's inputs (`inputs::toolchain_inputs`), hashed once per Workspace:
    /// it reads the C library's archive.
    pub fn toolchain_digest(&self, tc: &Toolchain) -> anyhow::Result<String> {
        let key = (tc.platform, tc.libc);
        if let Some(digest) = self.toolchain_digests.borrow().get(&key) {
            return Ok(digest.clone());
        }
        let digest = inputs::toolchain_inputs(tc, &self.flags)?.digest();
        self.toolchain_digests
            .borrow_mut()
            .insert(key, digest.clone());
        Ok(digest)
    }

    /// Metadata filtered to one target's dependencies.
    fn target_metadata(&self, triple: &'static str) -> anyhow::Result<std::rc::Rc<Metadata>> {
        if let Some(m) = self.by_target.borrow().get(triple) {
            return Ok(m.clone());
        }
        let mut cmd = MetadataCommand::new();
        cmd.current_dir(&self.root);
        if let Some(path) = &self.manifest_path {
            cmd.manifest_path(path);
        }
        cmd.other_options(vec![
            "--filter-platform".into(),
            triple.into(),
            "--locked".into(),
        ]);
        let m = std::rc::Rc::new(
            cmd.exec()
                .with_context(|| format!("cargo metadata --filter-platform {triple}"))?,
        );
        self.by_target.borrow_mut().insert(triple, m.clone());
        Ok(m)
    }

    /// A package's inputs and tag over all the platforms it declares, computed once per
    /// Workspace (git and `cargo metadata` are asked once). No toolchain is needed for it.
    pub fn plan(&self, pkg: &Package) -> anyhow::Result<std::rc::Rc<Plan>> {
        if let Some(plan) = self.plans.borrow().get(&pkg.name) {
            return Ok(plan.clone());
        }
        let plan = std::rc::Rc::new(self.make_plan(pkg)?);
        self.plans
            .borrow_mut()
            .insert(pkg.name.clone(), plan.clone());
        Ok(plan)
    }

    fn make_plan(&self, pkg: &Package) -> anyhow::Result<Plan> {
        let provenance = git::provenance(&pkg.dir)?;
        let mut metas = Vec::new();
        for &platform in &pkg.meta.arches {
            let target = platform.triple(pkg.meta.libc);
            metas.push((platform, target, self.target_metadata(target)?));
        }
        let platform_inputs: Vec<PlatformInputs<'_>> = metas
            .iter()
            .map(|(platform, target, metadata)| PlatformInputs {
                platform: *platform,
                target,
                metadata,
            })
            .collect();
        let inputs = inputs::compute(
            pkg,
            &self.root,
            &self.lock,
            &self.profile,
            &provenance,
            &platform_inputs,
        )?;
        let mut closures = BTreeMap::new();
        for (platform, _, m) in &metas {
            closures.insert(*platform, inputs::closure(m, &self.lock, &pkg.id)?);
        }
        let tag = inputs.tag();
        Ok(Plan {
            reference: format!("{}:{tag}", pkg.repo()),
            tag,
            inputs,
            provenance,
            closures,
        })
    }
}
