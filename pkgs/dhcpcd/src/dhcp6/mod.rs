//! DHCPv6 (RFC 8415) without I/O: the client's DUID as it is kept in the
//! lease folder, the retransmission of each message kind (RFC 8415 15, with
//! the constants of 7.6), the checks every message to us passes, and the
//! stateless exchange. [`ia`] has the stateful exchanges' messages and
//! [`client`] the state machine that runs both.

pub mod client;
pub mod ia;

pub use client::{Dhcp6, Dhcp6Action, Dhcp6Config, Mode};

use std::fmt;
use std::time::Duration;

use dhcproto::{v6, Decodable, Decoder, Encodable, Encoder};

use crate::time::{Instant, Rng};

/// A DHCP Unique Identifier (RFC 8415 11): the two kinds dhcpcd makes
/// from a MAC, or any other an administrator put in the DUID file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Duid {
    /// DUID-LLT: the MAC and the time it was made (seconds since 2000-01-01 UTC).
    LinkLayerTime { mac: [u8; 6], time: u32 },
    /// DUID-LL: the MAC alone.
    LinkLayer { mac: [u8; 6] },
    /// Another type (DUID-EN, DUID-UUID, another hardware type), kept and
    /// sent as it is, type included.
    Other(Vec<u8>),
}

/// Hardware type of Ethernet (RFC 826), in DUID-LL and DUID-LLT.
const HWTYPE_ETHERNET: u16 = 1;
/// Seconds from the Unix epoch to 2000-01-01 00:00:00 UTC, DUID-LLT's epoch.
pub const DUID_EPOCH: u64 = 946_684_800;

/// Why a DUID file was not taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DuidError {
    #[error("not colon-separated hex bytes")]
    NotHex,
    #[error("{0} bytes is the wrong length for its type (a DUID has 3 to 130)")]
    Length(usize),
}

impl Duid {
    /// A DUID-LLT for `mac`, made at `unix_secs`.
    pub fn llt(mac: [u8; 6], unix_secs: u64) -> Duid {
        let time = unix_secs
            .saturating_sub(DUID_EPOCH)
            .min(u64::from(u32::MAX)) as u32;
        Duid::LinkLayerTime { mac, time }
    }

    /// The bytes of option 1 (Client Identifier).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(14);
        match self {
            Duid::LinkLayerTime { mac, time } => {
                out.extend_from_slice(&1u16.to_be_bytes());
                out.extend_from_slice(&HWTYPE_ETHERNET.to_be_bytes());
                out.extend_from_slice(&time.to_be_bytes());
                out.extend_from_slice(mac);
            }
            Duid::LinkLayer { mac } => {
                out.extend_from_slice(&3u16.to_be_bytes());
                out.extend_from_slice(&HWTYPE_ETHERNET.to_be_bytes());
                out.extend_from_slice(mac);
            }
            Duid::Other(bytes) => out.extend_from_slice(bytes),
        }
        out
    }

    pub fn from_bytes(b: &[u8]) -> Result<Duid, DuidError> {
        // RFC 8415 11.1: a 2-byte type and up to 128 bytes after it.
        if !(3..=130).contains(&b.len()) {
            return Err(DuidError::Length(b.len()));
        }
        let kind = u16::from_be_bytes([b[0], b[1]]);
        let hwtype = match b {
            [_, _, h, l, ..] => u16::from_be_bytes([*h, *l]),
            _ => 0,
        };
        match (kind, hwtype, b.len()) {
            (1, HWTYPE_ETHERNET, 14) => Ok(Duid::LinkLayerTime {
                time: u32::from_be_bytes([b[4], b[5], b[6], b[7]]),
                mac: b[8..14].try_into().expect("6 bytes"),
            }),
            (3, HWTYPE_ETHERNET, 10) => Ok(Duid::LinkLayer {
                mac: b[4..10].try_into().expect("6 bytes"),
            }),
            (1 | 3, HWTYPE_ETHERNET, n) => Err(DuidError::Length(n)),
            _ => Ok(Duid::Other(b.to_vec())),
        }
    }

    /// Reads the DUID file's text: `00:01:00:01:...`, as dhcpcd writes its
    /// own, with surrounding white space.
    pub fn parse(text: &str) -> Result<Duid, DuidError> {
        let bytes = text
            .trim()
            .split(':')
            .map(|h| match h.len() {
                1 | 2 => u8::from_str_radix(h, 16).map_err(|_| DuidError::NotHex),
                _ => Err(DuidError::NotHex),
            })
            .collect::<Result<Vec<u8>, _>>()?;
        Duid::from_bytes(&bytes)
    }
}

