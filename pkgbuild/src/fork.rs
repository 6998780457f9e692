//! `pkgbuild new NAME --from PKG`: a service forked in one command. The package's folder is
//! copied beside it under the new name; the crate, its binary target, its library paths in the
//! Rust sources and its image are renamed (and the org, when asked); the version starts again at
//! 0.1.0 with a CHANGELOG that says where it came from; the workspace's members gain it (the rest
//! of Cargo.toml untouched) and Cargo.lock gains its entry, offline. Whatever fails half-way,
//! Cargo.toml, Cargo.lock and `pkgs/` are left as they were.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context};

use crate::metadata::Package;

pub struct ForkOptions<'a> {
    pub name: &'a str,
    pub from: &'a Package,
    pub org: Option<&'a str>,
}

/// What `fork` made.
pub struct Forked {
    pub dir: PathBuf,
    /// `org/image`
    pub repo: String,
}

/// Words cargo refuses as package names (Rust keywords, its own output folders) or that would
/// shadow the standard library's crates.
const RESERVED: &[&str] = &[
    "abstract",
    "as",
    "async",
    "await",
    "become",
    "box",
    "break",
    "const",
    "continue",
    "crate",
    "do",
    "dyn",
    "else",
    "enum",
    "extern",
    "false",
    "final",
    "fn",
    "for",
    "gen",
    "if",
    "impl",
    "in",
    "let",
    "loop",
    "macro",
    "match",
    "mod",
    "move",
    "mut",
    "override",
    "priv",
    "pub",
    "ref",
    "return",
    "self",
    "static",
    "struct",
    "super",
    "trait",
    "true",
    "try",
    "type",
    "typeof",
    "unsafe",
    "unsized",
    "use",
    "virtual",
    "where",
    "while",
    "yield",
    "build",
    "deps",
    "examples",
    "incremental",
    "alloc",
    "core",
    "proc-macro",
    "proc_macro",
    "std",
    "test",
];

/// A name cargo takes for a package and an OCI registry for an image: lowercase ASCII letters
/// and digits with `-` or `_` between, starting with a letter, not reserved.
pub fn check_name(name: &str) -> Result<(), String> {
    let valid = name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && !name.ends_with(['-', '_'])
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if !valid {
        return Err(format!(
            "{name:?} is not a package name: lowercase letters, digits, - and _, starting with a \
             letter, at most 64 characters"
        ));
    }
    if RESERVED.contains(&name) {
        return Err(format!(
            "{name:?} is reserved (a Rust keyword or a name cargo refuses)"
        ));
    }
    Ok(())
}

/// A crate name as Rust code spells it.
fn ident(name: &str) -> String {
    name.replace('-', "_")
}

/// Replaces `from` with `to` wherever it stands as a whole identifier followed by `::`, `;` or
/// ` as` (paths and `use`/`extern crate` of the library), and in `CARGO_BIN_EXE_<bin>`.
pub fn rename_in_source(text: &str, from_crate: &str, to_crate: &str) -> String {
    let (from, to) = (ident(from_crate), ident(to_crate));
    let text = text.replace(
        &format!("CARGO_BIN_EXE_{from_crate}\""),
        &format!("CARGO_BIN_EXE_{to_crate}\""),
    );
    let is_ident = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while let Some(found) = text[i..].find(&from) {
        let start = i + found;
        let end = start + from.len();
        let head = &text[..start];
        // A whole identifier that begins a path (`::dhcpcd::x` is one too, `a::dhcpcd::x` not).
        let path_start = match head.strip_suffix("::") {
            Some(h) => !h.ends_with(|c: char| c.is_ascii_alphanumeric() || c == '_' || c == '>'),
            None => !head.ends_with(|c: char| is_ident(c as u8) || c == ':'),
        };
        let rest = &text[end..];
        let named = head.trim_end().ends_with("use") || head.trim_end().ends_with("crate");
        let whole =
            rest.starts_with("::") || named && (rest.starts_with(';') || rest.starts_with(" as "));
        out.push_str(&text[i..start]);
        if path_start && whole {
            out.push_str(&to);
        } else {
            out.push_str(&from);
        }
        i = end;
    }
    out.push_str(&text[i..]);
    out
}

