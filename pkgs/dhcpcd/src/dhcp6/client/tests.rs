//! The client against a server played by the tests, on the fake clock.

use std::net::Ipv6Addr;
use std::time::Duration;

use dhcproto::v6::{self, DhcpOption, MessageType};
use dhcproto::{Decodable, Decoder};

use super::*;
use crate::dhcp6::encode;

const MAC: [u8; 6] = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56];
const IAID: u32 = 0x0102_0304;
const A: &[u8] = &[0, 3, 0, 1, 2, 0, 0, 0, 0, 0xaa];
const B: &[u8] = &[0, 3, 0, 1, 2, 0, 0, 0, 0, 0xbb];
const C: &[u8] = &[0, 3, 0, 1, 2, 0, 0, 0, 0, 0xcc];

fn ip(s: &str) -> Ipv6Addr {
    s.parse().unwrap()
}

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn duid() -> Duid {
    Duid::LinkLayer { mac: MAC }
}

fn client() -> Dhcp6 {
    Dhcp6::new(
        Dhcp6Config {
            duid: duid(),
            iaid: IAID,
            initial_delay: true,
        },
        42,
    )
}

/// The messages among `actions`, decoded.
fn sent(actions: &[Dhcp6Action]) -> Vec<v6::Message> {
    actions
        .iter()
        .filter_map(|a| match a {
            Dhcp6Action::Send(b) => Some(v6::Message::decode(&mut Decoder::new(b)).unwrap()),
            _ => None,
        })
        .collect()
}

/// The one message among `actions`, of type `ty`.
fn one(actions: &[Dhcp6Action], ty: MessageType) -> v6::Message {
    let mut m = sent(actions);
    assert_eq!(m.len(), 1, "{actions:?}");
    let m = m.remove(0);
    assert_eq!(m.msg_type(), ty, "{actions:?}");
    m
}

fn adds(actions: &[Dhcp6Action]) -> Vec<(Ipv6Addr, Option<Duration>, Option<Duration>)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Dhcp6Action::AddAddress {
                address,
                valid,
                preferred,
            } => Some((*address, *valid, *preferred)),
            _ => None,
        })
        .collect()
}

fn removes(actions: &[Dhcp6Action]) -> Vec<Ipv6Addr> {
    actions
        .iter()
        .filter_map(|a| match a {
            Dhcp6Action::RemoveAddress(x) => Some(*x),
            _ => None,
        })
        .collect()
}

fn logs(actions: &[Dhcp6Action]) -> Vec<&str> {
    actions
        .iter()
        .filter_map(|a| match a {
            Dhcp6Action::Log { message, .. } => Some(message.as_str()),
            _ => None,
        })
        .collect()
}

/// Runs timeouts until the client sends something: when, and what.
fn next_send(d: &mut Dhcp6) -> (Instant, Vec<Dhcp6Action>) {
    for _ in 0..100 {
        let t = d.next_timeout().expect("a timer");
        let out = d.handle_timeout(t);
        if !sent(&out).is_empty() {
            return (t, out);
        }
    }
    panic!("nothing sent");
}

fn option(m: &v6::Message, code: v6::OptionCode) -> Option<&DhcpOption> {
    m.opts().get(code)
}

/// The addresses in the IA_NA of a client's message.
fn ia_addresses(m: &v6::Message) -> Vec<Ipv6Addr> {
    let Some(DhcpOption::IANA(ia)) = option(m, v6::OptionCode::IANA) else {
        panic!("no IA_NA in {m:?}")
    };
    assert_eq!(ia.id, IAID);
    ia.opts
        .iter()
        .filter_map(|o| match o {
            DhcpOption::IAAddr(a) => Some(a.addr),
            _ => None,
        })
        .collect()
}

fn addr(a: &str, preferred: u32, valid: u32) -> DhcpOption {
    DhcpOption::IAAddr(v6::IAAddr {
        addr: ip(a),
        preferred_life: preferred,
        valid_life: valid,
        opts: v6::DhcpOptions::new(),
    })
}

