//! What a DHCP server granted us, how it is rendered for the system
//! (resolv.conf), and how it is kept across restarts.

use std::fmt::Write as _;
use std::net::Ipv4Addr;
use std::time::Duration;

use dhcproto::v4::{DhcpOption, Message, OptionCode};
use serde::{Deserialize, Serialize};

use crate::options::server_id;
use crate::time::Instant;

/// Lease time meaning "forever" (RFC 2131).
pub const INFINITE: u32 = u32::MAX;
/// dhcpcd refuses shorter leases, which would have us renewing constantly.
pub const MIN_LEASE_SECS: u32 = 20;
/// The smallest MTU IPv4 allows (RFC 791); smaller values are ignored.
const MIN_MTU: u16 = 576;
/// Version of the persisted format written by [`Lease::to_json`].
const FORMAT: u32 = 1;

/// Errors building or loading a lease.
#[derive(Debug, thiserror::Error)]
pub enum LeaseError {
    #[error("no address in the reply (yiaddr is 0.0.0.0)")]
    NoAddress,
    #[error("no server identifier in the reply")]
    NoServerId,
    #[error("the stored lease has expired")]
    Expired,
    #[error("stored lease has format {0}, expected {FORMAT}")]
    Format(u32),
    #[error("stored lease is not valid JSON: {0}")]
    Json(#[from] serde_json::Error),
}

/// A route: destination network and the gateway to reach it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Route {
    pub destination: Ipv4Addr,
    pub prefix_len: u8,
    pub gateway: Ipv4Addr,
}

impl Route {
    /// A route; host bits of `destination` beyond the prefix are cleared.
    pub fn new(destination: Ipv4Addr, prefix_len: u8, gateway: Ipv4Addr) -> Self {
        let prefix_len = prefix_len.min(32);
        Route {
            destination: Ipv4Addr::from(u32::from(destination) & mask(prefix_len)),
            prefix_len,
            gateway,
        }
    }
}

/// A lease, with the configuration that came with it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lease {
    pub address: Ipv4Addr,
    /// From the subnet mask (option 1), else the address's class.
    pub prefix_len: u8,
    /// Option 28, else computed from address and prefix.
    pub broadcast: Ipv4Addr,
    /// Option 3.
    #[serde(default)]
    pub routers: Vec<Ipv4Addr>,
    /// Option 121 (RFC 3442); when present, routers are not used for routes.
    #[serde(default)]
    pub classless_routes: Vec<Route>,
    /// Option 26.
    #[serde(default)]
    pub mtu: Option<u16>,
    /// Option 6.
    #[serde(default)]
    pub dns_servers: Vec<Ipv4Addr>,
    /// Option 15.
    #[serde(default)]
    pub domain_name: Option<String>,
    /// Option 119.
    #[serde(default)]
    pub domain_search: Vec<String>,
    /// Option 42.
    #[serde(default)]
    pub ntp_servers: Vec<Ipv4Addr>,
    /// Option 12, as the server gave it.
    #[serde(default)]
    pub hostname: Option<String>,
    /// Option 54.
    pub server_id: Ipv4Addr,
    /// Seconds; [`INFINITE`] for a lease that never ends.
    pub lease_time: u32,
    /// Seconds after acquisition to start renewing.
    pub t1: u32,
    /// Seconds after acquisition to start rebinding.
    pub t2: u32,
    /// When the lease was granted. Monotonic, so not persisted as is.
    #[serde(skip)]
    pub acquired_at: Instant,
}

/// The on-disk form: the lease plus the wall-clock time it was granted.
#[derive(Serialize, Deserialize)]
struct Persisted {
    format: u32,
    acquired_unix: u64,
    lease: Lease,
}