/// The package's Cargo.toml, renamed: name, version 0.1.0, the binary target of the old name,
/// the image (when it names one) and the org (when asked).
pub fn rename_manifest(
    text: &str,
    from: &Package,
    name: &str,
    org: Option<&str>,
) -> anyhow::Result<String> {
    let mut doc: toml_edit::DocumentMut =
        text.parse().context("parsing the package's Cargo.toml")?;
    let package = doc["package"]
        .as_table_mut()
        .context("Cargo.toml has no [package]")?;
    package["name"] = toml_edit::value(name);
    package["version"] = toml_edit::value("0.1.0");
    if let Some(bins) = doc.get_mut("bin").and_then(|b| b.as_array_of_tables_mut()) {
        for bin in bins.iter_mut() {
            if bin.get("name").and_then(|n| n.as_str()) == Some(from.bin.as_str()) {
                bin["name"] = toml_edit::value(name);
            }
        }
    }
    let pkg_meta = doc["package"]["metadata"]["pkg"]
        .as_table_like_mut()
        .context("Cargo.toml has no [package.metadata.pkg]")?;
    if pkg_meta.contains_key("image") {
        pkg_meta.insert("image", toml_edit::value(name));
    }
    if let Some(org) = org {
        pkg_meta.insert("org", toml_edit::value(org));
    }
    Ok(doc.to_string())
}

/// The workspace's Cargo.toml with `member` added to `[workspace] members`; nothing else changes.
pub fn add_member(text: &str, member: &str) -> anyhow::Result<String> {
    let mut doc: toml_edit::DocumentMut =
        text.parse().context("parsing the workspace's Cargo.toml")?;
    let members = doc["workspace"]["members"]
        .as_array_mut()
        .context("the workspace's Cargo.toml has no members list")?;
    if members.iter().any(|m| m.as_str() == Some(member)) {
        bail!("{member} is already a workspace member");
    }
    members.push(member);
    Ok(doc.to_string())
}

fn changelog(name: &str, from: &Package, commit: &str) -> String {
    format!(
        "# Changelog\n\n\
         All notable changes to the `{name}` package are written here. The format follows\n\
         [Keep a Changelog](https://keepachangelog.com/en/1.1.0/), and the package is versioned on its own\n\
         with [Semantic Versioning](https://semver.org/spec/v2.0.0.html).\n\n\
         ## [Unreleased]\n\n\
         ### Added\n\n\
         - Forked from `{}` {} at commit {commit}.\n  \
         Its history before that is in `pkgs/{}/CHANGELOG.md` and in git.\n",
        from.name,
        from.version,
        from.dir.file_name().map(|f| f.to_string_lossy()).unwrap_or_default(),
    )
}

/// Copies `from` to `to`, leaving out `target/` folders.
fn copy_tree(from: &Path, to: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let (src, dst) = (entry.path(), to.join(entry.file_name()));
        let kind = entry.file_type()?;
        if kind.is_dir() {
            if entry.file_name() != "target" {
                copy_tree(&src, &dst)?;
            }
        } else if kind.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(&src)?, &dst)?;
        } else {
            std::fs::copy(&src, &dst).with_context(|| format!("copying {}", src.display()))?;
        }
    }
    Ok(())
}

/// Every `.rs` file under `dir`.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            rust_files(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    Ok(())
}