fn ia(t1: u32, t2: u32, opts: Vec<DhcpOption>) -> DhcpOption {
    DhcpOption::IANA(v6::IANA {
        id: IAID,
        t1,
        t2,
        opts: opts.into_iter().collect(),
    })
}

fn status(status: v6::Status) -> DhcpOption {
    DhcpOption::StatusCode(v6::StatusCode {
        status,
        msg: "no".into(),
    })
}

/// A server's answer of type `ty` to the client's message `to`.
fn answer(to: &v6::Message, ty: MessageType, server: &[u8], opts: Vec<DhcpOption>) -> Vec<u8> {
    let mut m = v6::Message::new(ty);
    m.set_xid_num(to.xid_num());
    let o = m.opts_mut();
    o.insert(DhcpOption::ServerId(server.to_vec()));
    if let Some(id) = option(to, v6::OptionCode::ClientId) {
        o.insert(id.clone());
    }
    for opt in opts {
        o.insert(opt);
    }
    encode(&m)
}

fn advertise(to: &v6::Message, server: &[u8], preference: u8, a: &str) -> Vec<u8> {
    answer(
        to,
        MessageType::Advertise,
        server,
        vec![
            DhcpOption::Preference(preference),
            ia(0, 0, vec![addr(a, 3000, 4000)]),
        ],
    )
}

/// A client that has sent its Request to A for 2001:db8::5.
fn requesting() -> (Dhcp6, v6::Message, Instant) {
    let mut d = client();
    d.start(Instant::ZERO, Mode::Managed);
    let (t0, out) = next_send(&mut d);
    let solicit = one(&out, MessageType::Solicit);
    let out = d.handle_message(t0, &advertise(&solicit, A, 255, "2001:db8::5"));
    (d, one(&out, MessageType::Request), t0)
}

/// A client bound to 2001:db8::5 from server A at the instant returned
/// (T1 1000, T2 1600, preferred 3000, valid 4000).
fn bound() -> (Dhcp6, Instant) {
    let (mut d, request, t0) = requesting();
    let t = t0 + secs(1);
    let reply = answer(
        &request,
        MessageType::Reply,
        A,
        vec![ia(1000, 1600, vec![addr("2001:db8::5", 3000, 4000)])],
    );
    let out = d.handle_message(t, &reply);
    assert_eq!(adds(&out).len(), 1, "{out:?}");
    (d, t)
}

