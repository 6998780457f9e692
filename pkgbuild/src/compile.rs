//! Compiles one package for one platform into a static binary.

use std::io::{BufReader, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, Context};
use cargo_metadata::Message;

use crate::metadata::Package;
use crate::toolchain::{Route, Toolchain};

/// How std is built on the build-std route. `optimize_for_size` picks std's smaller algorithms
/// (sorting, formatting); naming the features leaves out the defaults' `backtrace`, whose
/// symbolizer (gimli, addr2line, a demangler) is a tenth of a small binary: a panic still prints
/// its message and location, and the binaries abort on panic anyway.
const BUILD_STD: [&str; 2] = [
    "-Zbuild-std=std,panic_abort",
    "-Zbuild-std-features=optimize_for_size",
];

/// Cargo's own path trimming: every source path in a binary becomes relative to its package (or
/// `/rustc/<commit>` for std), so two checkouts give the same bytes. Unlike `--remap-path-prefix`
/// in the rustflags, it keeps the flags free of the checkout's path, so workspaces that share a
/// target dir share std and the registry crates too. Checksums instead of mtimes decide what is
/// fresh: another checkout's older file with other content is never taken for built.
const PATH_FLAGS: [&str; 2] = ["-Ztrim-paths", "-Zchecksum-freshness"];

/// The flags every target build gets.
#[derive(Debug, Clone)]
pub struct BuildFlags {
    pub workspace_root: PathBuf,
}

impl BuildFlags {
    pub fn new(workspace_root: &Path) -> BuildFlags {
        BuildFlags {
            workspace_root: workspace_root.to_path_buf(),
        }
    }

    /// The fixed part of the rustflags, hashed into the platform's toolchain digest.
    fn fixed(tc: &Toolchain) -> Vec<String> {
        let mut flags = vec![
            "-Ctarget-feature=+crt-static".to_string(),
            // glibc's static getrandom lookup goes through dlsym and fails in an empty root.
            "--cfg=getrandom_backend=\"linux_getrandom\"".to_string(),
        ];
        if tc.system_musl() {
            // Debian's musl: its crt objects come through the gcc wrapper's specs file, and a
            // static (not static-pie) executable, which that startup code expects.
            flags.push("-Clink-self-contained=no".into());
            flags.push("-Crelocation-model=static".into());
        }
        flags
    }

    /// `unwind_dir` holds the `libunwind.a` a system-musl build links (see `crate::musl`).
    pub fn rustflags(&self, tc: &Toolchain, unwind_dir: Option<&Path>) -> Vec<String> {
        let mut flags = Self::fixed(tc);
        if let Some(dir) = unwind_dir {
            flags.push(format!("-L{}", dir.display()));
        }
        flags
    }

    pub fn describe(&self, tc: &Toolchain) -> String {
        let mut flags = Self::fixed(tc);
        if tc.route == Route::BuildStd {
            flags.extend(BUILD_STD.map(String::from));
        }
        if tc.system_musl() {
            flags.push("-L<libunwind.a from libgcc_eh.a>".into());
        }
        flags.push("trim-paths=all".into());
        flags.join(" ")
    }
}

/// Environment variables that would change what cargo builds behind our back.
fn scrub(cmd: &mut Command) {
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy();
        if key == "RUSTFLAGS"
            || key == "RUSTC_WRAPPER"
            || key == "RUSTC_WORKSPACE_WRAPPER"
            || key == "RUSTC_BOOTSTRAP"
            || key == "CARGO_TARGET_DIR"
            || key == "CARGO_BUILD_TARGET"
            || key.starts_with("CARGO_BUILD_RUSTFLAGS")
            || key.starts_with("CARGO_PROFILE_")
            || (key.starts_with("CARGO_TARGET_") && key != "CARGO_TARGET_DIR")
            || key.starts_with("CARGO_ENCODED_")
            // Debian's musl gcc wrappers run this compiler instead of the platform's.
            || key == "REALGCC"
        {
            cmd.env_remove(key.as_ref());
        }
    }
}

pub struct CompileRequest<'a> {
    pub pkg: &'a Package,
    pub toolchain: &'a Toolchain,
    pub flags: &'a BuildFlags,
    pub profile: &'a str,
    pub target_dir: &'a Path,
    /// Prefix of progress lines, e.g. "dhcpcd linux/arm64".
    pub label: &'a str,
}

/// Runs cargo and returns a private copy of the static binary it made.
///
/// Builds that share a target dir (other checkouts, other pkgbuilds) take turns, from cargo's
/// start until the binary is copied out: a unit another workspace builds with the same hash
/// overwrites the same output file.
pub fn compile(req: &CompileRequest<'_>) -> anyhow::Result<tempfile::TempPath> {
    std::fs::create_dir_all(req.target_dir)
        .with_context(|| format!("creating {}", req.target_dir.display()))?;
    let lock_path = req.target_dir.join("pkgbuild.lock");
    let lock = std::fs::File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .with_context(|| format!("opening {}", lock_path.display()))?;
    lock.lock()
        .with_context(|| format!("locking {}", lock_path.display()))?;
    let executable = compile_locked(req)?;
    let copy = tempfile::Builder::new()
        .prefix(".binary-")
        .tempfile_in(req.target_dir)?
        .into_temp_path();
    std::fs::copy(&executable, &copy)
        .with_context(|| format!("copying {}", executable.display()))?;
    Ok(copy)
}

