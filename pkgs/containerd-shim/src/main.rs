//! containerd-shim-minios-v2: containerd starts it as the runtime
//! `io.containerd.minios.v2`; see README.md for its flags and exit codes.

use std::process::ExitCode;

use anyhow::Context;
use containerd_shim_minios::{shim::Shim, BINARY_NAME, RUNTIME_NAME};

fn main() -> ExitCode {
    // `--version` needs none of the flags containerd passes.
    if std::env::args()
        .skip(1)
        .any(|a| matches!(a.as_str(), "-v" | "-version" | "--version"))
    {
        println!(
            "{BINARY_NAME} {} (runtime {RUNTIME_NAME})",
            env!("CARGO_PKG_VERSION")
        );
        return ExitCode::SUCCESS;
    }
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{BINARY_NAME}: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> anyhow::Result<()> {
    // The crate's own message for this is a bare `Env(NotPresent)`.
    if std::env::var_os("TTRPC_ADDRESS").is_none() {
        anyhow::bail!(
            "TTRPC_ADDRESS is not set: containerd sets it to its ttrpc socket when it runs the shim \
             (runtime {RUNTIME_NAME}); set it when running `start` or `delete` by hand"
        );
    }
    // One malloc arena: the blocking helper threads would each get their
    // own, and resident memory is what a shim per container costs.
    #[cfg(target_env = "gnu")]
    // SAFETY: mallopt only tunes the allocator; called before any thread.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 1);
    }
    // One thread serves ttrpc, runs runc, copies stdio and reaps; the
    // blocking pool (file and mount helpers) idles out quickly.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .max_blocking_threads(2)
        .thread_keep_alive(std::time::Duration::from_secs(1))
        .build()
        .context("start the tokio runtime")?;
    // The crate prints its error and exits with status 1 itself.
    rt.block_on(containerd_shim::asynchronous::run::<Shim>(
        RUNTIME_NAME,
        None,
    ));
    Ok(())
}
