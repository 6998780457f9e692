//! State machine tests. The "server" side is built with dhcproto, and every
//! packet the client sends is decoded with dhcproto, as a server would.

use super::*;
use dhcproto::v4::Opcode;
use dhcproto::{Decodable, Decoder, Encodable, Encoder};

const MAC: [u8; 6] = [0x02, 0x42, 0xac, 0x11, 0x00, 0x02];
const SERVER: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const OTHER_SERVER: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
const ADDR: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 50);
const UNSPEC: Ipv4Addr = Ipv4Addr::UNSPECIFIED;

fn t(secs: u64) -> Instant {
    Instant::from_secs(secs)
}

fn ms(millis: u64) -> Instant {
    Instant::from_duration(Duration::from_millis(millis))
}

/// noarp (so no IPv4LL either), nodelay: the shortest path to a lease.
fn config() -> ClientConfig {
    let mut c = ClientConfig::new(MAC);
    c.initial_delay = false;
    c.arp = false;
    c.ipv4ll = false;
    c
}

/// Packets in `actions`, decoded as a server would.
fn sent(actions: &[Action]) -> Vec<(Message, Destination)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Send {
                packet,
                destination,
            } => Some((
                Message::decode(&mut Decoder::new(packet)).unwrap(),
                *destination,
            )),
            _ => None,
        })
        .collect()
}

fn one_sent(actions: &[Action]) -> (Message, Destination) {
    let mut v = sent(actions);
    assert_eq!(v.len(), 1, "expected one packet in {actions:#?}");
    v.remove(0)
}

/// Actions other than logs and sends.
fn effects(actions: &[Action]) -> Vec<Action> {
    actions
        .iter()
        .filter(|a| !matches!(a, Action::Log { .. } | Action::Send { .. }))
        .cloned()
        .collect()
}

fn ty(m: &Message) -> MessageType {
    m.opts().msg_type().unwrap()
}

fn opt(m: &Message, code: OptionCode) -> Option<&DhcpOption> {
    m.opts().get(code)
}

/// A server's reply to `req` offering ADDR for an hour, with `extra` options.
fn reply(req: &Message, kind: MessageType, extra: Vec<DhcpOption>) -> Message {
    let yiaddr = if kind == MessageType::Nak {
        UNSPEC
    } else {
        ADDR
    };
    let mut m = Message::new_with_id(req.xid(), UNSPEC, yiaddr, UNSPEC, UNSPEC, req.chaddr());
    m.set_opcode(Opcode::BootReply);
    let o = m.opts_mut();
    o.insert(DhcpOption::MessageType(kind));
    o.insert(DhcpOption::ServerIdentifier(SERVER));
    if kind != MessageType::Nak {
        o.insert(DhcpOption::AddressLeaseTime(3600));
        o.insert(DhcpOption::SubnetMask(Ipv4Addr::new(255, 255, 255, 0)));
        o.insert(DhcpOption::Router(vec![SERVER]));
        o.insert(DhcpOption::DomainNameServer(vec![SERVER]));
    }
    for x in extra {
        o.insert(x);
    }
    m
}

fn bytes(m: &Message) -> Vec<u8> {
    let mut v = Vec::new();
    m.encode(&mut Encoder::new(&mut v)).unwrap();
    v
}

fn reply_bytes(req: &Message, kind: MessageType) -> Vec<u8> {
    bytes(&reply(req, kind, vec![]))
}

/// Runs DISCOVER, OFFER, REQUEST, ACK; the ACK arrives at t=2 s.
fn bound_with(cfg: ClientConfig) -> Client {
    let mut c = Client::new(cfg, 1);
    let (discover, _) = one_sent(&c.start(t(0)));
    let (request, _) =
        one_sent(&c.handle_packet(t(1), &reply_bytes(&discover, MessageType::Offer)));
    let a = c.handle_packet(t(2), &reply_bytes(&request, MessageType::Ack));
    if c.state() == State::Probing {
        assert_eq!(effects(&a), [Action::ArpProbe(ADDR)]);
        c.arp_probe_clear(t(2));
    }
    assert_eq!(c.state(), State::Bound);
    c
}

fn bound() -> Client {
    bound_with(config())
}

/// A lease as it would be stored on disk for INIT-REBOOT.
fn remembered(acquired_at: Instant) -> Lease {
    let mut c = bound();
    let mut l = c.lease().unwrap().clone();
    l.acquired_at = acquired_at;
    let _ = c.stop(t(3));
    l
}

/// Everything observable about the client, to check that nothing changed.
fn snapshot(c: &Client) -> (State, u32, Option<Instant>, Option<Lease>, Option<Lease>) {
    (
        c.state(),
        c.xid(),
        c.next_timeout(),
        c.lease().cloned(),
        c.configured().cloned(),
    )
}

