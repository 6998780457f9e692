//! One client connection: authentication, then its session channels.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use hostns::User;
use russh::keys::ssh_key::Algorithm;
use russh::server::{Auth, ChannelOpenHandle, Msg, PublicKeyOffer, Session, VerifiedPublicKey};
use russh::{Channel, ChannelId, ChannelOpenFailure, MethodKind, MethodSet};
use tokio::sync::oneshot;
use tokio::task::AbortHandle;

use super::forward;
use super::keys;
use super::log::{self, quote, Level};
use super::session::{self, WindowSize};
use super::Shared;
use crate::launch::{program_for, Launch, Request};
use crate::Decision;

/// What the accepted key allows.
struct LoggedIn {
    user: User,
    forced_command: Option<String>,
    pty_allowed: bool,
    port_forwarding_allowed: bool,
}

/// A session channel before its program starts.
#[derive(Default)]
struct Pending {
    channel: Option<Channel<Msg>>,
    window: Option<WindowSize>,
    term: Option<String>,
    env: Vec<(String, String)>,
}

pub struct Connection {
    shared: Arc<Shared>,
    peer: SocketAddr,
    local: SocketAddr,
    logged_in: Option<LoggedIn>,
    /// Fired once authentication succeeds: the connection stops counting as a startup.
    authenticated: Option<oneshot::Sender<()>>,
    channels: HashMap<ChannelId, Pending>,
    /// `ssh -R` listeners, by the address and port the client knows them by.
    remote_forwards: HashMap<(String, u32), AbortHandle>,
}

impl Drop for Connection {
    fn drop(&mut self) {
        for stop in self.remote_forwards.values() {
            stop.abort();
        }
    }
}

impl Connection {
    pub fn new(
        shared: Arc<Shared>,
        peer: SocketAddr,
        local: SocketAddr,
        authenticated: oneshot::Sender<()>,
    ) -> Self {
        Connection {
            shared,
            peer,
            local,
            logged_in: None,
            authenticated: Some(authenticated),
            channels: HashMap::new(),
            remote_forwards: HashMap::new(),
        }
    }

    fn user_name(&self) -> String {
        self.logged_in
            .as_ref()
            .map(|l| l.user.name.clone())
            .unwrap_or_default()
    }

    fn publickey_only() -> Auth {
        Auth::Reject {
            proceed_with_methods: Some(MethodSet::from(&[MethodKind::PublicKey][..])),
            partial_success: false,
        }
    }

    fn refuse(&self, user: &str, method: &str, why: &str) {
        log::log(
            Level::Info,
            format_args!(
                "event=auth-refused user={} from={} method={method} reason={}",
                quote(user),
                self.peer.ip(),
                quote(why)
            ),
        );
    }

