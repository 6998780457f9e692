//! The checks for bytes from the link that are not DHCPv4: IPv6 router
//! advertisements (`ra::parse`), DHCPv6 Replies (`dhcp6::information_reply`)
//! and ARP frames (the probe, the defence and IPv4LL), shared by the fuzz
//! targets `ra`, `dhcp6` and `arp` (by path) and by `tests/hostile.rs`,
//! which runs them on stable.

#![allow(dead_code)]

use std::net::{Ipv4Addr, Ipv6Addr};

use dhcpcd::arp::{Defence, Guard, Probe};
use dhcpcd::dhcp6::{self, Duid};
use dhcpcd::frame::Arp;
use dhcpcd::ipv4ll::{LinkLocal, LinkLocalStep};
use dhcpcd::ra::{self, RaError};
use dhcpcd::Instant;

pub const ROUTER: Ipv6Addr = Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, 1);
pub const MAC: [u8; 6] = [2, 0, 0, 0, 0, 1];
pub const ADDR: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 9);

/// `bytes` as an ICMPv6 message, as it comes and with the type and code of
/// an advertisement forced, so mutations reach the options. No panic, and
/// what parses keeps its invariants.
pub fn check_ra(bytes: &[u8]) {
    let mut forced = bytes.to_vec();
    if forced.len() >= 2 {
        forced[0] = ra::ROUTER_ADVERTISEMENT;
        forced[1] = 0;
    }
    for b in [bytes, &forced[..]] {
        // The link-local source and hop limit 255 are checked before the bytes.
        assert!(matches!(
            ra::parse(ROUTER, 64, b),
            Err(RaError::HopLimit(64))
        ));
        let Ok(adv) = ra::parse(ROUTER, 255, b) else {
            continue;
        };
        assert!(b.len() >= 16 && b[0] == ra::ROUTER_ADVERTISEMENT);
        for p in &adv.prefixes {
            assert_eq!(ra::masked(p.prefix, p.prefix_len), p.prefix, "{p:?}");
        }
        for r in &adv.routes {
            assert!(r.prefix_len <= 128, "{r:?}");
            assert_eq!(ra::masked(r.prefix, r.prefix_len), r.prefix, "{r:?}");
        }
        for (name, _) in &adv.search_domains {
            assert!(!name.is_empty() && name.len() <= 253, "{name:?}");
            assert!(name.split('.').all(|l| !l.is_empty() && l.len() <= 63));
            assert_eq!(*name, name.to_ascii_lowercase());
        }
        // Every option is at least 8 bytes: no more entries than bytes allow.
        let entries = adv.prefixes.len() + adv.routes.len() + adv.search_domains.len();
        assert!(entries * 8 <= b.len(), "{adv:?}");
        assert!(adv.dns_servers.len() * 16 <= b.len(), "{adv:?}");
    }
}

/// `bytes` as a received ARP frame, at a prober, a guard and IPv4LL, as
/// they come and with the sender's address set to ours, so mutations reach
/// the conflict rules. No panic, and our own frames are never conflicts.
pub fn check_arp(bytes: &[u8]) {
    let mut aimed = bytes.to_vec();
    if aimed.len() >= 42 {
        aimed[28..32].copy_from_slice(&ADDR.octets());
    }
    for b in [bytes, &aimed[..]] {
        let now = Instant::from_secs(100);
        let ours = Arp::parse(b).is_some_and(|a| a.sender_mac == MAC);
        let probe = Probe::new(ADDR, MAC, Instant::ZERO, 1);
        let conflict = probe.is_conflict(b);
        assert!(!(ours && conflict), "our own frame is a conflict");

        let mut guard = Guard::new(ADDR, MAC);
        match guard.handle_frame(now, b) {
            Some(Defence::Defend { frame, .. }) => {
                assert!(!ours);
                let sent = Arp::parse(&frame).expect("we send what we parse");
                assert_eq!((sent.sender_mac, sent.sender_ip), (MAC, ADDR));
            }
            Some(Defence::GiveUp { .. }) => panic!("gave up without a defence first"),
            None => {}
        }

        let mut ll = LinkLocal::new(MAC);
        ll.start(Instant::ZERO);
        for step in ll.handle_arp(now, b) {
            if let LinkLocalStep::Send(f) = step {
                assert!(Arp::parse(&f).is_some_and(|a| a.sender_mac == MAC));
            }
        }
        assert!(ll.is_running());
    }
}