#[test]
fn full_exchange_discover_offer_request_ack() {
    let mut c = Client::new(config(), 1);
    assert_eq!(c.state(), State::Init);
    assert_eq!(c.next_timeout(), None);

    let (discover, dest) = one_sent(&c.start(t(0)));
    assert_eq!(dest, Destination::Broadcast);
    assert_eq!(c.state(), State::Selecting);
    assert_eq!(ty(&discover), MessageType::Discover);
    assert_eq!(discover.xid(), c.xid());
    assert_eq!(discover.opcode(), Opcode::BootRequest);
    assert_eq!(discover.chaddr(), &MAC);
    assert_eq!(discover.ciaddr(), UNSPEC);
    assert_eq!(discover.secs(), 0);
    assert!(opt(&discover, OptionCode::RapidCommit).is_none());
    assert!(opt(&discover, OptionCode::RequestedIpAddress).is_none());
    assert!(opt(&discover, OptionCode::ServerIdentifier).is_none());
    assert_eq!(
        opt(&discover, OptionCode::MaxMessageSize),
        Some(&DhcpOption::MaxMessageSize(1500))
    );

    let (request, dest) =
        one_sent(&c.handle_packet(t(1), &reply_bytes(&discover, MessageType::Offer)));
    assert_eq!(dest, Destination::Broadcast);
    assert_eq!(c.state(), State::Requesting);
    assert_eq!(ty(&request), MessageType::Request);
    assert_eq!(request.xid(), discover.xid());
    assert_eq!(request.secs(), 1);
    assert_eq!(request.ciaddr(), UNSPEC);
    assert_eq!(
        opt(&request, OptionCode::RequestedIpAddress),
        Some(&DhcpOption::RequestedIpAddress(ADDR))
    );
    assert_eq!(
        opt(&request, OptionCode::ServerIdentifier),
        Some(&DhcpOption::ServerIdentifier(SERVER))
    );

    let a = c.handle_packet(t(2), &reply_bytes(&request, MessageType::Ack));
    assert!(sent(&a).is_empty());
    let lease = c.lease().unwrap().clone();
    assert_eq!(
        effects(&a),
        [
            Action::ConfigureLease(lease.clone()),
            Action::PersistLease(lease.clone())
        ]
    );
    assert_eq!(c.state(), State::Bound);
    assert_eq!(c.configured(), Some(&lease));
    assert_eq!(lease.address, ADDR);
    assert_eq!(lease.prefix_len, 24);
    assert_eq!(lease.routers, [SERVER]);
    assert_eq!(lease.dns_servers, [SERVER]);
    assert_eq!(lease.acquired_at, t(2));
    assert_eq!((lease.lease_time, lease.t1, lease.t2), (3600, 1800, 3150));
    assert_eq!(c.next_timeout(), Some(t(2 + 1800)));
    assert!(a.iter().any(
        |x| matches!(x, Action::Log { level: Level::Info, message } if message.contains("event=bound"))
    ));
}

#[test]
fn client_id_hostname_and_request_list() {
    let mut cfg = config();
    cfg.hostname = Some("box1".into());
    cfg.extra_request = vec![33, 6];
    let mut c = Client::new(cfg.clone(), 1);
    let (d, _) = one_sent(&c.start(t(0)));
    assert_eq!(
        opt(&d, OptionCode::ClientIdentifier),
        Some(&DhcpOption::ClientIdentifier(
            ClientId::duid_ll(MAC).to_bytes()
        ))
    );
    assert_eq!(
        opt(&d, OptionCode::Hostname),
        Some(&DhcpOption::Hostname("box1".into()))
    );
    let Some(DhcpOption::ParameterRequestList(prl)) = opt(&d, OptionCode::ParameterRequestList)
    else {
        panic!("no parameter request list");
    };
    let prl: Vec<u8> = prl.iter().map(|&c| u8::from(c)).collect();
    let mut want = DEFAULT_REQUEST_LIST.to_vec();
    want.push(33);
    assert_eq!(prl, want);
    for code in [1, 3, 6, 12, 15, 26, 28, 42, 51, 54, 58, 59, 119, 121] {
        assert!(prl.contains(&code), "{code}");
    }

    cfg.client_id = ClientId::HwAddr(MAC);
    cfg.hostname = None;
    let mut c = Client::new(cfg, 1);
    let (d, _) = one_sent(&c.start(t(0)));
    let mut want = vec![1];
    want.extend_from_slice(&MAC);
    assert_eq!(
        opt(&d, OptionCode::ClientIdentifier),
        Some(&DhcpOption::ClientIdentifier(want))
    );
    assert!(opt(&d, OptionCode::Hostname).is_none());
}

#[test]
fn xid_is_big_endian_on_the_wire() {
    let mut c = Client::new(config(), 99);
    let a = c.start(t(0));
    let Action::Send { packet, .. } = &a[0] else {
        panic!("{a:?}")
    };
    assert_eq!(packet[4..8], c.xid().to_be_bytes());
    assert_eq!(packet[28..34], MAC);
}

#[test]
fn renewal_at_t1_unicasts_to_the_server() {
    let mut c = bound();
    let old_xid = c.xid();
    // Nothing happens before T1.
    assert!(c.handle_timeout(t(1801)).is_empty());
    assert_eq!(c.state(), State::Bound);

    let (req, dest) = one_sent(&c.handle_timeout(t(1802)));
    assert_eq!(c.state(), State::Renewing);
    assert_eq!(dest, Destination::Unicast(SERVER));
    assert_eq!(ty(&req), MessageType::Request);
    assert_ne!(req.xid(), old_xid);
    assert_eq!(req.ciaddr(), ADDR);
    assert!(opt(&req, OptionCode::RequestedIpAddress).is_none());
    assert!(opt(&req, OptionCode::ServerIdentifier).is_none());
    let next = c.next_timeout().unwrap();
    assert!(next >= t(1805) && next <= t(1807), "{next:?}");

    let a = c.handle_packet(t(1803), &reply_bytes(&req, MessageType::Ack));
    let lease = c.lease().unwrap().clone();
    assert_eq!(lease.acquired_at, t(1803));
    assert_eq!(
        effects(&a),
        [
            Action::ConfigureLease(lease.clone()),
            Action::PersistLease(lease)
        ]
    );
    assert_eq!(c.state(), State::Bound);
    assert_eq!(c.next_timeout(), Some(t(1803 + 1800)));
}

