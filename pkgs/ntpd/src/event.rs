//! What the engine tells the world: one [`Event`] per log line, rendered as
//! `event=NAME key=value ...` by its Display.

use std::fmt;
use std::net::{IpAddr, SocketAddr};

use crate::reply::Leap;

pub use svckit::log::{quote, Level};

#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    SourceAdded {
        addr: SocketAddr,
        origin: String,
    },
    SourceRemoved {
        addr: SocketAddr,
        reason: &'static str,
    },
    Resolved {
        name: String,
        addrs: Vec<IpAddr>,
    },
    ResolveFailed {
        name: String,
        error: String,
        retry: f64,
    },
    Sample {
        addr: SocketAddr,
        offset: f64,
        delay: f64,
        stratum: u8,
    },
    Dropped {
        addr: SocketAddr,
        from: SocketAddr,
        reason: &'static str,
        detail: String,
    },
    NoReply {
        addr: SocketAddr,
        misses: u32,
        next: f64,
    },
    Kiss {
        addr: SocketAddr,
        code: String,
        action: &'static str,
        poll: f64,
    },
    /// One per clock update: the combined offset, the chosen sources and what was done.
    Offset {
        offset: f64,
        jitter: f64,
        sources: Vec<SocketAddr>,
        falsetickers: Vec<SocketAddr>,
        action: &'static str,
        poll: f64,
        dry_run: bool,
    },
    NoMajority {
        candidates: Vec<SocketAddr>,
    },
    Step {
        offset: f64,
        dry_run: bool,
    },
    Panic {
        offset: f64,
        threshold: f64,
        dry_run: bool,
    },
    Leap {
        leap: Leap,
    },
    Poll {
        interval: f64,
    },
    ClockFailed {
        error: String,
    },
}

impl Event {
    pub fn level(&self) -> Level {
        match self {
            Event::Sample { .. } | Event::Dropped { .. } | Event::NoReply { .. } => Level::Debug,
            Event::ResolveFailed { .. } | Event::NoMajority { .. } => Level::Warn,
            Event::Kiss { action, .. } if *action == "drop" => Level::Warn,
            Event::Panic { .. } | Event::ClockFailed { .. } => Level::Error,
            _ => Level::Info,
        }
    }
}

fn list<T: fmt::Display>(items: &[T]) -> String {
    if items.is_empty() {
        "-".into()
    } else {
        items
            .iter()
            .map(|i| i.to_string())
            .collect::<Vec<_>>()
            .join(",")
    }
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Event::SourceAdded { addr, origin } => {
                write!(
                    f,
                    "event=source action=add addr={addr} origin={}",
                    quote(origin)
                )
            }
            Event::SourceRemoved { addr, reason } => {
                write!(f, "event=source action=remove addr={addr} reason={reason}")
            }
            Event::Resolved { name, addrs } => {
                write!(
                    f,
                    "event=resolve name={} addrs={}",
                    quote(name),
                    list(addrs)
                )
            }
            Event::ResolveFailed { name, error, retry } => write!(
                f,
                "event=resolve name={} error={} retry={retry:.0}",
                quote(name),
                quote(error)
            ),
            Event::Sample {
                addr,
                offset,
                delay,
                stratum,
            } => write!(
                f,
                "event=sample source={addr} offset={offset:+.9} delay={delay:.9} stratum={stratum}"
            ),
            Event::Dropped {
                addr,
                from,
                reason,
                detail,
            } => write!(
                f,
                "event=drop source={addr} from={from} reason={reason} detail={}",
                quote(detail)
            ),
            Event::NoReply { addr, misses, next } => write!(
                f,
                "event=noreply source={addr} misses={misses} next={next:.3}"
            ),
            Event::Kiss {
                addr,
                code,
                action,
                poll,
            } => write!(
                f,
                "event=kod source={addr} code={} action={action} poll={poll}",
                quote(code)
            ),
            Event::Offset {
                offset,
                jitter,
                sources,
                falsetickers,
                action,
                poll,
                dry_run,
            } => write!(
                f,
                "event=offset offset={offset:+.9} jitter={jitter:.9} sources={} falsetickers={} \
                 action={action} poll={poll} dry_run={dry_run}",
                list(sources),
                list(falsetickers)
            ),
            Event::NoMajority { candidates } => {
                write!(f, "event=nomajority candidates={}", list(candidates))
            }
            Event::Step { offset, dry_run } => {
                write!(f, "event=step offset={offset:+.9} dry_run={dry_run}")
            }
            Event::Panic {
                offset,
                threshold,
                dry_run,
            } => write!(
                f,
                "event=panic offset={offset:+.9} threshold={threshold} dry_run={dry_run} \
                 message=\"offset over the panic threshold; -g allows the first one\""
            ),
            Event::Leap { leap } => write!(f, "event=leap leap={}", leap.name()),
            Event::Poll { interval } => write!(f, "event=poll interval={interval}"),
            Event::ClockFailed { error } => {
                write!(f, "event=clock error={}", quote(error))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines() {
        let e = Event::Offset {
            offset: 0.0012,
            jitter: 0.00001,
            sources: vec!["127.0.0.1:123".parse().unwrap()],
            falsetickers: vec![],
            action: "slew",
            poll: 64.0,
            dry_run: false,
        };
        assert_eq!(
            e.to_string(),
            "event=offset offset=+0.001200000 jitter=0.000010000 sources=127.0.0.1:123 \
             falsetickers=- action=slew poll=64 dry_run=false"
        );
        assert_eq!(quote("a b"), "\"a b\"");
        assert_eq!(quote(""), "\"\"");
        assert_eq!(e.level(), Level::Info);
    }
}