/// The DUID file's text, one line.
impl fmt::Display for Duid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hex: Vec<String> = self.to_bytes().iter().map(|b| format!("{b:02x}")).collect();
        write!(f, "{}", hex.join(":"))
    }
}

/// What each message kind's retransmission uses (RFC 8415 15, 7.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    /// Delay of up to this before the first transmission (0: none).
    pub max_delay: Duration,
    /// IRT: the first timeout.
    pub initial: Duration,
    /// MRT: no timeout grows past this (0: no cap).
    pub max_rt: Duration,
    /// MRC: transmissions in all (0: no limit).
    pub max_count: u32,
    /// MRD: how long the exchange may last (0: no limit).
    pub max_duration: Duration,
}

const fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

impl Timing {
    pub const SOLICIT: Timing = Timing::new(secs(1), secs(1), secs(3600), 0, secs(0));
    pub const REQUEST: Timing = Timing::new(secs(0), secs(1), secs(30), 10, secs(0));
    pub const CONFIRM: Timing = Timing::new(secs(1), secs(1), secs(4), 0, secs(10));
    pub const INFORMATION_REQUEST: Timing = Timing::new(secs(1), secs(1), secs(3600), 0, secs(0));
    pub const RELEASE: Timing = Timing::new(secs(0), secs(1), secs(0), 4, secs(0));
    pub const DECLINE: Timing = Timing::new(secs(0), secs(1), secs(0), 4, secs(0));

    const fn new(
        max_delay: Duration,
        initial: Duration,
        max_rt: Duration,
        max_count: u32,
        max_duration: Duration,
    ) -> Timing {
        Timing {
            max_delay,
            initial,
            max_rt,
            max_count,
            max_duration,
        }
    }

    /// Renew: until T2, which is its MRD (RFC 8415 18.2.4).
    pub fn renew(until_t2: Duration) -> Timing {
        Timing::new(secs(0), secs(10), secs(600), 0, until_t2)
    }

    /// Rebind: until the valid lifetimes of every address end (18.2.5).
    pub fn rebind(until_expiry: Duration) -> Timing {
        Timing::new(secs(0), secs(10), secs(600), 0, until_expiry)
    }
}

/// One exchange's transmissions: when each goes out, and when to give up.
#[derive(Debug, Clone)]
pub struct Retransmit {
    timing: Timing,
    rng: Rng,
    started: Instant,
    sent: u32,
    rt: Duration,
    next: Option<Instant>,
    /// A Solicit's first timeout must be longer than IRT (RFC 8415 18.2.1).
    solicit: bool,
}

/// What [`Retransmit::handle_timeout`] asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transmit {
    /// Send the message (again), with this elapsed time in hundredths of a
    /// second for option 8 (Elapsed Time), capped at 0xffff.
    Send { elapsed: u16 },
    /// MRC or MRD reached: the exchange failed.
    GiveUp,
}

impl Retransmit {
    pub fn new(timing: Timing, now: Instant, seed: u64) -> Retransmit {
        Retransmit::with_kind(timing, now, seed, false)
    }

    /// A Solicit's retransmission.
    pub fn solicit(now: Instant, seed: u64) -> Retransmit {
        Retransmit::with_kind(Timing::SOLICIT, now, seed, true)
    }

    /// The same exchange, sent at once: without the random first delay
    /// (dhcpcd's `nodelay`).
    pub fn at_once(mut self, now: Instant) -> Retransmit {
        self.started = now;
        self.next = Some(now);
        self
    }

    fn with_kind(timing: Timing, now: Instant, seed: u64, solicit: bool) -> Retransmit {
        let mut rng = Rng::new(seed);
        let delay = Duration::from_millis(rng.below(timing.max_delay.as_millis() as u64 + 1));
        Retransmit {
            timing,
            rng,
            started: now + delay,
            sent: 0,
            rt: Duration::ZERO,
            next: Some(now + delay),
            solicit,
        }
    }

    pub fn next_timeout(&self) -> Option<Instant> {
        self.next
    }

    /// Transmissions sent so far.
    pub fn sent(&self) -> u32 {
        self.sent
    }