#[test]
fn renewing_needs_no_arp_probe() {
    let mut cfg = config();
    cfg.arp = true;
    let mut c = bound_with(cfg);
    let (req, _) = one_sent(&c.handle_timeout(t(1802)));
    let a = c.handle_packet(t(1803), &reply_bytes(&req, MessageType::Ack));
    assert!(!a.iter().any(|x| matches!(x, Action::ArpProbe(_))));
    assert_eq!(c.state(), State::Bound);
}

/// Fires timeouts until the state changes, returning the actions of the
/// firing that changed it and the instants of every firing.
fn run_until_state_changes(c: &mut Client) -> (Vec<Action>, Vec<Instant>) {
    let start = c.state();
    let mut fired = Vec::new();
    for _ in 0..100 {
        let now = c.next_timeout().expect("a timer is armed");
        fired.push(now);
        let a = c.handle_timeout(now);
        if c.state() != start {
            return (a, fired);
        }
    }
    panic!("state never left {start}");
}

#[test]
fn rebinding_at_t2_broadcasts() {
    let mut c = bound(); // acquired at 2: T1 1802, T2 3152, expiry 3602
    c.handle_timeout(t(1802));
    let renew_xid = c.xid();
    let (a, fired) = run_until_state_changes(&mut c);
    assert_eq!(c.state(), State::Rebinding);
    // Renewal retries never overshoot T2, which is when rebinding starts.
    assert!(fired.iter().all(|&f| f <= t(3152)));
    assert_eq!(*fired.last().unwrap(), t(3152));
    let (req, dest) = one_sent(&a);
    assert_eq!(dest, Destination::Broadcast);
    assert_eq!(req.ciaddr(), ADDR);
    assert_ne!(req.xid(), renew_xid);
    assert!(opt(&req, OptionCode::ServerIdentifier).is_none());

    // Any server may answer a rebinding request.
    let mut ack = reply(&req, MessageType::Ack, vec![]);
    ack.opts_mut()
        .insert(DhcpOption::ServerIdentifier(OTHER_SERVER));
    c.handle_packet(t(3153), &bytes(&ack));
    assert_eq!(c.state(), State::Bound);
    assert_eq!(c.lease().unwrap().server_id, OTHER_SERVER);
}

#[test]
fn lease_expiry_deconfigures_and_restarts() {
    let mut c = bound();
    let lease = c.lease().unwrap().clone();
    c.handle_timeout(t(1802));
    run_until_state_changes(&mut c); // to rebinding
    let (a, fired) = run_until_state_changes(&mut c);
    assert_eq!(*fired.last().unwrap(), t(3602));
    assert!(fired.iter().all(|&f| f <= t(3602)));
    assert_eq!(
        effects(&a),
        [Action::ForgetLease, Action::Deconfigure(lease)]
    );
    let (d, dest) = one_sent(&a);
    assert_eq!(ty(&d), MessageType::Discover);
    assert_eq!(dest, Destination::Broadcast);
    assert_eq!(c.state(), State::Selecting);
    assert_eq!(c.lease(), None);
    assert_eq!(c.configured(), None);
}

#[test]
fn late_wakeup_after_expiry_goes_straight_to_init() {
    let mut c = bound();
    let a = c.handle_timeout(t(100_000));
    assert!(effects(&a).contains(&Action::ForgetLease));
    assert_eq!(c.state(), State::Selecting);
    // Past T2 but before expiry: straight to rebinding.
    let mut c = bound();
    let (_, dest) = one_sent(&c.handle_timeout(t(3200)));
    assert_eq!(c.state(), State::Rebinding);
    assert_eq!(dest, Destination::Broadcast);
}

#[test]
fn server_timers_are_used() {
    let mut c = Client::new(config(), 5);
    let (d, _) = one_sent(&c.start(t(0)));
    let (r, _) = one_sent(&c.handle_packet(t(0), &reply_bytes(&d, MessageType::Offer)));
    let ack = reply(
        &r,
        MessageType::Ack,
        vec![DhcpOption::Renewal(600), DhcpOption::Rebinding(900)],
    );
    c.handle_packet(t(10), &bytes(&ack));
    assert_eq!(c.next_timeout(), Some(t(610)));
    c.handle_timeout(t(610));
    assert_eq!(c.state(), State::Renewing);
    let (_, fired) = run_until_state_changes(&mut c);
    assert_eq!(*fired.last().unwrap(), t(910));
    assert_eq!(c.state(), State::Rebinding);
}

#[test]
fn infinite_lease_sets_no_timer() {
    let mut c = Client::new(config(), 5);
    let (d, _) = one_sent(&c.start(t(0)));
    let (r, _) = one_sent(&c.handle_packet(t(0), &reply_bytes(&d, MessageType::Offer)));
    let ack = reply(
        &r,
        MessageType::Ack,
        vec![DhcpOption::AddressLeaseTime(u32::MAX)],
    );
    c.handle_packet(t(1), &bytes(&ack));
    assert_eq!(c.state(), State::Bound);
    assert_eq!(c.next_timeout(), None);
}

