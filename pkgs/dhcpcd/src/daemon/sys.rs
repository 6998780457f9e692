//! Sockets: the AF_PACKET socket (DHCP before we have an address, and ARP)
//! and the UDP socket used once bound.
//!
//! The only unsafe code of the crate lives here: binding a packet socket to
//! an interface and attaching a BPF filter, for which nix has no safe call.

#![allow(unsafe_code)]

use std::ffi::OsString;
use std::io;
use std::mem;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::os::fd::{AsRawFd, OwnedFd};

use nix::sys::socket::{
    bind, recvfrom, send, setsockopt, socket, sockopt, AddressFamily, LinkAddr, MsgFlags, SockFlag,
    SockType, SockaddrIn,
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