    pub fn handle_timeout(&mut self, now: Instant) -> Option<Transmit> {
        if self.next.is_none_or(|t| now < t) {
            return None;
        }
        let t = self.timing;
        let elapsed = now.saturating_duration_since(self.started);
        let out_of_count = t.max_count != 0 && self.sent >= t.max_count;
        let out_of_time = !t.max_duration.is_zero() && elapsed >= t.max_duration;
        if out_of_count || out_of_time {
            self.next = None;
            return Some(Transmit::GiveUp);
        }
        self.rt = if self.sent == 0 {
            let r = self.rand(t.initial);
            let r = if self.solicit { r.abs().max(1) } else { r };
            apply(t.initial, r)
        } else {
            apply(self.rt * 2, self.rand(self.rt))
        };
        if !t.max_rt.is_zero() && self.rt > t.max_rt {
            self.rt = apply(t.max_rt, self.rand(t.max_rt));
        }
        let mut next = now + self.rt;
        // The last timeout ends at MRD, not past it.
        if !t.max_duration.is_zero() {
            next = next.min(self.started + t.max_duration);
        }
        self.next = Some(next);
        self.sent += 1;
        let hundredths = elapsed.as_millis() / 10;
        Some(Transmit::Send {
            elapsed: hundredths.min(0xffff) as u16,
        })
    }

    /// RAND * `base`, RAND uniform in [-0.1, 0.1], in signed milliseconds.
    fn rand(&mut self, base: Duration) -> i64 {
        let tenth = (base.as_millis() / 10) as i64;
        self.rng.below((2 * tenth + 1) as u64) as i64 - tenth
    }
}

fn apply(base: Duration, delta_ms: i64) -> Duration {
    let ms = base.as_millis() as i64 + delta_ms;
    Duration::from_millis(ms.max(0) as u64)
}

/// The client's port, and the servers' (RFC 8415 7.2).
pub const CLIENT_PORT: u16 = 546;
pub const SERVER_PORT: u16 = 547;
/// All_DHCP_Relay_Agents_and_Servers (RFC 8415 7.1).
pub const ALL_SERVERS: std::net::Ipv6Addr = std::net::Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 1, 2);
/// RFC 8415 21.23: without option 32, information is refreshed daily, and
/// never more often than every ten minutes.
pub const IRT_DEFAULT: Duration = Duration::from_secs(86400);
pub const IRT_MINIMUM: Duration = Duration::from_secs(600);
/// The SNTP servers option (RFC 4075), and the information refresh time,
/// which dhcproto 0.15 reads as unknown options.
const OPTION_SNTP_SERVERS: u16 = 31;
const OPTION_INFORMATION_REFRESH_TIME: u16 = 32;

/// Why a Reply was dropped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplyError {
    #[error("malformed DHCPv6 message: {0}")]
    Malformed(String),
    #[error("a {got:?}, not the {want:?} awaited")]
    WrongType {
        got: v6::MessageType,
        want: v6::MessageType,
    },
    #[error("transaction id {got:06x}, not ours ({want:06x})")]
    OtherTransaction { got: u32, want: u32 },
    #[error("no server identifier")]
    NoServerId,
    #[error("the client identifier is not ours")]
    OtherClient,
    #[error("status {status:?}: {message}")]
    Status { status: v6::Status, message: String },
}

/// What a stateless exchange (RFC 8415 18.2.6) gives: DNS and NTP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtherConfig {
    pub server_id: Vec<u8>,
    pub dns_servers: Vec<std::net::Ipv6Addr>,
    pub search_domains: Vec<String>,
    /// NTP servers (option 56: addresses, multicast addresses and names),
    /// then SNTP servers (option 31).
    pub ntp_servers: Vec<String>,
    /// When to ask again (option 32, at least ten minutes).
    pub refresh: Duration,
}

/// The options an Information-request asks for.
const ASKED: [v6::OptionCode; 5] = [
    v6::OptionCode::DomainNameServers,
    v6::OptionCode::DomainSearchList,
    v6::OptionCode::NtpServer,
    v6::OptionCode::SntpServers,
    v6::OptionCode::InformationRefreshTime,
];

/// An Information-request (RFC 8415 18.2.6) with our DUID, the elapsed
/// time, and the options we want.
pub fn information_request(xid: u32, duid: &Duid, elapsed: u16) -> Vec<u8> {
    let mut m = v6::Message::new(v6::MessageType::InformationRequest);
    m.set_xid_num(xid & 0x00ff_ffff);
    let o = m.opts_mut();
    o.insert(v6::DhcpOption::ClientId(duid.to_bytes()));
    o.insert(v6::DhcpOption::ElapsedTime(elapsed));
    o.insert(v6::DhcpOption::ORO(v6::ORO {
        opts: ASKED.to_vec(),
    }));
    encode(&m)
}