impl Lease {
    /// Builds a lease from an ACK received at `now`.
    pub fn from_reply(msg: &Message, now: Instant) -> Result<Lease, LeaseError> {
        let address = msg.yiaddr();
        if address.is_unspecified() {
            return Err(LeaseError::NoAddress);
        }
        let server_id = server_id(msg).ok_or(LeaseError::NoServerId)?;
        let opts = msg.opts();
        let get = |code| opts.get(code);

        let prefix_len = match get(OptionCode::SubnetMask) {
            Some(DhcpOption::SubnetMask(m)) => prefix_from_mask(*m),
            _ => None,
        }
        .unwrap_or_else(|| classful_prefix(address));
        let broadcast = match get(OptionCode::BroadcastAddr) {
            Some(DhcpOption::BroadcastAddr(b)) => *b,
            _ => Ipv4Addr::from(u32::from(address) | !mask(prefix_len)),
        };
        let addrs = |code| match get(code) {
            Some(
                DhcpOption::Router(v) | DhcpOption::DomainNameServer(v) | DhcpOption::NtpServers(v),
            ) => v.iter().copied().filter(|a| !a.is_unspecified()).collect(),
            _ => Vec::new(),
        };
        let classless_routes = match get(OptionCode::ClasslessStaticRoute) {
            Some(DhcpOption::ClasslessStaticRoute(r)) => r
                .iter()
                .map(|(net, gw)| Route::new(net.addr(), net.prefix_len(), *gw))
                .collect(),
            _ => Vec::new(),
        };
        let mtu = match get(OptionCode::InterfaceMtu) {
            Some(DhcpOption::InterfaceMtu(m)) if *m >= MIN_MTU => Some(*m),
            _ => None,
        };
        // Names end up in resolv.conf and the hostname: keep only valid ones
        // so a server cannot inject extra lines.
        let name = |code| match get(code) {
            Some(DhcpOption::DomainName(s) | DhcpOption::Hostname(s)) => clean_domain(s),
            _ => None,
        };
        let domain_search = match get(OptionCode::DomainSearch) {
            Some(DhcpOption::DomainSearch(names)) => names
                .iter()
                .filter_map(|n| {
                    let labels: Vec<&[u8]> = n.iter().collect();
                    let joined = labels.join(&b'.');
                    clean_domain(std::str::from_utf8(&joined).ok()?)
                })
                .collect(),
            _ => Vec::new(),
        };
        let u32_opt = |code| match get(code) {
            Some(
                DhcpOption::AddressLeaseTime(t) | DhcpOption::Renewal(t) | DhcpOption::Rebinding(t),
            ) => Some(*t),
            _ => None,
        };
        // Without option 51 dhcpcd treats the lease as infinite (BOOTP style).
        let lease_time = u32_opt(OptionCode::AddressLeaseTime)
            .unwrap_or(INFINITE)
            .max(MIN_LEASE_SECS);
        let (t1, t2) = timers(
            lease_time,
            u32_opt(OptionCode::Renewal),
            u32_opt(OptionCode::Rebinding),
        );

        Ok(Lease {
            address,
            prefix_len,
            broadcast,
            routers: addrs(OptionCode::Router),
            classless_routes,
            mtu,
            dns_servers: addrs(OptionCode::DomainNameServer),
            domain_name: name(OptionCode::DomainName),
            domain_search,
            ntp_servers: addrs(OptionCode::NtpServers),
            hostname: name(OptionCode::Hostname),
            server_id,
            lease_time,
            t1,
            t2,
            acquired_at: now,
        })
    }

    /// True for a lease that never expires.
    pub fn is_infinite(&self) -> bool {
        self.lease_time == INFINITE
    }

    /// When to start renewing (T1), or None if never.
    pub fn renew_at(&self) -> Option<Instant> {
        self.at(self.t1)
    }

    /// When to start rebinding (T2), or None if never.
    pub fn rebind_at(&self) -> Option<Instant> {
        self.at(self.t2)
    }

    /// When the lease ends, or None if never.
    pub fn expires_at(&self) -> Option<Instant> {
        self.at(self.lease_time)
    }

