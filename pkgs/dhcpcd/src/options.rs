//! The wire layer: building requests, checking replies, and the option
//! formats that dhcproto leaves to us (client identifier, classless routes).

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use dhcproto::v4::{
    DhcpOption, DhcpOptions, Message, MessageType, Opcode, OptionCode, UnknownOption, MAGIC,
};
use dhcproto::{Decodable, Decoder, Encodable, Encoder};

use crate::lease::Route;

/// UDP port the server listens on.
pub const SERVER_PORT: u16 = 67;
/// UDP port the client listens on.
pub const CLIENT_PORT: u16 = 68;

/// Options always asked for in the parameter request list (option 55).
pub const DEFAULT_REQUEST_LIST: [u8; 14] = [1, 3, 6, 12, 15, 26, 28, 42, 51, 54, 58, 59, 119, 121];

/// Fixed BOOTP header, before the magic cookie.
const HEADER_LEN: usize = 236;
/// Header plus magic cookie: the smallest valid DHCP message.
const MIN_LEN: usize = HEADER_LEN + 4;
/// Old BOOTP relays drop anything shorter, so requests are padded to this.
const BOOTP_MIN_LEN: usize = 300;

/// Why a received packet was dropped. None of these change the client's state.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PacketError {
    #[error("packet too short ({0} bytes)")]
    Truncated(usize),
    #[error("no DHCP magic cookie")]
    BadMagic,
    #[error("hardware address length {0} is over 16")]
    BadHardwareLength(u8),
    #[error("bad header: {0}")]
    BadHeader(String),
    #[error("op is not BOOTREPLY")]
    NotReply,
    #[error("no message type (option 53)")]
    NoMessageType,
    #[error("no server identifier (option 54)")]
    NoServerId,
    #[error("required option {0} missing")]
    MissingRequired(u8),
    #[error("xid {got:#010x} is not ours ({expected:#010x})")]
    WrongXid { expected: u32, got: u32 },
    #[error("chaddr is not our hardware address")]
    WrongChaddr,
    #[error("no address offered (yiaddr is 0.0.0.0)")]
    NoAddress,
    #[error("unexpected {0:?} in state {1}")]
    Unexpected(MessageType, &'static str),
}

/// A malformed option value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OptionError {
    #[error("classless route prefix length {0} is over 32")]
    BadPrefixLength(u8),
    #[error("classless route truncated")]
    TruncatedRoute,
}

/// The client identifier (option 61).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientId {
    /// RFC 4361: type 255, IAID, DUID. What dhcpcd sends by default (`duid`).
    Duid { iaid: u32, duid: Vec<u8> },
    /// Type 1 (Ethernet) and the MAC, as with dhcpcd's `clientid`.
    HwAddr([u8; 6]),
    /// Bytes given in the config (`clientid VALUE`), sent as they are.
    Custom(Vec<u8>),
}

impl ClientId {
    /// The RFC 4361 form with a DUID-LL and dhcpcd's default IAID for `mac`.
    pub fn duid_ll(mac: [u8; 6]) -> Self {
        ClientId::Duid {
            iaid: iaid_from_mac(mac),
            duid: duid_ll(mac),
        }
    }

    /// The option 61 payload.
    pub fn to_bytes(&self) -> Vec<u8> {
        match self {
            ClientId::Duid { iaid, duid } => {
                let mut v = Vec::with_capacity(5 + duid.len());
                v.push(255);
                v.extend_from_slice(&iaid.to_be_bytes());
                v.extend_from_slice(duid);
                v
            }
            ClientId::HwAddr(mac) => {
                let mut v = vec![1];
                v.extend_from_slice(mac);
                v
            }
            ClientId::Custom(b) => b.clone(),
        }
    }
}

/// dhcpcd's default IAID: the last four bytes of the hardware address,
/// read in network byte order.
pub fn iaid_from_mac(mac: [u8; 6]) -> u32 {
    u32::from_be_bytes([mac[2], mac[3], mac[4], mac[5]])
}

/// A DUID-LL (RFC 8415 section 11.4): type 3, hardware type 1, then the MAC;
/// the same DUID DHCPv6 sends.
pub fn duid_ll(mac: [u8; 6]) -> Vec<u8> {
    crate::dhcp6::Duid::LinkLayer { mac }.to_bytes()
}