/// How deep options inside options may go: an IA_NA holds IA Addresses,
/// which hold a Status Code; a level to spare.
const MAX_DEPTH: u8 = 3;

/// Walks the options in `bytes` (and those inside containers), checking
/// what dhcproto 0.15 trusts: every option ends inside its parent (one cut
/// short is an error, not a shorter message), and fixed-size ones have their
/// size (its decoder subtracts 2 from a Status Code's length, past zero for
/// a shorter one). Returns how many options this level holds.
fn check_options(mut bytes: &[u8], depth: u8) -> Result<usize, String> {
    let mut count = 0;
    while !bytes.is_empty() {
        let Some((head, rest)) = bytes.split_first_chunk::<4>() else {
            return Err(format!("option header cut after {} bytes", bytes.len()));
        };
        let code = u16::from_be_bytes([head[0], head[1]]);
        let len = usize::from(u16::from_be_bytes([head[2], head[3]]));
        let Some(body) = rest.get(..len) else {
            return Err(format!(
                "option {code} runs {} bytes past the end",
                len - rest.len()
            ));
        };
        // Where the options inside IA_NA, IA_TA, IA Address, Vendor-specific
        // Information, IA_PD and IA Prefix start.
        let inner = match code {
            3 | 25 => Some(12),
            4 | 17 => Some(4),
            5 => Some(24),
            26 => Some(25),
            _ => None,
        };
        let fits = match code {
            7 | 19 => len == 1,
            8 => len == 2,
            // Relay Message: only relays and servers get one.
            9 => false,
            12 => len == 16,
            13 => len >= 2,
            14 | 20 => len == 0,
            16 => len >= 4,
            _ => inner.is_none_or(|at| len >= at),
        };
        if !fits {
            return Err(format!("option {code} of length {len}"));
        }
        if let Some(at) = inner {
            if depth >= MAX_DEPTH {
                return Err(format!("option {code} nested too deep"));
            }
            check_options(&body[at..], depth + 1)?;
        }
        bytes = &rest[len..];
        count += 1;
    }
    Ok(count)
}

/// Checks the framing, then decodes. dhcproto stops silently at the first
/// option it cannot decode, so each one must have come out.
fn decode(bytes: &[u8]) -> Result<v6::Message, ReplyError> {
    let options = bytes
        .get(4..)
        .ok_or_else(|| ReplyError::Malformed(format!("{} bytes, no header", bytes.len())))?;
    let count = check_options(options, 0).map_err(ReplyError::Malformed)?;
    let m = v6::Message::decode(&mut Decoder::new(bytes))
        .map_err(|e| ReplyError::Malformed(e.to_string()))?;
    let decoded = m.opts().iter().count();
    if decoded != count {
        return Err(ReplyError::Malformed(format!(
            "{} of {count} options do not decode",
            count - decoded
        )));
    }
    Ok(m)
}

pub(crate) fn encode(m: &v6::Message) -> Vec<u8> {
    let mut out = Vec::new();
    m.encode(&mut Encoder::new(&mut out))
        .expect("encoding into a Vec cannot fail");
    out
}

/// The Server Identifier's bytes, if there is one.
pub(crate) fn server_id(m: &v6::Message) -> Option<&[u8]> {
    match m.opts().get(v6::OptionCode::ServerId) {
        Some(v6::DhcpOption::ServerId(id)) if !id.is_empty() => Some(id),
        _ => None,
    }
}

/// A message to our transaction (RFC 8415 16): well framed, of type `want`,
/// with our transaction id, a Server Identifier and our Client Identifier.
/// Its status codes are left to the caller.
pub fn check_message(
    bytes: &[u8],
    want: v6::MessageType,
    xid: u32,
    duid: &Duid,
) -> Result<v6::Message, ReplyError> {
    let m = decode(bytes)?;
    if m.msg_type() != want {
        return Err(ReplyError::WrongType {
            got: m.msg_type(),
            want,
        });
    }
    let want_xid = xid & 0x00ff_ffff;
    if m.xid_num() != want_xid {
        return Err(ReplyError::OtherTransaction {
            got: m.xid_num(),
            want: want_xid,
        });
    }
    if server_id(&m).is_none() {
        return Err(ReplyError::NoServerId);
    }
    // We sent a client identifier, so the answer must carry ours.
    match m.opts().get(v6::OptionCode::ClientId) {
        Some(v6::DhcpOption::ClientId(id)) if *id == duid.to_bytes() => Ok(m),
        _ => Err(ReplyError::OtherClient),
    }
}

