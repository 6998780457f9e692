//! The pkgbuild command line: thin glue over the library.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use pkgbuild::build::{self, BuildOptions};
use pkgbuild::platform::{self, Libc, Platform};
use pkgbuild::push::PushOptions;
use pkgbuild::store::Store;
use pkgbuild::workspace::Workspace;

#[derive(Parser)]
#[command(
    version,
    about = "Build workspace packages into reproducible, multi-arch FROM-scratch OCI images"
)]
struct Cli {
    /// The local store, an OCI image layout [default: $XDG_CACHE_HOME/pkgbuild or ~/.cache/pkgbuild]
    #[arg(long, global = true, env = "PKGBUILD_CACHE", value_name = "DIR")]
    cache: Option<PathBuf>,
    /// The workspace's Cargo.toml [default: found from the current folder]
    #[arg(long, global = true, value_name = "PATH")]
    manifest_path: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Build packages (all when none is named) into the store
    Build {
        packages: Vec<String>,
        /// Comma-separated, e.g. linux/amd64,linux/arm64 [default: what each package declares]
        #[arg(long, value_name = "LIST")]
        platforms: Option<String>,
        /// Rebuild even when the store holds the tag
        #[arg(long)]
        force: bool,
    },
    /// Fork a package: a copy beside it under a new name, with its own crate, image and version
    New {
        name: String,
        /// The package to fork
        #[arg(long, value_name = "PACKAGE")]
        from: String,
        /// The fork's org (registry/namespace), e.g. registry.example.com/team [default: the source's]
        #[arg(long)]
        org: Option<String>,
    },
    /// Print a package's org/image:tag
    ShowTag {
        package: String,
        /// Also print every input the tag is hashed over
        #[arg(long)]
        inputs: bool,
    },
    /// List the images in the store
    Ls,
    /// Write a package's image as an OCI archive (building it if needed)
    Export {
        package: String,
        #[arg(short, long, value_name = "FILE.tar")]
        output: PathBuf,
        #[arg(long, value_name = "LIST")]
        platforms: Option<String>,
    },
    /// Build what is missing, then push images, SBOMs and tags to a registry
    Push {
        packages: Vec<String>,
        /// Push under REGISTRY/NAMESPACE instead of each package's org
        #[arg(long, value_name = "REGISTRY/NAMESPACE")]
        org: Option<String>,
        #[arg(long, value_name = "LIST")]
        platforms: Option<String>,
        /// Move a version tag that points to other content
        #[arg(long)]
        force: bool,
        /// Push packages with uncommitted changes
        #[arg(long)]
        allow_dirty: bool,
        /// Allow plain HTTP to registries that are not on loopback
        #[arg(long)]
        insecure: bool,
    },
    /// Pin the references to workspace packages in a LinuxKit manifest by digest
    Resolve {
        file: PathBuf,
        /// Rewrite the file in place instead of printing it
        #[arg(short = 'i', long)]
        in_place: bool,
        /// Also match references under this namespace, e.g. registry.example.com/team
        #[arg(long, value_name = "REGISTRY/NAMESPACE")]
        org: Option<String>,
        #[arg(long, value_name = "LIST")]
        platforms: Option<String>,
    },
    /// Fail, naming the line, on any reference not pinned by digest or not held for every platform
    Verify {
        file: PathBuf,
        /// Check against the local store instead of the registries
        #[arg(long)]
        local: bool,
        /// Allow plain HTTP to registries that are not on loopback
        #[arg(long)]
        insecure: bool,
        /// Platforms every image must have [default: linux/amd64,linux/arm64,linux/s390x]
        #[arg(long, value_name = "LIST")]
        platforms: Option<String>,
    },
    /// Run a package's image as a container, as LinuxKit runs an onboot entry (needs root and runc)
    Run {
        package: String,
        /// [default: this machine's]
        #[arg(long, value_name = "PLATFORM")]
        platform: Option<String>,
        /// A manifest entry's overrides, as JSON: {"binds.add": [...], "net": "new", ...}
        #[arg(long, value_name = "JSON")]
        entry: Option<String>,
        /// The entry's env (replaces the image's, as in a manifest); repeat for more
        #[arg(long = "env", value_name = "KEY=VALUE")]
        env: Vec<String>,
        /// The runc binary
        #[arg(long, default_value = "runc", value_name = "PATH")]
        runc: PathBuf,
        /// Print config.json and runtime.json as {"config": ..., "runtime": ...} and exit
        #[arg(long)]
        print_spec: bool,
        /// The entry's command (replaces the label's and the image's); takes the rest of the line
        #[arg(long, num_args = 1.., allow_hyphen_values = true, value_name = "ARG")]
        command: Option<Vec<String>>,
    },
    /// Build a machine from a LinuxKit manifest: kernel, initrd (or root tar) and cmdline
    Image {
        manifest: PathBuf,
        /// kernel+initrd or tar
        #[arg(long, default_value = "kernel+initrd")]
        format: pkgbuild::machine::Format,
        /// amd64, arm64 or s390x [default: this machine's]
        #[arg(long)]
        arch: Option<String>,
        /// [default: the manifest's name without .yml, beside it]
        #[arg(short, long, value_name = "DIR")]
        output: Option<PathBuf>,
        /// Allow plain HTTP to registries that are not on loopback (for pulls)
        #[arg(long)]
        insecure: bool,
    },
    /// Boot a machine that `pkgbuild image` made, under QEMU, its console on this terminal
    Boot {
        dir: PathBuf,
        #[arg(long)]
        arch: Option<String>,
        /// Memory in MiB
        #[arg(long, default_value_t = 1024)]
        mem: u32,
        /// This machine's port forwarded to the guest's port 22 (user networking)
        #[arg(long, value_name = "PORT")]
        ssh_port: Option<u16>,
        /// Put the guest's NIC on this tap device instead of QEMU's user networking
        #[arg(long, value_name = "IFNAME")]
        tap: Option<String>,
    },
    /// Show which toolchain builds each platform, and what is missing
    Doctor,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(1)
        }
    }
}

