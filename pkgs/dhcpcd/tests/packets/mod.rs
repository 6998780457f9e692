//! Hostile input for the packet path (`parse_reply` and the state machine):
//! clients driven into each state, server replies built byte by byte, and
//! the property every received packet must keep.
//!
//! Shared by `tests/hostile.rs` (run by `cargo test`) and the cargo-fuzz
//! target `fuzz/fuzz_targets/packet.rs` (which includes this file by path),
//! so that CI checks on stable what the fuzzer checks on nightly.
//!
//! The property, for a packet fed to a client in any state: no panic; a
//! packet that must be dropped (it does not parse, is not for our xid or
//! MAC, is not a reply this state takes, lacks what the state needs) leaves
//! the client exactly as it was and yields log lines only; any other packet
//! moves the client on; and the client stays consistent afterwards.

#![allow(dead_code)]

use std::net::Ipv4Addr;
use std::sync::OnceLock;

use dhcpcd::options::parse_reply;
use dhcpcd::{Action, Client, ClientConfig, Instant, Lease, State};
use dhcproto::v4::{DhcpOption, MessageType, OptionCode};

pub const MAC: [u8; 6] = [0x02, 0x42, 0xac, 0x11, 0x00, 0x02];
pub const SERVER: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
pub const OTHER_SERVER: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
pub const ADDR: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 50);
/// Offset of xid in the BOOTP header.
pub const XID_AT: usize = 4;
/// Offset of chaddr.
pub const CHADDR_AT: usize = 28;
/// Fixed header (236) plus the magic cookie.
pub const MIN_LEN: usize = 240;
const MAGIC: [u8; 4] = [99, 130, 83, 99];

// DHCP message types (option 53).
pub const DISCOVER: u8 = 1;
pub const OFFER: u8 = 2;
pub const REQUEST: u8 = 3;
pub const DECLINE: u8 = 4;
pub const ACK: u8 = 5;
pub const NAK: u8 = 6;
pub const RELEASE: u8 = 7;
pub const INFORM: u8 = 8;

pub fn t(secs: u64) -> Instant {
    Instant::from_secs(secs)
}

/// noarp and nodelay: the shortest path to each state.
pub fn config() -> ClientConfig {
    let mut c = ClientConfig::new(MAC);
    c.initial_delay = false;
    c.arp = false;
    c
}

/// A server reply, built byte by byte so that tests can break any part.
#[derive(Debug, Clone)]
pub struct Reply {
    pub op: u8,
    pub htype: u8,
    pub hlen: u8,
    pub xid: u32,
    pub yiaddr: Ipv4Addr,
    pub chaddr: [u8; 16],
    pub sname: [u8; 64],
    pub file: [u8; 128],
    pub magic: [u8; 4],
    /// (code, data) in order; each becomes one TLV (so a repeated code is
    /// sent twice, and data over 255 bytes must be split by the caller).
    pub options: Vec<(u8, Vec<u8>)>,
    /// Pad the packet to this length with zeros (the Pad option).
    pub pad_to: usize,
}

impl Reply {
    /// A reply of type `kind` to `xid`: for OFFER and ACK, ADDR for an
    /// hour with mask, router and DNS server; for NAK, a message. The server
    /// identifier is always the last option, so that cutting the packet
    /// anywhere before its end drops it.
    pub fn new(xid: u32, kind: u8) -> Reply {
        let mut chaddr = [0; 16];
        chaddr[..6].copy_from_slice(&MAC);
        let mut options = vec![(53, vec![kind])];
        let yiaddr = if kind == NAK {
            options.push((56, b"wrong network".to_vec()));
            Ipv4Addr::UNSPECIFIED
        } else {
            options.push((51, 3600u32.to_be_bytes().to_vec()));
            options.push((1, vec![255, 255, 255, 0]));
            options.push((3, SERVER.octets().to_vec()));
            options.push((6, SERVER.octets().to_vec()));
            ADDR
        };
        options.push((54, SERVER.octets().to_vec()));
        Reply {
            op: 2,
            htype: 1,
            hlen: 6,
            xid,
            yiaddr,
            chaddr,
            sname: [0; 64],
            file: [0; 128],
            magic: MAGIC,
            options,
            pad_to: 300,
        }
    }

    /// Replaces (or appends) option `code`.
    pub fn set(mut self, code: u8, data: &[u8]) -> Reply {
        match self.options.iter_mut().find(|(c, _)| *c == code) {
            Some(o) => o.1 = data.to_vec(),
            None => {
                // Keep the server identifier last.
                let at = self
                    .options
                    .iter()
                    .position(|(c, _)| *c == 54)
                    .unwrap_or(self.options.len());
                self.options.insert(at, (code, data.to_vec()));
            }
        }
        self
    }

