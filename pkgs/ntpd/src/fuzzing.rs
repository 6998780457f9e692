//! The reply path as one function, for the cargo-fuzz target (fuzz/) and for
//! the test that replays its corpus: a datagram goes through the codec, the
//! per-packet checks, the filter and selection, and through a whole engine
//! waiting for a reply, whose events are rendered as log lines.

use std::net::SocketAddr;

use crate::clock::{Clock, FakeClock};
use crate::config::{Host, Kind, ServerSpec};
use crate::engine::{Action, Engine, EngineConfig};
use crate::filter::ClockFilter;
use crate::packet::{NtpTimestamp, Packet};
use crate::reply::{check, Rejected, Reply, Request};
use crate::select::{select, Candidate};

/// The origin timestamp a reply must carry to pass the checks here.
pub const NONCE: u64 = 0x0102_0304_0506_0708;

/// The server the fuzzed datagrams come from.
pub fn server() -> SocketAddr {
    SocketAddr::from(([192, 0, 2, 1], 123))
}

/// Our clock when the request left: the fake clock's start (Unix 1 750 000 000).
pub fn sent_at() -> NtpTimestamp {
    FakeClock::new(0.0, 0.0).now()
}

/// Runs `data` through the reply path; returns what the checks said.
pub fn reply_path(data: &[u8]) -> Result<Reply, Rejected> {
    let _ = Packet::parse(data);
    let request = Request {
        to: server(),
        nonce: NtpTimestamp(NONCE),
        sent_at: sent_at(),
    };
    let t4 = sent_at().add_secs(0.01);
    let result = check(&request, server(), data, t4);
    if let Ok(Reply::Sample(s)) = result {
        let mut f = ClockFilter::default();
        f.add(s, 0.0);
        f.add(s, 1.0);
        if let Some(e) = f.estimate(2.0) {
            let _ = e.root_distance();
            let _ = select(&[Candidate {
                key: 0,
                estimate: e,
            }]);
        }
    }

    let mut clock = FakeClock::new(0.0, 0.0);
    let cfg = EngineConfig {
        oneshot: true,
        burst: 1,
        ..EngineConfig::default()
    };
    let mut engine = Engine::new(cfg, 0.0, Box::new(|| NONCE));
    engine.set_servers(
        &[ServerSpec {
            kind: Kind::Server,
            host: Host::Ip(server().ip()),
            port: server().port(),
        }],
        0.0,
    );
    engine.poll(0.0, &mut clock);
    for a in engine.take_actions() {
        if let Action::Send(o) = a {
            engine.sent(o.request, clock.now());
            clock.advance(0.01);
            let now = clock.now();
            engine.receive(o.request, server(), data, now, 0.01, &mut clock);
        }
    }
    for e in engine.take_events() {
        let _ = e.to_string();
    }
    let _ = engine.take_actions();
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_good_reply_gets_through() {
        let t = sent_at();
        let p = Packet {
            version: 4,
            mode: 4,
            stratum: 1,
            precision: -20,
            reference_id: *b"GPS\0",
            reference: t,
            origin: NtpTimestamp(NONCE),
            receive: t.add_secs(1.005),
            transmit: t.add_secs(1.005),
            ..Packet::default()
        };
        let Ok(Reply::Sample(s)) = reply_path(&p.encode()) else {
            panic!()
        };
        assert!((s.offset - 1.0).abs() < 1e-6);
    }
}