#[test]
fn solicit_advertises_request_reply_binds_with_lifetimes() {
    let mut d = client();
    let out = d.start(Instant::ZERO, Mode::Managed);
    assert!(sent(&out).is_empty(), "a random delay first (18.2.1)");
    assert_eq!(logs(&out), ["event=dhcp6 state=soliciting"]);
    let (t0, out) = next_send(&mut d);
    assert!(t0 <= Instant::from_secs(1));
    let solicit = one(&out, MessageType::Solicit);
    assert!(solicit.xid_num() <= 0xff_ffff);
    assert!(option(&solicit, v6::OptionCode::ServerId).is_none());
    assert!(option(&solicit, v6::OptionCode::ORO).is_some());
    assert_eq!(
        option(&solicit, v6::OptionCode::ClientId),
        Some(&DhcpOption::ClientId(duid().to_bytes()))
    );
    assert!(ia_addresses(&solicit).is_empty());

    // The first usable Advertise is requested at once, as dhcpcd does.
    let t1 = t0 + Duration::from_millis(200);
    let out = d.handle_message(t1, &advertise(&solicit, B, 50, "2001:db8::b"));
    let request = one(&out, MessageType::Request);
    assert_ne!(request.xid_num(), solicit.xid_num(), "a new transaction");
    assert_eq!(
        option(&request, v6::OptionCode::ServerId),
        Some(&DhcpOption::ServerId(B.to_vec()))
    );
    assert_eq!(ia_addresses(&request), [ip("2001:db8::b")]);
    assert!(
        logs(&out)
            .iter()
            .any(|l| l
                .starts_with("event=dhcp6 state=requesting server=00:03:00:01:02:00:00:00:00:bb")),
        "{out:?}"
    );
    // Another server's late Advertise changes nothing.
    let before = format!("{d:?}");
    let late = d.handle_message(t1, &advertise(&solicit, A, 255, "2001:db8::a"));
    assert!(sent(&late).is_empty(), "{late:?}");
    assert_eq!(format!("{d:?}"), before);

    let t = t1 + secs(1) / 2;
    let reply = answer(
        &request,
        MessageType::Reply,
        B,
        vec![
            ia(1000, 1600, vec![addr("2001:db8::b", 3000, 4000)]),
            DhcpOption::DomainNameServers(vec![ip("2001:db8::53")]),
        ],
    );
    let out = d.handle_message(t, &reply);
    assert_eq!(
        adds(&out),
        [(ip("2001:db8::b"), Some(secs(4000)), Some(secs(3000)))]
    );
    assert!(out.contains(&Dhcp6Action::Bound {
        address: ip("2001:db8::b")
    }));
    assert!(out.contains(&Dhcp6Action::Config {
        dns_servers: vec![ip("2001:db8::53")],
        search_domains: vec![],
        ntp_servers: vec![],
    }));
    assert!(logs(&out).contains(
        &"event=dhcp6 state=bound address=2001:db8::b preferred=3000 valid=4000 t1=1000 t2=1600 server=00:03:00:01:02:00:00:00:00:bb"
    ));
    assert_eq!(d.addresses(), [ip("2001:db8::b")]);
    assert_eq!(d.next_timeout(), Some(t + secs(1000)), "T1");
    // Bound: a retransmitted Reply is for no exchange.
    let again = d.handle_message(t, &reply);
    assert!(adds(&again).is_empty() && logs(&again).len() == 1);
}

#[test]
fn without_the_initial_delay_the_first_message_goes_at_once() {
    let cfg = |initial_delay| Dhcp6Config {
        duid: duid(),
        iaid: IAID,
        initial_delay,
    };
    for mode in [Mode::Managed, Mode::Stateless] {
        let mut d = Dhcp6::new(cfg(false), 42);
        let t = Instant::from_secs(5);
        assert_eq!(sent(&d.start(t, mode)).len(), 1, "{mode:?}");
        // With the delay, the first send waits up to a second.
        let waited = (0..20u64).filter(|&seed| {
            let mut d = Dhcp6::new(cfg(true), seed);
            let out = d.start(t, mode);
            let next = d.next_timeout().unwrap();
            assert!(next <= t + secs(1));
            sent(&out).is_empty()
        });
        assert!(waited.count() > 0, "{mode:?}");
    }
}

#[test]
fn an_advertise_without_addresses_is_skipped() {
    let mut d = client();
    d.start(Instant::ZERO, Mode::Managed);
    let (t0, out) = next_send(&mut d);
    let solicit = one(&out, MessageType::Solicit);
    let none = answer(
        &solicit,
        MessageType::Advertise,
        A,
        vec![
            DhcpOption::Preference(255),
            status(v6::Status::NoAddrsAvail),
        ],
    );
    let before = format!("{d:?}");
    let out = d.handle_message(t0, &none);
    assert!(sent(&out).is_empty());
    assert_eq!(format!("{d:?}"), before);
    let in_ia = answer(
        &solicit,
        MessageType::Advertise,
        A,
        vec![ia(0, 0, vec![status(v6::Status::NoAddrsAvail)])],
    );
    assert!(sent(&d.handle_message(t0, &in_ia)).is_empty());
    // The first timeout: nothing collected, so Solicit again.
    let out = d.handle_timeout(d.next_timeout().unwrap());
    one(&out, MessageType::Solicit);
}