/// Decodes option 121 (RFC 3442). Any malformed part rejects the whole
/// option, as the RFC asks, rather than installing half a routing table.
pub fn decode_classless_routes(mut data: &[u8]) -> Result<Vec<Route>, OptionError> {
    let mut routes = Vec::new();
    while let Some((&prefix_len, rest)) = data.split_first() {
        if prefix_len > 32 {
            return Err(OptionError::BadPrefixLength(prefix_len));
        }
        // Only the significant octets of the destination are sent.
        let sig = usize::from(prefix_len).div_ceil(8);
        if rest.len() < sig + 4 {
            return Err(OptionError::TruncatedRoute);
        }
        let mut dest = [0u8; 4];
        dest[..sig].copy_from_slice(&rest[..sig]);
        let gw = [rest[sig], rest[sig + 1], rest[sig + 2], rest[sig + 3]];
        routes.push(Route::new(
            Ipv4Addr::from(dest),
            prefix_len,
            Ipv4Addr::from(gw),
        ));
        data = &rest[sig + 4..];
    }
    Ok(routes)
}

/// Encodes routes as option 121 payload (the inverse of [`decode_classless_routes`]).
pub fn encode_classless_routes(routes: &[Route]) -> Vec<u8> {
    let mut v = Vec::new();
    for r in routes {
        let sig = usize::from(r.prefix_len.min(32)).div_ceil(8);
        v.push(r.prefix_len.min(32));
        v.extend_from_slice(&r.destination.octets()[..sig]);
        v.extend_from_slice(&r.gateway.octets());
    }
    v
}

/// The header fields a client sets in a request; the rest are zero.
#[derive(Debug, Clone)]
pub(crate) struct Request {
    pub xid: u32,
    pub secs: u16,
    pub ciaddr: Ipv4Addr,
    pub chaddr: [u8; 6],
    pub opts: DhcpOptions,
}

impl Request {
    /// Encodes the request. The header is written here because dhcproto's
    /// `Message` constructors draw an xid from the OS RNG, which we avoid.
    pub fn encode(&self) -> Vec<u8> {
        let mut v = Vec::with_capacity(BOOTP_MIN_LEN + 64);
        v.extend_from_slice(&[1, 1, 6, 0]); // BOOTREQUEST, Ethernet, hlen 6, hops 0
        v.extend_from_slice(&self.xid.to_be_bytes());
        v.extend_from_slice(&self.secs.to_be_bytes());
        v.extend_from_slice(&0u16.to_be_bytes()); // flags: we can receive unicast
        v.extend_from_slice(&self.ciaddr.octets());
        v.extend_from_slice(&[0; 12]); // yiaddr, siaddr, giaddr
        v.extend_from_slice(&self.chaddr);
        v.resize(HEADER_LEN, 0); // rest of chaddr, sname, file
        v.extend_from_slice(&MAGIC);
        // dhcproto's Encoder writes from the start of its buffer, so the
        // options get a buffer of their own. Encoding our own well-formed
        // options cannot fail; an error would be a dhcproto bug.
        let mut opts = Vec::new();
        let _ = self.opts.encode(&mut Encoder::new(&mut opts));
        v.extend_from_slice(&opts);
        if v.len() < BOOTP_MIN_LEN {
            v.resize(BOOTP_MIN_LEN, 0); // zero is the Pad option
        }
        v
    }
}

/// Checks the framing of a received packet and decodes it. Never panics.
///
/// The options are walked here, not by dhcproto, so that a malformed option
/// is dropped alone (dhcproto stops at the first bad one) and options that
/// could trip dhcproto's debug assertions never reach it. Only the options
/// this client uses are kept. Option overload (52) and long options
/// (RFC 3396) are handled.
pub fn parse_reply(bytes: &[u8]) -> Result<Message, PacketError> {
    if bytes.len() < MIN_LEN {
        return Err(PacketError::Truncated(bytes.len()));
    }
    if bytes[HEADER_LEN..MIN_LEN] != MAGIC {
        return Err(PacketError::BadMagic);
    }
    // dhcproto slices chaddr with hlen, so a bigger one would panic later.
    if bytes[2] > 16 {
        return Err(PacketError::BadHardwareLength(bytes[2]));
    }
    let mut header = bytes[..MIN_LEN].to_vec();
    header.push(255);
    let mut msg = Message::decode(&mut Decoder::new(&header))
        .map_err(|e| PacketError::BadHeader(e.to_string()))?;
    if msg.opcode() != Opcode::BootReply {
        return Err(PacketError::NotReply);
    }

    let mut raw = BTreeMap::new();
    walk_options(&bytes[MIN_LEN..], &mut raw);
    // RFC 2132 9.3: option 52 moves more options into file (1), sname (2) or both (3).
    if let Some(&[overload]) = raw.get(&52).map(Vec::as_slice) {
        if overload & 1 != 0 {
            walk_options(&bytes[108..236], &mut raw);
        }
        if overload & 2 != 0 {
            walk_options(&bytes[44..108], &mut raw);
        }
    }

    let mut opts = DhcpOptions::new();
    for (code, data) in raw {
        if let Some(opt) = decode_option(code, &data) {
            opts.insert(opt);
        }
    }
    msg.set_opts(opts);
    if msg.opts().msg_type().is_none() {
        return Err(PacketError::NoMessageType);
    }
    if server_id(&msg).is_none() {
        return Err(PacketError::NoServerId);
    }
    Ok(msg)
}