fn open_store(cli_cache: &Option<PathBuf>) -> anyhow::Result<Store> {
    let dir = cli_cache
        .clone()
        .unwrap_or_else(pkgbuild::default_store_dir);
    Store::open(&dir).with_context(|| format!("opening the store at {}", dir.display()))
}

fn registry_client(insecure: bool) -> pkgbuild::registry::Client {
    pkgbuild::registry::Client::new(pkgbuild::registry::Options {
        insecure,
        ..Default::default()
    })
}

/// The platforms of an index's entries, or of a single manifest's config (a pulled image).
fn platforms_of(store: &Store, bytes: &[u8]) -> String {
    use oci_spec::image::{ImageConfiguration, ImageIndex, ImageManifest};
    if let Ok(index) = serde_json::from_slice::<ImageIndex>(bytes) {
        return index
            .manifests()
            .iter()
            .filter_map(|m| {
                m.platform()
                    .as_ref()
                    .map(|p| format!("linux/{}", p.architecture()))
            })
            .collect::<Vec<_>>()
            .join(",");
    }
    serde_json::from_slice::<ImageManifest>(bytes)
        .ok()
        .and_then(|m| store.read(m.config().digest().as_ref()).ok())
        .and_then(|c| serde_json::from_slice::<ImageConfiguration>(&c).ok())
        .map(|c| format!("linux/{}", c.architecture()))
        .unwrap_or_else(|| "not an image".into())
}

fn parse_platforms(list: &Option<String>) -> anyhow::Result<Option<Vec<Platform>>> {
    list.as_deref()
        .map(platform::parse_list)
        .transpose()
        .map_err(Into::into)
}

/// The manifest entry `pkgbuild run` runs the image with.
fn run_entry(
    name: &str,
    reference: &str,
    json: &Option<String>,
    env: &[String],
    command: &Option<Vec<String>>,
) -> anyhow::Result<linuxkit_config::ImageConfig> {
    let mut value = match json {
        Some(text) => serde_json::from_str(text).context("--entry is not JSON")?,
        None => serde_json::json!({}),
    };
    let map = value
        .as_object_mut()
        .context("--entry must be a JSON object")?;
    map.insert("name".into(), name.into());
    map.insert("image".into(), reference.into());
    if !env.is_empty() {
        map.insert("env".into(), env.into());
    }
    if let Some(command) = command {
        map.insert("command".into(), command.as_slice().into());
    }
    linuxkit_config::ImageConfig::parse_entry(&value).context("--entry")
}

