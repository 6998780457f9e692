//! Hostile packets through the receive path (framing checks and the state
//! machine), on stable: the fuzz target's seed corpus replayed, plus
//! generated malformed, truncated, wrong-xid, wrong-op and garbage
//! packets. The property is the fuzz target's (see `packets/mod.rs`).
//!
//! `cargo test -p dhcpcd --test hostile -- --ignored write_corpus`
//! rewrites `fuzz/corpus/packet/` from `packets::corpus()`, and the seeds of
//! `fuzz/corpus/ra/`, `fuzz/corpus/dhcp6/` and `fuzz/corpus/arp/`. Router advertisements and ARP
//! frames get the same treatment, with the checks of `neighbor/mod.rs`.

mod neighbor;
mod packets;

use std::fs;
use std::path::PathBuf;

use packets::{
    check_packet, feed, must_drop, snapshot, stages, Reply, Rng, Stage, ACK, DECLINE, DISCOVER,
    INFORM, MIN_LEN, NAK, OFFER, OTHER_SERVER, RELEASE, REQUEST,
};

fn corpus_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/packet")
}

/// Feeds `bytes` and asserts, independently of the oracle, that it was
/// dropped: same client, log lines only.
fn assert_dropped(s: &Stage, bytes: &[u8], what: &str) {
    assert!(
        must_drop(s, bytes).is_some(),
        "{}: the oracle takes {what}",
        s.name
    );
    let mut c = s.client.clone();
    let before = snapshot(&c);
    let actions = c.handle_packet(s.now, bytes);
    assert!(
        actions
            .iter()
            .all(|a| matches!(a, dhcpcd::Action::Log { .. })),
        "{}: {what}: {actions:?}",
        s.name
    );
    assert_eq!(snapshot(&c), before, "{}: {what}", s.name);
}

/// A reply the stage's client takes (or, for states that take none, the
/// one it would take in the nearest state).
fn good(s: &Stage, kind: u8) -> Reply {
    let mut r = Reply::new(s.client.xid(), kind);
    if s.name == "selecting-require-42" {
        r = r.set(42, &[10, 0, 0, 1]);
    }
    if s.name == "selecting-rapid-commit" && kind == ACK {
        r = r.set(80, &[]);
    }
    r
}

#[test]
fn corpus_replays_cleanly() {
    let mut n = 0;
    for entry in fs::read_dir(corpus_dir()).expect("fuzz/corpus/packet") {
        let path = entry.unwrap().path();
        let bytes = fs::read(&path).unwrap();
        check_packet(&bytes);
        n += 1;
    }
    assert!(n >= 10, "only {n} corpus files");
    // The corpus in the repository is the one `corpus()` builds.
    for (name, bytes) in packets::corpus() {
        let stored = fs::read(corpus_dir().join(name))
            .unwrap_or_else(|e| panic!("corpus file {name}: {e} (run write_corpus)"));
        assert_eq!(
            stored, bytes,
            "corpus file {name} is stale (run write_corpus)"
        );
    }
}

/// The valid replies move every state that takes them, so the drops below
/// are not vacuous.
#[test]
fn valid_replies_are_taken() {
    let mut taken = 0;
    for s in stages() {
        for &kind in s.takes {
            let bytes = good(s, kind).bytes();
            assert!(must_drop(s, &bytes).is_none(), "{}: {kind}", s.name);
            assert!(feed(s, &bytes), "{}: {kind}", s.name);
            taken += 1;
        }
    }
    assert!(taken >= 12, "{taken}");
}