/// The first Status Code among `opts` other than Success, as an error.
pub(crate) fn status(opts: &v6::DhcpOptions) -> Result<(), ReplyError> {
    match opts.get(v6::OptionCode::StatusCode) {
        Some(v6::DhcpOption::StatusCode(sc)) if sc.status != v6::Status::Success => {
            Err(ReplyError::Status {
                status: sc.status,
                message: sc.msg.escape_debug().to_string(),
            })
        }
        _ => Ok(()),
    }
}

fn refresh_time(secs: u32) -> Duration {
    Duration::from_secs(secs.into()).max(IRT_MINIMUM)
}

/// The server, DNS, NTP and refresh time of a checked Reply: what a
/// stateless exchange gives, and a stateful one besides its addresses.
pub(crate) fn other_config(m: &v6::Message) -> OtherConfig {
    let mut out = OtherConfig {
        server_id: server_id(m).unwrap_or_default().to_vec(),
        dns_servers: Vec::new(),
        search_domains: Vec::new(),
        ntp_servers: Vec::new(),
        refresh: IRT_DEFAULT,
    };
    let mut sntp = Vec::new();
    for opt in m.opts().iter() {
        match opt {
            v6::DhcpOption::DomainNameServers(a) => out.dns_servers.extend(a),
            v6::DhcpOption::DomainSearchList(names) => out.search_domains.extend(
                names
                    .iter()
                    .map(|n| n.to_ascii().trim_end_matches('.').to_ascii_lowercase())
                    .filter(|n| !n.is_empty()),
            ),
            v6::DhcpOption::NtpServer(subs) => {
                for sub in subs {
                    out.ntp_servers.push(match sub {
                        v6::NtpSuboption::ServerAddress(a)
                        | v6::NtpSuboption::MulticastAddress(a) => a.to_string(),
                        v6::NtpSuboption::FQDN(n) => n.to_ascii().trim_end_matches('.').to_string(),
                    });
                }
            }
            v6::DhcpOption::InformationRefreshTime(secs) => out.refresh = refresh_time(*secs),
            v6::DhcpOption::Unknown(u)
                if u16::from(u.code()) == OPTION_INFORMATION_REFRESH_TIME =>
            {
                if let Ok(b) = <[u8; 4]>::try_from(u.data()) {
                    out.refresh = refresh_time(u32::from_be_bytes(b));
                }
            }
            v6::DhcpOption::Unknown(u) if u16::from(u.code()) == OPTION_SNTP_SERVERS => {
                sntp.extend(u.data().chunks_exact(16).map(|c| {
                    let octets: [u8; 16] = c.try_into().expect("16 bytes");
                    std::net::Ipv6Addr::from(octets).to_string()
                }));
            }
            _ => {}
        }
    }
    out.ntp_servers.extend(sntp);
    out.ntp_servers.dedup();
    out
}

