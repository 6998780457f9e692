//! The checks for bytes from the link that are not DHCPv4: IPv6 router
//! advertisements (`ra::parse`), DHCPv6 messages (`dhcp6::information_reply`
//! and the client `dhcp6::Dhcp6` in each of its states) and ARP frames (the probe, the defence and IPv4LL), shared by the fuzz
//! targets `ra`, `dhcp6` and `arp` (by path) and by `tests/hostile.rs`,
//! which runs them on stable.

#![allow(dead_code)]

use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::OnceLock;
use std::time::Duration;

use dhcpcd::arp::{Defence, Guard, Probe};
use dhcpcd::dhcp6::{self, Dhcp6, Dhcp6Action, Dhcp6Config, Duid, Mode};
use dhcpcd::frame::Arp;
use dhcpcd::ipv4ll::{LinkLocal, LinkLocalStep};
use dhcpcd::ra::{self, RaError};
use dhcpcd::Instant;
use dhcproto::{v6, Decodable, Decoder};

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

/// `bytes` as a DHCPv6 message to our Information-request 7, and to a
/// client in each state of [`dhcp6_stages`]: as they come, and with the
/// type and transaction id of what that state awaits forced, so mutations
/// reach the options. No panic; what is taken is ours; and a message that
/// fails `dhcp6::check_message` (or comes while no exchange runs) changes
/// nothing and gives at most a log line.
pub fn check_dhcp6(bytes: &[u8]) {
    let duid = Duid::LinkLayer { mac: MAC };
    for b in [bytes, &aim(bytes, 7, 7)[..]] {
        if let Ok(c) = dhcp6::information_reply(b, 7, &duid) {
            assert!(b.len() >= 4 && b[0] == 7 && b[1..4] == [0, 0, 7]);
            assert!(!c.server_id.is_empty());
            assert!(c.refresh >= dhcp6::IRT_MINIMUM);
            assert!(c.dns_servers.len() * 16 <= b.len());
        }
    }
    for s in dhcp6_stages() {
        for b in [bytes, &aim(bytes, s.awaits, s.xid)[..]] {
            check_dhcp6_stage(s, b);
        }
    }
}

/// `bytes` with message type `ty` and transaction id `xid`.
pub fn aim(bytes: &[u8], ty: u8, xid: u32) -> Vec<u8> {
    let mut aimed = bytes.to_vec();
    if aimed.len() >= 4 {
        aimed[0] = ty;
        aimed[1..4].copy_from_slice(&xid.to_be_bytes()[1..]);
    }
    aimed
}

fn check_dhcp6_stage(s: &Dhcp6Stage, b: &[u8]) {
    let duid = Duid::LinkLayer { mac: MAC };
    let mut c = s.client.clone();
    let before = format!("{c:?}");
    let out = c.handle_message(s.now, b);
    let awaited = v6::MessageType::from(s.awaits);
    let passes = dhcp6::check_message(b, awaited, s.xid, &duid).is_ok();
    if !passes || s.name == "bound" || s.name == "informed" {
        assert!(
            out.len() <= 1 && out.iter().all(|a| matches!(a, Dhcp6Action::Log { .. })),
            "{}: {out:?}",
            s.name
        );
        assert_eq!(format!("{c:?}"), before, "{}", s.name);
        assert_eq!(c.addresses(), s.client.addresses());
        assert_eq!(c.next_timeout(), s.client.next_timeout());
    }
    let held = c.addresses();
    assert!(held.len() <= dhcp6::ia::MAX_ADDRESSES, "{held:?}");
    for a in &out {
        match a {
            Dhcp6Action::AddAddress {
                address,
                valid,
                preferred,
            } => {
                assert!(held.contains(address), "{}: {a:?}", s.name);
                assert!(!address.is_multicast() && !address.is_loopback());
                let ordered = match (preferred, valid) {
                    (_, None) => true,
                    (None, Some(_)) => false,
                    (Some(p), Some(v)) => p <= v && !v.is_zero(),
                };
                assert!(ordered, "{}: {a:?}", s.name);
            }
            Dhcp6Action::Bound { address } => assert!(held.contains(address)),
            // What we send is well formed, and one of a client's messages.
            Dhcp6Action::Send(m) => {
                assert!([1, 3, 5, 6, 8, 9, 11].contains(&m[0]), "{}: {m:?}", s.name);
                let sent = v6::Message::decode(&mut Decoder::new(m)).expect("it decodes");
                let ours = v6::DhcpOption::ClientId(duid.to_bytes());
                assert_eq!(sent.opts().get(v6::OptionCode::ClientId), Some(&ours));
            }
            _ => {}
        }
    }
}

/// A DHCPv6 client in one of its states, and what it awaits there.
pub struct Dhcp6Stage {
    pub name: &'static str,
    pub client: Dhcp6,
    pub now: Instant,
    pub xid: u32,
    /// The message type this state takes (Bound and Informed take none:
    /// 7 is what they would take if they did).
    pub awaits: u8,
}

/// Our IA_NA's identifier in the stages and the seeds.
pub const IAID: u32 = 1;

