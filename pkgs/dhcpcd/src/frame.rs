//! Ethernet, IPv4, UDP and ARP framing for the packet socket, which the
//! client uses before it has an address. Pure functions: the daemon owns the
//! socket.

use std::net::Ipv4Addr;

use crate::options::{CLIENT_PORT, SERVER_PORT};

/// The Ethernet broadcast address.
pub const BROADCAST_MAC: [u8; 6] = [0xff; 6];
/// EtherType of IPv4.
pub const ETH_P_IP: u16 = 0x0800;
/// EtherType of ARP.
pub const ETH_P_ARP: u16 = 0x0806;

const ETH_LEN: usize = 14;
const IP_LEN: usize = 20;
const UDP_LEN: usize = 8;
const ARP_LEN: usize = 28;
/// dhcpcd sends with IPTOS_LOWDELAY.
const IPTOS_LOWDELAY: u8 = 0x10;

/// A DHCP payload received in a UDP datagram to port 68.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DhcpFrame<'a> {
    pub src_mac: [u8; 6],
    pub src_ip: Ipv4Addr,
    pub dst_ip: Ipv4Addr,
    pub payload: &'a [u8],
}

/// One instruction of a classic BPF program (`struct sock_filter`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BpfInsn {
    pub code: u16,
    pub jt: u8,
    pub jf: u8,
    pub k: u32,
}

const fn insn(code: u16, jt: u8, jf: u8, k: u32) -> BpfInsn {
    BpfInsn { code, jt, jf, k }
}

// Opcodes from linux/filter.h.
const LD_H_ABS: u16 = 0x28;
const LD_B_ABS: u16 = 0x30;
const LDX_B_MSH: u16 = 0xb1;
const LD_H_IND: u16 = 0x48;
const JEQ_K: u16 = 0x15;
const JSET_K: u16 = 0x45;
const RET_K: u16 = 0x06;

/// Accepts unfragmented IPv4 UDP frames to port 68 and drops everything
/// else in the kernel, so the daemon wakes only for DHCP replies. Jump
/// offsets count from the next instruction; 10 is the drop.
pub const DHCP_FILTER: [BpfInsn; 11] = [
    insn(LD_H_ABS, 0, 0, 12),                 // 0: EtherType
    insn(JEQ_K, 0, 8, ETH_P_IP as u32),       // 1: IPv4?
    insn(LD_B_ABS, 0, 0, 23),                 // 2: IP protocol
    insn(JEQ_K, 0, 6, 17),                    // 3: UDP?
    insn(LD_H_ABS, 0, 0, 20),                 // 4: flags + fragment offset
    insn(JSET_K, 4, 0, 0x1fff),               // 5: a later fragment: drop
    insn(LDX_B_MSH, 0, 0, ETH_LEN as u32),    // 6: X = IP header length
    insn(LD_H_IND, 0, 0, ETH_LEN as u32 + 2), // 7: UDP destination port
    insn(JEQ_K, 0, 1, CLIENT_PORT as u32),    // 8: port 68?
    insn(RET_K, 0, 0, 0x0004_0000),           // 9: accept (up to 256 KiB)
    insn(RET_K, 0, 0, 0),                     // 10: drop
];