    pub fn without(mut self, code: u8) -> Reply {
        self.options.retain(|(c, _)| *c != code);
        self
    }

    pub fn bytes(&self) -> Vec<u8> {
        let mut v = vec![self.op, self.htype, self.hlen, 0];
        v.extend_from_slice(&self.xid.to_be_bytes());
        v.extend_from_slice(&[0; 8]); // secs, flags, ciaddr
        v.extend_from_slice(&self.yiaddr.octets());
        v.extend_from_slice(&SERVER.octets()); // siaddr
        v.extend_from_slice(&[0; 4]); // giaddr
        v.extend_from_slice(&self.chaddr);
        v.extend_from_slice(&self.sname);
        v.extend_from_slice(&self.file);
        v.extend_from_slice(&self.magic);
        for (code, data) in &self.options {
            v.push(*code);
            v.push(data.len() as u8);
            v.extend_from_slice(data);
        }
        v.push(255);
        if v.len() < self.pad_to {
            v.resize(self.pad_to, 0);
        }
        v
    }

    /// Where the server identifier option ends: any cut before this drops
    /// the packet.
    pub fn required_end(&self) -> usize {
        let mut at = MIN_LEN;
        let mut end = MIN_LEN;
        for (code, data) in &self.options {
            at += 2 + data.len();
            if matches!(code, 53 | 54) {
                end = at;
            }
        }
        end
    }
}

/// A client brought into one state, with the time to feed it packets at
/// and the reply kinds it takes.
#[derive(Debug, Clone)]
pub struct Stage {
    pub name: &'static str,
    pub client: Client,
    pub now: Instant,
    /// The server of the pending offer (REQUESTING takes no other).
    pub server: Ipv4Addr,
    /// A reply this state acts on, if any.
    pub takes: &'static [u8],
}

/// Every stage, built once.
pub fn stages() -> &'static [Stage] {
    static STAGES: OnceLock<Vec<Stage>> = OnceLock::new();
    STAGES.get_or_init(build_stages)
}

fn stage(name: &'static str, client: &Client, now: Instant, takes: &'static [u8]) -> Stage {
    Stage {
        name,
        client: client.clone(),
        now,
        server: SERVER,
        takes,
    }
}

/// Feeds a reply that must be taken, and checks where it leads.
fn drive(c: &mut Client, now: Instant, kind: u8, to: State) {
    let reply = Reply::new(c.xid(), kind).bytes();
    let _ = c.handle_packet(now, &reply);
    assert_eq!(c.state(), to, "driving the client with message type {kind}");
}

/// Fires timers until the client reaches `to`.
fn run_timers_until(c: &mut Client, to: State) -> Instant {
    for _ in 0..100 {
        let at = c.next_timeout().expect("a timer");
        let _ = c.handle_timeout(at);
        if c.state() == to {
            return at;
        }
    }
    panic!("never reached {to:?}");
}

fn build_stages() -> Vec<Stage> {
    let mut v = Vec::new();

    let mut delayed = ClientConfig::new(MAC);
    delayed.arp = false;
    let mut c = Client::new(delayed, 1);
    let _ = c.start(t(0));
    assert_eq!(c.state(), State::Init);
    v.push(stage("init", &c, t(0), &[]));

    let mut c = Client::new(config(), 1);
    let _ = c.start(t(0));
    assert_eq!(c.state(), State::Selecting);
    v.push(stage("selecting", &c, t(1), &[OFFER]));

    let mut rapid = config();
    rapid.rapid_commit = true;
    let mut r = Client::new(rapid, 2);
    let _ = r.start(t(0));
    v.push(stage("selecting-rapid-commit", &r, t(1), &[OFFER, ACK]));

    let mut req = config();
    req.require = vec![42];
    let mut r = Client::new(req, 3);
    let _ = r.start(t(0));
    v.push(stage("selecting-require-42", &r, t(1), &[OFFER]));

    drive(&mut c, t(1), OFFER, State::Requesting);
    v.push(stage("requesting", &c, t(2), &[ACK, NAK]));

    let mut arp = config();
    arp.arp = true;
    let mut p = Client::new(arp, 4);
    let _ = p.start(t(0));
    drive(&mut p, t(1), OFFER, State::Requesting);
    drive(&mut p, t(2), ACK, State::Probing);
    v.push(stage("probing", &p, t(3), &[]));

    drive(&mut c, t(2), ACK, State::Bound);
    let lease: Lease = c.lease().cloned().expect("a lease");
    v.push(stage("bound", &c, t(3), &[]));

    let mut down = c.clone();
    let _ = down.carrier_down(t(3));
    v.push(stage("nocarrier", &down, t(4), &[]));

    let mut stopped = c.clone();
    let _ = stopped.stop(t(3));
    v.push(stage("stopped", &stopped, t(4), &[]));

    let at = run_timers_until(&mut c, State::Renewing);
    v.push(stage("renewing", &c, at, &[ACK, NAK]));
    let at = run_timers_until(&mut c, State::Rebinding);
    v.push(stage("rebinding", &c, at, &[ACK, NAK]));

    let mut b = Client::new(config(), 5);
    b.remember_lease(lease);
    let _ = b.start(t(10));
    assert_eq!(b.state(), State::Rebooting);
    v.push(stage("rebooting", &b, t(11), &[ACK, NAK]));
    v
}