/// Soliciting, requesting, bound,
/// renewing, rebinding, declining, informing and informed; made once.
pub fn dhcp6_stages() -> &'static [Dhcp6Stage] {
    static STAGES: OnceLock<Vec<Dhcp6Stage>> = OnceLock::new();
    STAGES.get_or_init(|| {
        let mut stages = Vec::new();
        let mut push = |name, client: &Dhcp6, now, xid, awaits| {
            stages.push(Dhcp6Stage {
                name,
                client: client.clone(),
                now,
                xid,
                awaits,
            })
        };
        let cfg = Dhcp6Config {
            duid: Duid::LinkLayer { mac: MAC },
            iaid: IAID,
            initial_delay: true,
        };
        let mut d = Dhcp6::new(cfg.clone(), 3);
        d.start(Instant::ZERO, Mode::Managed);
        let (now, xid) = first_send(&mut d);
        push("soliciting", &d, now, xid, 2);
        let xid = first_xid(&d.handle_message(now, &advertise(xid))).expect("a Request");
        push("requesting", &d, now, xid, 7);
        let out = d.handle_message(now, &ia_reply(xid));
        assert!(out
            .iter()
            .any(|a| matches!(a, Dhcp6Action::AddAddress { .. })));
        push("bound", &d, now, 0, 7);
        let mut declining = d.clone();
        let t = now + Duration::from_secs(1000);
        let xid = first_xid(&d.handle_timeout(t)).expect("a Renew");
        push("renewing", &d, t, xid, 7);
        let t = now + Duration::from_secs(1700);
        let xid = first_xid(&d.handle_timeout(t)).expect("a Rebind");
        push("rebinding", &d, t, xid, 7);
        let out = declining.dad_result(now, d.addresses()[0], true);
        let xid = first_xid(&out).expect("a Decline");
        push("declining", &declining, now, xid, 7);

        let mut d = Dhcp6::new(cfg, 4);
        d.start(Instant::ZERO, Mode::Stateless);
        let (now, xid) = first_send(&mut d);
        push("informing", &d, now, xid, 7);
        d.handle_message(now, &aim(&information_reply(), 7, xid));
        assert!(d.next_timeout() > Some(now + Duration::from_secs(600)));
        push("informed", &d, now, 0, 7);
        stages
    })
}

/// The transaction id of the first message among `out`.
fn first_xid(out: &[Dhcp6Action]) -> Option<u32> {
    out.iter().find_map(|a| match a {
        Dhcp6Action::Send(m) => Some(u32::from_be_bytes([0, m[1], m[2], m[3]])),
        _ => None,
    })
}

/// Runs `d`'s timers until it sends: when, and the transaction id.
fn first_send(d: &mut Dhcp6) -> (Instant, u32) {
    loop {
        let t = d.next_timeout().expect("a timer");
        if let Some(xid) = first_xid(&d.handle_timeout(t)) {
            return (t, xid);
        }
    }
}

/// Appends DHCPv6 option `code` with `data`.
fn option6(b: &mut Vec<u8>, code: u16, data: &[u8]) {
    b.extend_from_slice(&code.to_be_bytes());
    b.extend_from_slice(&(data.len() as u16).to_be_bytes());
    b.extend_from_slice(data);
}

/// An IA_NA for [`IAID`] with T1, T2 and 2001:db8::5, preferred for 3000 s
/// and valid for 4000 s.
fn ia_na(t1: u32, t2: u32) -> Vec<u8> {
    let mut ia = IAID.to_be_bytes().to_vec();
    ia.extend_from_slice(&t1.to_be_bytes());
    ia.extend_from_slice(&t2.to_be_bytes());
    let mut addr = "2001:db8::5".parse::<Ipv6Addr>().unwrap().octets().to_vec();
    addr.extend_from_slice(&3000u32.to_be_bytes());
    addr.extend_from_slice(&4000u32.to_be_bytes());
    option6(&mut ia, 5, &addr);
    ia
}

/// An Advertise to Solicit `xid` with preference 255 and an IA_NA, byte by
/// byte as dnsmasq sends one.
pub fn advertise(xid: u32) -> Vec<u8> {
    let mut b = aim(&[0; 4], 2, xid);
    option6(&mut b, 2, &[0, 3, 0, 1, 2, 0, 0, 0, 0, 0xaa]);
    option6(&mut b, 1, &Duid::LinkLayer { mac: MAC }.to_bytes());
    option6(&mut b, 7, &[255]);
    option6(&mut b, 3, &ia_na(0, 0));
    b
}

/// A Reply to Request `xid` with an IA_NA (T1 1000 s, T2 1600 s) and DNS.
pub fn ia_reply(xid: u32) -> Vec<u8> {
    let mut b = aim(&[0; 4], 7, xid);
    option6(&mut b, 2, &[0, 3, 0, 1, 2, 0, 0, 0, 0, 0xaa]);
    option6(&mut b, 1, &Duid::LinkLayer { mac: MAC }.to_bytes());
    option6(&mut b, 3, &ia_na(1000, 1600));
    option6(
        &mut b,
        23,
        &"2001:db8::53".parse::<Ipv6Addr>().unwrap().octets(),
    );
    b
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
