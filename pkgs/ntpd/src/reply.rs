//! Per-packet checks on a server's reply (RFC 5905 section 8 and the
//! on-wire protocol of section 9.1). [`check`] is the whole reply path: it is
//! what the fuzz target drives.

use std::net::SocketAddr;

use thiserror::Error;

use crate::packet::{short_to_secs, KissCode, NtpTimestamp, Packet, PacketError, MODE_SERVER};

/// RFC 5905's PHI: the frequency tolerance assumed when dispersion grows, 15 ppm.
pub const PHI: f64 = 15e-6;
/// Replies whose root distance is over this are refused (RFC 5905 MAXDIST).
pub const MAX_DISTANCE: f64 = 1.5;
/// Our own precision, about a microsecond (the kernel's receive timestamps are in ns).
pub const OUR_PRECISION: f64 = 1e-6;

/// What we sent and where: the reply must echo `nonce` and come from `to`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Request {
    /// The server's address and port.
    pub to: SocketAddr,
    /// The random transmit timestamp we sent; the server copies it into the origin field.
    pub nonce: NtpTimestamp,
    /// Our clock when the request left (T1). Never on the wire.
    pub sent_at: NtpTimestamp,
}

/// Leap indicator of a server.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Leap {
    #[default]
    None,
    /// The last minute of the day has 61 seconds.
    Insert,
    /// The last minute of the day has 59 seconds.
    Delete,
}

impl Leap {
    pub fn name(self) -> &'static str {
        match self {
            Leap::None => "none",
            Leap::Insert => "insert",
            Leap::Delete => "delete",
        }
    }
}

/// One measurement of a server's clock against ours.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sample {
    /// Server minus us, seconds (positive: our clock is behind).
    pub offset: f64,
    /// Round-trip delay, seconds, at least 0.
    pub delay: f64,
    /// Our and the server's precision plus PHI over the round trip, seconds.
    pub dispersion: f64,
    pub root_delay: f64,
    pub root_dispersion: f64,
    pub stratum: u8,
    pub leap: Leap,
    pub reference_id: [u8; 4],
    /// Our clock when the reply arrived (T4).
    pub received_at: NtpTimestamp,
}

impl Sample {
    /// RFC 5905's root distance of this sample alone.
    pub fn root_distance(&self) -> f64 {
        (self.root_delay + self.delay) / 2.0 + self.root_dispersion + self.dispersion
    }
}

/// A reply that passed every check.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Reply {
    Sample(Sample),
    /// A Kiss-o'-Death whose origin timestamp matched our request.
    Kiss(KissCode),
}

/// Why a datagram was not used. Each is one `reason=` in the logs.
#[derive(Clone, Copy, Debug, Error, PartialEq)]
pub enum Rejected {
    #[error("from {0}, not the server we asked")]
    WrongSource(SocketAddr),
    #[error(transparent)]
    Malformed(#[from] PacketError),
    #[error("mode {0}, not 4 (server)")]
    Mode(u8),
    #[error("version {0}, not 1 to 4")]
    Version(u8),
    #[error("origin timestamp is not what we sent")]
    Origin,
    #[error("server is unsynchronized (leap indicator 3)")]
    Unsynchronized,
    #[error("stratum {0}, not 1 to 15")]
    Stratum(u8),
    #[error("zero receive or transmit timestamp")]
    ZeroTimestamp,
    #[error("server transmitted before it received")]
    Timestamps,
    #[error("negative round-trip delay {0:.9} s")]
    Delay(f64),
    #[error("root distance {0:.3} s is over 1.5 s")]
    Distance(f64),
}

impl Rejected {
    /// A short name for logs and counters.
    pub fn reason(&self) -> &'static str {
        match self {
            Rejected::WrongSource(_) => "wrong-source",
            Rejected::Malformed(_) => "malformed",
            Rejected::Mode(_) => "mode",
            Rejected::Version(_) => "version",
            Rejected::Origin => "bad-origin",
            Rejected::Unsynchronized => "unsynchronized",
            Rejected::Stratum(_) => "stratum",
            Rejected::ZeroTimestamp => "zero-timestamp",
            Rejected::Timestamps => "timestamps",
            Rejected::Delay(_) => "delay",
            Rejected::Distance(_) => "distance",
        }
    }
}

