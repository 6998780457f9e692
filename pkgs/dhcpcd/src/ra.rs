//! IPv6 Router Advertisements (RFC 4861 4.2), read without I/O: the router's
//! lifetime and flags, and the options SLAAC and resolv.conf need: prefix
//! information, MTU, route information (RFC 4191), RDNSS and DNSSL (RFC 8106).
//!
//! [`parse`] applies RFC 4861 6.1.2's validity checks that the packet itself
//! carries (source, hop limit, code, length, option lengths); the kernel has
//! checked the ICMPv6 checksum. An invalid advertisement is an error, and
//! the caller drops it whole.

use std::net::Ipv6Addr;
use std::time::Duration;

/// ICMPv6 type of a Router Advertisement.
pub const ROUTER_ADVERTISEMENT: u8 = 134;
/// ICMPv6 type of a Router Solicitation.
pub const ROUTER_SOLICITATION: u8 = 133;
/// A lifetime of all ones means forever (RFC 4861 4.6.2).
pub const INFINITE: u32 = u32::MAX;

/// Why an advertisement was dropped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RaError {
    #[error("not from a link-local address ({0})")]
    NotLinkLocal(Ipv6Addr),
    #[error("hop limit {0}, not 255: not from this link")]
    HopLimit(u8),
    #[error("not a router advertisement (type {0}, code {1})")]
    NotAnAdvertisement(u8, u8),
    #[error("truncated: {0} bytes")]
    Truncated(usize),
    #[error("option of type {kind} at byte {at}: length {len} (in 8-byte units) is invalid")]
    BadOptionLength { kind: u8, at: usize, len: u8 },
}

/// A router's preference (RFC 4191 2.1); the reserved value reads as medium.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Preference {
    Low,
    Medium,
    High,
}

impl Preference {
    fn from_bits(bits: u8) -> Preference {
        match bits & 0b11 {
            0b01 => Preference::High,
            0b11 => Preference::Low,
            _ => Preference::Medium,
        }
    }
}

/// Prefix Information (RFC 4861 4.6.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrefixInfo {
    pub prefix: Ipv6Addr,
    pub prefix_len: u8,
    /// L: the prefix is on-link.
    pub on_link: bool,
    /// A: addresses may be formed from it (SLAAC).
    pub autonomous: bool,
    /// Seconds; [`INFINITE`] for ever.
    pub valid_lifetime: u32,
    pub preferred_lifetime: u32,
}

/// Route Information (RFC 4191 2.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteInfo {
    pub prefix: Ipv6Addr,
    pub prefix_len: u8,
    pub preference: Preference,
    pub lifetime: u32,
}

/// A Router Advertisement, with the options we use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouterAdvert {
    pub router: Ipv6Addr,
    /// 0: not a default router.
    pub router_lifetime: Duration,
    /// M: addresses from DHCPv6.
    pub managed: bool,
    /// O: other configuration (DNS, NTP) from DHCPv6.
    pub other: bool,
    pub preference: Preference,
    pub source_mac: Option<[u8; 6]>,
    pub mtu: Option<u32>,
    pub prefixes: Vec<PrefixInfo>,
    pub routes: Vec<RouteInfo>,
    /// RDNSS: servers and their lifetime in seconds.
    pub dns_servers: Vec<(Ipv6Addr, u32)>,
    /// DNSSL: search domains and their lifetime in seconds.
    pub search_domains: Vec<(String, u32)>,
}

