//! TCP forwarding, when `--allow-tcp-forwarding` is on and the key allows it: `ssh -L`/`-W`
//! (direct-tcpip) and `ssh -R` (tcpip-forward). Addresses only: a static binary has no NSS.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use russh::server::{Handle, Msg};
use russh::Channel;
use tokio::net::TcpListener;
use tokio::task::AbortHandle;

use super::log::{self, quote, Level};

/// Where `ssh -L` asks to connect: an address literal, or `localhost`.
pub fn target(host: &str, port: u32) -> Option<SocketAddr> {
    let ip = match host {
        "localhost" => IpAddr::V4(Ipv4Addr::LOCALHOST),
        _ => host.parse().ok()?,
    };
    Some(SocketAddr::new(ip, u16::try_from(port).ok()?))
}

/// Joins a direct-tcpip channel and a TCP connection until either side closes.
pub fn relay(channel: Channel<Msg>, mut tcp: tokio::net::TcpStream) {
    tokio::spawn(async move {
        let mut stream = channel.into_stream();
        let _ = tokio::io::copy_bidirectional(&mut stream, &mut tcp).await;
    });
}

/// Where `ssh -R` listens. As sshd with `GatewayPorts no`: on loopback, whatever was asked,
/// so a forward never opens a port to the network.
pub fn listen_address(requested: &str, port: u32) -> Option<SocketAddr> {
    let ip = match requested {
        "::1" | "::" => IpAddr::V6(Ipv6Addr::LOCALHOST),
        _ => IpAddr::V4(Ipv4Addr::LOCALHOST),
    };
    Some(SocketAddr::new(ip, u16::try_from(port).ok()?))
}

/// Listens for `ssh -R` and opens a forwarded-tcpip channel to the client for each connection.
/// Returns the port bound (the client may ask for 0) and a handle that stops the listener.
pub async fn listen(
    handle: Handle,
    requested: String,
    addr: SocketAddr,
) -> std::io::Result<(u16, AbortHandle)> {
    let listener = TcpListener::bind(addr).await?;
    let port = listener.local_addr()?.port();
    let task = tokio::spawn(async move {
        loop {
            let Ok((tcp, peer)) = listener.accept().await else {
                // EMFILE and friends: wait a little rather than spin.
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                continue;
            };
            let channel = handle
                .channel_open_forwarded_tcpip(
                    requested.clone(),
                    u32::from(port),
                    peer.ip().to_string(),
                    u32::from(peer.port()),
                )
                .await;
            match channel {
                Ok(channel) => relay(channel, tcp),
                Err(e) => {
                    log::log(
                        Level::Info,
                        format_args!(
                            "event=remote-forward-refused-by-client port={port} error={}",
                            quote(&e.to_string())
                        ),
                    );
                    // The session is gone: stop listening.
                    if matches!(e, russh::Error::SendError) {
                        return;
                    }
                }
            }
        }
    });
    Ok((port, task.abort_handle()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_are_addresses_or_localhost() {
        assert_eq!(
            target("localhost", 80),
            Some("127.0.0.1:80".parse().unwrap())
        );
        assert_eq!(target("::1", 22), Some("[::1]:22".parse().unwrap()));
        assert_eq!(target("example.org", 80), None);
        assert_eq!(target("127.0.0.1", 70000), None);
    }

    #[test]
    fn remote_forwards_stay_on_loopback() {
        assert_eq!(
            listen_address("0.0.0.0", 8080),
            Some("127.0.0.1:8080".parse().unwrap())
        );
        assert_eq!(listen_address("", 0), Some("127.0.0.1:0".parse().unwrap()));
        assert_eq!(listen_address("::", 1), Some("[::1]:1".parse().unwrap()));
    }
}