/// Checks a datagram `buf` that arrived from `from` at our time `received_at`
/// against the request it may answer. The order matters: nothing in the
/// packet is believed (not even a Kiss-o'-Death) before the source and the
/// origin timestamp match what we sent.
pub fn check(
    request: &Request,
    from: SocketAddr,
    buf: &[u8],
    received_at: NtpTimestamp,
) -> Result<Reply, Rejected> {
    if from != request.to {
        return Err(Rejected::WrongSource(from));
    }
    let p = Packet::parse(buf)?;
    if p.mode != MODE_SERVER {
        return Err(Rejected::Mode(p.mode));
    }
    if !(1..=4).contains(&p.version) {
        return Err(Rejected::Version(p.version));
    }
    if p.origin != request.nonce || p.origin.is_zero() {
        return Err(Rejected::Origin);
    }
    if p.stratum == 0 {
        return Ok(Reply::Kiss(KissCode::from_ref_id(p.reference_id)));
    }
    if p.leap == 3 {
        return Err(Rejected::Unsynchronized);
    }
    if p.stratum > 15 {
        return Err(Rejected::Stratum(p.stratum));
    }
    if p.receive.is_zero() || p.transmit.is_zero() {
        return Err(Rejected::ZeroTimestamp);
    }
    let (t1, t2, t3, t4) = (request.sent_at, p.receive, p.transmit, received_at);
    let server_time = t3.diff(t2);
    if server_time < 0.0 {
        return Err(Rejected::Timestamps);
    }
    let offset = (t2.diff(t1) + t3.diff(t4)) / 2.0;
    let delay = t4.diff(t1) - server_time;
    // A little below zero is rounding or a clock tick; more is nonsense.
    if delay < -OUR_PRECISION {
        return Err(Rejected::Delay(delay));
    }
    let delay = delay.max(0.0);
    let server_precision = 2f64.powi(i32::from(p.precision.clamp(-30, 0)));
    let dispersion = OUR_PRECISION + server_precision + PHI * t4.diff(t1).max(0.0);
    let sample = Sample {
        offset,
        delay,
        dispersion,
        root_delay: short_to_secs(p.root_delay),
        root_dispersion: short_to_secs(p.root_dispersion),
        stratum: p.stratum,
        leap: match p.leap {
            1 => Leap::Insert,
            2 => Leap::Delete,
            _ => Leap::None,
        },
        reference_id: p.reference_id,
        received_at,
    };
    let distance = sample.root_distance();
    if distance.is_nan() || distance > MAX_DISTANCE {
        return Err(Rejected::Distance(distance));
    }
    Ok(Reply::Sample(sample))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SERVER: &str = "192.0.2.1:123";

    fn request() -> Request {
        Request {
            to: SERVER.parse().unwrap(),
            nonce: NtpTimestamp(0x1234_5678_9abc_def0),
            sent_at: NtpTimestamp::from_unix(1_700_000_000, 0),
        }
    }

    /// A good reply from a server 2.5 s ahead, 10 ms away, 1 ms processing.
    fn reply() -> Packet {
        let r = request();
        Packet {
            leap: 0,
            version: 4,
            mode: 4,
            stratum: 2,
            poll: 6,
            precision: -20,
            root_delay: 0x0000_0100,
            root_dispersion: 0x0000_0100,
            reference_id: [192, 0, 2, 9],
            reference: r.sent_at.add_secs(-10.0),
            origin: r.nonce,
            receive: r.sent_at.add_secs(2.505),
            transmit: r.sent_at.add_secs(2.506),
        }
    }

    fn run(p: Packet) -> Result<Reply, Rejected> {
        let r = request();
        check(&r, r.to, &p.encode(), r.sent_at.add_secs(0.011))
    }

    #[test]
    fn good_reply() {
        let Ok(Reply::Sample(s)) = run(reply()) else {
            panic!()
        };
        assert!((s.offset - 2.5).abs() < 1e-6, "{}", s.offset);
        assert!((s.delay - 0.010).abs() < 1e-6, "{}", s.delay);
        assert_eq!(s.stratum, 2);
        assert_eq!(s.leap, Leap::None);
        assert!(s.dispersion > 0.0 && s.dispersion < 1e-5);
    }

    #[test]
    fn spoofs_and_nonsense_are_rejected() {
        let r = request();
        let b = reply().encode();
        let t4 = r.sent_at.add_secs(0.011);
        let other_port: SocketAddr = "192.0.2.1:124".parse().unwrap();
        assert_eq!(
            check(&r, other_port, &b, t4),
            Err(Rejected::WrongSource(other_port))
        );
        let other_host: SocketAddr = "192.0.2.2:123".parse().unwrap();
        assert!(matches!(
            check(&r, other_host, &b, t4),
            Err(Rejected::WrongSource(_))
        ));
        assert!(matches!(
            check(&r, r.to, &b[..40], t4),
            Err(Rejected::Malformed(_))
        ));
        type Case = (fn(&mut Packet), &'static str);
        let cases: Vec<Case> = vec![
            (|p| p.mode = 3, "mode"),
            (|p| p.mode = 5, "mode"),
            (|p| p.version = 0, "version"),
            (|p| p.version = 5, "version"),
            (|p| p.origin = NtpTimestamp(p.origin.0 ^ 1), "bad-origin"),
            (|p| p.origin = NtpTimestamp::ZERO, "bad-origin"),
            (|p| p.leap = 3, "unsynchronized"),
            (|p| p.stratum = 16, "stratum"),
            (|p| p.stratum = 255, "stratum"),
            (|p| p.receive = NtpTimestamp::ZERO, "zero-timestamp"),
            (|p| p.transmit = NtpTimestamp::ZERO, "zero-timestamp"),
            (|p| p.transmit = p.receive.add_secs(-0.1), "timestamps"),
            (|p| p.transmit = p.receive.add_secs(0.5), "delay"),
            (|p| p.root_delay = 3 << 16, "distance"),
            (|p| p.root_dispersion = 2 << 16, "distance"),
        ];
        for (change, reason) in cases {
            let mut p = reply();
            change(&mut p);
            assert_eq!(run(p).unwrap_err().reason(), reason, "{p:?}");
        }
    }

    #[test]
    fn kiss_of_death_needs_the_origin() {
        let mut p = reply();
        p.stratum = 0;
        p.leap = 3;
        p.reference_id = *b"RATE";
        assert_eq!(run(p), Ok(Reply::Kiss(KissCode::Rate)));
        p.reference_id = *b"DENY";
        assert_eq!(run(p), Ok(Reply::Kiss(KissCode::Deny)));
        p.origin = NtpTimestamp(7);
        assert_eq!(run(p), Err(Rejected::Origin));
    }

    #[test]
    fn version_3_and_leap_bits() {
        let mut p = reply();
        p.version = 3;
        p.leap = 1;
        let Ok(Reply::Sample(s)) = run(p) else {
            panic!()
        };
        assert_eq!(s.leap, Leap::Insert);
        p.leap = 2;
        let Ok(Reply::Sample(s)) = run(p) else {
            panic!()
        };
        assert_eq!(s.leap, Leap::Delete);
    }
}