/// Reads the Reply to our Information-request `xid` (RFC 8415 16.10, 18.2.10).
pub fn information_reply(bytes: &[u8], xid: u32, duid: &Duid) -> Result<OtherConfig, ReplyError> {
    let m = check_message(bytes, v6::MessageType::Reply, xid, duid)?;
    status(m.opts())?;
    Ok(other_config(&m))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAC: [u8; 6] = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56];

    /// Runs an exchange with no answer to the end (or `limit` sends): the
    /// times of the sends, and when it gave up.
    fn run(mut r: Retransmit, limit: usize) -> (Vec<Instant>, Option<Instant>) {
        let mut sends = Vec::new();
        while let Some(t) = r.next_timeout() {
            match r.handle_timeout(t) {
                Some(Transmit::Send { .. }) => sends.push(t),
                Some(Transmit::GiveUp) => return (sends, Some(t)),
                None => unreachable!(),
            }
            if sends.len() >= limit {
                break;
            }
        }
        (sends, None)
    }

    fn gaps(sends: &[Instant]) -> Vec<f64> {
        sends
            .windows(2)
            .map(|w| (w[1].as_duration() - w[0].as_duration()).as_secs_f64())
            .collect()
    }

    #[test]
    fn solicit_doubles_from_just_over_a_second_up_to_an_hour() {
        for seed in 0..50 {
            let (sends, gave_up) = run(Retransmit::solicit(Instant::ZERO, seed), 16);
            assert_eq!(gave_up, None, "Solicit never gives up");
            assert!(sends[0] <= Instant::from_secs(1), "SOL_MAX_DELAY");
            let g = gaps(&sends);
            // The first timeout is strictly above IRT: 1.0 to 1.1 s.
            assert!(g[0] > 1.0 && g[0] <= 1.1, "seed {seed}: {}", g[0]);
            for w in g.windows(2) {
                let (prev, next) = (w[0], w[1]);
                if next < 3600.0 * 0.9 {
                    assert!(
                        next >= prev * 1.9 - 0.001 && next <= prev * 2.1 + 0.001,
                        "seed {seed}: {prev} -> {next}"
                    );
                }
                assert!(next <= 3600.0 * 1.1 + 0.001);
            }
            assert!(
                *g.last().unwrap() >= 3600.0 * 0.9,
                "reaches SOL_MAX_RT: {g:?}"
            );
        }
    }

    #[test]
    fn request_stops_after_ten_transmissions() {
        let (sends, gave_up) = run(
            Retransmit::new(Timing::REQUEST, Instant::from_secs(5), 3),
            100,
        );
        assert_eq!(sends.len(), 10);
        assert_eq!(sends[0], Instant::from_secs(5), "no initial delay");
        assert!(gave_up.is_some());
        // Capped at REQ_MAX_RT (30 s) +-10%.
        assert!(gaps(&sends).iter().all(|g| *g <= 33.0 + 0.001));
    }

    #[test]
    fn confirm_gives_up_at_ten_seconds() {
        let start = Instant::from_secs(100);
        let r = Retransmit::new(Timing::CONFIRM, start, 9);
        let (sends, gave_up) = run(r, 100);
        let first = sends[0];
        assert!(first <= start + Duration::from_secs(1));
        assert_eq!(gave_up, Some(first + Duration::from_secs(10)));
        assert!(gaps(&sends).iter().all(|g| *g <= 4.4 + 0.001), "CNF_MAX_RT");
    }

    #[test]
    fn release_is_sent_four_times_at_most() {
        let (sends, gave_up) = run(Retransmit::new(Timing::RELEASE, Instant::ZERO, 1), 100);
        assert_eq!(sends.len(), 4);
        assert!(gave_up.is_some());
    }

    #[test]
    fn renew_runs_until_t2() {
        let r = Retransmit::new(
            Timing::renew(Duration::from_secs(1800)),
            Instant::from_secs(3600),
            5,
        );
        let (sends, gave_up) = run(r, 1000);
        assert_eq!(gave_up, Some(Instant::from_secs(5400)));
        assert!(
            (gaps(&sends)[0] - 10.0).abs() <= 1.0 + 0.001,
            "REN_TIMEOUT: {:?}",
            gaps(&sends)
        );
        assert!(
            gaps(&sends).iter().all(|g| *g <= 660.0 + 0.001),
            "REN_MAX_RT"
        );
    }

    #[test]
    fn elapsed_time_is_in_hundredths_and_capped() {
        let mut r = Retransmit::new(Timing::REQUEST, Instant::ZERO, 1);
        assert_eq!(
            r.handle_timeout(Instant::ZERO),
            Some(Transmit::Send { elapsed: 0 })
        );
        let t = r.next_timeout().unwrap();
        let Some(Transmit::Send { elapsed }) = r.handle_timeout(t) else {
            panic!()
        };
        assert_eq!(u128::from(elapsed), t.as_duration().as_millis() / 10);
        // Early calls do nothing.
        assert_eq!(r.handle_timeout(t), None);
        let mut long = Retransmit::solicit(Instant::ZERO, 1);
        let first = long.next_timeout().unwrap();
        long.handle_timeout(first);
        let late = first + Duration::from_secs(5000);
        assert_eq!(
            long.handle_timeout(late),
            Some(Transmit::Send { elapsed: 0xffff })
        );
    }

    #[test]
    fn duids_round_trip_through_their_file() {
        let llt = Duid::llt(MAC, DUID_EPOCH + 0x1234_5678);
        assert_eq!(llt.to_string(), "00:01:00:01:12:34:56:78:52:54:00:12:34:56");
        assert_eq!(
            Duid::parse("00:01:00:01:12:34:56:78:52:54:00:12:34:56\n"),
            Ok(llt)
        );
        let ll = Duid::LinkLayer { mac: MAC };
        assert_eq!(ll.to_string(), "00:03:00:01:52:54:00:12:34:56");
        assert_eq!(Duid::parse(&ll.to_string()), Ok(ll.clone()));
        assert_eq!(Duid::from_bytes(&ll.to_bytes()), Ok(ll));
        // Before 2000 the time is 0; far ahead it saturates.
        assert_eq!(Duid::llt(MAC, 5), Duid::LinkLayerTime { mac: MAC, time: 0 });
    }

    #[test]
    fn bad_duid_files_are_errors() {
        assert_eq!(Duid::parse(""), Err(DuidError::NotHex));
        assert_eq!(
            Duid::parse("00:03:00:01:zz:54:00:12:34:56"),
            Err(DuidError::NotHex)
        );
        assert_eq!(Duid::parse("0003:0001"), Err(DuidError::NotHex));
        assert_eq!(Duid::parse("00:03:00:01:52:54"), Err(DuidError::Length(6)));
        assert_eq!(Duid::parse("00:03"), Err(DuidError::Length(2)));
        let long = vec!["ab"; 131].join(":");
        assert_eq!(Duid::parse(&long), Err(DuidError::Length(131)));
    }

    #[test]
    fn other_duid_types_are_kept_as_they_are() {
        for text in [
            "00:02:00:00:00:09:01",
            "00:04:00:01:52:54:00:12:34:56",
            "00:03:00:20:01:02:03:04:05:06:07:08",
        ] {
            let d = Duid::parse(text).unwrap();
            assert!(matches!(d, Duid::Other(_)), "{text}");
            assert_eq!(d.to_string(), text);
        }
    }

    /// A Reply as dnsmasq sends one to an Information-request.
    fn reply(xid: u32, duid: &Duid, extra: Vec<v6::DhcpOption>) -> Vec<u8> {
        let mut m = v6::Message::new(v6::MessageType::Reply);
        m.set_xid_num(xid);
        let o = m.opts_mut();
        o.insert(v6::DhcpOption::ServerId(vec![
            0, 3, 0, 1, 2, 0, 0, 0, 0, 0xaa,
        ]));
        o.insert(v6::DhcpOption::ClientId(duid.to_bytes()));
        for e in extra {
            o.insert(e);
        }
        let mut out = Vec::new();
        m.encode(&mut Encoder::new(&mut out)).unwrap();
        out
    }

    fn ip(s: &str) -> std::net::Ipv6Addr {
        s.parse().unwrap()
    }

    #[test]
    fn information_request_carries_our_duid_and_asks_for_dns_and_ntp() {
        let duid = Duid::LinkLayer { mac: MAC };
        let bytes = information_request(0x12_3456, &duid, 150);
        let m = v6::Message::decode(&mut Decoder::new(&bytes)).unwrap();
        assert_eq!(m.msg_type(), v6::MessageType::InformationRequest);
        assert_eq!(m.xid_num(), 0x12_3456);
        assert_eq!(
            &bytes[..4],
            [11, 0x12, 0x34, 0x56],
            "type, then the xid in network order"
        );
        let o = m.opts();
        assert_eq!(
            o.get(v6::OptionCode::ClientId),
            Some(&v6::DhcpOption::ClientId(duid.to_bytes()))
        );
        assert_eq!(
            o.get(v6::OptionCode::ElapsedTime),
            Some(&v6::DhcpOption::ElapsedTime(150))
        );
        let Some(v6::DhcpOption::ORO(oro)) = o.get(v6::OptionCode::ORO) else {
            panic!()
        };
        assert_eq!(oro.opts, ASKED);
    }

    #[test]
    fn a_reply_gives_dns_ntp_and_the_refresh_time() {
        let duid = Duid::LinkLayer { mac: MAC };
        let name = |s: &str| s.parse::<dhcproto::Name>().unwrap();
        let bytes = reply(
            7,
            &duid,
            vec![
                v6::DhcpOption::DomainNameServers(vec![ip("2001:db8::53"), ip("2001:db8::54")]),
                v6::DhcpOption::DomainSearchList(vec![name("Example.TEST."), name("lab.")]),
                v6::DhcpOption::NtpServer(vec![
                    v6::NtpSuboption::ServerAddress(ip("2001:db8::123")),
                    v6::NtpSuboption::FQDN(name("ntp.example.test.")),
                ]),
                v6::DhcpOption::Unknown(v6::UnknownOption::new(
                    v6::OptionCode::SntpServers,
                    ip("2001:db8::124").octets().to_vec(),
                )),
                v6::DhcpOption::InformationRefreshTime(3600),
            ],
        );
        let c = information_reply(&bytes, 7, &duid).unwrap();
        assert_eq!(c.dns_servers, [ip("2001:db8::53"), ip("2001:db8::54")]);
        assert_eq!(c.search_domains, ["example.test", "lab"]);
        assert_eq!(
            c.ntp_servers,
            ["2001:db8::123", "ntp.example.test", "2001:db8::124"]
        );
        assert_eq!(c.refresh, Duration::from_secs(3600));
        assert_eq!(c.server_id, [0, 3, 0, 1, 2, 0, 0, 0, 0, 0xaa]);
        // Without option 32, a day; below ten minutes, ten minutes.
        assert_eq!(
            information_reply(&reply(7, &duid, vec![]), 7, &duid)
                .unwrap()
                .refresh,
            IRT_DEFAULT
        );
        let short = reply(7, &duid, vec![v6::DhcpOption::InformationRefreshTime(5)]);
        assert_eq!(
            information_reply(&short, 7, &duid).unwrap().refresh,
            IRT_MINIMUM
        );
    }

    #[test]
    fn replies_that_are_not_for_us_are_errors() {
        let duid = Duid::LinkLayer { mac: MAC };
        let good = reply(7, &duid, vec![]);
        assert!(information_reply(&good, 7, &duid).is_ok());
        assert!(matches!(
            information_reply(&good, 8, &duid),
            Err(ReplyError::OtherTransaction { got: 7, want: 8 })
        ));
        let other = Duid::LinkLayer {
            mac: [2, 0, 0, 0, 0, 9],
        };
        assert_eq!(
            information_reply(&good, 7, &other),
            Err(ReplyError::OtherClient)
        );
        let failed = reply(
            7,
            &duid,
            vec![v6::DhcpOption::StatusCode(v6::StatusCode {
                status: v6::Status::NotAllowed,
                msg: "go away".into(),
            })],
        );
        assert!(matches!(
            information_reply(&failed, 7, &duid),
            Err(ReplyError::Status { .. })
        ));
        let mut m = v6::Message::new(v6::MessageType::Advertise);
        m.set_xid_num(7);
        let mut adv = Vec::new();
        m.encode(&mut Encoder::new(&mut adv)).unwrap();
        assert!(matches!(
            information_reply(&adv, 7, &duid),
            Err(ReplyError::WrongType { .. })
        ));
        // No server identifier.
        let mut m = v6::Message::new(v6::MessageType::Reply);
        m.set_xid_num(7);
        m.opts_mut()
            .insert(v6::DhcpOption::ClientId(duid.to_bytes()));
        let mut bare = Vec::new();
        m.encode(&mut Encoder::new(&mut bare)).unwrap();
        assert_eq!(
            information_reply(&bare, 7, &duid),
            Err(ReplyError::NoServerId)
        );
    }

    #[test]
    fn truncated_and_garbled_replies_are_errors_not_panics() {
        let duid = Duid::LinkLayer { mac: MAC };
        let good = reply(
            7,
            &duid,
            vec![v6::DhcpOption::DomainNameServers(vec![ip("2001:db8::53")])],
        );
        // Cut inside an option: an error; cut between options: a shorter Reply.
        let mut shorter = 0;
        for n in 0..good.len() {
            if let Ok(c) = information_reply(&good[..n], 7, &duid) {
                assert!(c.dns_servers.is_empty(), "{n} bytes: {c:?}");
                shorter += 1;
            }
        }
        assert_eq!(shorter, 1, "only the cut before the DNS option parses");
        // A length past the end.
        let mut long = good.clone();
        let last = long.len() - 16 - 2; // the high byte of the DNS option's length
        long[last] = 0xff;
        assert!(matches!(
            information_reply(&long, 7, &duid),
            Err(ReplyError::Malformed(_))
        ));
        for i in 4..good.len() {
            let mut m = good.clone();
            m[i] = 0xff;
            let _ = information_reply(&m, 7, &duid);
        }
    }
}