fn platform_or_host(arch: &Option<String>) -> anyhow::Result<Platform> {
    match arch {
        Some(a) => {
            let full = if a.contains('/') {
                a.clone()
            } else {
                format!("linux/{a}")
            };
            Ok(full.parse::<Platform>()?)
        }
        None => Platform::host().context("this machine's platform is not one we build"),
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let mut out = std::io::stdout().lock();
    match &cli.command {
        Command::Build {
            packages,
            platforms,
            force,
        } => {
            let opts = BuildOptions {
                platforms: parse_platforms(platforms)?,
                force: *force,
            };
            let ws = Workspace::load(cli.manifest_path.as_deref())?;
            let store = open_store(&cli.cache)?;
            let selected = ws.select(packages)?;
            if selected.is_empty() {
                writeln!(
                    out,
                    "no package in this workspace declares [package.metadata.pkg]"
                )?;
            }
            for pkg in selected {
                build::build_package(&ws, &store, pkg, &opts, &mut out)
                    .with_context(|| format!("building {}", pkg.name))?;
            }
        }
        Command::New { name, from, org } => {
            let ws = Workspace::load(cli.manifest_path.as_deref())?;
            let source = ws
                .packages
                .iter()
                .find(|p| &p.name == from)
                .with_context(|| {
                    let names: Vec<&str> = ws.packages.iter().map(|p| p.name.as_str()).collect();
                    format!(
                        "no package {from} with an image (packages: {})",
                        names.join(", ")
                    )
                })?;
            let mut cmd = cargo_metadata::MetadataCommand::new();
            cmd.no_deps();
            cmd.manifest_path(ws.root.join("Cargo.toml"));
            let members: Vec<String> = cmd
                .exec()
                .context("running cargo metadata")?
                .workspace_packages()
                .iter()
                .map(|p| p.name.to_string())
                .collect();
            let forked = pkgbuild::fork::fork(
                &ws.root,
                &members,
                &pkgbuild::fork::ForkOptions {
                    name,
                    from: source,
                    org: org.as_deref(),
                },
            )?;
            writeln!(
                out,
                "forked {} {} into {} (crate {name}, image {}, version 0.1.0)\nnext:\n  pkgbuild build {name}\n  pkgbuild push {name}",
                source.name,
                source.version,
                forked.dir.strip_prefix(&ws.root).unwrap_or(&forked.dir).display(),
                forked.repo
            )?;
        }
        Command::ShowTag { package, inputs } => {
            let ws = Workspace::load(cli.manifest_path.as_deref())?;
            let pkg = ws.select(std::slice::from_ref(package))?[0];
            let plan = ws.plan(pkg)?;
            if *inputs {
                write!(out, "{}", plan.inputs.text())?;
                // Not in the tag: each platform's manifest records its own.
                for &platform in &pkg.meta.arches {
                    match ws.toolchain(platform, pkg.meta.libc) {
                        Ok(tc) => {
                            let tc_inputs = pkgbuild::inputs::toolchain_inputs(&tc, &ws.flags)?;
                            writeln!(out, "# {platform} toolchain, {}:", tc_inputs.digest())?;
                            write!(out, "{}", tc_inputs.text())?;
                        }
                        Err(missing) => writeln!(out, "# {missing}")?,
                    }
                }
            }
            writeln!(out, "{}", plan.reference)?;
        }
        Command::Ls => {
            let store = open_store(&cli.cache)?;
            for (name, desc) in store.refs()? {
                let digest = desc.digest().to_string();
                let platforms = match store.read(&digest) {
                    Ok(bytes) => platforms_of(&store, &bytes),
                    Err(e) => format!("({e})"),
                };
                writeln!(out, "{name}  {digest}  {platforms}")?;
            }
        }
        Command::Export {
            package,
            output,
            platforms,
        } => {
            let ws = Workspace::load(cli.manifest_path.as_deref())?;
            let store = open_store(&cli.cache)?;
            let pkg = ws.select(std::slice::from_ref(package))?[0];
            let opts = BuildOptions {
                platforms: parse_platforms(platforms)?,
                force: false,
            };
            let built = build::build_package(&ws, &store, pkg, &opts, &mut out)?;
            pkgbuild::export::export(
                &store,
                &built.reference,
                &built.index_digest,
                Some(&pkg.version),
                output,
            )?;
            writeln!(out, "{}: wrote {}", pkg.name, output.display())?;
        }
        Command::Push {
            packages,
            org,
            platforms,
            force,
            allow_dirty,
            insecure,
        } => {
            let ws = Workspace::load(cli.manifest_path.as_deref())?;
            let store = open_store(&cli.cache)?;
            let client = registry_client(*insecure);
            let opts = PushOptions {
                build: BuildOptions {
                    platforms: parse_platforms(platforms)?,
                    force: false,
                },
                org: org.clone(),
                allow_dirty: *allow_dirty,
                force: *force,
            };
            let mut session = pkgbuild::push::Session::default();
            for pkg in ws.select(packages)? {
                pkgbuild::push::push_package(
                    &ws,
                    &store,
                    &client,
                    &mut session,
                    pkg,
                    &opts,
                    &mut out,
                )
                .with_context(|| format!("pushing {}", pkg.name))?;
            }
            let stats = client.stats();
            writeln!(
                out,
                "registry traffic: {} requests, {} blobs uploaded, {} bytes, {} retries",
                stats.requests, stats.blobs_uploaded, stats.bytes_uploaded, stats.retries
            )?;
        }
        Command::Resolve {
            file,
            in_place,
            org,
            platforms,
        } => {
            let text = std::fs::read_to_string(file)
                .with_context(|| format!("reading {}", file.display()))?;
            let ws = Workspace::load(cli.manifest_path.as_deref())?;
            let store = open_store(&cli.cache)?;
            let opts = BuildOptions {
                platforms: parse_platforms(platforms)?,
                force: false,
            };
            // Build progress goes to stderr: stdout may be the manifest.
            let mut log = std::io::stderr();
            let resolved =
                pkgbuild::resolve::resolve(&ws, &store, &text, org.as_deref(), &opts, &mut log)?;
            if *in_place {
                let dir = file
                    .parent()
                    .filter(|p| !p.as_os_str().is_empty())
                    .unwrap_or(std::path::Path::new("."));
                let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
                tmp.write_all(resolved.as_bytes())?;
                tmp.persist(file)
                    .with_context(|| format!("writing {}", file.display()))?;
            } else {
                out.write_all(resolved.as_bytes())?;
            }
        }
        Command::Verify {
            file,
            local,
            insecure,
            platforms,
        } => {
            let text = std::fs::read_to_string(file)
                .with_context(|| format!("reading {}", file.display()))?;
            let platforms = parse_platforms(platforms)?.unwrap_or_else(|| Platform::ALL.to_vec());
            let problems = if *local {
                pkgbuild::resolve::verify_local(&open_store(&cli.cache)?, &text, &platforms)
            } else {
                pkgbuild::resolve::verify_registry(&registry_client(*insecure), &text, &platforms)
            };
            for p in &problems {
                writeln!(
                    out,
                    "{}:{}: {}: {}",
                    file.display(),
                    p.line,
                    p.reference,
                    p.message
                )?;
            }
            if !problems.is_empty() {
                return Ok(ExitCode::from(1));
            }
            writeln!(
                out,
                "{}: every reference is pinned and held",
                file.display()
            )?;
        }
        Command::Run {
            package,
            platform,
            entry,
            env,
            runc,
            print_spec,
            command,
        } => {
            let ws = Workspace::load(cli.manifest_path.as_deref())?;
            let store = open_store(&cli.cache)?;
            let pkg = ws.select(std::slice::from_ref(package))?[0];
            let platform = match platform {
                Some(p) => p.parse::<Platform>()?,
                None => Platform::host().context("this machine's platform is not one we build")?,
            };
            let opts = BuildOptions {
                platforms: Some(vec![platform]),
                force: false,
            };
            // Build progress goes to stderr: stdout is the container's.
            let built = build::build_package(&ws, &store, pkg, &opts, &mut std::io::stderr())?;
            let entry = run_entry(pkg.image(), &built.reference, entry, env, command)?;
            let image = pkgbuild::bundle::StoredImage::read(&store, &built.index_digest, platform)?;
            let dir = tempfile::Builder::new().prefix("pkgbuild-run-").tempdir()?;
            let mut bundle = pkgbuild::bundle::write_bundle(&store, &image, &entry, dir.path())?;
            if *print_spec {
                let both = serde_json::json!({"config": bundle.spec, "runtime": bundle.runtime});
                writeln!(out, "{}", serde_json::to_string_pretty(&both)?)?;
                return Ok(ExitCode::SUCCESS);
            }
            let dropped = pkgbuild::run::clamp_capabilities(
                &mut bundle.spec,
                pkgbuild::run::host_bounding_set()?,
            );
            if !dropped.is_empty() {
                eprintln!(
                    "pkgbuild run: this machine's capability bounding set lacks {}: the container runs without {}",
                    dropped.join(", "),
                    if dropped.len() == 1 { "it" } else { "them" }
                );
                std::fs::write(
                    dir.path().join("config.json"),
                    serde_json::to_vec_pretty(&bundle.spec)?,
                )?;
            }
            let id = format!(
                "pkgbuild-{}-{}",
                pkg.image().replace('/', "-"),
                std::process::id()
            );
            let code = pkgbuild::run::run_bundle(&bundle, &id, runc)?;
            return Ok(ExitCode::from(u8::try_from(code).unwrap_or(255)));
        }
        Command::Image {
            manifest,
            format,
            arch,
            output,
            insecure,
        } => {
            let ws = Workspace::load(cli.manifest_path.as_deref())?;
            let store = open_store(&cli.cache)?;
            let platform = platform_or_host(arch)?;
            let out_dir = output
                .clone()
                .unwrap_or_else(|| manifest.with_extension(""));
            let started = std::time::Instant::now();
            let made = pkgbuild::machine::build_machine(
                &ws,
                &store,
                &registry_client(*insecure),
                manifest,
                platform,
                *format,
                &out_dir,
                &mut std::io::stderr(),
            )?;
            for f in &made.files {
                let size = std::fs::metadata(f).map(|m| m.len()).unwrap_or(0);
                writeln!(out, "{}  {}", f.display(), build::size(size))?;
            }
            eprintln!(
                "{platform}: {} entries in the root, {:.1}s",
                made.root_entries,
                started.elapsed().as_secs_f64()
            );
        }
        Command::Boot {
            dir,
            arch,
            mem,
            ssh_port,
            tap,
        } => {
            let platform = platform_or_host(arch)?;
            let mut qemu =
                pkgbuild::boot::qemu_command(dir, platform, *mem, *ssh_port, tap.as_deref())?;
            // QEMU takes our place: whoever stops this process stops the machine.
            let err = std::os::unix::process::CommandExt::exec(&mut qemu);
            return Err(err).with_context(|| format!("starting {:?}", qemu.get_program()));
        }
        Command::Doctor => {
            let root = std::env::current_dir()?;
            let probe = pkgbuild::toolchain::Probe::new(&root);
            let mut ok = true;
            for platform in Platform::ALL {
                for libc in [Libc::Musl, Libc::Gnu] {
                    match probe.select(platform, libc) {
                        Ok(tc) => writeln!(
                            out,
                            "{platform} {libc}: {} ({}), linker {}, {}",
                            tc.route.name(),
                            tc.rustc.display(),
                            tc.linker,
                            tc.rustc_version.lines().next().unwrap_or_default()
                        )?,
                        Err(missing) => {
                            ok = false;
                            writeln!(
                                out,
                                "{platform} {libc}: missing {}",
                                missing.missing.join("; ")
                            )?;
                        }
                    }
                }
            }
            if !ok {
                return Ok(ExitCode::from(2));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