#[test]
fn renews_at_t1_with_the_server_id_and_rebinds_at_t2_without() {
    let (mut d, t) = bound();
    let out = d.handle_timeout(t + secs(999));
    assert!(out.is_empty(), "early: {out:?}");
    let out = d.handle_timeout(t + secs(1000));
    assert_eq!(
        logs(&out)[0],
        "event=dhcp6 state=renewing address=2001:db8::5"
    );
    let renew = one(&out, MessageType::Renew);
    assert_eq!(
        option(&renew, v6::OptionCode::ServerId),
        Some(&DhcpOption::ServerId(A.to_vec()))
    );
    assert_eq!(ia_addresses(&renew), [ip("2001:db8::5")]);
    // Renews go on, REN_TIMEOUT apart at first, up to T2.
    let (at, out) = next_send(&mut d);
    assert!(at >= t + secs(1009) && at <= t + secs(1011), "{at:?}");
    one(&out, MessageType::Renew);
    let mut last;
    loop {
        let (at, out) = next_send(&mut d);
        last = (at, sent(&out).remove(0));
        if last.1.msg_type() != MessageType::Renew {
            break;
        }
        assert!(at < t + secs(1600));
    }
    let (at, rebind) = last;
    assert_eq!(at, t + secs(1600), "T2");
    assert_eq!(rebind.msg_type(), MessageType::Rebind);
    assert!(option(&rebind, v6::OptionCode::ServerId).is_none());
    assert_eq!(ia_addresses(&rebind), [ip("2001:db8::5")]);

    // Server C answers the Rebind: new lifetimes, new server, no new address.
    let reply = answer(
        &rebind,
        MessageType::Reply,
        C,
        vec![ia(500, 800, vec![addr("2001:db8::5", 1000, 2000)])],
    );
    let now = at + secs(3);
    let out = d.handle_message(now, &reply);
    assert_eq!(
        adds(&out),
        [(ip("2001:db8::5"), Some(secs(2000)), Some(secs(1000)))]
    );
    assert!(!out.iter().any(|a| matches!(a, Dhcp6Action::Bound { .. })));
    assert_eq!(d.next_timeout(), Some(now + secs(500)));
    let out = d.handle_timeout(now + secs(500));
    let renew = one(&out, MessageType::Renew);
    assert_eq!(
        option(&renew, v6::OptionCode::ServerId),
        Some(&DhcpOption::ServerId(C.to_vec()))
    );
}

#[test]
fn expiry_removes_the_address_and_solicits_again() {
    let (mut d, t) = bound();
    let mut removed_at = None;
    while removed_at.is_none() {
        let at = d.next_timeout().unwrap();
        assert!(at <= t + secs(4000));
        let out = d.handle_timeout(at);
        if !removes(&out).is_empty() {
            assert_eq!(removes(&out), [ip("2001:db8::5")]);
            assert!(logs(&out).contains(&"event=dhcp6 state=expired address=2001:db8::5"));
            assert!(logs(&out).contains(&"event=dhcp6 state=soliciting"));
            removed_at = Some(at);
        }
    }
    assert_eq!(removed_at, Some(t + secs(4000)));
    assert!(d.addresses().is_empty());
    let (at, out) = next_send(&mut d);
    assert!(at <= t + secs(4001));
    one(&out, MessageType::Solicit);
}

#[test]
fn zero_t1_and_t2_come_at_half_and_four_fifths_of_the_preferred_lifetime() {
    let mut d = client();
    d.start(Instant::ZERO, Mode::Managed);
    let (t0, out) = next_send(&mut d);
    let solicit = one(&out, MessageType::Solicit);
    let out = d.handle_message(t0, &advertise(&solicit, A, 255, "2001:db8::5"));
    let request = one(&out, MessageType::Request);
    let reply = answer(
        &request,
        MessageType::Reply,
        A,
        vec![ia(0, 0, vec![addr("2001:db8::5", 1000, 2000)])],
    );
    d.handle_message(t0, &reply);
    assert_eq!(d.next_timeout(), Some(t0 + secs(500)));
    let out = d.handle_timeout(t0 + secs(500));
    one(&out, MessageType::Renew);
    let mut rebind_at = None;
    while rebind_at.is_none() {
        let (at, out) = next_send(&mut d);
        if sent(&out)[0].msg_type() == MessageType::Rebind {
            rebind_at = Some(at);
        }
    }
    assert_eq!(rebind_at, Some(t0 + secs(800)));
}