/// Reads the ICMPv6 message `bytes` that `source` sent with IPv6 hop limit
/// `hop_limit`. Options we do not use, and malformed contents of options we
/// do use, are skipped; a malformed option length drops the whole packet.
pub fn parse(source: Ipv6Addr, hop_limit: u8, bytes: &[u8]) -> Result<RouterAdvert, RaError> {
    if !is_link_local(source) {
        return Err(RaError::NotLinkLocal(source));
    }
    if hop_limit != 255 {
        return Err(RaError::HopLimit(hop_limit));
    }
    if bytes.len() < 16 {
        return Err(RaError::Truncated(bytes.len()));
    }
    if bytes[0] != ROUTER_ADVERTISEMENT || bytes[1] != 0 {
        return Err(RaError::NotAnAdvertisement(bytes[0], bytes[1]));
    }
    let flags = bytes[5];
    let mut ra = RouterAdvert {
        router: source,
        router_lifetime: Duration::from_secs(u16::from_be_bytes([bytes[6], bytes[7]]).into()),
        managed: flags & 0x80 != 0,
        other: flags & 0x40 != 0,
        preference: Preference::from_bits(flags >> 3),
        source_mac: None,
        mtu: None,
        prefixes: Vec::new(),
        routes: Vec::new(),
        dns_servers: Vec::new(),
        search_domains: Vec::new(),
    };
    for (kind, body) in options(bytes, 16)? {
        match kind {
            1 if body.len() >= 6 => ra.source_mac = body[..6].try_into().ok(),
            3 if body.len() == 30 => ra.prefixes.push(PrefixInfo {
                prefix_len: body[0],
                on_link: body[1] & 0x80 != 0,
                autonomous: body[1] & 0x40 != 0,
                valid_lifetime: be32(&body[2..6]),
                preferred_lifetime: be32(&body[6..10]),
                prefix: masked(addr(&body[14..30]), body[0]),
            }),
            5 if body.len() == 6 => ra.mtu = Some(be32(&body[2..6])),
            24 => {
                if let Some(r) = route_info(body) {
                    ra.routes.push(r);
                }
            }
            25 if body.len() >= 22 => {
                let lifetime = be32(&body[2..6]);
                ra.dns_servers
                    .extend(body[6..].chunks_exact(16).map(|a| (addr(a), lifetime)));
            }
            31 if body.len() >= 6 => {
                let lifetime = be32(&body[2..6]);
                for name in domain_names(&body[6..]) {
                    ra.search_domains.push((name, lifetime));
                }
            }
            // Unknown, or a known type of the wrong size: skipped.
            _ => {}
        }
    }
    Ok(ra)
}

/// A Router Solicitation (RFC 4861 4.1), with our MAC as its source
/// link-layer address option when we have an address to send it from.
pub fn solicitation(source_mac: Option<[u8; 6]>) -> Vec<u8> {
    let mut out = vec![ROUTER_SOLICITATION, 0, 0, 0, 0, 0, 0, 0];
    if let Some(mac) = source_mac {
        out.extend_from_slice(&[1, 1]);
        out.extend_from_slice(&mac);
    }
    out
}

/// The options after `start`: (type, body without type and length).
fn options(bytes: &[u8], start: usize) -> Result<Vec<(u8, &[u8])>, RaError> {
    let mut out = Vec::new();
    let mut at = start;
    while at < bytes.len() {
        let kind = bytes[at];
        let len = *bytes.get(at + 1).ok_or(RaError::Truncated(bytes.len()))?;
        let end = at + usize::from(len) * 8;
        if len == 0 || end > bytes.len() {
            return Err(RaError::BadOptionLength { kind, at, len });
        }
        out.push((kind, &bytes[at + 2..end]));
        at = end;
    }
    Ok(out)
}

fn route_info(body: &[u8]) -> Option<RouteInfo> {
    // Length 1, 2 or 3 units: 0, 8 or 16 bytes of prefix after 6 fixed ones.
    let prefix_len = *body.first()?;
    let carried = body.len().checked_sub(6)?;
    if prefix_len > 128 || carried > 16 || carried * 8 < usize::from(prefix_len) {
        return None;
    }
    let mut prefix = [0u8; 16];
    prefix[..carried].copy_from_slice(&body[6..]);
    Some(RouteInfo {
        prefix: masked(Ipv6Addr::from(prefix), prefix_len),
        prefix_len,
        preference: Preference::from_bits(body[1] >> 3),
        lifetime: be32(&body[2..6]),
    })
}

/// DNS wire-format names (RFC 1035 3.1, no compression) until the zero
/// padding; a malformed or over-long name ends the list.
fn domain_names(mut bytes: &[u8]) -> Vec<String> {
    let mut names = Vec::new();
    while let Some((&first, _)) = bytes.split_first() {
        if first == 0 {
            break; // padding
        }
        let mut labels = Vec::new();
        let mut total = 0;
        loop {
            let Some((&len, rest)) = bytes.split_first() else {
                return names;
            };
            bytes = rest;
            if len == 0 {
                break;
            }
            let len = usize::from(len);
            total += len + 1;
            if len > 63 || total > 255 || bytes.len() < len {
                return names;
            }
            let label = &bytes[..len];
            bytes = &bytes[len..];
            let ok = label
                .iter()
                .all(|c| c.is_ascii_alphanumeric() || *c == b'-' || *c == b'_');
            if !ok {
                return names;
            }
            labels.push(String::from_utf8_lossy(label).to_ascii_lowercase());
        }
        names.push(labels.join("."));
    }
    names
}

fn be32(b: &[u8]) -> u32 {
    u32::from_be_bytes([b[0], b[1], b[2], b[3]])
}

fn addr(b: &[u8]) -> Ipv6Addr {
    let octets: [u8; 16] = b.try_into().expect("16 bytes");
    Ipv6Addr::from(octets)
}