/// Collects code -> data from a TLV area, joining repeated codes
/// (RFC 3396). Stops quietly at End or at a truncated option.
fn walk_options(mut area: &[u8], raw: &mut BTreeMap<u8, Vec<u8>>) {
    while let Some((&code, rest)) = area.split_first() {
        match code {
            0 => area = rest,
            255 => return,
            _ => {
                let Some((&len, rest)) = rest.split_first() else {
                    return;
                };
                let len = usize::from(len);
                if rest.len() < len {
                    return;
                }
                raw.entry(code).or_default().extend_from_slice(&rest[..len]);
                area = &rest[len..];
            }
        }
    }
}

/// Decodes one option we use, after checking its length. Other options are
/// kept as raw bytes, never given to dhcproto's typed decoders, so that
/// `require` can still see them.
fn decode_option(code: u8, data: &[u8]) -> Option<DhcpOption> {
    let n = data.len();
    let ok = match code {
        1 | 28 | 51 | 54 | 58 | 59 => n == 4,
        3 | 6 | 42 => n >= 4 && n.is_multiple_of(4),
        12 | 15 | 56 | 119 => n >= 1,
        26 => n == 2,
        53 => n == 1,
        80 => n == 0,
        121 => n >= 5 && decode_classless_routes(data).is_ok(),
        _ => {
            let raw = UnknownOption::new(OptionCode::from(code), data.to_vec());
            return Some(DhcpOption::Unknown(raw));
        }
    };
    if !ok {
        return None;
    }
    if code == 80 {
        return Some(DhcpOption::RapidCommit);
    }
    // Re-frame as TLVs of at most 255 bytes, which dhcproto joins again.
    let mut buf = Vec::with_capacity(n + 2 * (n / 255 + 1));
    for chunk in data.chunks(255) {
        buf.push(code);
        buf.push(chunk.len() as u8);
        buf.extend_from_slice(chunk);
    }
    DhcpOption::decode(&mut Decoder::new(&buf)).ok()
}