#[test]
fn nak_in_requesting_restarts_with_backoff() {
    let mut c = Client::new(config(), 3);
    let (d, _) = one_sent(&c.start(t(0)));
    let (r, _) = one_sent(&c.handle_packet(t(1), &reply_bytes(&d, MessageType::Offer)));
    let a = c.handle_packet(t(2), &reply_bytes(&r, MessageType::Nak));
    // Nothing was configured, so nothing to deconfigure.
    assert_eq!(effects(&a), [Action::ForgetLease]);
    let (d2, _) = one_sent(&a);
    assert_eq!(ty(&d2), MessageType::Discover);
    assert_ne!(d2.xid(), d.xid());
    assert_eq!(c.state(), State::Selecting);

    // A second NAK in a row waits 1 s before the DISCOVER, then 2 s.
    let (r2, _) = one_sent(&c.handle_packet(t(3), &reply_bytes(&d2, MessageType::Offer)));
    let a = c.handle_packet(t(4), &reply_bytes(&r2, MessageType::Nak));
    assert!(sent(&a).is_empty());
    assert_eq!(c.state(), State::Init);
    assert_eq!(c.next_timeout(), Some(t(5)));
    let (d3, _) = one_sent(&c.handle_timeout(t(5)));
    let (r3, _) = one_sent(&c.handle_packet(t(6), &reply_bytes(&d3, MessageType::Offer)));
    c.handle_packet(t(7), &reply_bytes(&r3, MessageType::Nak));
    assert_eq!(c.next_timeout(), Some(t(9)));
}

#[test]
fn nak_in_renewing_and_rebinding_deconfigures() {
    for rebinding in [false, true] {
        let mut c = bound();
        let lease = c.lease().unwrap().clone();
        let at = if rebinding { 3200 } else { 1802 };
        let (req, _) = one_sent(&c.handle_timeout(t(at)));
        let want = if rebinding {
            State::Rebinding
        } else {
            State::Renewing
        };
        assert_eq!(c.state(), want);
        let a = c.handle_packet(t(at + 1), &reply_bytes(&req, MessageType::Nak));
        assert_eq!(
            effects(&a),
            [Action::Deconfigure(lease), Action::ForgetLease]
        );
        let (d, _) = one_sent(&a);
        assert_eq!(ty(&d), MessageType::Discover);
        assert_eq!(c.state(), State::Selecting);
        assert_eq!(c.configured(), None);
        assert_eq!(c.lease(), None);
    }
}

#[test]
fn init_reboot_with_remembered_lease() {
    let mut c = Client::new(config(), 8);
    c.remember_lease(remembered(t(0)));
    let (req, dest) = one_sent(&c.start(t(10)));
    assert_eq!(c.state(), State::Rebooting);
    assert_eq!(dest, Destination::Broadcast);
    assert_eq!(ty(&req), MessageType::Request);
    assert_eq!(req.ciaddr(), UNSPEC);
    assert_eq!(
        opt(&req, OptionCode::RequestedIpAddress),
        Some(&DhcpOption::RequestedIpAddress(ADDR))
    );
    assert!(opt(&req, OptionCode::ServerIdentifier).is_none());

    let a = c.handle_packet(t(11), &reply_bytes(&req, MessageType::Ack));
    assert_eq!(c.state(), State::Bound);
    assert!(matches!(effects(&a)[0], Action::ConfigureLease(_)));
    assert_eq!(c.lease().unwrap().acquired_at, t(11));
}

#[test]
fn init_reboot_nak_falls_back_to_discover() {
    let mut c = Client::new(config(), 8);
    c.remember_lease(remembered(t(0)));
    let (req, _) = one_sent(&c.start(t(10)));
    let a = c.handle_packet(t(11), &reply_bytes(&req, MessageType::Nak));
    assert_eq!(effects(&a), [Action::ForgetLease]);
    let (d, _) = one_sent(&a);
    assert_eq!(ty(&d), MessageType::Discover);
    assert_eq!(c.state(), State::Selecting);
    assert_eq!(c.lease(), None);
}

#[test]
fn init_reboot_timeout_falls_back_to_discover() {
    for seed in 0..20 {
        let mut c = Client::new(config(), seed);
        c.remember_lease(remembered(t(0)));
        one_sent(&c.start(t(10)));
        let (a, fired) = run_until_state_changes(&mut c);
        assert_eq!(*fired.last().unwrap(), t(15), "seed {seed}");
        let (d, _) = one_sent(&a);
        assert_eq!(ty(&d), MessageType::Discover);
        assert_eq!(c.state(), State::Selecting);
    }
}

#[test]
fn expired_remembered_lease_is_not_used() {
    let mut c = Client::new(config(), 8);
    c.remember_lease(remembered(t(0)));
    let (d, _) = one_sent(&c.start(t(3600)));
    assert_eq!(ty(&d), MessageType::Discover);
    assert_eq!(c.lease(), None);
}

#[test]
fn rapid_commit_ack_in_selecting() {
    let mut cfg = config();
    cfg.rapid_commit = true;
    let mut c = Client::new(cfg, 4);
    let (d, _) = one_sent(&c.start(t(0)));
    assert_eq!(
        opt(&d, OptionCode::RapidCommit),
        Some(&DhcpOption::RapidCommit)
    );
    // An ACK without option 80 is not a rapid-commit answer.
    let before = snapshot(&c);
    let a = c.handle_packet(t(1), &reply_bytes(&d, MessageType::Ack));
    assert!(effects(&a).is_empty() && sent(&a).is_empty());
    assert_eq!(snapshot(&c), before);

    let ack = reply(&d, MessageType::Ack, vec![DhcpOption::RapidCommit]);
    let a = c.handle_packet(t(1), &bytes(&ack));
    assert!(sent(&a).is_empty());
    assert!(matches!(effects(&a)[0], Action::ConfigureLease(_)));
    assert_eq!(c.state(), State::Bound);
}