#[test]
fn malformed_replies_change_nothing() {
    for s in stages() {
        let kinds: &[u8] = if s.takes.is_empty() {
            &[OFFER, ACK, NAK]
        } else {
            s.takes
        };
        for &kind in kinds {
            let r = good(s, kind);
            let full = r.bytes();
            let xid = s.client.xid();
            let mut bad: Vec<(String, Vec<u8>)> = Vec::new();

            for wrong in [xid.wrapping_add(1), xid ^ 0x8000_0000, 0, u32::MAX] {
                if wrong != xid {
                    let mut m = r.clone();
                    m.xid = wrong;
                    bad.push((format!("xid {wrong:#x}"), m.bytes()));
                }
            }
            for op in [0, 1, 3, 255] {
                let mut m = r.clone();
                m.op = op;
                bad.push((format!("op {op}"), m.bytes()));
            }
            let mut m = r.clone();
            m.chaddr[5] ^= 0xff;
            bad.push(("another MAC".into(), m.bytes()));
            for hlen in [0, 5, 7, 16, 17, 200, 255] {
                let mut m = r.clone();
                m.hlen = hlen;
                bad.push((format!("hlen {hlen}"), m.bytes()));
            }
            let mut m = r.clone();
            m.magic = [0, 0, 0, 0];
            bad.push(("no magic cookie".into(), m.bytes()));
            // Every cut before the message type and server id are complete.
            for len in 0..r.required_end() {
                bad.push((format!("truncated to {len}"), full[..len].to_vec()));
            }
            bad.push(("no message type".into(), r.clone().without(53).bytes()));
            bad.push(("no server id".into(), r.clone().without(54).bytes()));
            bad.push((
                "option 53 too long".into(),
                r.clone().set(53, &[kind, 0]).bytes(),
            ));
            bad.push(("option 53 empty".into(), r.clone().set(53, &[]).bytes()));
            bad.push((
                "option 54 short".into(),
                r.clone().set(54, &[10, 0, 0]).bytes(),
            ));
            for ty in [0, DISCOVER, REQUEST, DECLINE, RELEASE, INFORM, 9, 18, 200] {
                bad.push((
                    format!("message type {ty}"),
                    r.clone().set(53, &[ty]).bytes(),
                ));
            }
            if kind != NAK {
                let mut m = r.clone();
                m.yiaddr = std::net::Ipv4Addr::UNSPECIFIED;
                bad.push(("yiaddr 0.0.0.0".into(), m.bytes()));
            }
            if s.name == "requesting" {
                bad.push((
                    "another server".into(),
                    r.clone().set(54, &OTHER_SERVER.octets()).bytes(),
                ));
            }
            if s.name == "selecting-require-42" && kind != NAK {
                bad.push((
                    "required option missing".into(),
                    r.clone().without(42).bytes(),
                ));
            }
            if s.name == "selecting-rapid-commit" && kind == ACK {
                bad.push((
                    "ACK without option 80".into(),
                    r.clone().without(80).bytes(),
                ));
            }
            // Valid in form, but not what this state takes.
            for other in [OFFER, ACK, NAK] {
                if !s.takes.contains(&other) {
                    bad.push((format!("message type {other} here"), good(s, other).bytes()));
                }
            }

            for (what, bytes) in &bad {
                assert_dropped(s, bytes, &format!("{what} (from type {kind})"));
            }
        }
    }
}

#[test]
fn garbage_changes_nothing() {
    let mut rng = Rng(42);
    for s in stages() {
        for _ in 0..300 {
            let n = rng.below(700);
            let junk = rng.bytes(n);
            assert_dropped(s, &junk, &format!("{n} random bytes"));
        }
        // A good header and magic cookie, random options: aimed at the
        // client, so the option walk and decoders get the garbage.
        for _ in 0..300 {
            let mut p = good(s, OFFER).bytes();
            p.truncate(MIN_LEN);
            let n = rng.below(400);
            p.extend(rng.bytes(n));
            feed(s, &p);
        }
    }
}