    /// The key's verdict for `user`, read fresh from the files. Logs why when it is no.
    fn check_key(
        &self,
        user: &str,
        key: &russh::keys::PublicKey,
        algorithm: &Algorithm,
    ) -> Option<(User, Decision)> {
        // rsa-sha2-256/512 only: "ssh-rsa" signs with SHA-1, as OpenSSH refuses since 8.8.
        if matches!(algorithm, Algorithm::Rsa { hash: None }) {
            self.refuse(
                user,
                "publickey",
                "ssh-rsa (SHA-1) signatures are not accepted",
            );
            return None;
        }
        let passwd = match std::fs::read_to_string(&self.shared.options.passwd) {
            Ok(t) => t,
            // A LinuxKit host may have no passwd file at all: root still exists.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => {
                log::log(
                    Level::Error,
                    format_args!(
                        "event=passwd-unreadable file={} error={}",
                        quote(&self.shared.options.passwd.display().to_string()),
                        quote(&e.to_string())
                    ),
                );
                return None;
            }
        };
        let found = hostns::find_user(&passwd, user)
            .or_else(|| (user == "root").then(hostns::builtin_root));
        let Some(found) = found else {
            self.refuse(user, "publickey", "no such user");
            return None;
        };
        let decision = keys::decide(
            &self.shared.options.authorized_keys,
            self.shared.options.host_pid,
            &found,
            key,
            self.peer.ip(),
        );
        if let Decision::Refuse { reason } = &decision {
            self.refuse(user, "publickey", &reason.to_string());
            return None;
        }
        Some((found, decision))
    }

    /// Starts the program for a shell, exec or subsystem request.
    async fn start(&mut self, id: ChannelId, request: Request, session: &mut Session) {
        let Some(logged_in) = &self.logged_in else {
            let _ = session.channel_failure(id);
            return;
        };
        let Some(pending) = self.channels.get_mut(&id) else {
            let _ = session.channel_failure(id);
            return;
        };
        if pending.channel.is_none() {
            // A second program on one channel.
            let _ = session.channel_failure(id);
            return;
        }
        let (program, original_command) =
            match program_for(&request, logged_in.forced_command.as_deref()) {
                Ok(p) => p,
                Err(e) => {
                    log::log(
                        Level::Info,
                        format_args!("event=request-refused reason={}", quote(&e.to_string())),
                    );
                    let _ = session.channel_failure(id);
                    return;
                }
            };
        let user = &logged_in.user;
        let launch = Launch {
            user: user.name.clone(),
            uid: user.uid,
            gid: user.gid,
            home: user.home.clone(),
            shell: user.shell.clone(),
            program,
            host_pid: self.shared.options.host_pid,
            group_file: self.shared.options.group.display().to_string(),
            term: pending
                .window
                .is_some()
                .then(|| pending.term.clone().unwrap_or_default()),
            client_env: std::mem::take(&mut pending.env),
            connection: (
                self.peer.ip().to_string(),
                self.peer.port(),
                self.local.ip().to_string(),
                self.local.port(),
            ),
            tty: None,
            original_command,
        };
        let what = match &request {
            Request::Shell => "shell".to_string(),
            Request::Exec(_) => "exec".to_string(),
            Request::Subsystem(name) => format!("subsystem:{name}"),
        };
        match session::start(launch, pending.window) {
            Ok(running) => {
                let channel = pending.channel.take().expect("checked above");
                log::log(
                    Level::Info,
                    format_args!(
                        "event=session-start user={} request={} pty={} forced-command={} pid={}",
                        quote(&user.name),
                        quote(&what),
                        pending.window.is_some(),
                        logged_in.forced_command.is_some(),
                        running.pid().unwrap_or(0)
                    ),
                );
                let _ = session.channel_success(id);
                let handle = session.handle();
                let name = user.name.clone();
                tokio::spawn(running.relay(channel, handle, name));
            }
            Err(e) => {
                log::log(
                    Level::Error,
                    format_args!(
                        "event=session-failed user={} error={}",
                        quote(&user.name),
                        quote(&e.to_string())
                    ),
                );
                let _ = session.channel_failure(id);
            }
        }
    }
}

impl russh::server::Handler for Connection {
    type Error = russh::Error;

    async fn auth_none(&mut self, _user: &str) -> Result<Auth, Self::Error> {
        Ok(Self::publickey_only())
    }

    async fn auth_password(&mut self, user: &str, _password: &str) -> Result<Auth, Self::Error> {
        self.refuse(user, "password", "only public keys are accepted");
        Ok(Self::publickey_only())
    }