/// The server identifier (option 54), if present.
pub(crate) fn server_id(msg: &Message) -> Option<Ipv4Addr> {
    match msg.opts().get(OptionCode::ServerIdentifier) {
        Some(DhcpOption::ServerIdentifier(ip)) => Some(*ip),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAC: [u8; 6] = [0x02, 0x42, 0xac, 0x11, 0x00, 0x02];

    /// A valid OFFER built by dhcproto, as a server would send it.
    fn offer_bytes() -> Vec<u8> {
        let mut m = Message::new_with_id(
            0x1234_5678,
            Ipv4Addr::UNSPECIFIED,
            Ipv4Addr::new(10, 0, 0, 5),
            Ipv4Addr::UNSPECIFIED,
            Ipv4Addr::UNSPECIFIED,
            &MAC,
        );
        m.set_opcode(Opcode::BootReply);
        let o = m.opts_mut();
        o.insert(DhcpOption::MessageType(MessageType::Offer));
        o.insert(DhcpOption::ServerIdentifier(Ipv4Addr::new(10, 0, 0, 1)));
        o.insert(DhcpOption::AddressLeaseTime(3600));
        let mut v = Vec::new();
        m.encode(&mut Encoder::new(&mut v)).unwrap();
        v
    }

    /// Replaces the options area of a packet with `opts` (raw TLVs).
    fn with_raw_options(opts: &[u8]) -> Vec<u8> {
        let mut v = offer_bytes();
        v.truncate(MIN_LEN);
        v.extend_from_slice(opts);
        v
    }

    #[test]
    fn iaid_is_last_four_mac_bytes_in_network_order() {
        let mac = [0x02, 0x00, 0x01, 0x02, 0x03, 0x04];
        assert_eq!(iaid_from_mac(mac), 0x0102_0304);
        let id = ClientId::duid_ll(mac).to_bytes();
        // type 255, IAID big-endian, DUID-LL type 3, hw type 1, MAC
        assert_eq!(
            id,
            [255, 1, 2, 3, 4, 0, 3, 0, 1, 0x02, 0x00, 0x01, 0x02, 0x03, 0x04]
        );
        let id = ClientId::Duid {
            iaid: 1,
            duid: vec![9],
        };
        assert_eq!(id.to_bytes(), [255, 0, 0, 0, 1, 9]);
    }

    #[test]
    fn hwaddr_client_id() {
        assert_eq!(
            ClientId::HwAddr(MAC).to_bytes(),
            [1, 0x02, 0x42, 0xac, 0x11, 0x00, 0x02]
        );
    }

    #[test]
    fn classless_routes_decode_rfc3442_examples() {
        // 0/0 via 10.0.0.1; 10.0.0.0/8 via 10.0.0.2; 192.168.1.0/24 via 10.0.0.3;
        // 10.17.0.0/16 (host bits in the mask are not sent); 10.0.0.9/32.
        let data = [
            0, 10, 0, 0, 1, //
            8, 10, 10, 0, 0, 2, //
            24, 192, 168, 1, 10, 0, 0, 3, //
            16, 10, 17, 10, 0, 0, 4, //
            32, 10, 0, 0, 9, 10, 0, 0, 5,
        ];
        let r = decode_classless_routes(&data).unwrap();
        let want = [
            Route::new(Ipv4Addr::UNSPECIFIED, 0, Ipv4Addr::new(10, 0, 0, 1)),
            Route::new(Ipv4Addr::new(10, 0, 0, 0), 8, Ipv4Addr::new(10, 0, 0, 2)),
            Route::new(
                Ipv4Addr::new(192, 168, 1, 0),
                24,
                Ipv4Addr::new(10, 0, 0, 3),
            ),
            Route::new(Ipv4Addr::new(10, 17, 0, 0), 16, Ipv4Addr::new(10, 0, 0, 4)),
            Route::new(Ipv4Addr::new(10, 0, 0, 9), 32, Ipv4Addr::new(10, 0, 0, 5)),
        ];
        assert_eq!(r, want);
        assert_eq!(encode_classless_routes(&r), data);
    }

    #[test]
    fn classless_routes_reject_malformed() {
        assert_eq!(
            decode_classless_routes(&[33, 1, 2, 3, 4, 5, 6, 7, 8]),
            Err(OptionError::BadPrefixLength(33))
        );
        assert_eq!(
            decode_classless_routes(&[24, 192, 168, 1, 10, 0, 0]),
            Err(OptionError::TruncatedRoute)
        );
        assert_eq!(
            decode_classless_routes(&[8]),
            Err(OptionError::TruncatedRoute)
        );
        assert_eq!(decode_classless_routes(&[]), Ok(vec![]));
    }

    #[test]
    fn classless_route_encoding_is_byte_exact_and_matches_dhcproto() {
        // Byte order matters here: the destination octets and gateway are
        // written in network order whatever the host's endianness.
        let routes = vec![
            Route::new(Ipv4Addr::new(172, 16, 0, 0), 12, Ipv4Addr::new(10, 1, 2, 3)),
            Route::new(Ipv4Addr::UNSPECIFIED, 0, Ipv4Addr::new(10, 0, 0, 1)),
        ];
        let ours = encode_classless_routes(&routes);
        assert_eq!(ours, [12, 172, 16, 10, 1, 2, 3, 0, 10, 0, 0, 1]);

        let theirs = DhcpOption::ClasslessStaticRoute(vec![
            ("172.16.0.0/12".parse().unwrap(), Ipv4Addr::new(10, 1, 2, 3)),
            ("0.0.0.0/0".parse().unwrap(), Ipv4Addr::new(10, 0, 0, 1)),
        ]);
        let mut buf = Vec::new();
        theirs.encode(&mut Encoder::new(&mut buf)).unwrap();
        assert_eq!(buf[0], 121);
        assert_eq!(usize::from(buf[1]), ours.len());
        assert_eq!(&buf[2..], &ours[..]);
    }

    #[test]
    fn request_header_is_encoded_in_network_order() {
        let mut opts = DhcpOptions::new();
        opts.insert(DhcpOption::MessageType(MessageType::Request));
        let req = Request {
            xid: 0x0102_0304,
            secs: 0x0506,
            ciaddr: Ipv4Addr::new(10, 0, 0, 7),
            chaddr: MAC,
            opts,
        };
        let bytes = req.encode();
        assert_eq!(bytes.len(), BOOTP_MIN_LEN);
        assert_eq!(&bytes[..4], &[1, 1, 6, 0]);
        assert_eq!(&bytes[4..8], &[1, 2, 3, 4]);
        assert_eq!(&bytes[8..10], &[5, 6]);
        assert_eq!(&bytes[12..16], &[10, 0, 0, 7]);
        assert_eq!(&bytes[28..34], &MAC);
        assert_eq!(&bytes[236..240], &MAGIC);
        assert_eq!(&bytes[240..243], &[53, 1, 3]);

        let m = Message::decode(&mut Decoder::new(&bytes)).unwrap();
        assert_eq!(m.xid(), 0x0102_0304);
        assert_eq!(m.secs(), 0x0506);
        assert_eq!(m.ciaddr(), Ipv4Addr::new(10, 0, 0, 7));
        assert_eq!(m.chaddr(), &MAC);
        assert_eq!(m.opcode(), Opcode::BootRequest);
        assert!(!m.flags().broadcast());
    }

    #[test]
    fn parse_reply_accepts_dhcproto_offer() {
        let m = parse_reply(&offer_bytes()).unwrap();
        assert_eq!(m.xid(), 0x1234_5678);
        assert_eq!(m.yiaddr(), Ipv4Addr::new(10, 0, 0, 5));
        assert_eq!(m.opts().msg_type(), Some(MessageType::Offer));
        assert_eq!(server_id(&m), Some(Ipv4Addr::new(10, 0, 0, 1)));
    }

    #[test]
    fn parse_reply_rejects_bad_framing() {
        let good = offer_bytes();
        assert_eq!(parse_reply(&good[..239]), Err(PacketError::Truncated(239)));
        assert_eq!(parse_reply(&[]), Err(PacketError::Truncated(0)));
        let mut bad = good.clone();
        bad[236] = 0;
        assert_eq!(parse_reply(&bad), Err(PacketError::BadMagic));
        let mut bad = good.clone();
        bad[2] = 17;
        assert_eq!(parse_reply(&bad), Err(PacketError::BadHardwareLength(17)));
        let mut bad = good.clone();
        bad[0] = 1;
        assert_eq!(parse_reply(&bad), Err(PacketError::NotReply));
        let no_sid = with_raw_options(&[53, 1, 2, 255]);
        assert_eq!(parse_reply(&no_sid), Err(PacketError::NoServerId));
        let no_type = with_raw_options(&[54, 4, 10, 0, 0, 1, 255]);
        assert_eq!(parse_reply(&no_type), Err(PacketError::NoMessageType));
    }

    #[test]
    fn malformed_options_are_dropped_alone() {
        let pkt = with_raw_options(&[
            53, 1, 2, // OFFER
            80, 1, 0, // rapid commit must be empty: dhcproto would debug_assert
            81, 0, // FQDN too short: dhcproto would underflow
            15, 2, 0xff, 0xfe, // domain name that is not UTF-8
            26, 1, 9, // MTU of the wrong length
            121, 2, 33, 0, // bad classless route
            54, 4, 10, 0, 0, 1, // server id after the bad ones still counts
            6, 8, 1, 1, 1, 1, 8, 8, 8, 8, // two name servers
            255,
        ]);
        let m = parse_reply(&pkt).unwrap();
        let o = m.opts();
        assert!(!o.contains(OptionCode::RapidCommit));
        assert!(!o.contains(OptionCode::DomainName));
        assert!(!o.contains(OptionCode::InterfaceMtu));
        assert!(!o.contains(OptionCode::ClasslessStaticRoute));
        // Options we do not use are kept raw, so `require` can see them.
        assert_eq!(
            o.get(OptionCode::ClientFQDN),
            Some(&DhcpOption::Unknown(UnknownOption::new(
                OptionCode::ClientFQDN,
                vec![]
            )))
        );
        assert_eq!(server_id(&m), Some(Ipv4Addr::new(10, 0, 0, 1)));
        assert_eq!(
            o.get(OptionCode::DomainNameServer),
            Some(&DhcpOption::DomainNameServer(vec![
                Ipv4Addr::new(1, 1, 1, 1),
                Ipv4Addr::new(8, 8, 8, 8)
            ]))
        );
    }

    #[test]
    fn truncated_option_stops_the_walk() {
        let pkt = with_raw_options(&[53, 1, 2, 54, 4, 10, 0, 0, 1, 3, 8, 10, 0]);
        let m = parse_reply(&pkt).unwrap();
        assert!(!m.opts().contains(OptionCode::Router));
    }

    #[test]
    fn long_options_are_concatenated() {
        // RFC 3396: a router list split across two instances of option 3.
        let pkt = with_raw_options(&[
            3, 4, 10, 0, 0, 1, 53, 1, 5, 3, 4, 10, 0, 0, 2, 54, 4, 10, 0, 0, 1, 255,
        ]);
        let m = parse_reply(&pkt).unwrap();
        assert_eq!(
            m.opts().get(OptionCode::Router),
            Some(&DhcpOption::Router(vec![
                Ipv4Addr::new(10, 0, 0, 1),
                Ipv4Addr::new(10, 0, 0, 2)
            ]))
        );
    }

    #[test]
    fn overloaded_file_and_sname_fields_are_read() {
        let mut pkt = with_raw_options(&[53, 1, 5, 52, 1, 3, 255]);
        // server id in the file field, lease time in sname
        pkt[108..115].copy_from_slice(&[54, 4, 10, 0, 0, 1, 255]);
        pkt[44..51].copy_from_slice(&[51, 4, 0, 0, 0x0e, 0x10, 255]);
        let m = parse_reply(&pkt).unwrap();
        assert_eq!(server_id(&m), Some(Ipv4Addr::new(10, 0, 0, 1)));
        assert_eq!(
            m.opts().get(OptionCode::AddressLeaseTime),
            Some(&DhcpOption::AddressLeaseTime(3600))
        );
    }

    #[test]
    fn never_panics_on_mutated_or_random_input() {
        let good = offer_bytes();
        let mut rng = crate::time::Rng::new(7);
        for len in 0..good.len() {
            let _ = parse_reply(&good[..len]);
        }
        for _ in 0..3000 {
            let mut p = good.clone();
            for _ in 0..1 + rng.below(8) {
                let i = rng.below(p.len() as u64) as usize;
                p[i] = rng.next_u32() as u8;
            }
            let _ = parse_reply(&p);
        }
        for _ in 0..2000 {
            // a valid header followed by random option bytes
            let mut p = good[..MIN_LEN].to_vec();
            p[2] = 6;
            let n = rng.below(400) as usize;
            p.extend((0..n).map(|_| rng.next_u32() as u8));
            let _ = parse_reply(&p);
            let junk: Vec<u8> = (0..rng.below(600)).map(|_| rng.next_u32() as u8).collect();
            let _ = parse_reply(&junk);
        }
        // Well-framed options with odd lengths, including the codes whose
        // dhcproto decoders assert on their length.
        let codes = [
            1, 3, 6, 12, 15, 26, 28, 42, 51, 52, 53, 54, 56, 58, 59, 80, 81, 94, 119, 121, 151,
            152, 153, 154, 155,
        ];
        for _ in 0..5000 {
            let mut p = good[..MIN_LEN].to_vec();
            for _ in 0..1 + rng.below(6) {
                let code = codes[rng.below(codes.len() as u64) as usize];
                let len = rng.below(12) as u8;
                p.push(code);
                p.push(len);
                p.extend((0..len).map(|_| rng.next_u32() as u8));
            }
            let _ = parse_reply(&p);
        }
    }

    #[test]
    fn domain_search_garbage_never_panics() {
        // Labels, compression pointers (forward, backward, self) and ends,
        // mixed at random: the name decoder must only ever return errors.
        let mut rng = crate::time::Rng::new(11);
        let header = offer_bytes()[..MIN_LEN].to_vec();
        for _ in 0..5000 {
            let mut data = Vec::new();
            while data.len() < 40 {
                match rng.below(4) {
                    0 => {
                        let n = rng.below(8) as u8;
                        data.push(n);
                        data.extend((0..n).map(|_| b'a' + rng.below(26) as u8));
                    }
                    1 => data.extend([0xc0, rng.below(48) as u8]),
                    2 => data.push(0),
                    _ => data.push(rng.next_u32() as u8),
                }
            }
            let mut p = header.clone();
            p.extend([53, 1, 5, 54, 4, 10, 0, 0, 1, 119, data.len() as u8]);
            p.extend(&data);
            p.push(255);
            if let Ok(m) = parse_reply(&p) {
                let _ = crate::lease::Lease::from_reply(&m, crate::time::Instant::ZERO);
            }
        }
    }
}