#[test]
fn no_addrs_avail_to_a_request_solicits_again_later() {
    let (mut d, request, t) = requesting();
    let reply = answer(
        &request,
        MessageType::Reply,
        A,
        vec![ia(0, 0, vec![status(v6::Status::NoAddrsAvail)])],
    );
    let out = d.handle_message(t, &reply);
    assert!(adds(&out).is_empty() && sent(&out).is_empty(), "{out:?}");
    assert!(logs(&out)[0].starts_with("event=dhcp6 action=solicit reason=\"status NoAddrsAvail"));
    assert!(d.addresses().is_empty());
    let (at, out) = next_send(&mut d);
    assert!(at >= t + RETRY_AFTER, "{at:?}");
    one(&out, MessageType::Solicit);
}

#[test]
fn a_request_unanswered_ten_times_solicits_again() {
    let (mut d, _, _) = requesting();
    let mut requests = 1;
    loop {
        let (_, out) = next_send(&mut d);
        match sent(&out)[0].msg_type() {
            MessageType::Request => requests += 1,
            MessageType::Solicit => break,
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(requests, 10);
}

#[test]
fn no_binding_to_a_renew_requests_the_addresses_back() {
    let (mut d, t) = bound();
    let out = d.handle_timeout(t + secs(1000));
    let renew = one(&out, MessageType::Renew);
    let reply = answer(
        &renew,
        MessageType::Reply,
        A,
        vec![ia(0, 0, vec![status(v6::Status::NoBinding)])],
    );
    let out = d.handle_message(t + secs(1001), &reply);
    let request = one(&out, MessageType::Request);
    assert_eq!(
        option(&request, v6::OptionCode::ServerId),
        Some(&DhcpOption::ServerId(A.to_vec()))
    );
    assert_eq!(ia_addresses(&request), [ip("2001:db8::5")]);
    assert_eq!(d.addresses(), [ip("2001:db8::5")], "kept meanwhile");
    let reply = answer(
        &request,
        MessageType::Reply,
        A,
        vec![ia(1000, 1600, vec![addr("2001:db8::5", 3000, 4000)])],
    );
    let out = d.handle_message(t + secs(1002), &reply);
    assert_eq!(adds(&out).len(), 1);
    assert_eq!(d.next_timeout(), Some(t + secs(2002)));
}

#[test]
fn a_renew_reply_without_an_address_removes_it() {
    let (mut d, t) = bound();
    let out = d.handle_timeout(t + secs(1000));
    let renew = one(&out, MessageType::Renew);
    let reply = answer(
        &renew,
        MessageType::Reply,
        A,
        vec![ia(
            1000,
            1600,
            vec![addr("2001:db8::6", 3000, 4000), addr("2001:db8::5", 0, 0)],
        )],
    );
    let out = d.handle_message(t + secs(1001), &reply);
    assert_eq!(removes(&out), [ip("2001:db8::5")]);
    assert_eq!(adds(&out)[0].0, ip("2001:db8::6"));
    assert!(out.contains(&Dhcp6Action::Bound {
        address: ip("2001:db8::6")
    }));
    assert_eq!(d.addresses(), [ip("2001:db8::6")]);
}

#[test]
fn use_multicast_is_an_error_and_the_exchange_goes_on() {
    let (mut d, request, t) = requesting();
    let reply = answer(
        &request,
        MessageType::Reply,
        A,
        vec![
            status(v6::Status::UseMulticast),
            ia(0, 0, vec![addr("2001:db8::5", 30, 40)]),
        ],
    );
    let next = d.next_timeout();
    let out = d.handle_message(t, &reply);
    assert_eq!(out.len(), 1);
    assert!(logs(&out)[0].contains("UseMulticast"), "{out:?}");
    assert!(d.addresses().is_empty());
    assert_eq!(d.next_timeout(), next);
    let (_, out) = next_send(&mut d);
    one(&out, MessageType::Request);
}

#[test]
fn messages_not_for_us_change_nothing() {
    let (d, request, t) = requesting();
    let good = answer(
        &request,
        MessageType::Reply,
        A,
        vec![ia(0, 0, vec![addr("2001:db8::5", 30, 40)])],
    );
    assert_eq!(adds(&d.clone().handle_message(t, &good)).len(), 1);
    let mut bad: Vec<(&str, Vec<u8>)> = Vec::new();
    let mut wrong = good.clone();
    wrong[3] ^= 1;
    bad.push(("wrong xid", wrong));
    let mut o = v6::Message::new(MessageType::Reply);
    o.set_xid_num(request.xid_num());
    o.opts_mut().insert(DhcpOption::ServerId(A.to_vec()));
    o.opts_mut()
        .insert(DhcpOption::ClientId(vec![0, 3, 0, 1, 9, 9, 9, 9, 9, 9]));
    o.opts_mut()
        .insert(ia(0, 0, vec![addr("2001:db8::5", 30, 40)]));
    bad.push(("other client", encode(&o)));
    for n in [0, 1, 3, 4, 10, good.len() - 1] {
        bad.push(("truncated", good[..n].to_vec()));
    }
    let mut huge = good.clone();
    huge[6] = 0xff; // the first option's length
    huge[7] = 0xff;
    bad.push(("huge option length", huge));
    let mut no_server = v6::Message::new(MessageType::Reply);
    no_server.set_xid_num(request.xid_num());
    no_server
        .opts_mut()
        .insert(DhcpOption::ClientId(duid().to_bytes()));
    no_server
        .opts_mut()
        .insert(ia(0, 0, vec![addr("2001:db8::5", 30, 40)]));
    bad.push(("no server id", encode(&no_server)));
    let mut adv = good.clone();
    adv[0] = 2;
    bad.push(("an Advertise", adv));
    let mut short_status = good.clone();
    short_status.extend_from_slice(&[0, 13, 0, 0, 0, 1, 0, 0]);
    bad.push(("empty status code", short_status));
    for (what, bytes) in bad {
        let mut c = d.clone();
        let before = format!("{c:?}");
        let out = c.handle_message(t, &bytes);
        assert_eq!(out.len(), 1, "{what}: {out:?}");
        assert!(
            logs(&out)[0].starts_with("event=dhcp6 action=drop"),
            "{what}"
        );
        assert_eq!(format!("{c:?}"), before, "{what}");
        assert_eq!(c.next_timeout(), d.next_timeout());
    }
}

#[test]
fn reconfigure_is_ignored() {
    let (d, t) = bound();
    let mut c = d.clone();
    let mut m = v6::Message::new(MessageType::Reconfigure);
    m.opts_mut().insert(DhcpOption::ServerId(A.to_vec()));
    m.opts_mut().insert(DhcpOption::ClientId(duid().to_bytes()));
    m.opts_mut()
        .insert(DhcpOption::ReconfMsg(MessageType::Renew));
    let out = c.handle_message(t + secs(10), &encode(&m));
    assert_eq!(
        out,
        [Dhcp6Action::Log {
            level: Level::Info,
            message: "event=dhcp6 action=ignore reason=\"reconfigure without authentication\""
                .into()
        }]
    );
    assert_eq!(format!("{c:?}"), format!("{d:?}"));
}

#[test]
fn a_duplicate_address_is_declined_then_solicited_again() {
    let (mut d, t) = bound();
    let now = t + secs(5);
    assert!(d.dad_result(now, ip("2001:db8::5"), false).is_empty());
    assert!(d.dad_result(now, ip("2001:db8::99"), true).is_empty());
    let out = d.dad_result(now, ip("2001:db8::5"), true);
    assert_eq!(removes(&out), [ip("2001:db8::5")]);
    assert!(d.addresses().is_empty());
    let decline = one(&out, MessageType::Decline);
    assert_eq!(
        option(&decline, v6::OptionCode::ServerId),
        Some(&DhcpOption::ServerId(A.to_vec()))
    );
    assert_eq!(ia_addresses(&decline), [ip("2001:db8::5")]);
    // Unanswered, it is sent four times (DEC_MAX_RC), then we Solicit.
    let mut c = d.clone();
    let mut declines = 1;
    loop {
        let (_, out) = next_send(&mut c);
        match sent(&out)[0].msg_type() {
            MessageType::Decline => declines += 1,
            MessageType::Solicit => break,
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(declines, 4);
    // Answered, we Solicit at once (after the random delay).
    let out = d.handle_message(now, &answer(&decline, MessageType::Reply, A, vec![]));
    assert_eq!(logs(&out), ["event=dhcp6 state=soliciting"]);
    let (at, out) = next_send(&mut d);
    assert!(at <= now + secs(1));
    one(&out, MessageType::Solicit);
}

#[test]
fn stop_releases_then_removes_and_clears_the_servers() {
    let mut d = client();
    d.start(Instant::ZERO, Mode::Managed);
    let (t0, out) = next_send(&mut d);
    let solicit = one(&out, MessageType::Solicit);
    let out = d.handle_message(t0, &advertise(&solicit, A, 255, "2001:db8::5"));
    let request = one(&out, MessageType::Request);
    let reply = answer(
        &request,
        MessageType::Reply,
        A,
        vec![
            ia(0, 0, vec![addr("2001:db8::5", 30, 40)]),
            DhcpOption::DomainNameServers(vec![ip("2001:db8::53")]),
        ],
    );
    d.handle_message(t0, &reply);
    let mut keep = d.clone();

    let out = d.stop(t0 + secs(1), true);
    assert!(logs(&out)[0].starts_with("event=dhcp6 action=release address=2001:db8::5 server="));
    let release = one(&out, MessageType::Release);
    assert_eq!(
        option(&release, v6::OptionCode::ServerId),
        Some(&DhcpOption::ServerId(A.to_vec()))
    );
    assert_eq!(ia_addresses(&release), [ip("2001:db8::5")]);
    assert!(matches!(&out[1], Dhcp6Action::Send(_)));
    assert_eq!(out[2], Dhcp6Action::RemoveAddress(ip("2001:db8::5")));
    assert_eq!(
        out[3],
        Dhcp6Action::Config {
            dns_servers: vec![],
            search_domains: vec![],
            ntp_servers: vec![]
        }
    );
    assert_eq!(out.len(), 4);
    assert!(d.addresses().is_empty());
    assert_eq!(d.next_timeout(), None);
    // Without release: no message; stopped twice: nothing.
    let out = keep.stop(t0, false);
    assert!(sent(&out).is_empty());
    assert_eq!(removes(&out), [ip("2001:db8::5")]);
    assert!(keep.stop(t0, true).is_empty());
}

#[test]
fn stateless_asks_again_after_the_refresh_time() {
    let mut d = client();
    let out = d.start(Instant::ZERO, Mode::Stateless);
    assert_eq!(logs(&out), ["event=dhcp6 state=informing"]);
    let (t0, out) = next_send(&mut d);
    let ask = one(&out, MessageType::InformationRequest);
    let reply = |to: &v6::Message, dns: &str| {
        answer(
            to,
            MessageType::Reply,
            A,
            vec![
                DhcpOption::DomainNameServers(vec![ip(dns)]),
                DhcpOption::InformationRefreshTime(3600),
            ],
        )
    };
    let out = d.handle_message(t0, &reply(&ask, "2001:db8::53"));
    assert_eq!(
        out.last(),
        Some(&Dhcp6Action::Config {
            dns_servers: vec![ip("2001:db8::53")],
            search_domains: vec![],
            ntp_servers: vec![]
        })
    );
    assert!(logs(&out)[0].starts_with("event=dhcp6 state=informed server=00:03"));
    assert!(d.addresses().is_empty());
    assert_eq!(d.next_timeout(), Some(t0 + secs(3600)));
    let out = d.handle_timeout(t0 + secs(3600));
    assert!(sent(&out).is_empty(), "a random delay again");
    let (t1, out) = next_send(&mut d);
    let again = one(&out, MessageType::InformationRequest);
    assert_ne!(again.xid_num(), ask.xid_num());
    // The same answer: no Config; another: one.
    let out = d.handle_message(t1, &reply(&again, "2001:db8::53"));
    assert!(!out.iter().any(|a| matches!(a, Dhcp6Action::Config { .. })));
    let (t2, out) = {
        d.handle_timeout(t1 + secs(3600));
        next_send(&mut d)
    };
    let third = one(&out, MessageType::InformationRequest);
    let out = d.handle_message(t2, &reply(&third, "2001:db8::54"));
    assert!(out.iter().any(|a| matches!(a, Dhcp6Action::Config { .. })));
}

#[test]
fn managed_upgrades_a_stateless_client_and_nothing_downgrades_it() {
    let mut d = client();
    d.start(Instant::ZERO, Mode::Stateless);
    let (t0, _) = next_send(&mut d);
    let before = format!("{d:?}");
    assert!(d.start(t0, Mode::Stateless).is_empty());
    assert_eq!(format!("{d:?}"), before, "same mode again: nothing");
    let out = d.start(t0, Mode::Managed);
    assert_eq!(logs(&out), ["event=dhcp6 state=soliciting"]);
    let (_, out) = next_send(&mut d);
    one(&out, MessageType::Solicit);
    let before = format!("{d:?}");
    assert!(d.start(t0, Mode::Stateless).is_empty());
    assert!(d.start(t0, Mode::Managed).is_empty());
    assert_eq!(format!("{d:?}"), before);
}

#[test]
fn transaction_ids_are_24_bits_and_new_per_exchange() {
    let mut seen = Vec::new();
    for seed in 0..20 {
        let mut d = Dhcp6::new(
            Dhcp6Config {
                duid: duid(),
                iaid: IAID,
                initial_delay: true,
            },
            seed,
        );
        d.start(Instant::ZERO, Mode::Managed);
        let (_, out) = next_send(&mut d);
        let solicit = one(&out, MessageType::Solicit);
        // Retransmissions keep the id.
        let (_, out) = next_send(&mut d);
        assert_eq!(one(&out, MessageType::Solicit).xid_num(), solicit.xid_num());
        seen.push(solicit.xid_num());
    }
    seen.sort_unstable();
    seen.dedup();
    assert!(seen.len() >= 19, "{seen:?}");
}

#[test]
fn woken_past_t2_it_rebinds_at_once() {
    let (mut d, t) = bound();
    let out = d.handle_timeout(t + secs(1700));
    assert_eq!(
        logs(&out)[0],
        "event=dhcp6 state=rebinding address=2001:db8::5"
    );
    let rebind = one(&out, MessageType::Rebind);
    assert!(option(&rebind, v6::OptionCode::ServerId).is_none());
}

#[test]
fn no_binding_to_a_rebind_requests_from_the_server_that_answered() {
    let (mut d, t) = bound();
    let out = d.handle_timeout(t + secs(1700));
    let rebind = one(&out, MessageType::Rebind);
    let reply = answer(
        &rebind,
        MessageType::Reply,
        C,
        vec![ia(0, 0, vec![status(v6::Status::NoBinding)])],
    );
    let out = d.handle_message(t + secs(1701), &reply);
    let request = one(&out, MessageType::Request);
    assert_eq!(
        option(&request, v6::OptionCode::ServerId),
        Some(&DhcpOption::ServerId(C.to_vec()))
    );
    assert_eq!(ia_addresses(&request), [ip("2001:db8::5")]);
}