/// `a` with the bits past `len` cleared.
pub fn masked(a: Ipv6Addr, len: u8) -> Ipv6Addr {
    let bits = u128::from(a);
    let len = u32::from(len.min(128));
    let mask = if len == 0 {
        0
    } else {
        u128::MAX << (128 - len)
    };
    Ipv6Addr::from(bits & mask)
}

/// fe80::/10.
pub fn is_link_local(a: Ipv6Addr) -> bool {
    a.segments()[0] & 0xffc0 == 0xfe80
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROUTER: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1);

    /// A builder for test advertisements, byte by byte as on the wire.
    struct Ra(Vec<u8>);

    impl Ra {
        fn new(flags: u8, lifetime: u16) -> Ra {
            let mut b = vec![ROUTER_ADVERTISEMENT, 0, 0, 0, 64, flags];
            b.extend_from_slice(&lifetime.to_be_bytes());
            b.extend_from_slice(&[0; 8]);
            Ra(b)
        }
        fn option(mut self, kind: u8, body: &[u8]) -> Ra {
            assert_eq!((body.len() + 2) % 8, 0, "pad the body");
            self.0.push(kind);
            self.0.push(((body.len() + 2) / 8) as u8);
            self.0.extend_from_slice(body);
            self
        }
        fn prefix(self, prefix: &str, len: u8, flags: u8, valid: u32, preferred: u32) -> Ra {
            let mut b = vec![len, flags];
            b.extend_from_slice(&valid.to_be_bytes());
            b.extend_from_slice(&preferred.to_be_bytes());
            b.extend_from_slice(&[0; 4]);
            b.extend_from_slice(&prefix.parse::<Ipv6Addr>().unwrap().octets());
            self.option(3, &b)
        }
        fn parse(&self) -> Result<RouterAdvert, RaError> {
            parse(ROUTER, 255, &self.0)
        }
    }

    fn a(s: &str) -> Ipv6Addr {
        s.parse().unwrap()
    }

    #[test]
    fn reads_what_dnsmasq_and_radvd_send() {
        let mut rdnss = vec![0, 0];
        rdnss.extend_from_slice(&600u32.to_be_bytes());
        rdnss.extend_from_slice(&a("2001:db8::53").octets());
        rdnss.extend_from_slice(&a("2001:db8::54").octets());
        let mut dnssl = vec![0, 0];
        dnssl.extend_from_slice(&300u32.to_be_bytes());
        dnssl.extend_from_slice(b"\x07example\x04TEST\x00\x03lab\x00");
        dnssl.extend_from_slice(&[0; 13]);
        let mut mtu = vec![0, 0];
        mtu.extend_from_slice(&1400u32.to_be_bytes());
        let mut route = vec![48, 0b0000_1000];
        route.extend_from_slice(&1800u32.to_be_bytes());
        route.extend_from_slice(&a("2001:db8:1234::").octets()[..8]);
        let ra = Ra::new(0x40 | 0x08, 1800)
            .option(1, &[2, 0, 0, 0, 0, 0xaa])
            .option(5, &mtu)
            .prefix("2001:db8:1:2::", 64, 0xc0, 7200, 3600)
            .prefix("2001:db8:9::1", 48, 0x80, INFINITE, INFINITE)
            .option(24, &route)
            .option(25, &rdnss)
            .option(31, &dnssl)
            .option(200, &[0; 6])
            .parse()
            .unwrap();
        assert_eq!(ra.router_lifetime, Duration::from_secs(1800));
        assert!(!ra.managed && ra.other);
        assert_eq!(ra.preference, Preference::High);
        assert_eq!(ra.source_mac, Some([2, 0, 0, 0, 0, 0xaa]));
        assert_eq!(ra.mtu, Some(1400));
        assert_eq!(
            ra.prefixes,
            [
                PrefixInfo {
                    prefix: a("2001:db8:1:2::"),
                    prefix_len: 64,
                    on_link: true,
                    autonomous: true,
                    valid_lifetime: 7200,
                    preferred_lifetime: 3600,
                },
                PrefixInfo {
                    // Bits past the prefix length are cleared.
                    prefix: a("2001:db8:9::"),
                    prefix_len: 48,
                    on_link: true,
                    autonomous: false,
                    valid_lifetime: INFINITE,
                    preferred_lifetime: INFINITE,
                }
            ]
        );
        assert_eq!(
            ra.routes,
            [RouteInfo {
                prefix: a("2001:db8:1234::"),
                prefix_len: 48,
                preference: Preference::High,
                lifetime: 1800,
            }]
        );
        assert_eq!(
            ra.dns_servers,
            [(a("2001:db8::53"), 600), (a("2001:db8::54"), 600)]
        );
        assert_eq!(
            ra.search_domains,
            [("example.test".to_string(), 300), ("lab".to_string(), 300)]
        );
    }

    #[test]
    fn flags_and_preferences() {
        let ra = Ra::new(0x80 | 0x18, 0).parse().unwrap();
        assert!(ra.managed && !ra.other);
        assert_eq!(ra.preference, Preference::Low);
        assert_eq!(ra.router_lifetime, Duration::ZERO);
        // The reserved preference 10 reads as medium (RFC 4191 2.2).
        assert_eq!(
            Ra::new(0x10, 0).parse().unwrap().preference,
            Preference::Medium
        );
    }

    #[test]
    fn what_rfc_4861_says_to_drop_is_dropped() {
        let good = Ra::new(0, 1800).prefix("2001:db8::", 64, 0xc0, 60, 30);
        assert!(good.parse().is_ok());
        assert_eq!(
            parse(a("2001:db8::1"), 255, &good.0),
            Err(RaError::NotLinkLocal(a("2001:db8::1")))
        );
        assert_eq!(parse(ROUTER, 64, &good.0), Err(RaError::HopLimit(64)));
        let mut code = good.0.clone();
        code[1] = 1;
        assert_eq!(
            parse(ROUTER, 255, &code),
            Err(RaError::NotAnAdvertisement(134, 1))
        );
        let mut solicitation = good.0.clone();
        solicitation[0] = ROUTER_SOLICITATION;
        assert!(parse(ROUTER, 255, &solicitation).is_err());
        assert_eq!(
            parse(ROUTER, 255, &good.0[..15]),
            Err(RaError::Truncated(15))
        );
        // An option of length zero, or one running past the end.
        let mut zero = good.0.clone();
        zero[17] = 0;
        assert!(matches!(
            parse(ROUTER, 255, &zero),
            Err(RaError::BadOptionLength {
                kind: 3,
                at: 16,
                len: 0
            })
        ));
        let mut long = good.0.clone();
        long[17] = 200;
        assert!(matches!(
            parse(ROUTER, 255, &long),
            Err(RaError::BadOptionLength { .. })
        ));
        let mut dangling = good.0.clone();
        dangling.push(3);
        assert!(parse(ROUTER, 255, &dangling).is_err());
    }

    #[test]
    fn malformed_option_contents_are_skipped() {
        let mut mtu = vec![0, 0];
        mtu.extend_from_slice(&1400u32.to_be_bytes());
        // A prefix option of the wrong size, a route longer than it carries,
        // an RDNSS without an address, a DNSSL with a bad label.
        let ra = Ra::new(0, 1800)
            .option(3, &[64, 0xc0, 0, 0, 0, 0])
            .option(24, &[96, 0, 0, 0, 0, 1])
            .option(25, &[0, 0, 0, 0, 0, 1])
            .option(
                31,
                b"\x00\x00\x00\x00\x00\x01\x03a b\x00\0\0\0\0\0\0\0\0\0\0\0",
            )
            .option(5, &mtu)
            .parse()
            .unwrap();
        assert!(ra.prefixes.is_empty() && ra.routes.is_empty());
        assert!(ra.dns_servers.is_empty() && ra.search_domains.is_empty());
        assert_eq!(ra.mtu, Some(1400), "the good option after them is read");
    }

    #[test]
    fn every_truncation_is_an_error_or_a_smaller_advertisement() {
        let full = Ra::new(0x40, 1800)
            .option(1, &[2, 0, 0, 0, 0, 0xaa])
            .prefix("2001:db8::", 64, 0xc0, 60, 30);
        for n in 0..full.0.len() {
            if let Ok(ra) = parse(ROUTER, 255, &full.0[..n]) {
                assert!(ra.prefixes.is_empty(), "{n}");
            }
        }
    }

    #[test]
    fn solicitations() {
        assert_eq!(solicitation(None), [133, 0, 0, 0, 0, 0, 0, 0]);
        assert_eq!(
            solicitation(Some([2, 0, 0, 0, 0, 1])),
            [133, 0, 0, 0, 0, 0, 0, 0, 1, 1, 2, 0, 0, 0, 0, 1]
        );
    }

    #[test]
    fn masks_and_scopes() {
        assert_eq!(masked(a("2001:db8:ffff::1"), 32), a("2001:db8::"));
        assert_eq!(masked(a("2001:db8::1"), 0), Ipv6Addr::UNSPECIFIED);
        assert_eq!(masked(a("2001:db8::1"), 200), a("2001:db8::1"));
        assert!(is_link_local(a("fe80::1")) && is_link_local(a("febf::1")));
        assert!(!is_link_local(a("fec0::1")) && !is_link_local(a("2001:db8::1")));
    }
}