#[test]
fn mutated_replies_keep_the_property() {
    // `check_packet` aims each packet at every state's client, so one base
    // per message type covers them all.
    let mut rng = Rng(7);
    for kind in [OFFER, ACK, NAK] {
        let base = Reply::new(0, kind)
            .set(80, &[])
            .set(42, &[10, 0, 0, 1])
            .bytes();
        for _ in 0..1000 {
            let mut p = base.clone();
            for _ in 0..1 + rng.below(6) {
                let j = rng.below(p.len());
                p[j] = rng.next() as u8;
            }
            if rng.below(3) == 0 {
                p.truncate(rng.below(p.len() + 1));
            }
            check_packet(&p);
        }
    }
}

/// Rewrites the seed corpus. Not run by default.
#[test]
#[ignore]
fn write_corpus() {
    let dir = corpus_dir();
    fs::create_dir_all(&dir).unwrap();
    for (name, bytes) in packets::corpus() {
        fs::write(dir.join(name), bytes).unwrap();
    }
    // The `ra` and `arp` targets start from one valid message each.
    let seeds = [
        ("ra", "radvd-full", neighbor::full_advertisement()),
        ("dhcp6", "dnsmasq-reply", neighbor::information_reply()),
        ("dhcp6", "dnsmasq-advertise", neighbor::advertise(7)),
        ("dhcp6", "dnsmasq-reply-ia-na", neighbor::ia_reply(7)),
        (
            "arp",
            "claim",
            dhcpcd::frame::Arp::announce([2, 0, 0, 0, 0, 2], neighbor::ADDR).to_frame(),
        ),
    ];
    for (target, name, bytes) in seeds {
        let dir = dir.parent().unwrap().join(target);
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join(name), bytes).unwrap();
    }
}

#[test]
fn hostile_router_advertisements() {
    let full = neighbor::full_advertisement();
    let parsed = dhcpcd::ra::parse(neighbor::ROUTER, 255, &full).unwrap();
    assert_eq!(
        (
            parsed.prefixes.len(),
            parsed.routes.len(),
            parsed.dns_servers.len()
        ),
        (1, 1, 1)
    );
    assert_eq!(parsed.search_domains.len(), 1);
    replay_corpus("ra", neighbor::check_ra);
    // Every truncation, every byte flipped, and garbage.
    for n in 0..full.len() {
        neighbor::check_ra(&full[..n]);
    }
    for i in 0..full.len() {
        for flip in [0x01, 0x80, 0xff] {
            let mut m = full.clone();
            m[i] ^= flip;
            neighbor::check_ra(&m);
        }
    }
    // Huge option lengths: the packet is dropped whole.
    let mut huge = full.clone();
    huge[17] = 0xff;
    assert!(dhcpcd::ra::parse(neighbor::ROUTER, 255, &huge).is_err());
    let mut rng = Rng(7);
    for _ in 0..2000 {
        let len = rng.below(200);
        neighbor::check_ra(&rng.bytes(len));
    }
}

#[test]
fn hostile_arp_frames() {
    replay_corpus("arp", neighbor::check_arp);
    let mut rng = Rng(9);
    let claim = dhcpcd::frame::Arp::announce([2, 0, 0, 0, 0, 2], neighbor::ADDR).to_frame();
    for n in 0..claim.len() {
        neighbor::check_arp(&claim[..n]);
    }
    for i in 0..claim.len() {
        let mut m = claim.clone();
        m[i] ^= 0xff;
        neighbor::check_arp(&m);
    }
    for _ in 0..2000 {
        let len = rng.below(80);
        neighbor::check_arp(&rng.bytes(len));
    }
}

/// Runs `check` on every file of the fuzz target `target`'s corpus.
fn replay_corpus(target: &str, check: fn(&[u8])) {
    let dir = corpus_dir().parent().unwrap().join(target);
    let mut n = 0;
    for entry in fs::read_dir(&dir).unwrap() {
        check(&fs::read(entry.unwrap().path()).unwrap());
        n += 1;
    }
    assert!(n > 0, "no seeds in {}", dir.display());
}