    /// True once the lease has run out at `now`.
    pub fn is_expired(&self, now: Instant) -> bool {
        self.expires_at().is_some_and(|t| now >= t)
    }

    fn at(&self, secs: u32) -> Option<Instant> {
        (!self.is_infinite()).then(|| self.acquired_at + Duration::from_secs(secs.into()))
    }

    /// The subnet mask for `prefix_len`.
    pub fn netmask(&self) -> Ipv4Addr {
        Ipv4Addr::from(mask(self.prefix_len))
    }

    /// Routes to install: option 121 if present (RFC 3442 says option 3 is
    /// then ignored), else a default route via the first router.
    pub fn routes(&self) -> Vec<Route> {
        if !self.classless_routes.is_empty() {
            return self.classless_routes.clone();
        }
        self.routers
            .first()
            .map(|gw| vec![Route::new(Ipv4Addr::UNSPECIFIED, 0, *gw)])
            .unwrap_or_default()
    }

    /// resolv.conf text for this lease, as dhcpcd's resolv.conf hook writes it.
    pub fn resolv_conf(&self, interface: &str) -> String {
        let mut s = format!("# Generated by dhcpcd from {interface}\n");
        if let Some(d) = &self.domain_name {
            let _ = writeln!(s, "domain {d}");
        }
        // Without a search list the domain name is searched.
        let search: Vec<&str> = if self.domain_search.is_empty() {
            self.domain_name.iter().map(String::as_str).collect()
        } else {
            self.domain_search.iter().map(String::as_str).collect()
        };
        if !search.is_empty() {
            let _ = writeln!(s, "search {}", search.join(" "));
        }
        for ns in &self.dns_servers {
            let _ = writeln!(s, "nameserver {ns}");
        }
        s
    }

    /// The persisted text form. `now` and `unix_now` are the same moment on
    /// the monotonic and the wall clock, so the grant time can be stored as
    /// wall-clock seconds, which survive a restart.
    pub fn to_json(&self, now: Instant, unix_now: u64) -> String {
        let age = now.saturating_duration_since(self.acquired_at).as_secs();
        let p = Persisted {
            format: FORMAT,
            acquired_unix: unix_now.saturating_sub(age),
            lease: self.clone(),
        };
        // Serializing plain data to a String cannot fail.
        serde_json::to_string_pretty(&p).unwrap_or_default() + "\n"
    }

    /// Loads a lease written by [`Lease::to_json`]. The time already spent
    /// is taken off its lease time, T1 and T2, and `acquired_at` is `now`,
    /// as dhcpcd does when it reads a lease file.
    pub fn from_json(text: &str, now: Instant, unix_now: u64) -> Result<Lease, LeaseError> {
        let p: Persisted = serde_json::from_str(text)?;
        if p.format != FORMAT {
            return Err(LeaseError::Format(p.format));
        }
        let mut l = p.lease;
        if l.address.is_unspecified() {
            return Err(LeaseError::NoAddress);
        }
        l.acquired_at = now;
        if l.is_infinite() {
            return Ok(l);
        }
        // A clock that went backwards counts as no time spent.
        let age = unix_now.saturating_sub(p.acquired_unix);
        if age >= u64::from(l.lease_time) {
            return Err(LeaseError::Expired);
        }
        let age = age as u32; // below lease_time, so it fits
        l.lease_time -= age;
        l.t1 = l.t1.saturating_sub(age);
        l.t2 = l.t2.saturating_sub(age);
        Ok(l)
    }
}