/// A valid advertisement with every option we read, as radvd sends one.
pub fn full_advertisement() -> Vec<u8> {
    let mut b = vec![ra::ROUTER_ADVERTISEMENT, 0, 0, 0, 64, 0x48, 0x07, 0x08];
    b.extend_from_slice(&[0; 8]);
    b.extend_from_slice(&[1, 1, 2, 0, 0, 0, 0, 0xaa]); // source link-layer address
    b.extend_from_slice(&[5, 1, 0, 0, 0, 0, 0x05, 0x78]); // MTU 1400
    b.extend_from_slice(&[3, 4, 64, 0xc0]); // prefix information
    b.extend_from_slice(&[0, 0, 0x1c, 0x20, 0, 0, 0x0e, 0x10, 0, 0, 0, 0]);
    b.extend_from_slice(&"2001:db8:1:2::".parse::<Ipv6Addr>().unwrap().octets());
    b.extend_from_slice(&[24, 2, 48, 0x08, 0, 0, 0x07, 0x08]); // route information
    b.extend_from_slice(&"2001:db8:1234::".parse::<Ipv6Addr>().unwrap().octets()[..8]);
    b.extend_from_slice(&[25, 3, 0, 0, 0, 0, 0x02, 0x58]); // RDNSS
    b.extend_from_slice(&"2001:db8::53".parse::<Ipv6Addr>().unwrap().octets());
    b.extend_from_slice(&[31, 3, 0, 0, 0, 0, 0x01, 0x2c]); // DNSSL
    b.extend_from_slice(b"\x07example\x04test\x00\0\0");
    b
}

/// `bytes` as a DHCPv6 message to our Information-request 7, as they come
/// and with the type set to Reply and the xid to ours, so mutations reach
/// the options. No panic, and what is taken is ours.
pub fn check_dhcp6(bytes: &[u8]) {
    let duid = Duid::LinkLayer { mac: MAC };
    let mut aimed = bytes.to_vec();
    if aimed.len() >= 4 {
        aimed[..4].copy_from_slice(&[7, 0, 0, 7]);
    }
    for b in [bytes, &aimed[..]] {
        if let Ok(c) = dhcp6::information_reply(b, 7, &duid) {
            assert!(b.len() >= 4 && b[0] == 7 && b[1..4] == [0, 0, 7]);
            assert!(!c.server_id.is_empty());
            assert!(c.refresh >= dhcp6::IRT_MINIMUM);
            assert!(c.dns_servers.len() * 16 <= b.len());
        }
    }
}

/// A Reply to Information-request 7 with DNS, search domains, NTP and a
/// refresh time, byte by byte as dnsmasq sends one.
pub fn information_reply() -> Vec<u8> {
    let mut b = vec![7, 0, 0, 7];
    let mut option = |code: u16, data: &[u8]| {
        b.extend_from_slice(&code.to_be_bytes());
        b.extend_from_slice(&(data.len() as u16).to_be_bytes());
        b.extend_from_slice(data);
    };
    option(2, &[0, 3, 0, 1, 2, 0, 0, 0, 0, 0xaa]); // server id
    option(1, &Duid::LinkLayer { mac: MAC }.to_bytes()); // client id
    option(23, &"2001:db8::53".parse::<Ipv6Addr>().unwrap().octets());
    option(24, b"\x07example\x04test\x00");
    let mut ntp = vec![0, 1, 0, 16];
    ntp.extend_from_slice(&"2001:db8::123".parse::<Ipv6Addr>().unwrap().octets());
    option(56, &ntp);
    option(32, &3600u32.to_be_bytes());
    b
}