#[test]
fn rapid_commit_ack_ignored_when_disabled() {
    let mut c = Client::new(config(), 4);
    let (d, _) = one_sent(&c.start(t(0)));
    let before = snapshot(&c);
    let ack = reply(&d, MessageType::Ack, vec![DhcpOption::RapidCommit]);
    c.handle_packet(t(1), &bytes(&ack));
    assert_eq!(snapshot(&c), before);
    // A normal offer still works.
    c.handle_packet(t(1), &reply_bytes(&d, MessageType::Offer));
    assert_eq!(c.state(), State::Requesting);
}

#[test]
fn arp_probe_then_clear_configures() {
    let mut cfg = config();
    cfg.arp = true;
    let mut c = Client::new(cfg, 6);
    let (d, _) = one_sent(&c.start(t(0)));
    let (r, _) = one_sent(&c.handle_packet(t(1), &reply_bytes(&d, MessageType::Offer)));
    let a = c.handle_packet(t(2), &reply_bytes(&r, MessageType::Ack));
    assert_eq!(effects(&a), [Action::ArpProbe(ADDR)]);
    assert_eq!(c.state(), State::Probing);
    assert_eq!(c.configured(), None);
    assert_eq!(c.next_timeout(), None);
    // Timers and stray packets do nothing while probing.
    assert!(c.handle_timeout(t(100)).is_empty());

    let a = c.arp_probe_clear(t(4));
    assert!(matches!(
        effects(&a)[..],
        [Action::ConfigureLease(_), Action::PersistLease(_)]
    ));
    assert_eq!(c.state(), State::Bound);
    // Timers count from the ACK.
    assert_eq!(c.next_timeout(), Some(t(2 + 1800)));
    // A second verdict is ignored.
    assert!(c.arp_probe_clear(t(5)).is_empty());
}

#[test]
fn arp_conflict_declines_and_restarts() {
    let mut cfg = config();
    cfg.arp = true;
    let mut c = Client::new(cfg, 6);
    let (d, _) = one_sent(&c.start(t(0)));
    let (r, _) = one_sent(&c.handle_packet(t(1), &reply_bytes(&d, MessageType::Offer)));
    c.handle_packet(t(2), &reply_bytes(&r, MessageType::Ack));
    let a = c.arp_conflict(t(3));
    assert_eq!(effects(&a), [Action::ForgetLease]);
    let (decline, dest) = one_sent(&a);
    assert_eq!(dest, Destination::Broadcast);
    assert_eq!(ty(&decline), MessageType::Decline);
    assert_eq!(decline.ciaddr(), UNSPEC);
    assert_eq!(
        opt(&decline, OptionCode::RequestedIpAddress),
        Some(&DhcpOption::RequestedIpAddress(ADDR))
    );
    assert_eq!(
        opt(&decline, OptionCode::ServerIdentifier),
        Some(&DhcpOption::ServerIdentifier(SERVER))
    );
    assert!(opt(&decline, OptionCode::ClientIdentifier).is_some());
    assert_eq!(c.state(), State::Init);
    assert_eq!(c.next_timeout(), Some(t(13)));
    let (d2, _) = one_sent(&c.handle_timeout(t(13)));
    assert_eq!(ty(&d2), MessageType::Discover);
    assert_eq!(c.state(), State::Selecting);
}

#[test]
fn arp_conflict_while_bound_deconfigures() {
    let mut c = bound();
    let lease = c.lease().unwrap().clone();
    let a = c.arp_conflict(t(10));
    assert_eq!(
        effects(&a),
        [Action::Deconfigure(lease), Action::ForgetLease]
    );
    assert_eq!(ty(&one_sent(&a).0), MessageType::Decline);
    // Outside probing and bound states a conflict means nothing.
    let mut c = Client::new(config(), 1);
    c.start(t(0));
    assert!(c.arp_conflict(t(1)).is_empty());
    assert!(c.arp_probe_clear(t(1)).is_empty());
}

#[test]
fn a_lost_defence_drops_the_address_and_discovers_without_a_decline() {
    let mut c = bound();
    let lease = c.lease().unwrap().clone();
    let a = c.arp_defence_failed(t(10));
    assert_eq!(
        effects(&a),
        [Action::Deconfigure(lease), Action::ForgetLease]
    );
    let (discover, dest) = one_sent(&a);
    assert_eq!(ty(&discover), MessageType::Discover);
    assert_eq!(dest, Destination::Broadcast);
    assert_eq!(c.state(), State::Selecting);
    assert_eq!(c.configured(), None);
    assert_eq!(c.lease(), None);
    // Only an address in use can be lost.
    assert!(c.arp_defence_failed(t(11)).is_empty());
}

fn link_local_config() -> ClientConfig {
    let mut cfg = config();
    cfg.ipv4ll = true;
    cfg
}