/// T1 and T2 as dhcpcd picks them: the server's values when they are sane,
/// else 0.5 and 0.875 of the lease time. When the server's T2 comes before
/// that default T1 (and its T1 is missing or past T2), T1 is 4/7 of T2, the
/// defaults' ratio, so that RENEWING still comes before REBINDING. (dhcpcd
/// keeps T1 past T2 there, and so would skip RENEWING; found by fuzzing.)
fn timers(lease: u32, t1: Option<u32>, t2: Option<u32>) -> (u32, u32) {
    if lease == INFINITE {
        return (INFINITE, INFINITE);
    }
    let t2 = match t2 {
        Some(t) if t > 0 && t < lease => t,
        _ => (u64::from(lease) * 7 / 8) as u32,
    };
    let t1 = match t1 {
        Some(t) if t > 0 && t < t2 => t,
        _ if lease / 2 < t2 => lease / 2,
        _ => (u64::from(t2) * 4 / 7) as u32,
    };
    (t1, t2)
}

/// The netmask with `prefix_len` leading ones.
fn mask(prefix_len: u8) -> u32 {
    match prefix_len {
        0 => 0,
        p => u32::MAX << (32 - u32::from(p.min(32))),
    }
}

/// The prefix length of a contiguous netmask, or None.
pub fn prefix_from_mask(m: Ipv4Addr) -> Option<u8> {
    let m = u32::from(m);
    let ones = m.leading_ones();
    (m.count_ones() == ones).then_some(ones as u8)
}

/// The historical class of `addr`, used when no subnet mask was given.
pub fn classful_prefix(addr: Ipv4Addr) -> u8 {
    match addr.octets()[0] {
        0..=127 => 8,
        128..=191 => 16,
        192..=223 => 24,
        _ => 32,
    }
}

