//! UDP sockets: one per request, on a fresh ephemeral port (Linux picks it at
//! random), unconnected so that spoofed replies reach the checks and are
//! logged. Replies carry the kernel's receive timestamp (SO_TIMESTAMPNS),
//! so time spent in our queue does not count as network delay.

use std::io::{self, IoSliceMut};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::os::fd::AsRawFd;

use nix::sys::socket::{
    recvmsg, setsockopt, sockopt, ControlMessageOwned, MsgFlags, SockaddrLike, SockaddrStorage,
};
use tokio::io::Interest;
use tokio::net::UdpSocket;

use crate::packet::NtpTimestamp;

/// Longest datagram we read: a header with extension fields; the rest is cut.
const MAX_DATAGRAM: usize = 1024;

/// A socket for one request to `to`, still a std socket: a fresh tokio socket
/// reports WouldBlock on its first try_send_to, before its readiness is known.
pub fn socket_for(to: SocketAddr) -> io::Result<std::net::UdpSocket> {
    let local: SocketAddr = if to.is_ipv4() {
        (Ipv4Addr::UNSPECIFIED, 0).into()
    } else {
        (Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let sock = std::net::UdpSocket::bind(local)?;
    sock.set_nonblocking(true)?;
    // Without kernel timestamps we fall back to reading the clock on wake-up.
    let _ = setsockopt(&sock, sockopt::ReceiveTimestampns, &true);
    Ok(sock)
}

/// One datagram: its bytes, its source and the kernel's receive time.
pub struct Datagram {
    pub bytes: Vec<u8>,
    pub from: SocketAddr,
    pub received: Option<NtpTimestamp>,
}

pub async fn recv(sock: &UdpSocket) -> io::Result<Datagram> {
    sock.async_io(Interest::READABLE, || {
        let mut buf = vec![0u8; MAX_DATAGRAM];
        let mut cmsg = nix::cmsg_space!(nix::sys::time::TimeSpec);
        let (len, from, received) = {
            let mut iov = [IoSliceMut::new(&mut buf)];
            let msg = recvmsg::<SockaddrStorage>(
                sock.as_raw_fd(),
                &mut iov,
                Some(&mut cmsg),
                MsgFlags::MSG_DONTWAIT,
            )
            .map_err(io::Error::from)?;
            let mut received = None;
            if let Ok(cmsgs) = msg.cmsgs() {
                for c in cmsgs {
                    if let ControlMessageOwned::ScmTimestampns(ts) = c {
                        received = Some(NtpTimestamp::from_unix(ts.tv_sec(), ts.tv_nsec() as u32));
                    }
                }
            }
            (msg.bytes, msg.address.and_then(to_std), received)
        };
        let from = from.ok_or_else(|| io::Error::other("datagram without a source address"))?;
        buf.truncate(len);
        Ok(Datagram {
            bytes: buf,
            from,
            received,
        })
    })
    .await
}

fn to_std(a: SockaddrStorage) -> Option<SocketAddr> {
    if let Some(v4) = a.as_sockaddr_in() {
        return Some(SocketAddr::V4(SocketAddrV4::new(v4.ip(), v4.port())));
    }
    if let Some(v6) = a.as_sockaddr_in6() {
        return Some(SocketAddr::V6(SocketAddrV6::new(
            v6.ip(),
            v6.port(),
            v6.flowinfo(),
            v6.scope_id(),
        )));
    }
    let _ = a.family();
    None
}
