//! Sockets: the AF_PACKET socket (DHCP before we have an address, and ARP),
//! the UDP socket used once bound, the ICMPv6 socket of router discovery
//! and the DHCPv6 socket.
//!
//! The only unsafe code of the crate lives here: binding a packet socket to
//! an interface and attaching a BPF or ICMPv6 filter, for which nix has no
//! safe call.

#![allow(unsafe_code)]

use std::ffi::OsString;
use std::io;
use std::mem;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddrV4, SocketAddrV6};
use std::os::fd::{AsRawFd, OwnedFd};

use nix::sys::socket::{
    bind, recvfrom, recvmsg, send, sendto, setsockopt, socket, sockopt, AddressFamily,
    ControlMessageOwned, LinkAddr, MsgFlags, SockFlag, SockProtocol, SockType, SockaddrIn,
    SockaddrIn6,
};
use tokio::io::unix::AsyncFd;

use crate::frame::BpfInsn;

/// `sll_pkttype` of a frame this host sent (packet sockets see those too).
pub const PACKET_OUTGOING: u8 = 4;

/// A raw AF_PACKET socket bound to one interface and one EtherType.
#[derive(Debug)]
pub struct PacketSocket {
    fd: AsyncFd<OwnedFd>,
}

impl PacketSocket {
    /// Opens the socket. It is created with protocol 0, which receives
    /// nothing, and only starts receiving once the filter is attached and
    /// it is bound to the interface, so no stray frame from another
    /// interface is ever queued.
    pub fn open(ifindex: u32, ethertype: u16, filter: Option<&[BpfInsn]>) -> io::Result<Self> {
        let fd = socket(
            AddressFamily::Packet,
            SockType::Raw,
            SockFlag::SOCK_NONBLOCK | SockFlag::SOCK_CLOEXEC,
            None,
        )?;
        if let Some(f) = filter {
            attach_filter(&fd, f)?;
        }
        bind_link(&fd, ifindex, ethertype)?;
        // SAFETY: the OwnedFd is open, and the AsyncFd owns it until drop.
        let fd = unsafe { AsyncFd::register(fd) }?;
        Ok(PacketSocket { fd })
    }

    /// Receives one frame: its length and its packet type.
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<(usize, u8)> {
        loop {
            let mut guard = self.fd.readable().await?;
            let r = guard
                .try_io(|fd| recvfrom::<LinkAddr>(fd.as_raw_fd(), buf).map_err(io::Error::from));
            match r {
                Ok(Ok((n, addr))) => return Ok((n, addr.map_or(0, |a| a.pkttype()))),
                Ok(Err(e)) => return Err(e),
                Err(_would_block) => continue,
            }
        }
    }

    /// Sends one full Ethernet frame out of the bound interface.
    pub fn send(&self, frame: &[u8]) -> io::Result<()> {
        let fd = self.fd.as_raw_fd();
        match send(fd, frame, MsgFlags::empty()) {
            // A link that went down and up again leaves ENETDOWN pending on
            // the socket; reporting it clears it, so the retry goes out.
            Err(nix::errno::Errno::ENETDOWN) => send(fd, frame, MsgFlags::empty())?,
            r => r?,
        };
        Ok(())
    }
}

fn attach_filter(fd: &OwnedFd, prog: &[BpfInsn]) -> io::Result<()> {
    let mut insns: Vec<libc::sock_filter> = prog
        .iter()
        .map(|i| libc::sock_filter {
            code: i.code,
            jt: i.jt,
            jf: i.jf,
            k: i.k,
        })
        .collect();
    let fprog = libc::sock_fprog {
        len: insns.len() as u16,
        filter: insns.as_mut_ptr(),
    };
    // SAFETY: fprog points at `insns`, which outlives the call; the kernel
    // copies the program.
    let r = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_ATTACH_FILTER,
            (&fprog as *const libc::sock_fprog).cast(),
            mem::size_of::<libc::sock_fprog>() as libc::socklen_t,
        )
    };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

