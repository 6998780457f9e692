//! The daemon: listeners, the limits before login, and the russh server configuration.
//! `run` takes its shutdown signal as a future, so tests and main drive it the same way.

pub mod forward;
pub mod handler;
pub mod helper;
pub mod hostkey;
pub mod keys;
pub mod log;
pub mod pty;
pub mod session;
pub mod sftp;

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use russh::keys::PrivateKey;
use russh::server::Config;
use russh::{MethodKind, MethodSet, SshId};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot};

use crate::startups::{Admission, MaxStartups, Startups};
use log::{quote, Level};

/// Exit codes, as documented in the README.
pub const EXIT_USAGE: u8 = 2;
pub const EXIT_FATAL: u8 = 1;

/// The default authorized keys: root's own and the one the metadata service writes.
pub const DEFAULT_AUTHORIZED_KEYS: [&str; 2] = [
    "/root/.ssh/authorized_keys",
    "/run/config/ssh/authorized_keys",
];

#[derive(Debug, Clone)]
pub struct Options {
    pub listen: Vec<SocketAddr>,
    pub host_key: PathBuf,
    /// AuthorizedKeysFile templates (`%u`, `%h`, `%%`), read in order.
    pub authorized_keys: Vec<String>,
    pub passwd: PathBuf,
    /// Read by the session helper inside the host's mount namespace.
    pub group: PathBuf,
    pub host_pid: Option<u32>,
    pub login_grace_time: Duration,
    pub max_startups: MaxStartups,
    pub max_auth_tries: u32,
    pub client_alive_interval: Option<Duration>,
    pub client_alive_count_max: u32,
    pub allow_tcp_forwarding: bool,
}

/// What every connection reads.
pub struct Shared {
    pub options: Options,
    config: Arc<Config>,
    waiting: Mutex<Waiting>,
}

/// The connections that have not logged in yet, and how to close each one.
struct Waiting {
    startups: Startups,
    close: HashMap<u64, oneshot::Sender<()>>,
}

fn server_config(options: &Options, key: PrivateKey) -> Config {
    Config {
        server_id: SshId::Standard(
            format!("SSH-2.0-sshd-wrap_{}", env!("CARGO_PKG_VERSION")).into(),
        ),
        methods: MethodSet::from(&[MethodKind::PublicKey][..]),
        // OpenSSH clients open with a "none" probe: answer it at once. A refused key waits a
        // little, the same for every user, so timing tells nothing of who exists.
        auth_rejection_time: Duration::from_millis(100),
        auth_rejection_time_initial: Some(Duration::ZERO),
        keys: vec![key],
        max_auth_attempts: options.max_auth_tries as usize,
        // As OpenSSH: no idle timeout, only the client-alive probes if asked for.
        inactivity_timeout: None,
        keepalive_interval: options.client_alive_interval,
        keepalive_max: options.client_alive_count_max as usize,
        nodelay: true,
        ..Config::default()
    }
}

/// Binds every listen address (port 0 picks a free port; the log line says which).
pub async fn bind(addrs: &[SocketAddr]) -> anyhow::Result<Vec<TcpListener>> {
    let mut out = Vec::new();
    for addr in addrs {
        let l = TcpListener::bind(addr)
            .await
            .with_context(|| format!("listening on {addr}"))?;
        out.push(l);
    }
    Ok(out)
}

/// Serves until `shutdown` completes. The connections end with it (in a container, the
/// runtime ends the rest of the service anyway).
pub async fn run(
    options: Options,
    listeners: Vec<TcpListener>,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    let (key, new) = hostkey::load_or_create(&options.host_key)?;
    log::log(
        Level::Info,
        format_args!(
            "event=host-key file={} fingerprint={} created={new}",
            quote(&options.host_key.display().to_string()),
            hostkey::fingerprint(&key)
        ),
    );
    let shared = Arc::new(Shared {
        config: Arc::new(server_config(&options, key)),
        waiting: Mutex::new(Waiting {
            startups: Startups::new(options.max_startups),
            close: HashMap::new(),
        }),
        options,
    });

    let (conn_tx, mut conn_rx) = mpsc::channel::<(TcpStream, SocketAddr)>(64);
    for listener in listeners {
        let addr = listener.local_addr()?;
        log::log(Level::Info, format_args!("event=listening addr={addr}"));
        let tx = conn_tx.clone();
        tokio::spawn(async move {
            loop {
                match listener.accept().await {
                    Ok(conn) => {
                        if tx.send(conn).await.is_err() {
                            return;
                        }
                    }
                    Err(e) => {
                        // EMFILE and friends: wait a little rather than spin.
                        log::log(
                            Level::Warn,
                            format_args!("event=accept-failed error={}", quote(&e.to_string())),
                        );
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                }
            }
        });
    }
    drop(conn_tx);

    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => {
                log::log(Level::Info, "event=exit code=0 reason=signal");
                return Ok(());
            }
            conn = conn_rx.recv() => {
                let Some((stream, peer)) = conn else { return Ok(()) };
                accept(&shared, stream, peer);
            }
        }
    }
}