/// The Internet checksum (RFC 1071) of `data`, starting from `sum`.
fn checksum(data: &[u8], mut sum: u32) -> u16 {
    let mut chunks = data.chunks_exact(2);
    for c in &mut chunks {
        sum += u32::from(u16::from_be_bytes([c[0], c[1]]));
    }
    if let [b] = chunks.remainder() {
        sum += u32::from(*b) << 8;
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// A full Ethernet frame carrying `payload` from UDP port 68 to port 67.
pub fn build_dhcp_frame(
    src_mac: [u8; 6],
    dst_mac: [u8; 6],
    src_ip: Ipv4Addr,
    dst_ip: Ipv4Addr,
    payload: &[u8],
) -> Vec<u8> {
    let udp_len = UDP_LEN + payload.len();
    let ip_len = IP_LEN + udp_len;
    let mut f = Vec::with_capacity(ETH_LEN + ip_len);
    f.extend_from_slice(&dst_mac);
    f.extend_from_slice(&src_mac);
    f.extend_from_slice(&ETH_P_IP.to_be_bytes());

    let ip_start = f.len();
    f.extend_from_slice(&[0x45, IPTOS_LOWDELAY]);
    f.extend_from_slice(&(ip_len as u16).to_be_bytes());
    f.extend_from_slice(&[0, 0, 0, 0]); // id, flags, fragment offset
    f.extend_from_slice(&[64, 17, 0, 0]); // TTL, UDP, checksum (below)
    f.extend_from_slice(&src_ip.octets());
    f.extend_from_slice(&dst_ip.octets());
    let ip_sum = checksum(&f[ip_start..ip_start + IP_LEN], 0);
    f[ip_start + 10..ip_start + 12].copy_from_slice(&ip_sum.to_be_bytes());

    let udp_start = f.len();
    f.extend_from_slice(&CLIENT_PORT.to_be_bytes());
    f.extend_from_slice(&SERVER_PORT.to_be_bytes());
    f.extend_from_slice(&(udp_len as u16).to_be_bytes());
    f.extend_from_slice(&[0, 0]);
    f.extend_from_slice(payload);
    // Pseudo header: source, destination, protocol, UDP length.
    let mut pseudo = Vec::with_capacity(12);
    pseudo.extend_from_slice(&src_ip.octets());
    pseudo.extend_from_slice(&dst_ip.octets());
    pseudo.extend_from_slice(&[0, 17]);
    pseudo.extend_from_slice(&(udp_len as u16).to_be_bytes());
    let pre = u32::from(!checksum(&pseudo, 0));
    let mut udp_sum = checksum(&f[udp_start..], pre);
    if udp_sum == 0 {
        udp_sum = 0xffff; // 0 means "no checksum" in UDP
    }
    f[udp_start + 6..udp_start + 8].copy_from_slice(&udp_sum.to_be_bytes());
    f
}

/// Checks a received frame and returns its DHCP payload: IPv4 with a valid
/// header checksum, not fragmented, UDP to port 68, lengths consistent.
///
/// The UDP checksum is not verified: on veth and with checksum offload the
/// packet socket sees frames whose checksum the hardware has not filled in
/// yet. The DHCP layer checks xid and chaddr.
pub fn parse_dhcp_frame(frame: &[u8]) -> Option<DhcpFrame<'_>> {
    if frame.len() < ETH_LEN + IP_LEN + UDP_LEN {
        return None;
    }
    if u16::from_be_bytes([frame[12], frame[13]]) != ETH_P_IP {
        return None;
    }
    let src_mac: [u8; 6] = frame[6..12].try_into().ok()?;
    let ip = &frame[ETH_LEN..];
    if ip[0] >> 4 != 4 {
        return None;
    }
    let ihl = usize::from(ip[0] & 0x0f) * 4;
    let total = usize::from(u16::from_be_bytes([ip[2], ip[3]]));
    if ihl < IP_LEN || total < ihl + UDP_LEN || total > ip.len() {
        return None;
    }
    if checksum(&ip[..ihl], 0) != 0 {
        return None;
    }
    // More-fragments flag or a fragment offset: we never reassemble.
    if u16::from_be_bytes([ip[6], ip[7]]) & 0x3fff != 0 || ip[9] != 17 {
        return None;
    }
    let src_ip = Ipv4Addr::new(ip[12], ip[13], ip[14], ip[15]);
    let dst_ip = Ipv4Addr::new(ip[16], ip[17], ip[18], ip[19]);
    let udp = &ip[ihl..total];
    if u16::from_be_bytes([udp[2], udp[3]]) != CLIENT_PORT {
        return None;
    }
    let udp_len = usize::from(u16::from_be_bytes([udp[4], udp[5]]));
    if udp_len < UDP_LEN || udp_len > udp.len() {
        return None;
    }
    Some(DhcpFrame {
        src_mac,
        src_ip,
        dst_ip,
        payload: &udp[UDP_LEN..udp_len],
    })
}

/// An ARP packet (Ethernet, IPv4), as far as RFC 5227 needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Arp {
    /// 1 request, 2 reply.
    pub op: u16,
    pub sender_mac: [u8; 6],
    pub sender_ip: Ipv4Addr,
    pub target_mac: [u8; 6],
    pub target_ip: Ipv4Addr,
}

impl Arp {
    /// An ARP probe for `addr` (RFC 5227 2.1.1): sender IP all zeros.
    pub fn probe(mac: [u8; 6], addr: Ipv4Addr) -> Arp {
        Arp {
            op: 1,
            sender_mac: mac,
            sender_ip: Ipv4Addr::UNSPECIFIED,
            target_mac: [0; 6],
            target_ip: addr,
        }
    }