fn bind_link(fd: &OwnedFd, ifindex: u32, ethertype: u16) -> io::Result<()> {
    // SAFETY: sockaddr_ll is plain data; all-zero is a valid value.
    let mut sll: libc::sockaddr_ll = unsafe { mem::zeroed() };
    sll.sll_family = libc::AF_PACKET as u16;
    sll.sll_protocol = ethertype.to_be();
    sll.sll_ifindex = ifindex as i32;
    // SAFETY: the pointer and length describe `sll`, alive for the call.
    let r = unsafe {
        libc::bind(
            fd.as_raw_fd(),
            (&sll as *const libc::sockaddr_ll).cast(),
            mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
        )
    };
    if r < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// A UDP socket on `address:68`, tied to the interface, for unicast to the
/// server once the address is ours.
pub fn udp_socket(interface: &str, address: Ipv4Addr) -> io::Result<tokio::net::UdpSocket> {
    let fd = socket(
        AddressFamily::Inet,
        SockType::Datagram,
        SockFlag::SOCK_NONBLOCK | SockFlag::SOCK_CLOEXEC,
        None,
    )?;
    setsockopt(&fd, sockopt::ReuseAddr, &true)?;
    setsockopt(&fd, sockopt::Broadcast, &true)?;
    setsockopt(&fd, sockopt::BindToDevice, &OsString::from(interface))?;
    let sa = SockaddrIn::from(SocketAddrV4::new(address, crate::options::CLIENT_PORT));
    bind(fd.as_raw_fd(), &sa)?;
    tokio::net::UdpSocket::from_std(std::net::UdpSocket::from(fd))
}

/// `ICMP6_FILTER` (netinet/icmp6.h), which libc does not name: a socket
/// option of level IPPROTO_ICMPV6 holding a 256-bit block list of types.
const ICMP6_FILTER: libc::c_int = 1;

/// A raw ICMPv6 socket on one interface that receives router
/// advertisements only, with their hop limit, and sends solicitations.
#[derive(Debug)]
pub struct Icmp6Socket {
    fd: AsyncFd<OwnedFd>,
    index: u32,
}

impl Icmp6Socket {
    pub fn open(interface: &str, index: u32) -> io::Result<Self> {
        let fd = socket(
            AddressFamily::Inet6,
            SockType::Raw,
            SockFlag::SOCK_NONBLOCK | SockFlag::SOCK_CLOEXEC,
            SockProtocol::IcmpV6,
        )?;
        // Everything but advertisements stays in the kernel.
        let mut blocked = [u32::MAX; 8];
        let ra = usize::from(crate::ra::ROUTER_ADVERTISEMENT);
        blocked[ra >> 5] &= !(1 << (ra & 31));
        // SAFETY: the pointer and length describe `blocked`, alive for the call.
        let r = unsafe {
            libc::setsockopt(
                fd.as_raw_fd(),
                libc::IPPROTO_ICMPV6,
                ICMP6_FILTER,
                blocked.as_ptr().cast(),
                mem::size_of_val(&blocked) as libc::socklen_t,
            )
        };
        if r < 0 {
            return Err(io::Error::last_os_error());
        }
        setsockopt(&fd, sockopt::BindToDevice, &OsString::from(interface))?;
        // RFC 4861 6.1.2: an advertisement that did not arrive with hop
        // limit 255 came from off the link.
        setsockopt(&fd, sockopt::Ipv6RecvHopLimit, &true)?;
        // ...and solicitations leave with 255.
        setsockopt(&fd, sockopt::Ipv6MulticastHops, &255)?;
        // SAFETY: the OwnedFd is open, and the AsyncFd owns it until drop.
        let fd = unsafe { AsyncFd::register(fd) }?;
        Ok(Icmp6Socket { fd, index })
    }

    /// Receives one message: its length, source and hop limit. Messages
    /// from other interfaces (queued before the socket was tied to this
    /// one) and truncated ones are passed over.
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<(usize, Ipv6Addr, u8)> {
        loop {
            let mut guard = self.fd.readable().await?;
            let r = guard.try_io(|fd| {
                let mut iov = [io::IoSliceMut::new(buf)];
                let mut cmsg = nix::cmsg_space!(libc::c_int);
                let m = recvmsg::<SockaddrIn6>(
                    fd.as_raw_fd(),
                    &mut iov,
                    Some(&mut cmsg),
                    MsgFlags::empty(),
                )
                .map_err(io::Error::from)?;
                let mut hop_limit = 0;
                for c in m.cmsgs().map_err(io::Error::from)? {
                    if let ControlMessageOwned::Ipv6HopLimit(h) = c {
                        hop_limit = h.clamp(0, 255) as u8;
                    }
                }
                // Advertisements come from link-local addresses, which carry
                // the interface they arrived on.
                let here = m.address.is_some_and(|a| a.scope_id() == self.index);
                let whole = !m.flags.contains(MsgFlags::MSG_TRUNC);
                let src = m.address.map_or(Ipv6Addr::UNSPECIFIED, |a| a.ip());
                Ok((here && whole).then_some((m.bytes, src, hop_limit)))
            });
            match r {
                Ok(Ok(Some(message))) => return Ok(message),
                Ok(Ok(None)) => continue,
                Ok(Err(e)) => return Err(e),
                Err(_would_block) => continue,
            }
        }
    }

    /// Sends `message` to all routers (ff02::2) on the interface.
    pub fn solicit(&self, message: &[u8]) -> io::Result<()> {
        let to = SockaddrIn6::from(SocketAddrV6::new(ALL_ROUTERS, 0, 0, self.index));
        sendto(self.fd.as_raw_fd(), message, &to, MsgFlags::empty())?;
        Ok(())
    }
}

const ALL_ROUTERS: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 2);

/// The DHCPv6 client's socket, `[::]:546` tied to the interface; the kernel
/// sends from the link-local address.
pub fn dhcp6_socket(interface: &str) -> io::Result<tokio::net::UdpSocket> {
    let fd = socket(
        AddressFamily::Inet6,
        SockType::Datagram,
        SockFlag::SOCK_NONBLOCK | SockFlag::SOCK_CLOEXEC,
        None,
    )?;
    setsockopt(&fd, sockopt::Ipv6V6Only, &true)?;
    setsockopt(&fd, sockopt::ReuseAddr, &true)?;
    setsockopt(&fd, sockopt::BindToDevice, &OsString::from(interface))?;
    let sa = SockaddrIn6::from(SocketAddrV6::new(
        Ipv6Addr::UNSPECIFIED,
        crate::dhcp6::CLIENT_PORT,
        0,
        0,
    ));
    bind(fd.as_raw_fd(), &sa)?;
    tokio::net::UdpSocket::from_std(std::net::UdpSocket::from(fd))
}