fn head_commit(root: &Path) -> String {
    Command::new("git")
        .arg("-C")
        .arg(root)
        .args(["rev-parse", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|| "unknown (not a git checkout)".into())
}

/// Writes `bytes` to `path` through a file beside it, so a reader sees the old or the new.
fn write_atomic(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let dir = path.parent().context("no parent folder")?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    std::io::Write::write_all(&mut tmp, bytes)?;
    tmp.persist(path)
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}

/// Forks `opts.from` into a new package beside it. `members` are the workspace members' names,
/// all of them (not only those with images).
pub fn fork(root: &Path, members: &[String], opts: &ForkOptions<'_>) -> anyhow::Result<Forked> {
    let name = opts.name;
    check_name(name).map_err(anyhow::Error::msg)?;
    if members.iter().any(|m| m == name) {
        bail!("the workspace already has a package named {name}");
    }
    let parent = opts
        .from
        .dir
        .parent()
        .context("the package has no parent folder")?;
    let dir = parent.join(name);
    if dir.exists() {
        bail!("{} already exists", dir.display());
    }
    let workspace_toml = root.join("Cargo.toml");
    let lock = root.join("Cargo.lock");
    let old_toml = std::fs::read(&workspace_toml).context("reading the workspace's Cargo.toml")?;
    let old_lock = std::fs::read(&lock).ok();
    let member = dir
        .strip_prefix(root)
        .context("the package is outside the workspace")?
        .to_string_lossy()
        .into_owned();
    let new_toml = add_member(&String::from_utf8_lossy(&old_toml), &member)?;

    // Staged beside the final folder, renamed into place last.
    let staging = tempfile::Builder::new()
        .prefix(&format!(".{name}.fork-"))
        .tempdir_in(parent)?;
    let made = (|| -> anyhow::Result<Forked> {
        copy_tree(&opts.from.dir, staging.path())?;
        let manifest = staging.path().join("Cargo.toml");
        let text = std::fs::read_to_string(&manifest)?;
        std::fs::write(
            &manifest,
            rename_manifest(&text, opts.from, name, opts.org)?,
        )?;
        let mut sources = Vec::new();
        rust_files(staging.path(), &mut sources)?;
        for path in sources {
            let text = std::fs::read_to_string(&path)?;
            let renamed = rename_in_source(&text, &opts.from.name, name);
            if renamed != text {
                std::fs::write(&path, renamed)?;
            }
        }
        std::fs::write(
            staging.path().join("CHANGELOG.md"),
            changelog(name, opts.from, &head_commit(root)),
        )?;
        std::fs::rename(staging.path(), &dir)
            .with_context(|| format!("moving the fork to {}", dir.display()))?;
        write_atomic(&workspace_toml, new_toml.as_bytes())?;
        // Cargo.lock gains the new package; every other entry stays (offline, nothing fetched).
        let out = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
            .arg("metadata")
            .args(["--format-version", "1", "--offline", "--manifest-path"])
            .arg(&workspace_toml)
            .stdout(std::process::Stdio::null())
            .output()
            .context("running cargo metadata")?;
        if !out.status.success() {
            bail!(
                "cargo metadata refused the fork: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        let org = opts
            .org
            .map(str::to_string)
            .unwrap_or_else(|| opts.from.org().to_string());
        Ok(Forked {
            dir: dir.clone(),
            repo: format!("{org}/{name}"),
        })
    })();
    if made.is_err() {
        // Back to how it was: no folder, the old Cargo.toml and Cargo.lock.
        let _ = std::fs::remove_dir_all(&dir);
        let _ = write_atomic(&workspace_toml, &old_toml);
        match &old_lock {
            Some(bytes) => {
                let _ = write_atomic(&lock, bytes);
            }
            None => {
                let _ = std::fs::remove_file(&lock);
            }
        }
    }
    made
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_cargo_and_registries_take() {
        for ok in ["dhcpcd-lab", "ntpd2", "my_getty"] {
            assert!(check_name(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "9lives",
            "Upper",
            "fn",
            "test",
            "a.b",
            "trailing-",
            "-x",
            "std",
        ] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn library_paths_and_binary_env_are_renamed_and_nothing_else() {
        let text = "use dhcpcd::client::Client;\nuse dhcpcd;\nextern crate dhcpcd as d;\n\
                    let x = ::dhcpcd::X; // dhcpcd does this\nlet p = \"/sbin/dhcpcd\";\n\
                    let b = env!(\"CARGO_BIN_EXE_dhcpcd\");\nmod dhcpcd_test;\nmy_dhcpcd::y();\n";
        assert_eq!(
            rename_in_source(text, "dhcpcd", "dhcpcd-lab"),
            "use dhcpcd_lab::client::Client;\nuse dhcpcd_lab;\nextern crate dhcpcd_lab as d;\n\
             let x = ::dhcpcd_lab::X; // dhcpcd does this\nlet p = \"/sbin/dhcpcd\";\n\
             let b = env!(\"CARGO_BIN_EXE_dhcpcd-lab\");\nmod dhcpcd_test;\nmy_dhcpcd::y();\n"
        );
    }

    #[test]
    fn members_grow_and_the_rest_of_the_file_stays() {
        let text = "# top\n[workspace]\nmembers = [\"a\", \"pkgs/x\"] # the members\n\n[profile.release]\nlto = true\n";
        let out = add_member(text, "pkgs/y").unwrap();
        assert_eq!(
            out,
            "# top\n[workspace]\nmembers = [\"a\", \"pkgs/x\", \"pkgs/y\"] # the members\n\n[profile.release]\nlto = true\n"
        );
        assert!(add_member(&out, "pkgs/y").is_err());
    }
}