fn compile_locked(req: &CompileRequest<'_>) -> anyhow::Result<PathBuf> {
    let tc = req.toolchain;
    let triple = tc.triple();
    let unwind_dir = if tc.system_musl() {
        Some(crate::musl::unwind_dir(req.target_dir, tc)?)
    } else {
        None
    };
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    scrub(&mut cmd);
    cmd.current_dir(&req.flags.workspace_root)
        .arg("build")
        .args(["--locked", "--message-format=json-render-diagnostics"])
        .args(["--profile", req.profile])
        .args(PATH_FLAGS)
        .arg("--config")
        .arg(format!("profile.{}.trim-paths=\"all\"", req.profile))
        .args(["--target", triple])
        .arg("--target-dir")
        .arg(req.target_dir)
        .args(["--package", &req.pkg.name, "--bin", &req.pkg.bin])
        .env("RUSTC", &tc.rustc)
        .env(
            format!(
                "CARGO_TARGET_{}_LINKER",
                triple.to_uppercase().replace('-', "_")
            ),
            &tc.linker,
        )
        .env(
            "CARGO_ENCODED_RUSTFLAGS",
            req.flags.rustflags(tc, unwind_dir.as_deref()).join("\x1f"),
        )
        // The -Z flags: cargo's own and, on the build-std route, std's.
        .env("RUSTC_BOOTSTRAP", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    if tc.route == Route::BuildStd {
        cmd.args(BUILD_STD);
    }
    let mut child = cmd.spawn().context("starting cargo")?;
    let stdout = child.stdout.take().unwrap();
    let tty = std::io::stderr().is_terminal();
    let mut executable = None;
    let mut compiled = 0usize;
    for message in Message::parse_stream(BufReader::new(stdout)) {
        match message.context("reading cargo's output")? {
            Message::CompilerArtifact(art) => {
                compiled += 1;
                if tty {
                    let mut err = std::io::stderr().lock();
                    let _ = write!(
                        err,
                        "\r\x1b[2K{}: compiling ({compiled} crates) {}",
                        req.label, art.target.name
                    );
                    let _ = err.flush();
                }
                if art.package_id == req.pkg.id
                    && art.target.is_bin()
                    && art.target.name == req.pkg.bin
                {
                    executable = art.executable.map(|p| p.into_std_path_buf());
                }
            }
            Message::TextLine(line) => eprintln!("{line}"),
            _ => {}
        }
    }
    if tty {
        eprint!("\r\x1b[2K");
    }
    let status = child.wait().context("waiting for cargo")?;
    if !status.success() {
        bail!(
            "cargo build of {} for {} failed ({status})",
            req.pkg.name,
            tc.platform
        );
    }
    let executable =
        executable.with_context(|| format!("cargo built no binary {:?}", req.pkg.bin))?;
    check_static(&executable, tc.platform)?;
    Ok(executable)
}

/// Refuses a binary that needs a dynamic loader or shared libraries, or is for the wrong machine.
pub fn check_static(path: &Path, platform: crate::platform::Platform) -> anyhow::Result<()> {
    use object::read::elf::{Dyn, FileHeader, ProgramHeader};
    use object::{elf, Endianness};

    let data = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let kind = object::FileKind::parse(&*data)
        .with_context(|| format!("{} is not an object file", path.display()))?;
    let (machine, interp, needed) = match kind {
        object::FileKind::Elf64 => {
            let header = elf::FileHeader64::<Endianness>::parse(&*data)?;
            let endian = header.endian()?;
            let mut interp = false;
            let mut needed = false;
            for ph in header.program_headers(endian, &*data)? {
                match ph.p_type(endian) {
                    elf::PT_INTERP => interp = true,
                    elf::PT_DYNAMIC => {
                        if let Some(dyns) = ph.dynamic(endian, &*data)? {
                            needed |= dyns.iter().any(|d| d.d_tag(endian) == elf::DT_NEEDED);
                        }
                    }
                    _ => {}
                }
            }
            (header.e_machine(endian), interp, needed)
        }
        other => bail!(
            "{} is a {other:?} file, expected a 64-bit ELF executable",
            path.display()
        ),
    };
    let want = match platform {
        crate::platform::Platform::Amd64 => elf::EM_X86_64,
        crate::platform::Platform::Arm64 => elf::EM_AARCH64,
        crate::platform::Platform::S390x => elf::EM_S390,
    };
    if machine != want {
        bail!(
            "{} is for ELF machine {machine}, not {platform}",
            path.display()
        );
    }
    if interp || needed {
        bail!(
            "{} is dynamically linked (PT_INTERP or DT_NEEDED present): a scratch image has no loader. \
             Is RUSTFLAGS or a .cargo/config.toml overriding -Ctarget-feature=+crt-static?",
            path.display()
        );
    }
    Ok(())
}