/// `s` without a trailing dot if it is a valid domain or host name (letters,
/// digits, '-' and '_' in labels of 1-63 bytes, at most 253 bytes), else None.
pub fn clean_domain(s: &str) -> Option<String> {
    let s = s.strip_suffix('.').unwrap_or(s);
    let ok = !s.is_empty()
        && s.len() <= 253
        && s.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        });
    ok.then(|| s.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use dhcproto::v4::{MessageType, Opcode};
    use dhcproto::{Decodable, Decoder};

    fn ack(opts: Vec<DhcpOption>) -> Message {
        let mut m = Message::new_with_id(
            1,
            Ipv4Addr::UNSPECIFIED,
            Ipv4Addr::new(192, 168, 1, 50),
            Ipv4Addr::UNSPECIFIED,
            Ipv4Addr::UNSPECIFIED,
            &[2, 0, 0, 0, 0, 1],
        );
        m.set_opcode(Opcode::BootReply);
        m.opts_mut()
            .insert(DhcpOption::MessageType(MessageType::Ack));
        m.opts_mut()
            .insert(DhcpOption::ServerIdentifier(Ipv4Addr::new(192, 168, 1, 1)));
        for o in opts {
            m.opts_mut().insert(o);
        }
        m
    }

    fn full_lease() -> Lease {
        let search = DhcpOption::decode(&mut Decoder::new(&[
            119, 20, //
            7, b'e', b'x', b'a', b'm', b'p', b'l', b'e', 3, b'c', b'o', b'm', 0, //
            4, b'c', b'o', b'r', b'p', 0xc0, 0x00, // corp + pointer to example.com
        ]))
        .unwrap();
        let m = ack(vec![
            DhcpOption::SubnetMask(Ipv4Addr::new(255, 255, 255, 0)),
            DhcpOption::Router(vec![Ipv4Addr::new(192, 168, 1, 1)]),
            DhcpOption::DomainNameServer(vec![
                Ipv4Addr::new(192, 168, 1, 2),
                Ipv4Addr::new(192, 168, 1, 3),
            ]),
            DhcpOption::DomainName("example.com".into()),
            search,
            DhcpOption::NtpServers(vec![Ipv4Addr::new(192, 168, 1, 4)]),
            DhcpOption::InterfaceMtu(1400),
            DhcpOption::Hostname("box1".into()),
            DhcpOption::AddressLeaseTime(3600),
        ]);
        Lease::from_reply(&m, Instant::from_secs(100)).unwrap()
    }

    #[test]
    fn lease_fields_from_ack() {
        let l = full_lease();
        assert_eq!(l.address, Ipv4Addr::new(192, 168, 1, 50));
        assert_eq!(l.prefix_len, 24);
        assert_eq!(l.netmask(), Ipv4Addr::new(255, 255, 255, 0));
        assert_eq!(l.broadcast, Ipv4Addr::new(192, 168, 1, 255));
        assert_eq!(l.routers, [Ipv4Addr::new(192, 168, 1, 1)]);
        assert_eq!(l.dns_servers.len(), 2);
        assert_eq!(l.domain_name.as_deref(), Some("example.com"));
        assert_eq!(l.domain_search, ["example.com", "corp.example.com"]);
        assert_eq!(l.ntp_servers, [Ipv4Addr::new(192, 168, 1, 4)]);
        assert_eq!(l.mtu, Some(1400));
        assert_eq!(l.hostname.as_deref(), Some("box1"));
        assert_eq!(l.server_id, Ipv4Addr::new(192, 168, 1, 1));
        assert_eq!((l.lease_time, l.t1, l.t2), (3600, 1800, 3150));
        assert_eq!(l.acquired_at, Instant::from_secs(100));
        assert_eq!(l.renew_at(), Some(Instant::from_secs(1900)));
        assert_eq!(l.rebind_at(), Some(Instant::from_secs(3250)));
        assert_eq!(l.expires_at(), Some(Instant::from_secs(3700)));
        assert!(!l.is_expired(Instant::from_secs(3699)));
        assert!(l.is_expired(Instant::from_secs(3700)));
        assert_eq!(
            l.routes(),
            [Route::new(
                Ipv4Addr::UNSPECIFIED,
                0,
                Ipv4Addr::new(192, 168, 1, 1)
            )]
        );
    }

    #[test]
    fn timers_from_options_and_defaults() {
        assert_eq!(timers(1000, Some(300), Some(600)), (300, 600));
        assert_eq!(timers(1000, None, None), (500, 875));
        // T2 past the lease and T1 past T2 are replaced by the defaults.
        assert_eq!(timers(1000, Some(900), Some(2000)), (500, 875));
        assert_eq!(timers(1000, Some(0), Some(0)), (500, 875));
        // A T2 before the default T1: T1 moves before it.
        assert_eq!(timers(3600, None, Some(900)), (514, 900));
        assert_eq!(timers(3600, Some(62552), Some(900)), (514, 900));
        assert_eq!(timers(1000, Some(700), Some(300)), (171, 300));
        assert_eq!(timers(1000, None, Some(1)), (0, 1));
        assert_eq!(timers(INFINITE, Some(5), Some(6)), (INFINITE, INFINITE));
        // No overflow at the top of the range.
        assert_eq!(timers(INFINITE - 1, None, None).1, 3_758_096_382);
    }

    #[test]
    fn no_lease_time_means_infinite_and_short_leases_are_raised() {
        let l = Lease::from_reply(&ack(vec![]), Instant::ZERO).unwrap();
        assert!(l.is_infinite());
        assert_eq!(l.renew_at(), None);
        assert_eq!(l.expires_at(), None);
        assert!(!l.is_expired(Instant::from_secs(u32::MAX.into())));
        let l =
            Lease::from_reply(&ack(vec![DhcpOption::AddressLeaseTime(5)]), Instant::ZERO).unwrap();
        assert_eq!(l.lease_time, MIN_LEASE_SECS);
    }

    #[test]
    fn classful_prefix_and_computed_broadcast_without_mask() {
        let l = Lease::from_reply(&ack(vec![]), Instant::ZERO).unwrap();
        assert_eq!(l.prefix_len, 24);
        assert_eq!(l.broadcast, Ipv4Addr::new(192, 168, 1, 255));
        assert_eq!(classful_prefix(Ipv4Addr::new(10, 1, 2, 3)), 8);
        assert_eq!(classful_prefix(Ipv4Addr::new(172, 16, 0, 1)), 16);
        assert_eq!(classful_prefix(Ipv4Addr::new(240, 0, 0, 1)), 32);
        // A non-contiguous mask is ignored too.
        let m = ack(vec![DhcpOption::SubnetMask(Ipv4Addr::new(255, 0, 255, 0))]);
        assert_eq!(Lease::from_reply(&m, Instant::ZERO).unwrap().prefix_len, 24);
        // An explicit broadcast option wins.
        let m = ack(vec![
            DhcpOption::SubnetMask(Ipv4Addr::new(255, 255, 0, 0)),
            DhcpOption::BroadcastAddr(Ipv4Addr::new(192, 168, 1, 127)),
        ]);
        let l = Lease::from_reply(&m, Instant::ZERO).unwrap();
        assert_eq!(l.prefix_len, 16);
        assert_eq!(l.broadcast, Ipv4Addr::new(192, 168, 1, 127));
    }

    #[test]
    fn prefix_from_mask_cases() {
        assert_eq!(prefix_from_mask(Ipv4Addr::new(0, 0, 0, 0)), Some(0));
        assert_eq!(
            prefix_from_mask(Ipv4Addr::new(255, 255, 255, 255)),
            Some(32)
        );
        assert_eq!(prefix_from_mask(Ipv4Addr::new(255, 255, 240, 0)), Some(20));
        assert_eq!(prefix_from_mask(Ipv4Addr::new(255, 255, 0, 255)), None);
    }

    #[test]
    fn classless_routes_override_routers() {
        let m = ack(vec![
            DhcpOption::Router(vec![Ipv4Addr::new(192, 168, 1, 1)]),
            DhcpOption::ClasslessStaticRoute(vec![
                ("10.0.0.0/8".parse().unwrap(), Ipv4Addr::new(192, 168, 1, 9)),
                (
                    "0.0.0.0/0".parse().unwrap(),
                    Ipv4Addr::new(192, 168, 1, 254),
                ),
            ]),
        ]);
        let l = Lease::from_reply(&m, Instant::ZERO).unwrap();
        assert_eq!(l.routers, [Ipv4Addr::new(192, 168, 1, 1)]);
        assert_eq!(
            l.routes(),
            [
                Route::new(Ipv4Addr::new(10, 0, 0, 0), 8, Ipv4Addr::new(192, 168, 1, 9)),
                Route::new(Ipv4Addr::UNSPECIFIED, 0, Ipv4Addr::new(192, 168, 1, 254)),
            ]
        );
    }

    #[test]
    fn route_new_clears_host_bits() {
        let r = Route::new(Ipv4Addr::new(10, 1, 2, 3), 16, Ipv4Addr::new(10, 0, 0, 1));
        assert_eq!(r.destination, Ipv4Addr::new(10, 1, 0, 0));
        let r = Route::new(Ipv4Addr::new(10, 1, 2, 3), 40, Ipv4Addr::new(10, 0, 0, 1));
        assert_eq!(r.prefix_len, 32);
        assert_eq!(r.destination, Ipv4Addr::new(10, 1, 2, 3));
    }

    #[test]
    fn bad_values_are_dropped() {
        let m = ack(vec![
            DhcpOption::InterfaceMtu(300),
            DhcpOption::DomainName("evil.com\nnameserver 6.6.6.6".into()),
            DhcpOption::Hostname("bad host".into()),
            DhcpOption::DomainNameServer(vec![Ipv4Addr::UNSPECIFIED, Ipv4Addr::new(1, 1, 1, 1)]),
        ]);
        let l = Lease::from_reply(&m, Instant::ZERO).unwrap();
        assert_eq!(l.mtu, None);
        assert_eq!(l.domain_name, None);
        assert_eq!(l.hostname, None);
        assert_eq!(l.dns_servers, [Ipv4Addr::new(1, 1, 1, 1)]);
        assert_eq!(clean_domain("a..b"), None);
        assert_eq!(clean_domain("example.com."), Some("example.com".into()));
        assert_eq!(clean_domain(&"a".repeat(64)), None);
        assert_eq!(clean_domain("a b"), None);
        assert_eq!(clean_domain(""), None);
    }

    #[test]
    fn reply_without_address_or_server_is_refused() {
        let mut m = ack(vec![]);
        m.set_yiaddr(Ipv4Addr::UNSPECIFIED);
        assert!(matches!(
            Lease::from_reply(&m, Instant::ZERO),
            Err(LeaseError::NoAddress)
        ));
        let mut m = ack(vec![]);
        m.opts_mut().remove(OptionCode::ServerIdentifier);
        assert!(matches!(
            Lease::from_reply(&m, Instant::ZERO),
            Err(LeaseError::NoServerId)
        ));
    }

    #[test]
    fn resolv_conf_text() {
        let l = full_lease();
        assert_eq!(
            l.resolv_conf("eth0"),
            "# Generated by dhcpcd from eth0\n\
             domain example.com\n\
             search example.com corp.example.com\n\
             nameserver 192.168.1.2\n\
             nameserver 192.168.1.3\n"
        );
        let mut l = full_lease();
        l.domain_search.clear();
        assert!(l.resolv_conf("eth0").contains("search example.com\n"));
        l.domain_name = None;
        l.dns_servers.clear();
        assert_eq!(l.resolv_conf("eth1"), "# Generated by dhcpcd from eth1\n");
    }

    #[test]
    fn persist_round_trip_takes_off_elapsed_time() {
        let l = full_lease(); // acquired at t=100 s
                              // Saved at t=400 s, when the wall clock read 1_000_300.
        let text = l.to_json(Instant::from_secs(400), 1_000_300);
        assert!(text.contains("\"format\": 1"));
        assert!(text.contains("\"acquired_unix\": 1000000"));
        assert!(text.contains("\"address\": \"192.168.1.50\""));
        // Loaded 1000 s after the grant, at monotonic t=5.
        let back = Lease::from_json(&text, Instant::from_secs(5), 1_001_000).unwrap();
        assert_eq!(back.acquired_at, Instant::from_secs(5));
        assert_eq!((back.lease_time, back.t1, back.t2), (2600, 800, 2150));
        let same = Lease {
            lease_time: l.lease_time,
            t1: l.t1,
            t2: l.t2,
            acquired_at: l.acquired_at,
            ..back
        };
        assert_eq!(same, l);
    }

    #[test]
    fn persisted_lease_expiry_and_errors() {
        let l = full_lease();
        let text = l.to_json(Instant::from_secs(100), 1_000_000);
        assert!(matches!(
            Lease::from_json(&text, Instant::ZERO, 1_003_600),
            Err(LeaseError::Expired)
        ));
        // A clock that went backwards does not expire it.
        let back = Lease::from_json(&text, Instant::ZERO, 10).unwrap();
        assert_eq!(back.lease_time, 3600);
        // Past T1 but not expired: renew at once.
        let back = Lease::from_json(&text, Instant::ZERO, 1_002_000).unwrap();
        assert_eq!((back.t1, back.t2), (0, 1150));
        assert!(matches!(
            Lease::from_json("{", Instant::ZERO, 0),
            Err(LeaseError::Json(_))
        ));
        let v2 = text.replace("\"format\": 1", "\"format\": 2");
        assert!(matches!(
            Lease::from_json(&v2, Instant::ZERO, 0),
            Err(LeaseError::Format(2))
        ));
    }

    #[test]
    fn infinite_lease_persists_unchanged() {
        let l = Lease::from_reply(&ack(vec![]), Instant::ZERO).unwrap();
        let text = l.to_json(Instant::from_secs(10), 50);
        let back = Lease::from_json(&text, Instant::from_secs(1), 1_000_000_000).unwrap();
        assert!(back.is_infinite());
        assert_eq!(back.acquired_at, Instant::from_secs(1));
    }
}