#[test]
fn link_local_is_sought_after_five_unanswered_seconds_and_dropped_with_a_lease() {
    let mut c = Client::new(link_local_config(), 3);
    let (d, _) = one_sent(&c.start(t(0)));
    let mut now = t(0);
    let mut started = None;
    // DISCOVERs go on as before; the link-local request comes at 5 s, once.
    while now < t(40) {
        now = c.next_timeout().unwrap();
        let a = c.handle_timeout(now);
        if a.contains(&Action::StartLinkLocal) {
            assert!(started.is_none(), "asked twice");
            started = Some(now);
        }
    }
    assert_eq!(started, Some(t(5)));
    // A lease: configured first, then the link-local address goes.
    let (r, _) = one_sent(&c.handle_packet(now, &reply_bytes(&d, MessageType::Offer)));
    let a = c.handle_packet(now, &reply_bytes(&r, MessageType::Ack));
    assert!(matches!(
        effects(&a)[..],
        [
            Action::ConfigureLease(_),
            Action::PersistLease(_),
            Action::StopLinkLocal
        ]
    ));
    // Losing that lease later starts the wait again.
    let a = c.arp_defence_failed(now);
    assert!(!a.contains(&Action::StartLinkLocal));
    let soon = now + LINK_LOCAL_AFTER - Duration::from_millis(1);
    assert!(!c.handle_timeout(soon).contains(&Action::StartLinkLocal));
    assert!(c
        .handle_timeout(now + LINK_LOCAL_AFTER)
        .contains(&Action::StartLinkLocal));
}

#[test]
fn a_quick_lease_never_asks_for_link_local() {
    let mut c = Client::new(link_local_config(), 3);
    let (d, _) = one_sent(&c.start(t(0)));
    let (r, _) = one_sent(&c.handle_packet(t(1), &reply_bytes(&d, MessageType::Offer)));
    let a = c.handle_packet(t(2), &reply_bytes(&r, MessageType::Ack));
    assert!(!a.contains(&Action::StopLinkLocal), "{a:?}");
    assert_eq!(c.next_timeout(), c.lease().unwrap().renew_at());
}

#[test]
fn stopping_and_carrier_loss_drop_link_local() {
    for persistent in [false, true] {
        let mut cfg = link_local_config();
        cfg.persistent = persistent;
        let mut c = Client::new(cfg.clone(), 3);
        c.start(t(0));
        assert!(c.handle_timeout(t(5)).contains(&Action::StartLinkLocal));
        // `persistent` keeps addresses when dhcpcd exits.
        assert_eq!(c.stop(t(6)).contains(&Action::StopLinkLocal), !persistent);
        assert_eq!(c.next_timeout(), None);

        let mut c = Client::new(cfg.clone(), 3);
        c.start(t(0));
        c.handle_timeout(t(5));
        assert!(c.carrier_down(t(6)).contains(&Action::StopLinkLocal));
        assert_eq!(c.next_timeout(), None);

        let mut c = Client::new(cfg, 3);
        c.start(t(0));
        c.handle_timeout(t(5));
        assert!(c.release(t(6)).contains(&Action::StopLinkLocal));
    }
}

/// Feeds `pkt` and checks that only logs came out and nothing changed.
fn assert_dropped(c: &mut Client, pkt: &[u8], what: &str) {
    let before = snapshot(c);
    let a = c.handle_packet(t(1), pkt);
    assert!(
        a.iter().all(|x| matches!(x, Action::Log { .. })),
        "{what}: {a:?}"
    );
    assert_eq!(snapshot(c), before, "{what}");
}

/// Bad variants of a good reply `good` to `req`.
fn bad_variants(req: &Message, kind: MessageType) -> Vec<(String, Vec<u8>)> {
    let good = reply(req, kind, vec![]);
    let mut v = Vec::new();
    let mut m = good.clone();
    m.set_xid(req.xid().wrapping_add(1));
    v.push(("wrong xid".to_string(), bytes(&m)));
    let mut m = good.clone();
    m.set_chaddr(&[0x02, 0, 0, 0, 0, 0x99]);
    v.push(("wrong chaddr".into(), bytes(&m)));
    let mut m = good.clone();
    m.set_chaddr(&[0x02, 0x42, 0xac, 0x11, 0x00]);
    v.push(("short chaddr".into(), bytes(&m)));
    let mut m = good.clone();
    m.set_opcode(Opcode::BootRequest);
    v.push(("op is BOOTREQUEST".into(), bytes(&m)));
    let mut m = good.clone();
    m.opts_mut().remove(OptionCode::ServerIdentifier);
    v.push(("no server id".into(), bytes(&m)));
    let mut m = good.clone();
    m.opts_mut().remove(OptionCode::MessageType);
    v.push(("no message type".into(), bytes(&m)));
    let full = bytes(&good);
    for len in [0, 1, 100, 235, 236, 239] {
        v.push((format!("truncated to {len}"), full[..len].to_vec()));
    }
    let mut b = full.clone();
    b[2] = 200;
    v.push(("hlen 200".into(), b));
    v.push(("garbage".into(), vec![0xa5; 400]));
    v
}

