//! The NTPv4 wire format (RFC 5905 section 7.3): the 48-byte header and its
//! timestamps. Extension fields and MACs after the header are ignored.

use thiserror::Error;

/// Length of the NTP header, the only part we read or write.
pub const PACKET_LEN: usize = 48;

/// Seconds from the NTP epoch (1900) to the Unix epoch (1970).
pub const NTP_UNIX_OFFSET: i64 = 2_208_988_800;

/// Client mode (3) and server mode (4).
pub const MODE_CLIENT: u8 = 3;
pub const MODE_SERVER: u8 = 4;

const TWO_POW_32: f64 = 4_294_967_296.0;

/// A 64-bit NTP timestamp: seconds since 1900 (mod 2^32) and a 32-bit fraction.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct NtpTimestamp(pub u64);

impl NtpTimestamp {
    pub const ZERO: NtpTimestamp = NtpTimestamp(0);

    /// From Unix seconds and nanoseconds; the era wraps every 136 years.
    pub fn from_unix(secs: i64, nanos: u32) -> NtpTimestamp {
        let s = (secs.wrapping_add(NTP_UNIX_OFFSET) as u64) & 0xffff_ffff;
        // Round to the nearest fraction so a round trip through nanoseconds is exact.
        let frac = ((u64::from(nanos.min(999_999_999)) << 32) + 500_000_000) / 1_000_000_000;
        NtpTimestamp((s << 32).wrapping_add(frac))
    }

    /// To Unix seconds and nanoseconds, in the era closest to `near` (Unix seconds).
    pub fn to_unix(self, near: i64) -> (i64, u32) {
        let pivot = NtpTimestamp::from_unix(near, 0);
        let diff = self.0.wrapping_sub(pivot.0) as i64;
        let total = i128::from(near) * 1_000_000_000
            + ((i128::from(diff) * 1_000_000_000 + (1 << 31)) >> 32);
        (
            total.div_euclid(1_000_000_000) as i64,
            total.rem_euclid(1_000_000_000) as u32,
        )
    }

    pub fn is_zero(self) -> bool {
        self.0 == 0
    }

    /// `self - other` in seconds, the short way round the era (within 68 years).
    pub fn diff(self, other: NtpTimestamp) -> f64 {
        self.0.wrapping_sub(other.0) as i64 as f64 / TWO_POW_32
    }

    /// This timestamp moved by `secs` seconds.
    pub fn add_secs(self, secs: f64) -> NtpTimestamp {
        NtpTimestamp(
            self.0
                .wrapping_add((secs * TWO_POW_32).round() as i64 as u64),
        )
    }

    pub fn to_bytes(self) -> [u8; 8] {
        self.0.to_be_bytes()
    }
}

/// A 32-bit NTP short format (16.16 seconds), used for root delay and dispersion.
pub fn short_to_secs(v: u32) -> f64 {
    f64::from(v) / 65536.0
}

/// Kiss-o'-Death codes we act on (RFC 5905 section 7.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KissCode {
    /// Rate exceeded: poll less often.
    Rate,
    /// Access denied: stop using this server.
    Deny,
    /// Access restricted: stop using this server.
    Rstr,
    /// Any other code: the packet is ignored.
    Other([u8; 4]),
}

impl KissCode {
    pub fn from_ref_id(id: [u8; 4]) -> KissCode {
        match &id {
            b"RATE" => KissCode::Rate,
            b"DENY" => KissCode::Deny,
            b"RSTR" => KissCode::Rstr,
            _ => KissCode::Other(id),
        }
    }

    /// The four-letter code, with anything unprintable as `?`.
    pub fn name(self) -> String {
        let bytes = match self {
            KissCode::Rate => *b"RATE",
            KissCode::Deny => *b"DENY",
            KissCode::Rstr => *b"RSTR",
            KissCode::Other(b) => b,
        };
        bytes
            .iter()
            .map(|&c| {
                if c.is_ascii_alphanumeric() {
                    c as char
                } else {
                    '?'
                }
            })
            .collect()
    }
}

#[derive(Debug, Error, Clone, Copy, PartialEq, Eq)]
pub enum PacketError {
    #[error("packet too short: {0} bytes, need 48")]
    TooShort(usize),
}

/// The NTP header, field by field.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Packet {
    /// Leap indicator, 0..=3.
    pub leap: u8,
    /// Version, 0..=7.
    pub version: u8,
    /// Mode, 0..=7.
    pub mode: u8,
    pub stratum: u8,
    pub poll: i8,
    pub precision: i8,
    /// Root delay, NTP short format.
    pub root_delay: u32,
    /// Root dispersion, NTP short format.
    pub root_dispersion: u32,
    pub reference_id: [u8; 4],
    pub reference: NtpTimestamp,
    pub origin: NtpTimestamp,
    pub receive: NtpTimestamp,
    pub transmit: NtpTimestamp,
}