    /// An ARP announcement of `addr` (RFC 5227 2.3): sender and target IP
    /// are both the address.
    pub fn announce(mac: [u8; 6], addr: Ipv4Addr) -> Arp {
        Arp {
            op: 1,
            sender_mac: mac,
            sender_ip: addr,
            target_mac: [0; 6],
            target_ip: addr,
        }
    }

    /// The broadcast Ethernet frame carrying this packet.
    pub fn to_frame(&self) -> Vec<u8> {
        let mut f = Vec::with_capacity(ETH_LEN + ARP_LEN);
        f.extend_from_slice(&BROADCAST_MAC);
        f.extend_from_slice(&self.sender_mac);
        f.extend_from_slice(&ETH_P_ARP.to_be_bytes());
        f.extend_from_slice(&[0, 1, 0x08, 0x00, 6, 4]); // Ethernet, IPv4, lengths
        f.extend_from_slice(&self.op.to_be_bytes());
        f.extend_from_slice(&self.sender_mac);
        f.extend_from_slice(&self.sender_ip.octets());
        f.extend_from_slice(&self.target_mac);
        f.extend_from_slice(&self.target_ip.octets());
        f
    }

    /// Parses an ARP frame for Ethernet and IPv4; anything else is None.
    pub fn parse(frame: &[u8]) -> Option<Arp> {
        if frame.len() < ETH_LEN + ARP_LEN {
            return None;
        }
        if u16::from_be_bytes([frame[12], frame[13]]) != ETH_P_ARP {
            return None;
        }
        let a = &frame[ETH_LEN..ETH_LEN + ARP_LEN];
        if a[..6] != [0, 1, 0x08, 0x00, 6, 4] {
            return None;
        }
        let ip = |o: usize| Ipv4Addr::new(a[o], a[o + 1], a[o + 2], a[o + 3]);
        Some(Arp {
            op: u16::from_be_bytes([a[6], a[7]]),
            sender_mac: a[8..14].try_into().ok()?,
            sender_ip: ip(14),
            target_mac: a[18..24].try_into().ok()?,
            target_ip: ip(24),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAC: [u8; 6] = [2, 0, 0, 0, 0, 1];

    /// Runs the BPF program over `pkt` as the kernel would (only the
    /// opcodes we use).
    fn run_bpf(prog: &[BpfInsn], pkt: &[u8]) -> u32 {
        let (mut a, mut x, mut pc) = (0u32, 0u32, 0usize);
        let h = |o: usize| {
            pkt.get(o..o + 2)
                .map(|b| u32::from(u16::from_be_bytes([b[0], b[1]])))
        };
        loop {
            let i = prog[pc];
            pc += 1;
            match i.code {
                LD_H_ABS => match h(i.k as usize) {
                    Some(v) => a = v,
                    None => return 0,
                },
                LD_B_ABS => match pkt.get(i.k as usize) {
                    Some(&v) => a = v.into(),
                    None => return 0,
                },
                LDX_B_MSH => match pkt.get(i.k as usize) {
                    Some(&v) => x = u32::from(v & 0xf) * 4,
                    None => return 0,
                },
                LD_H_IND => match h((x + i.k) as usize) {
                    Some(v) => a = v,
                    None => return 0,
                },
                JEQ_K => pc += usize::from(if a == i.k { i.jt } else { i.jf }),
                JSET_K => pc += usize::from(if a & i.k != 0 { i.jt } else { i.jf }),
                RET_K => return i.k,
                c => panic!("opcode {c:#x}"),
            }
        }
    }

    #[test]
    fn frame_round_trip_and_checksums() {
        let payload = b"hello dhcp";
        let f = build_dhcp_frame(
            MAC,
            BROADCAST_MAC,
            Ipv4Addr::UNSPECIFIED,
            Ipv4Addr::BROADCAST,
            payload,
        );
        assert_eq!(f.len(), 14 + 20 + 8 + payload.len());
        assert_eq!(&f[..6], &BROADCAST_MAC);
        // The IP header sums to zero with its checksum in place.
        assert_eq!(checksum(&f[14..34], 0), 0);
        // So does the UDP datagram with its pseudo header.
        let mut pseudo = vec![0, 0, 0, 0, 255, 255, 255, 255, 0, 17];
        pseudo.extend_from_slice(&(8 + payload.len() as u16).to_be_bytes());
        pseudo.extend_from_slice(&f[34..]);
        assert_eq!(checksum(&pseudo, 0), 0);
        // The destination port is the server's: our parser wants port 68.
        assert_eq!(parse_dhcp_frame(&f), None);
        let mut reply = f.clone();
        reply[34..36].copy_from_slice(&67u16.to_be_bytes());
        reply[36..38].copy_from_slice(&68u16.to_be_bytes());
        let p = parse_dhcp_frame(&reply).unwrap();
        assert_eq!(p.payload, payload);
        assert_eq!(p.src_mac, MAC);
        assert_eq!(p.dst_ip, Ipv4Addr::BROADCAST);
    }

    fn reply_frame(payload: &[u8]) -> Vec<u8> {
        let mut f = build_dhcp_frame(
            MAC,
            BROADCAST_MAC,
            Ipv4Addr::new(10, 0, 0, 1),
            Ipv4Addr::new(10, 0, 0, 9),
            payload,
        );
        f[34..36].copy_from_slice(&67u16.to_be_bytes());
        f[36..38].copy_from_slice(&68u16.to_be_bytes());
        f
    }

    #[test]
    fn bad_frames_are_refused() {
        let good = reply_frame(&[1; 300]);
        assert!(parse_dhcp_frame(&good).is_some());
        let mut ip_sum = good.clone();
        ip_sum[24] ^= 1;
        assert_eq!(parse_dhcp_frame(&ip_sum), None);
        let mut frag = good.clone();
        frag[20] = 0x20; // more fragments (the checksum no longer matters)
        assert_eq!(parse_dhcp_frame(&frag), None);
        let mut not_ip = good.clone();
        not_ip[12] = 0x86;
        assert_eq!(parse_dhcp_frame(&not_ip), None);
        // Ethernet padding after the IP datagram is ignored.
        let mut padded = reply_frame(b"x");
        padded.extend_from_slice(&[0; 20]);
        assert_eq!(parse_dhcp_frame(&padded).unwrap().payload, b"x");
        // Every truncation is refused, none panics.
        for n in 0..good.len() {
            assert_eq!(parse_dhcp_frame(&good[..n]), None, "{n}");
        }
        // A UDP length past the datagram.
        let mut long = good.clone();
        long[38..40].copy_from_slice(&4000u16.to_be_bytes());
        assert_eq!(parse_dhcp_frame(&long), None);
    }

    #[test]
    fn bpf_accepts_only_udp_to_port_68() {
        let prog = DHCP_FILTER;
        let good = reply_frame(&[0; 300]);
        assert_ne!(run_bpf(&prog, &good), 0);
        let mut to_67 = good.clone();
        to_67[36..38].copy_from_slice(&67u16.to_be_bytes());
        assert_eq!(run_bpf(&prog, &to_67), 0);
        let mut tcp = good.clone();
        tcp[23] = 6;
        assert_eq!(run_bpf(&prog, &tcp), 0);
        let mut frag = good.clone();
        frag[21] = 8;
        assert_eq!(run_bpf(&prog, &frag), 0);
        let arp = Arp::probe(MAC, Ipv4Addr::new(10, 0, 0, 9)).to_frame();
        assert_eq!(run_bpf(&prog, &arp), 0);
        // An IP header with options moves the UDP header.
        let mut opts = good[..34].to_vec();
        opts[14] = 0x46;
        opts.extend_from_slice(&[1, 1, 1, 1]);
        opts.extend_from_slice(&good[34..]);
        assert_ne!(run_bpf(&prog, &opts), 0);
        assert!(parse_dhcp_frame(&opts).is_none(), "checksum now wrong");
    }

    #[test]
    fn arp_round_trip() {
        let addr = Ipv4Addr::new(10, 0, 0, 9);
        let p = Arp::probe(MAC, addr);
        let f = p.to_frame();
        assert_eq!(f.len(), 42);
        assert_eq!(&f[..6], &BROADCAST_MAC);
        assert_eq!(Arp::parse(&f), Some(p));
        let a = Arp::announce(MAC, addr);
        assert_eq!(Arp::parse(&a.to_frame()).unwrap().sender_ip, addr);
        assert_eq!(Arp::parse(&f[..41]), None);
        let mut bad = f.clone();
        bad[17] = 0x06;
        assert_eq!(Arp::parse(&bad), None);
    }
}