#[test]
fn hostile_dhcp6_replies() {
    replay_corpus("dhcp6", neighbor::check_dhcp6);
    let full = neighbor::information_reply();
    let duid = dhcpcd::dhcp6::Duid::LinkLayer { mac: neighbor::MAC };
    let taken = dhcpcd::dhcp6::information_reply(&full, 7, &duid).unwrap();
    assert_eq!(
        (
            taken.dns_servers.len(),
            taken.search_domains.len(),
            taken.ntp_servers.len()
        ),
        (1, 1, 1)
    );
    for n in 0..full.len() {
        neighbor::check_dhcp6(&full[..n]);
    }
    for i in 0..full.len() {
        for flip in [0x01, 0x80, 0xff] {
            let mut m = full.clone();
            m[i] ^= flip;
            neighbor::check_dhcp6(&m);
        }
    }
    let mut rng = Rng(11);
    for _ in 0..2000 {
        let len = rng.below(200);
        neighbor::check_dhcp6(&rng.bytes(len));
    }
}

/// The DHCPv6 client in each state takes the valid message it awaits (so
/// the drops `check_dhcp6` asserts are not vacuous); then the Advertise and
/// the Reply with an IA_NA cut, flipped and garbled reach every state.
#[test]
fn hostile_dhcp6_messages_at_every_state() {
    let stages = neighbor::dhcp6_stages();
    let names: Vec<&str> = stages.iter().map(|s| s.name).collect();
    assert_eq!(
        names,
        [
            "soliciting",
            "requesting",
            "bound",
            "renewing",
            "rebinding",
            "declining",
            "informing",
            "informed"
        ]
    );
    for s in stages {
        let good = match s.name {
            "soliciting" => neighbor::advertise(s.xid),
            "informing" | "informed" => neighbor::aim(&neighbor::information_reply(), 7, s.xid),
            _ => neighbor::ia_reply(s.xid),
        };
        let mut c = s.client.clone();
        let before = format!("{c:?}");
        let out = c.handle_message(s.now, &good);
        let idle = s.name == "bound" || s.name == "informed";
        assert_eq!(format!("{c:?}") == before, idle, "{}: {out:?}", s.name);
        neighbor::check_dhcp6(&good);
    }
    replay_corpus("dhcp6", neighbor::check_dhcp6);
    for full in [neighbor::advertise(7), neighbor::ia_reply(7)] {
        for n in 0..full.len() {
            neighbor::check_dhcp6(&full[..n]);
        }
        for i in 0..full.len() {
            for flip in [0x01, 0x80, 0xff] {
                let mut m = full.clone();
                m[i] ^= flip;
                neighbor::check_dhcp6(&m);
            }
        }
        // An option header of each kind dhcproto decodes by itself, with
        // a length too short for it, written anywhere (a Status Code under
        // two bytes made its decoder subtract past zero).
        for i in 4..full.len() {
            for code in [
                1, 2, 3, 4, 5, 6, 7, 8, 9, 11, 12, 13, 14, 16, 17, 19, 20, 23, 24, 25, 26, 56, 61,
            ] {
                for len in [0, 1, 3] {
                    let mut m = full.clone();
                    let end = (i + 4).min(m.len());
                    m[i..end].copy_from_slice(&[0, code, 0, len][..end - i]);
                    neighbor::check_dhcp6(&m);
                }
            }
        }
        // A huge length in each option header.
        let mut at = 4;
        while at + 4 <= full.len() {
            let mut m = full.clone();
            m[at + 2] = 0xff;
            m[at + 3] = 0xff;
            neighbor::check_dhcp6(&m);
            at += 4 + usize::from(u16::from_be_bytes([full[at + 2], full[at + 3]]));
        }
    }
    // Good headers and identifiers, random options after them.
    let mut rng = Rng(13);
    let head = &neighbor::ia_reply(7)[..4 + 14 + 14];
    for _ in 0..1000 {
        let mut m = head.to_vec();
        let n = rng.below(120);
        m.extend(rng.bytes(n));
        neighbor::check_dhcp6(&m);
    }
}