impl Packet {
    /// A client request as the data-minimization draft suggests: version 4, mode 3, every field
    /// zero except the transmit timestamp, which is a random nonce rather than our clock.
    pub fn client_request(nonce: NtpTimestamp) -> Packet {
        Packet {
            version: 4,
            mode: MODE_CLIENT,
            transmit: nonce,
            ..Packet::default()
        }
    }

    /// Reads the header; bytes after it are ignored.
    pub fn parse(buf: &[u8]) -> Result<Packet, PacketError> {
        let b: &[u8; PACKET_LEN] = buf
            .get(..PACKET_LEN)
            .and_then(|s| s.try_into().ok())
            .ok_or(PacketError::TooShort(buf.len()))?;
        let u32_at = |i: usize| u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
        let ts_at = |i: usize| {
            let mut x = [0u8; 8];
            x.copy_from_slice(&b[i..i + 8]);
            NtpTimestamp(u64::from_be_bytes(x))
        };
        Ok(Packet {
            leap: b[0] >> 6,
            version: (b[0] >> 3) & 7,
            mode: b[0] & 7,
            stratum: b[1],
            poll: b[2] as i8,
            precision: b[3] as i8,
            root_delay: u32_at(4),
            root_dispersion: u32_at(8),
            reference_id: [b[12], b[13], b[14], b[15]],
            reference: ts_at(16),
            origin: ts_at(24),
            receive: ts_at(32),
            transmit: ts_at(40),
        })
    }

    pub fn encode(&self) -> [u8; PACKET_LEN] {
        let mut b = [0u8; PACKET_LEN];
        b[0] = (self.leap & 3) << 6 | (self.version & 7) << 3 | (self.mode & 7);
        b[1] = self.stratum;
        b[2] = self.poll as u8;
        b[3] = self.precision as u8;
        b[4..8].copy_from_slice(&self.root_delay.to_be_bytes());
        b[8..12].copy_from_slice(&self.root_dispersion.to_be_bytes());
        b[12..16].copy_from_slice(&self.reference_id);
        b[16..24].copy_from_slice(&self.reference.to_bytes());
        b[24..32].copy_from_slice(&self.origin.to_bytes());
        b[32..40].copy_from_slice(&self.receive.to_bytes());
        b[40..48].copy_from_slice(&self.transmit.to_bytes());
        b
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unix_round_trip() {
        for &(s, n) in &[
            (0i64, 0u32),
            (1_700_000_000, 123_456_789),
            (2_085_978_496, 999_999_999), // the 2036 era change
            (4_000_000_000, 1),
        ] {
            let t = NtpTimestamp::from_unix(s, n);
            assert_eq!(t.to_unix(s), (s, n), "{s}.{n}");
            assert_eq!(t.to_unix(s + 1_000_000), (s, n));
        }
        // Era 1 starts at 2036-02-07T06:28:16Z.
        assert_eq!(NtpTimestamp::from_unix(2_085_978_496, 0).0, 0);
    }

    #[test]
    fn diff_across_the_era() {
        let a = NtpTimestamp::from_unix(2_085_978_495, 500_000_000);
        let b = NtpTimestamp::from_unix(2_085_978_497, 0);
        assert!((b.diff(a) - 1.5).abs() < 1e-9);
        assert!((a.diff(b) + 1.5).abs() < 1e-9);
        assert!((a.add_secs(1.5).diff(b)).abs() < 1e-9);
    }

    #[test]
    fn encode_parse() {
        let p = Packet {
            leap: 2,
            version: 4,
            mode: 4,
            stratum: 3,
            poll: -6,
            precision: -20,
            root_delay: 0x0001_8000,
            root_dispersion: 0x10,
            reference_id: *b"GPS\0",
            reference: NtpTimestamp(1),
            origin: NtpTimestamp(2),
            receive: NtpTimestamp(3),
            transmit: NtpTimestamp(u64::MAX),
        };
        let b = p.encode();
        assert_eq!(b[0], 0b10_100_100);
        assert_eq!(Packet::parse(&b).unwrap(), p);
        assert_eq!(short_to_secs(p.root_delay), 1.5);
        let mut long = b.to_vec();
        long.extend_from_slice(&[0; 20]);
        assert_eq!(Packet::parse(&long).unwrap(), p);
        assert_eq!(Packet::parse(&b[..47]), Err(PacketError::TooShort(47)));
    }

    #[test]
    fn request_is_minimal() {
        let b = Packet::client_request(NtpTimestamp(0x0102_0304_0506_0708)).encode();
        assert_eq!(b[0], 0x23);
        assert!(b[1..40].iter().all(|&x| x == 0));
        assert_eq!(&b[40..], &[1, 2, 3, 4, 5, 6, 7, 8]);
    }

    #[test]
    fn kiss_codes() {
        assert_eq!(KissCode::from_ref_id(*b"RATE"), KissCode::Rate);
        assert_eq!(KissCode::from_ref_id(*b"DENY"), KissCode::Deny);
        assert_eq!(KissCode::from_ref_id(*b"RSTR"), KissCode::Rstr);
        assert_eq!(KissCode::from_ref_id(*b"IN\0\n").name(), "IN??");
    }
}