    async fn auth_keyboard_interactive<'a>(
        &'a mut self,
        user: &str,
        _submethods: &str,
        _response: Option<russh::server::Response<'a>>,
    ) -> Result<Auth, Self::Error> {
        self.refuse(
            user,
            "keyboard-interactive",
            "only public keys are accepted",
        );
        Ok(Self::publickey_only())
    }

    async fn auth_publickey_offered(
        &mut self,
        user: &str,
        offer: PublicKeyOffer<'_>,
    ) -> Result<Auth, Self::Error> {
        Ok(
            match self.check_key(user, offer.public_key, offer.algorithm) {
                Some(_) => Auth::Accept,
                None => Self::publickey_only(),
            },
        )
    }

    async fn auth_publickey(
        &mut self,
        user: &str,
        key: VerifiedPublicKey<'_>,
    ) -> Result<Auth, Self::Error> {
        // Decided again: the files may have changed since the key was offered.
        let Some((found, decision)) = self.check_key(user, key.public_key, key.algorithm) else {
            return Ok(Self::publickey_only());
        };
        let Decision::Accept {
            fingerprint,
            line,
            forced_command,
            pty_allowed,
            port_forwarding_allowed,
        } = decision
        else {
            return Ok(Self::publickey_only());
        };
        log::log(
            Level::Info,
            format_args!(
                "event=login user={} from={} key={fingerprint} line={line}",
                quote(user),
                self.peer
            ),
        );
        self.logged_in = Some(LoggedIn {
            user: found,
            forced_command,
            pty_allowed,
            port_forwarding_allowed: port_forwarding_allowed
                && self.shared.options.allow_tcp_forwarding,
        });
        Ok(Auth::Accept)
    }

    async fn auth_succeeded(&mut self, _session: &mut Session) -> Result<(), Self::Error> {
        if let Some(tx) = self.authenticated.take() {
            let _ = tx.send(());
        }
        Ok(())
    }

    async fn channel_open_session(
        &mut self,
        channel: Channel<Msg>,
        reply: ChannelOpenHandle,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        self.channels.insert(
            channel.id(),
            Pending {
                channel: Some(channel),
                ..Pending::default()
            },
        );
        reply.accept().await;
        Ok(())
    }

    async fn channel_open_direct_tcpip(
        &mut self,
        channel: Channel<Msg>,
        host_to_connect: &str,
        port_to_connect: u32,
        _originator_address: &str,
        _originator_port: u32,
        reply: ChannelOpenHandle,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        let allowed = self
            .logged_in
            .as_ref()
            .is_some_and(|l| l.port_forwarding_allowed);
        let user = self.user_name();
        let target = forward::target(host_to_connect, port_to_connect);
        let (Some(target), true) = (target, allowed) else {
            log::log(
                Level::Info,
                format_args!(
                    "event=forward-refused user={} to={}:{port_to_connect} reason={}",
                    quote(&user),
                    quote(host_to_connect),
                    if allowed {
                        "not-an-address"
                    } else {
                        "forwarding-disabled"
                    }
                ),
            );
            reply
                .reject(ChannelOpenFailure::AdministrativelyProhibited)
                .await;
            return Ok(());
        };
        // Connected in a task of its own: a target that does not answer must not hold up
        // the connection's other channels.
        tokio::spawn(async move {
            match tokio::net::TcpStream::connect(target).await {
                Ok(tcp) => {
                    reply.accept().await;
                    log::log(
                        Level::Info,
                        format_args!("event=forward user={} to={target}", quote(&user)),
                    );
                    forward::relay(channel, tcp);
                }
                Err(e) => {
                    log::log(
                        Level::Info,
                        format_args!(
                            "event=forward-failed to={target} error={}",
                            quote(&e.to_string())
                        ),
                    );
                    reply.reject(ChannelOpenFailure::ConnectFailed).await;
                }
            }
        });
        Ok(())
    }

    async fn pty_request(
        &mut self,
        channel: ChannelId,
        term: &str,
        col_width: u32,
        row_height: u32,
        pix_width: u32,
        pix_height: u32,
        _modes: &[(russh::Pty, u32)],
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        let allowed = self.logged_in.as_ref().is_some_and(|l| l.pty_allowed);
        match self.channels.get_mut(&channel) {
            Some(pending) if allowed => {
                pending.term = Some(term.to_string());
                pending.window = Some(WindowSize {
                    cols: col_width,
                    rows: row_height,
                    width_px: pix_width,
                    height_px: pix_height,
                });
                session.channel_success(channel)?;
            }
            _ => {
                log::log(Level::Info, "event=pty-refused reason=no-pty");
                session.channel_failure(channel)?;
            }
        }
        Ok(())
    }

    async fn env_request(
        &mut self,
        channel: ChannelId,
        variable_name: &str,
        variable_value: &str,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        match self.channels.get_mut(&channel) {
            Some(pending) if crate::launch::client_may_set(variable_name) => {
                pending
                    .env
                    .push((variable_name.into(), variable_value.into()));
                session.channel_success(channel)?;
            }
            _ => session.channel_failure(channel)?,
        }
        Ok(())
    }

    async fn shell_request(
        &mut self,
        channel: ChannelId,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        self.start(channel, Request::Shell, session).await;
        Ok(())
    }

    async fn exec_request(
        &mut self,
        channel: ChannelId,
        data: &[u8],
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        let command = String::from_utf8_lossy(data).into_owned();
        self.start(channel, Request::Exec(command), session).await;
        Ok(())
    }

    async fn subsystem_request(
        &mut self,
        channel: ChannelId,
        name: &str,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        self.start(channel, Request::Subsystem(name.to_string()), session)
            .await;
        Ok(())
    }

    async fn x11_request(
        &mut self,
        channel: ChannelId,
        _single_connection: bool,
        _x11_auth_protocol: &str,
        _x11_auth_cookie: &str,
        _x11_screen_number: u32,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        log::log(Level::Info, "event=x11-refused");
        session.channel_failure(channel)?;
        Ok(())
    }

    async fn agent_request(
        &mut self,
        _channel: ChannelId,
        _session: &mut Session,
    ) -> Result<bool, Self::Error> {
        log::log(Level::Info, "event=agent-forwarding-refused");
        Ok(false)
    }

    async fn tcpip_forward(
        &mut self,
        address: &str,
        port: &mut u32,
        session: &mut Session,
    ) -> Result<bool, Self::Error> {
        let allowed = self
            .logged_in
            .as_ref()
            .is_some_and(|l| l.port_forwarding_allowed);
        let user = self.user_name();
        // As sshd: only root may listen on a privileged port.
        let is_root = self.logged_in.as_ref().is_some_and(|l| l.user.uid == 0);
        let privileged = (1..1024).contains(port) && !is_root;
        let Some(addr) = forward::listen_address(address, *port).filter(|_| allowed && !privileged)
        else {
            log::log(
                Level::Info,
                format_args!(
                    "event=remote-forward-refused user={} listen={}:{port}",
                    quote(&user),
                    quote(address)
                ),
            );
            return Ok(false);
        };
        match forward::listen(session.handle(), address.to_string(), addr).await {
            Ok((bound, stop)) => {
                log::log(
                    Level::Info,
                    format_args!(
                        "event=remote-forward user={} listen={}",
                        quote(&user),
                        SocketAddr::new(addr.ip(), bound)
                    ),
                );
                self.remote_forwards
                    .insert((address.to_string(), u32::from(bound)), stop);
                *port = u32::from(bound);
                Ok(true)
            }
            Err(e) => {
                log::log(
                    Level::Info,
                    format_args!(
                        "event=remote-forward-failed listen={addr} error={}",
                        quote(&e.to_string())
                    ),
                );
                Ok(false)
            }
        }
    }

    async fn cancel_tcpip_forward(
        &mut self,
        address: &str,
        port: u32,
        _session: &mut Session,
    ) -> Result<bool, Self::Error> {
        match self.remote_forwards.remove(&(address.to_string(), port)) {
            Some(stop) => {
                stop.abort();
                Ok(true)
            }
            None => Ok(false),
        }
    }

    async fn channel_close(
        &mut self,
        channel: ChannelId,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        self.channels.remove(&channel);
        Ok(())
    }
}