/// What the test can see of a client; equal before and after means the
/// packet changed nothing.
pub type Snapshot = (State, u32, Option<Instant>, Option<Lease>, Option<Lease>);

pub fn snapshot(c: &Client) -> Snapshot {
    (
        c.state(),
        c.xid(),
        c.next_timeout(),
        c.lease().cloned(),
        c.configured().cloned(),
    )
}

/// Why `bytes` must be dropped by the client of `s`, or None if the client
/// must act on it. Written from RFC 2131 and the client's documented
/// checks, with the library's own `parse_reply` for the framing.
pub fn must_drop(s: &Stage, bytes: &[u8]) -> Option<String> {
    let c = &s.client;
    let msg = match parse_reply(bytes) {
        Ok(m) => m,
        Err(e) => return Some(format!("parse: {e}")),
    };
    if msg.xid() != c.xid() {
        return Some("wrong xid".into());
    }
    if msg.chaddr() != c.config().hwaddr {
        return Some("wrong chaddr".into());
    }
    let ty = msg.opts().msg_type().expect("parse_reply checks option 53");
    if ty != MessageType::Nak {
        if let Some(code) = c
            .config()
            .require
            .iter()
            .find(|&&code| !msg.opts().contains(OptionCode::from(code)))
        {
            return Some(format!("required option {code} missing"));
        }
    }
    let busy = matches!(
        c.state(),
        State::Requesting | State::Renewing | State::Rebinding | State::Rebooting
    );
    let taken = match (c.state(), ty) {
        (State::Selecting, MessageType::Offer) => true,
        (State::Selecting, MessageType::Ack) => {
            c.config().rapid_commit && msg.opts().contains(OptionCode::RapidCommit)
        }
        (_, MessageType::Ack | MessageType::Nak) => busy,
        _ => false,
    };
    if !taken {
        return Some(format!("{ty:?} in {}", c.state()));
    }
    if c.state() == State::Requesting {
        let sid = match msg.opts().get(OptionCode::ServerIdentifier) {
            Some(DhcpOption::ServerIdentifier(ip)) => Some(*ip),
            _ => None,
        };
        if sid != Some(s.server) {
            return Some("other server".into());
        }
    }
    if ty != MessageType::Nak && msg.yiaddr().is_unspecified() {
        return Some("no address".into());
    }
    None
}

/// Feeds `bytes` to a copy of the stage's client and checks the property.
/// Returns whether the client acted on it.
pub fn feed(s: &Stage, bytes: &[u8]) -> bool {
    let mut c = s.client.clone();
    let before = snapshot(&c);
    let actions = c.handle_packet(s.now, bytes);
    let effects: Vec<&Action> = actions
        .iter()
        .filter(|a| !matches!(a, Action::Log { .. }))
        .collect();
    let after = snapshot(&c);
    let changed = after != before || !effects.is_empty();
    match must_drop(s, bytes) {
        Some(why) => assert!(
            !changed,
            "{}: a packet to drop ({why}) changed the client\nbefore {before:?}\nafter {after:?}\n\
             actions {actions:?}\npacket {bytes:02x?}",
            s.name
        ),
        None => assert!(
            changed,
            "{}: a valid reply was ignored: {actions:?}\npacket {bytes:02x?}",
            s.name
        ),
    }
    consistent(s.name, &c);
    changed
}

/// Invariants that hold in every state.
pub fn consistent(name: &str, c: &Client) {
    let st = c.state();
    if matches!(st, State::Bound | State::Renewing | State::Rebinding) {
        assert!(c.lease().is_some(), "{name}: {st} without a lease");
        assert!(
            c.configured().is_some(),
            "{name}: {st} with nothing applied"
        );
    }
    if st == State::Bound {
        let l = c.lease().unwrap();
        assert_eq!(
            c.next_timeout(),
            l.renew_at(),
            "{name}: bound, timer not T1"
        );
        assert!(l.t1 <= l.t2 && l.t2 <= l.lease_time, "{name}: {l:?}");
    }
    if matches!(
        st,
        State::Init | State::Selecting | State::Requesting | State::Rebooting
    ) {
        assert!(c.next_timeout().is_some(), "{name}: {st} without a timer");
    }
    if c.configured().is_some() {
        assert!(
            matches!(
                st,
                State::Bound
                    | State::Renewing
                    | State::Rebinding
                    | State::NoCarrier
                    | State::Stopped
            ),
            "{name}: an address applied in {st}"
        );
    }
}