#[test]
fn bad_replies_change_nothing() {
    // Selecting, with bad offers.
    let mut c = Client::new(config(), 2);
    let (d, _) = one_sent(&c.start(t(0)));
    for (what, pkt) in bad_variants(&d, MessageType::Offer) {
        assert_dropped(&mut c, &pkt, &what);
    }
    // Requesting, with bad ACKs and NAKs.
    let (r, _) = one_sent(&c.handle_packet(t(1), &reply_bytes(&d, MessageType::Offer)));
    for kind in [MessageType::Ack, MessageType::Nak] {
        for (what, pkt) in bad_variants(&r, kind) {
            assert_dropped(&mut c, &pkt, &what);
        }
    }
    // A second offer, or an ACK from another server, is ignored too.
    assert_dropped(&mut c, &reply_bytes(&d, MessageType::Offer), "late offer");
    let mut other = reply(&r, MessageType::Ack, vec![]);
    other
        .opts_mut()
        .insert(DhcpOption::ServerIdentifier(OTHER_SERVER));
    assert_dropped(&mut c, &bytes(&other), "ack from another server");
    // Renewing.
    let mut c = bound();
    let (req, _) = one_sent(&c.handle_timeout(t(1802)));
    for kind in [MessageType::Ack, MessageType::Nak] {
        for (what, pkt) in bad_variants(&req, kind) {
            assert_dropped(&mut c, &pkt, &what);
        }
    }
    // Bound: even a well-formed ACK for our xid is unexpected.
    let mut c = bound();
    let fake = Message::new_with_id(c.xid(), UNSPEC, ADDR, UNSPEC, UNSPEC, &MAC);
    let ack = reply(&fake, MessageType::Ack, vec![]);
    assert_dropped(&mut c, &bytes(&ack), "ack while bound");
}

#[test]
fn offer_without_address_or_required_option_is_dropped() {
    let mut cfg = config();
    cfg.require = vec![42];
    let mut c = Client::new(cfg, 2);
    let (d, _) = one_sent(&c.start(t(0)));
    assert_dropped(
        &mut c,
        &reply_bytes(&d, MessageType::Offer),
        "missing option 42",
    );
    let mut o = reply(
        &d,
        MessageType::Offer,
        vec![DhcpOption::NtpServers(vec![SERVER])],
    );
    o.set_yiaddr(UNSPEC);
    assert_dropped(&mut c, &bytes(&o), "no yiaddr");
    o.set_yiaddr(ADDR);
    c.handle_packet(t(1), &bytes(&o));
    assert_eq!(c.state(), State::Requesting);
}

#[test]
fn random_and_mutated_packets_never_panic() {
    let mut rng = Rng::new(77);
    let mut c = Client::new(config(), 2);
    let (d, _) = one_sent(&c.start(t(0)));
    let offer = reply_bytes(&d, MessageType::Offer);
    let ack = reply_bytes(&d, MessageType::Ack);
    for i in 0..3000 {
        let base = if i % 2 == 0 { &offer } else { &ack };
        let mut p = base.clone();
        for _ in 0..1 + rng.below(6) {
            let j = rng.below(p.len() as u64) as usize;
            p[j] = rng.next_u32() as u8;
        }
        p.truncate(rng.below(p.len() as u64 + 1) as usize);
        // Use a fresh client in each state so mutations that stay valid
        // do not end the run early.
        let mut fresh = c.clone();
        let _ = fresh.handle_packet(t(1), &p);
        let mut b = bound();
        let _ = b.handle_packet(t(1), &p);
    }
    let before = snapshot(&c);
    for _ in 0..500 {
        let junk: Vec<u8> = (0..rng.below(700)).map(|_| rng.next_u32() as u8).collect();
        let _ = c.handle_packet(t(1), &junk);
    }
    assert_eq!(snapshot(&c), before);
}

#[test]
fn discover_backoff_within_jitter_bounds() {
    let bounds = [
        (3, 5),
        (7, 9),
        (15, 17),
        (31, 33),
        (63, 65),
        (63, 65),
        (63, 65),
    ];
    for seed in 0..50 {
        let mut c = Client::new(config(), seed);
        let (first, _) = one_sent(&c.start(t(0)));
        let mut now = t(0);
        for (i, &(lo, hi)) in bounds.iter().enumerate() {
            let next = c.next_timeout().unwrap();
            let gap = next.saturating_duration_since(now);
            assert!(
                gap >= Duration::from_secs(lo) && gap <= Duration::from_secs(hi),
                "seed {seed} retry {i}: {gap:?}"
            );
            now = next;
            let (d, _) = one_sent(&c.handle_timeout(now));
            // Retransmissions keep the xid; secs counts from the first send.
            assert_eq!(d.xid(), first.xid());
            assert_eq!(u64::from(d.secs()), now.as_duration().as_secs());
            assert_eq!(c.state(), State::Selecting);
        }
    }
}

#[test]
fn backoff_sequence_and_jitter_spread() {
    let mut seen_low = false;
    let mut seen_high = false;
    for seed in 0..200 {
        let mut rng = Rng::new(seed);
        let mut b = Backoff::new();
        for base in [4u64, 8, 16, 32, 64, 64] {
            let d = b.delay(&mut rng);
            let base = Duration::from_secs(base);
            assert!(d >= base - Duration::from_secs(1) && d <= base + Duration::from_secs(1));
            seen_low |= d < base - Duration::from_millis(500);
            seen_high |= d > base + Duration::from_millis(500);
        }
    }
    // The jitter really goes both ways.
    assert!(seen_low && seen_high);
}

#[test]
fn early_timeouts_do_nothing() {
    let mut c = Client::new(config(), 2);
    c.start(t(0));
    let before = snapshot(&c);
    assert!(c.handle_timeout(ms(2999)).is_empty());
    assert_eq!(snapshot(&c), before);
}

#[test]
fn requesting_gives_up_and_discovers_again() {
    let mut c = Client::new(config(), 2);
    let (d, _) = one_sent(&c.start(t(0)));
    c.handle_packet(t(1), &reply_bytes(&d, MessageType::Offer));
    let mut requests = 1;
    loop {
        let now = c.next_timeout().unwrap();
        let (m, _) = one_sent(&c.handle_timeout(now));
        if ty(&m) == MessageType::Discover {
            break;
        }
        requests += 1;
    }
    assert_eq!(requests, MAX_REQUESTS);
    assert_eq!(c.state(), State::Selecting);
}