/// A place among the connections that have not logged in yet; given back on drop.
struct StartupSlot {
    shared: Arc<Shared>,
    id: u64,
}

impl Drop for StartupSlot {
    fn drop(&mut self) {
        let mut waiting = self.shared.waiting.lock().expect("waiting lock");
        waiting.startups.release(self.id);
        waiting.close.remove(&self.id);
    }
}

/// Admits a connection under MaxStartups (closing the one waiting longest if need be) and
/// runs it; one that has not logged in within the grace time is dropped.
fn accept(shared: &Arc<Shared>, stream: TcpStream, peer: SocketAddr) {
    let (close_tx, close_rx) = oneshot::channel();
    let slot = {
        let mut waiting = shared.waiting.lock().expect("waiting lock");
        let id = match waiting.startups.admit(rand::random::<u32>()) {
            Admission::Admit { id } => id,
            Admission::Evict { id, evict } => {
                if let Some(close) = waiting.close.remove(&evict) {
                    let _ = close.send(());
                }
                id
            }
        };
        waiting.close.insert(id, close_tx);
        StartupSlot {
            shared: shared.clone(),
            id,
        }
    };
    let shared = shared.clone();
    tokio::spawn(async move {
        let Ok(local) = stream.local_addr() else {
            return;
        };
        // Dead peers are noticed even with client-alive probes off.
        let _ = nix::sys::socket::setsockopt(&stream, nix::sys::socket::sockopt::KeepAlive, &true);
        // A second handle on the socket: shutting it down ends a session russh still runs
        // in its own task, even against a client that stalls and never reads.
        let Some((stream, socket)) = stream
            .into_std()
            .and_then(|s| Ok((s.try_clone()?, s)))
            .ok()
            .and_then(|(s, socket)| Some((TcpStream::from_std(s).ok()?, socket)))
        else {
            return;
        };
        let hang_up = || {
            let _ = socket.shutdown(std::net::Shutdown::Both);
        };
        let deadline = tokio::time::Instant::now() + shared.options.login_grace_time;
        let (auth_tx, auth_rx) = oneshot::channel();
        let handler = handler::Connection::new(shared.clone(), peer, local, auth_tx);
        let dropped = |reason: &str| {
            log::log(
                Level::Info,
                format_args!("event=connection-dropped from={peer} reason={reason}"),
            );
        };
        // Until login: the grace time, and room for newer connections (MaxStartups).
        let limits = async {
            tokio::select! {
                () = tokio::time::sleep_until(deadline) => "login-grace-time",
                _ = close_rx => "max-startups",
            }
        };
        tokio::pin!(limits);
        // The version exchange (dropping the stream closes it).
        let started = russh::server::run_stream(shared.config.clone(), stream, handler);
        let running = tokio::select! {
            started = started => match started {
                Ok(running) => running,
                Err(e) => return connection_error(peer, &e),
            },
            reason = &mut limits => {
                hang_up();
                return dropped(reason);
            }
        };
        let handle = running.handle();
        tokio::pin!(running);
        tokio::select! {
            end = &mut running => {
                if let Err(e) = end {
                    connection_error(peer, &e);
                }
                return;
            }
            authed = auth_rx => {
                if authed.is_err() {
                    return;
                }
            }
            reason = &mut limits => {
                dropped(reason);
                let _ = tokio::time::timeout(
                    Duration::from_secs(1),
                    handle.disconnect(russh::Disconnect::ByApplication, reason.into(), String::new()),
                )
                .await;
                hang_up();
                return;
            }
        }
        // Logged in: no longer a startup, and no time limit.
        drop(slot);
        if let Err(e) = running.await {
            connection_error(peer, &e);
        }
    });
}

fn connection_error(peer: SocketAddr, e: &russh::Error) {
    log::log(
        Level::Info,
        format_args!(
            "event=connection-error from={peer} error={}",
            quote(&e.to_string())
        ),
    );
}