/// `bytes` with the xid and chaddr of `c`, so that mutated packets get
/// past the first checks; None if too short to carry them.
pub fn aimed_at(c: &Client, bytes: &[u8]) -> Option<Vec<u8>> {
    if bytes.len() < CHADDR_AT + 6 {
        return None;
    }
    let mut b = bytes.to_vec();
    b[XID_AT..XID_AT + 4].copy_from_slice(&c.xid().to_be_bytes());
    b[CHADDR_AT..CHADDR_AT + 6].copy_from_slice(&MAC);
    Some(b)
}

/// The fuzz target's body: `bytes` as they are, and aimed at the client,
/// through a client in every state.
pub fn check_packet(bytes: &[u8]) {
    for s in stages() {
        feed(s, bytes);
        if let Some(b) = aimed_at(&s.client, bytes) {
            feed(s, &b);
        }
    }
}

/// SplitMix64, for generated garbage (deterministic per seed).
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

/// The seed corpus of the fuzz target, by file name: valid replies of each
/// kind (some with the harder encodings) and broken ones.
pub fn corpus() -> Vec<(&'static str, Vec<u8>)> {
    let s = stages();
    let xid = |name: &str| {
        s.iter()
            .find(|x| x.name == name)
            .map(|x| x.client.xid())
            .unwrap()
    };
    let sel = xid("selecting");
    let req = xid("requesting");
    let ren = xid("renewing");
    let rapid = xid("selecting-rapid-commit");

    // Option 121: 10.99.0.0/16 and the default route, both via SERVER.
    let routes = [16, 10, 99, 10, 0, 0, 1, 0, 10, 0, 0, 1];
    let full_ack = Reply::new(req, ACK)
        .set(15, b"example.test")
        .set(
            119,
            &[
                7, b'e', b'x', b'a', b'm', b'p', b'l', b'e', 4, b't', b'e', b's', b't', 0,
            ],
        )
        .set(42, &[10, 0, 0, 1, 10, 0, 0, 2])
        .set(26, &1400u16.to_be_bytes())
        .set(28, &[10, 0, 0, 255])
        .set(58, &600u32.to_be_bytes())
        .set(59, &900u32.to_be_bytes())
        .set(121, &routes);

    // Option overload (52 = 3): the router in `file`, DNS in `sname`.
    let mut overload = Reply::new(req, ACK).without(3).without(6).set(52, &[3]);
    overload.file[..6].copy_from_slice(&[3, 4, 10, 0, 0, 1]);
    overload.file[6] = 255;
    overload.sname[..6].copy_from_slice(&[6, 4, 10, 0, 0, 53]);
    overload.sname[6] = 255;

    // RFC 3396: option 121 split over two TLVs.
    let mut long = Reply::new(ren, ACK);
    long.options.insert(1, (121, routes[..7].to_vec()));
    long.options.insert(2, (121, routes[7..].to_vec()));

    let offer = Reply::new(sel, OFFER).bytes();
    let mut rng = Rng(0x5eed);
    vec![
        ("offer", offer.clone()),
        ("ack", full_ack.bytes()),
        ("nak", Reply::new(ren, NAK).bytes()),
        // The fuzzer's first find: T2 before the default T1 gave T1 > T2.
        (
            "ack-t2-before-t1",
            Reply::new(req, ACK)
                .set(58, &62552u32.to_be_bytes())
                .set(59, &900u32.to_be_bytes())
                .bytes(),
        ),
        (
            "ack-rapid-commit",
            Reply::new(rapid, ACK).set(80, &[]).bytes(),
        ),
        ("ack-overload", overload.bytes()),
        ("ack-split-option", long.bytes()),
        (
            "offer-no-server-id",
            Reply::new(sel, OFFER).without(54).bytes(),
        ),
        ("offer-truncated-239", offer[..239].to_vec()),
        (
            "offer-truncated-in-options",
            offer[..Reply::new(sel, OFFER).required_end() - 2].to_vec(),
        ),
        ("offer-bad-magic", {
            let mut r = Reply::new(sel, OFFER);
            r.magic = [99, 130, 83, 98];
            r.bytes()
        }),
        ("bootrequest", {
            let mut r = Reply::new(sel, OFFER);
            r.op = 1;
            r.bytes()
        }),
        ("hlen-255", {
            let mut r = Reply::new(sel, OFFER);
            r.hlen = 255;
            r.bytes()
        }),
        ("garbage", rng.bytes(300)),
        ("empty", Vec::new()),
    ]
}
