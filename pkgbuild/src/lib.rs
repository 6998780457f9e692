//! pkgbuild: builds each workspace package into a reproducible, multi-arch FROM-scratch OCI image.
//!
//! The flow, one module per arrow: [`workspace`] (discover, plan, tag) -> [`compile`] ->
//! [`layer`] -> [`image`] (config, manifest, index) + [`sbom`] -> [`store`] (OCI layout) ->
//! [`export`].

pub mod boot;
pub mod build;
pub mod bundle;
pub mod compile;
pub mod export;
pub mod fork;
pub mod git;
pub mod image;
pub mod inputs;
pub mod layer;
pub mod linuxkit;
pub mod machine;
pub mod metadata;
pub mod musl;
pub mod platform;
pub mod pull;
pub mod push;
pub mod registry;
pub mod resolve;
pub mod rootfs;
pub mod run;
pub mod sbom;
pub mod store;
pub mod toolchain;
pub mod workspace;
pub mod yaml;

/// Where the store lives unless `--cache` or `PKGBUILD_CACHE` says otherwise.
pub fn default_store_dir() -> std::path::PathBuf {
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(std::path::PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| std::path::PathBuf::from(h).join(".cache")))
        .unwrap_or_else(|| std::path::PathBuf::from("/var/cache"));
    cache.join("pkgbuild")
}

/// Runs a command to completion and returns its stdout; a failure names the command, its status
/// and its stderr.
pub fn checked_output(cmd: &mut std::process::Command) -> anyhow::Result<String> {
    use anyhow::Context;
    let out = cmd.output().with_context(|| format!("starting {cmd:?}"))?;
    if !out.status.success() {
        anyhow::bail!(
            "{cmd:?} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8(out.stdout)?)
}