#[test]
fn same_seed_same_packets() {
    let run = |seed| {
        let mut c = Client::new(config(), seed);
        let mut all = c.start(t(0));
        for _ in 0..3 {
            let now = c.next_timeout().unwrap();
            all.extend(c.handle_timeout(now));
        }
        all
    };
    assert_eq!(run(11), run(11));
    assert_ne!(run(11), run(12));
}

#[test]
fn initial_delay_is_under_a_second() {
    let mut cfg = config();
    cfg.initial_delay = true;
    for seed in 0..20 {
        let mut c = Client::new(cfg.clone(), seed);
        assert!(c.start(t(0)).is_empty());
        assert_eq!(c.state(), State::Init);
        let at = c.next_timeout().unwrap();
        assert!(at < ms(1000));
        let (d, _) = one_sent(&c.handle_timeout(at));
        assert_eq!(ty(&d), MessageType::Discover);
    }
}

#[test]
fn carrier_loss_and_return() {
    let mut c = bound();
    let lease = c.lease().unwrap().clone();
    let a = c.carrier_down(t(10));
    assert_eq!(effects(&a), [Action::Deconfigure(lease)]);
    assert_eq!(c.state(), State::NoCarrier);
    assert_eq!(c.next_timeout(), None);
    assert!(c.handle_timeout(t(2000)).is_empty());
    // Back up: INIT-REBOOT with the lease we still remember.
    let (req, _) = one_sent(&c.carrier_up(t(20)));
    assert_eq!(c.state(), State::Rebooting);
    assert_eq!(
        opt(&req, OptionCode::RequestedIpAddress),
        Some(&DhcpOption::RequestedIpAddress(ADDR))
    );
    // carrier_up when not down does nothing.
    assert!(c.carrier_up(t(21)).is_empty());
}

#[test]
fn persistent_keeps_address_over_carrier_loss() {
    let mut cfg = config();
    cfg.persistent = true;
    cfg.arp = true;
    let mut c = bound_with(cfg);
    assert!(effects(&c.carrier_down(t(10))).is_empty());
    assert!(c.configured().is_some());
    let (req, _) = one_sent(&c.carrier_up(t(20)));
    // Our own address needs no probe when the server confirms it.
    let a = c.handle_packet(t(21), &reply_bytes(&req, MessageType::Ack));
    assert!(!a.iter().any(|x| matches!(x, Action::ArpProbe(_))));
    assert_eq!(c.state(), State::Bound);
}

#[test]
fn release_sends_release_and_stops() {
    let mut c = bound();
    let lease = c.lease().unwrap().clone();
    let a = c.release(t(100));
    let (rel, dest) = one_sent(&a);
    assert_eq!(dest, Destination::Unicast(SERVER));
    assert_eq!(ty(&rel), MessageType::Release);
    assert_eq!(rel.ciaddr(), ADDR);
    assert_eq!(
        opt(&rel, OptionCode::ServerIdentifier),
        Some(&DhcpOption::ServerIdentifier(SERVER))
    );
    assert_eq!(
        effects(&a),
        [Action::ForgetLease, Action::Deconfigure(lease)]
    );
    assert_eq!(c.state(), State::Stopped);
    assert_eq!(c.next_timeout(), None);
    assert_eq!(c.lease(), None);
    assert!(c.carrier_down(t(101)).is_empty());
    // start() begins again from scratch.
    let (d, _) = one_sent(&c.start(t(200)));
    assert_eq!(ty(&d), MessageType::Discover);
}

#[test]
fn stop_honours_release_and_persistent() {
    // Default: drop the address, keep the stored lease.
    let mut c = bound();
    let lease = c.lease().unwrap().clone();
    let a = c.stop(t(10));
    assert_eq!(effects(&a), [Action::Deconfigure(lease)]);
    assert!(sent(&a).is_empty());
    assert_eq!(c.state(), State::Stopped);
    // persistent: leave everything in place.
    let mut cfg = config();
    cfg.persistent = true;
    let mut c = bound_with(cfg.clone());
    assert!(effects(&c.stop(t(10))).is_empty());
    // release: tell the server.
    cfg.release_on_stop = true;
    let mut c = bound_with(cfg);
    let a = c.stop(t(10));
    assert_eq!(ty(&one_sent(&a).0), MessageType::Release);
}

#[test]
fn adopted_lease_can_be_released() {
    let lease = remembered(t(0));
    let mut c = Client::new(config(), 7);
    c.adopt(t(10), lease.clone());
    assert_eq!(c.state(), State::Bound);
    assert_eq!(c.configured(), Some(&lease));
    assert_eq!(c.next_timeout(), lease.renew_at());
    let a = c.release(t(11));
    let (rel, dest) = one_sent(&a);
    assert_eq!(ty(&rel), MessageType::Release);
    assert_eq!(dest, Destination::Unicast(SERVER));
    assert_eq!(
        effects(&a),
        [Action::ForgetLease, Action::Deconfigure(lease.clone())]
    );
    // An expired lease is not adopted.
    let mut c = Client::new(config(), 7);
    c.adopt(t(100_000), lease);
    assert_eq!(c.state(), State::Init);
    assert_eq!(c.configured(), None);
}

#[test]
fn state_names() {
    assert_eq!(State::Rebooting.to_string(), "rebooting");
    assert_eq!(State::NoCarrier.name(), "nocarrier");
}
