//! The engine against simulated servers on a fake clock: every packet goes
//! through the real codec and checks, time passes only in the simulation.

use std::collections::HashMap;

use super::*;
use crate::clock::FakeClock;
use crate::rng::SplitMix64;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Behaviour {
    Answer,
    Silent,
    Kiss(&'static [u8; 4]),
    /// Answers with a wrong origin first, then from a wrong port, then for real.
    Spoofed,
}

#[derive(Clone, Debug)]
struct Server {
    /// How far ahead of true time the server's clock is.
    lie: f64,
    /// One-way delay, seconds, plus up to `noise` more each way.
    delay: f64,
    noise: f64,
    leap: u8,
    behaviour: Behaviour,
    requests: usize,
}

impl Server {
    fn honest(delay: f64) -> Server {
        Server {
            lie: 0.0,
            delay,
            noise: 0.002,
            leap: 0,
            behaviour: Behaviour::Answer,
            requests: 0,
        }
    }
    fn lying(lie: f64) -> Server {
        Server {
            lie,
            ..Server::honest(0.010)
        }
    }
}

struct Sim {
    engine: Engine,
    clock: FakeClock,
    servers: HashMap<SocketAddr, Server>,
    dns: HashMap<String, Result<Vec<IpAddr>, String>>,
    now: f64,
    open: HashMap<RequestId, SocketAddr>,
    /// (deliver at, request, from, bytes)
    queue: Vec<(f64, RequestId, SocketAddr, Vec<u8>)>,
    rng: SplitMix64,
    exit: Option<Outcome>,
    events: Vec<Event>,
    /// (time, source) of every request sent.
    sends: Vec<(f64, SocketAddr)>,
}

fn addr(i: u8) -> SocketAddr {
    SocketAddr::new(IpAddr::from([192, 0, 2, i]), 123)
}

impl Sim {
    fn new(cfg: EngineConfig, clock: FakeClock) -> Sim {
        let mut seed = SplitMix64::new(7);
        Sim {
            engine: Engine::new(cfg, 0.0, Box::new(move || seed.next_u64())),
            clock,
            servers: HashMap::new(),
            dns: HashMap::new(),
            now: 0.0,
            open: HashMap::new(),
            queue: Vec::new(),
            rng: SplitMix64::new(99),
            exit: None,
            events: Vec::new(),
            sends: Vec::new(),
        }
    }

    fn with_servers(cfg: EngineConfig, clock: FakeClock, servers: Vec<Server>) -> Sim {
        let mut sim = Sim::new(cfg, clock);
        let mut specs = Vec::new();
        for (i, s) in servers.into_iter().enumerate() {
            let a = addr(i as u8 + 1);
            sim.servers.insert(a, s);
            specs.push(ServerSpec {
                kind: Kind::Server,
                host: Host::Ip(a.ip()),
                port: 123,
            });
        }
        sim.engine.set_servers(&specs, 0.0);
        sim
    }

    fn handle_actions(&mut self) {
        loop {
            let actions = self.engine.take_actions();
            self.events.extend(self.engine.take_events());
            if actions.is_empty() {
                return;
            }
            for a in actions {
                match a {
                    Action::Send(o) => self.send(o),
                    Action::Close(id) => {
                        self.open.remove(&id);
                        self.queue.retain(|q| q.1 != id);
                    }
                    Action::Resolve { group, name } => {
                        let r = self
                            .dns
                            .get(&name)
                            .cloned()
                            .unwrap_or(Err("NXDOMAIN".into()));
                        self.engine.resolved(group, r, self.now);
                    }
                    Action::Exit(o) => self.exit = Some(o),
                }
            }
        }
    }

    fn send(&mut self, o: Outgoing) {
        self.engine.sent(o.request, self.clock.now());
        self.open.insert(o.request, o.to);
        self.sends.push((self.now, o.to));
        let Some(server) = self.servers.get_mut(&o.to) else {
            return;
        };
        server.requests += 1;
        let server = server.clone();
        let req = Packet::parse(&o.packet).unwrap();
        let there = server.delay + self.rng.next_f64() * server.noise;
        let back = server.delay + self.rng.next_f64() * server.noise;
        let t2 = self.clock.true_time_at(there).add_secs(server.lie);
        let t3 = t2.add_secs(0.000_05);
        let mut p = Packet {
            leap: server.leap,
            version: 4,
            mode: 4,
            stratum: 2,
            poll: 6,
            precision: -20,
            root_delay: 0x0000_0040,
            root_dispersion: 0x0000_0040,
            reference_id: [10, 0, 0, 1],
            reference: t2.add_secs(-30.0),
            origin: req.transmit,
            receive: t2,
            transmit: t3,
        };
        let at = self.now + there + 0.000_05 + back;
        match server.behaviour {
            Behaviour::Silent => {}
            Behaviour::Answer => self.queue.push((at, o.request, o.to, p.encode().to_vec())),
            Behaviour::Kiss(code) => {
                p.stratum = 0;
                p.leap = 3;
                p.reference_id = *code;
                self.queue.push((at, o.request, o.to, p.encode().to_vec()));
            }
            Behaviour::Spoofed => {
                let mut wrong = p;
                wrong.origin = NtpTimestamp(p.origin.0 ^ 0xffff);
                wrong.receive = t2.add_secs(100.0);
                wrong.transmit = t3.add_secs(100.0);
                self.queue
                    .push((at - 0.002, o.request, o.to, wrong.encode().to_vec()));
                let mut other_port = o.to;
                other_port.set_port(124);
                wrong.origin = p.origin;
                self.queue
                    .push((at - 0.001, o.request, other_port, wrong.encode().to_vec()));
                self.queue.push((at, o.request, o.to, p.encode().to_vec()));
            }
        }
    }

    /// Runs until `until` (monotonic seconds) or the engine exits.
    fn run(&mut self, until: f64) {
        self.engine.poll(self.now, &mut self.clock);
        self.handle_actions();
        while self.exit.is_none() {
            let wake = self.engine.next_wakeup().unwrap_or(f64::INFINITY);
            let delivery = self.queue.iter().map(|q| q.0).fold(f64::INFINITY, f64::min);
            let next = wake.min(delivery).max(self.now);
            if next > until {
                self.clock.advance(until - self.now);
                self.now = until;
                return;
            }
            self.clock.advance(next - self.now);
            self.now = next;
            if delivery <= wake {
                let i = self
                    .queue
                    .iter()
                    .position(|q| q.0 == delivery)
                    .expect("a delivery");
                let (_, id, from, bytes) = self.queue.remove(i);
                let t4 = self.clock.now();
                self.engine
                    .receive(id, from, &bytes, t4, self.now, &mut self.clock);
            } else {
                self.engine.poll(self.now, &mut self.clock);
            }
            self.handle_actions();
        }
    }

    fn offsets(&self) -> Vec<&Event> {
        self.events
            .iter()
            .filter(|e| matches!(e, Event::Offset { .. }))
            .collect()
    }

    fn interval_of(&self, a: SocketAddr) -> f64 {
        self.engine
            .sources()
            .into_iter()
            .find(|s| s.addr == a)
            .map(|s| s.poll_interval)
            .unwrap()
    }
}

fn fast_oneshot() -> EngineConfig {
    EngineConfig {
        oneshot: true,
        burst_interval: 0.05,
        ..EngineConfig::default()
    }
}

#[test]
fn converges_from_a_large_offset_step_then_slew() {
    // 3.7 s behind and 12 ppm fast; three honest servers 5-30 ms away.
    let servers = vec![
        Server::honest(0.005),
        Server::honest(0.015),
        Server::honest(0.030),
    ];
    let mut sim = Sim::with_servers(
        EngineConfig::default(),
        FakeClock::new(-3.7, 12e-6),
        servers,
    );
    sim.run(20.0);
    assert_eq!(sim.clock.steps.len(), 1, "{:?}", sim.events);
    assert!(
        (sim.clock.steps[0] - 3.7).abs() < 0.005,
        "{:?}",
        sim.clock.steps
    );
    assert!(
        sim.clock.error.abs() < 0.01,
        "after the step: {}",
        sim.clock.error
    );
    // The first offset is stepped, the ones after are slewed.
    let first = sim.offsets()[0].to_string();
    assert!(first.contains("action=step"), "{first}");
    sim.run(3600.0);
    assert!(
        sim.clock.error.abs() < 0.010,
        "after 1 h: {}",
        sim.clock.error
    );
    sim.run(6.0 * 3600.0);
    assert_eq!(sim.clock.steps.len(), 1, "no second step");
    assert!(sim.clock.updates > 20, "{}", sim.clock.updates);
    // The servers' paths differ by up to 2 ms each way: that is the noise floor.
    assert!(
        sim.clock.error.abs() < 0.002,
        "error after 6 h: {} s",
        sim.clock.error
    );
    // The PLL has learnt most of the oscillator's error.
    assert!((sim.clock.freq + 12e-6).abs() < 4e-6, "{}", sim.clock.freq);
    assert!(sim
        .offsets()
        .iter()
        .skip(1)
        .all(|e| e.to_string().contains("action=slew")));
}

#[test]
fn a_small_offset_is_slewed_not_stepped() {
    let mut sim = Sim::with_servers(
        EngineConfig::default(),
        FakeClock::new(0.050, 0.0),
        vec![Server::honest(0.005)],
    );
    sim.run(3600.0);
    assert!(sim.clock.steps.is_empty());
    assert!(sim.clock.error.abs() < 0.002, "{}", sim.clock.error);
}

fn falseticker_case(lies: &[f64], want_false: &[usize]) {
    let servers: Vec<Server> = lies.iter().map(|&l| Server::lying(l)).collect();
    let mut sim = Sim::with_servers(EngineConfig::default(), FakeClock::new(0.3, 0.0), servers);
    sim.run(2.0 * 3600.0);
    assert_eq!(sim.clock.steps.len(), 1);
    assert!(sim.clock.error.abs() < 0.002, "{}", sim.clock.error);
    let want: Vec<SocketAddr> = want_false.iter().map(|&i| addr(i as u8 + 1)).collect();
    for e in sim.offsets() {
        let Event::Offset {
            falsetickers,
            sources,
            ..
        } = e
        else {
            unreachable!()
        };
        let mut f = falsetickers.clone();
        f.sort();
        assert_eq!(f, want, "{e}");
        assert_eq!(sources.len(), lies.len() - want.len(), "{e}");
    }
}

#[test]
fn rejects_one_falseticker_of_three() {
    falseticker_case(&[0.0, 2.5, 0.0], &[1]);
}

#[test]
fn rejects_two_falsetickers_of_five() {
    falseticker_case(&[0.0, -0.7, 0.001, 2.5, 0.0], &[1, 3]);
}

#[test]
fn two_disagreeing_servers_give_no_majority() {
    let mut sim = Sim::with_servers(
        fast_oneshot(),
        FakeClock::new(0.0, 0.0),
        vec![Server::lying(0.0), Server::lying(2.5)],
    );
    sim.run(60.0);
    assert!(
        matches!(sim.exit, Some(Outcome::NoMeasurement { .. })),
        "{:?}",
        sim.exit
    );
    assert_eq!(sim.exit.unwrap().exit_code(), 1);
    assert!(sim
        .events
        .iter()
        .any(|e| matches!(e, Event::NoMajority { .. })));
    assert!(sim.clock.steps.is_empty());
}

#[test]
fn kiss_rate_backs_off() {
    let mut rate = Server::honest(0.01);
    rate.behaviour = Behaviour::Kiss(b"RATE");
    let mut sim = Sim::with_servers(
        EngineConfig::default(),
        FakeClock::new(0.0, 0.0),
        vec![Server::honest(0.01), rate],
    );
    sim.run(1.0);
    // One request, one kiss: no more burst, and a poll twice the minimum.
    assert_eq!(sim.servers[&addr(2)].requests, 1);
    assert_eq!(sim.interval_of(addr(2)), 128.0);
    assert!(sim
        .events
        .iter()
        .any(|e| e.to_string().contains("code=RATE action=backoff")));
    sim.run(1000.0);
    // Polled every 128 s or slower while the other one is at 64 s.
    let times: Vec<f64> = sim
        .sends
        .iter()
        .filter(|s| s.1 == addr(2))
        .map(|s| s.0)
        .collect();
    for w in times.windows(2) {
        assert!(w[1] - w[0] >= 128.0 - 1e-6, "{times:?}");
    }
    assert!(sim.interval_of(addr(2)) >= 256.0, "RATE again doubles it");
}

#[test]
fn kiss_deny_and_rstr_drop_the_source() {
    for code in [b"DENY", b"RSTR"] {
        let mut deny = Server::honest(0.01);
        deny.behaviour = Behaviour::Kiss(code);
        let mut sim = Sim::with_servers(
            EngineConfig::default(),
            FakeClock::new(0.0, 0.0),
            vec![Server::honest(0.01), deny],
        );
        sim.run(3600.0);
        assert_eq!(sim.servers[&addr(2)].requests, 1, "never asked again");
        assert!(sim.engine.sources().iter().all(|s| s.addr != addr(2)));
        assert!(sim
            .events
            .iter()
            .any(|e| matches!(e, Event::Kiss { action: "drop", .. })));
        // The DHCP file naming it again does not bring it back.
        sim.engine.set_dhcp_servers(&[addr(2)], sim.now);
        assert!(sim
            .engine
            .sources()
            .iter()
            .all(|s| s.addr.ip() != addr(2).ip()));
    }
}

#[test]
fn spoofed_replies_are_ignored() {
    let mut s = Server::lying(0.25);
    s.behaviour = Behaviour::Spoofed;
    let mut sim = Sim::with_servers(fast_oneshot(), FakeClock::new(0.0, 0.0), vec![s]);
    sim.engine.cfg.dry_run = true;
    sim.run(60.0);
    let Some(Outcome::Synced { offset }) = sim.exit else {
        panic!("{:?}", sim.exit)
    };
    assert!((offset - 0.25).abs() < 0.003, "{offset}");
    let drops: Vec<String> = sim
        .events
        .iter()
        .filter(|e| matches!(e, Event::Dropped { .. }))
        .map(|e| e.to_string())
        .collect();
    assert!(drops.iter().any(|d| d.contains("reason=bad-origin")));
    assert!(drops.iter().any(|d| d.contains("reason=wrong-source")));
}

#[test]
fn silent_server_backs_off_to_maxpoll() {
    let mut silent = Server::honest(0.01);
    silent.behaviour = Behaviour::Silent;
    let mut sim = Sim::with_servers(
        EngineConfig::default(),
        FakeClock::new(0.0, 0.0),
        vec![Server::honest(0.01), silent],
    );
    sim.run(6.0 * 3600.0);
    let times: Vec<f64> = sim
        .sends
        .iter()
        .filter(|s| s.1 == addr(2))
        .map(|s| s.0)
        .collect();
    let gaps: Vec<f64> = times.windows(2).map(|w| (w[1] - w[0]).round()).collect();
    // The burst, then growing gaps up to 1024 s.
    assert_eq!(&gaps[..3], &[2.0, 2.0, 2.0], "{gaps:?}");
    assert!(gaps.windows(2).skip(3).all(|w| w[1] >= w[0]), "{gaps:?}");
    assert_eq!(*gaps.last().unwrap(), 1024.0, "{gaps:?}");
    assert!(gaps.contains(&128.0) && gaps.contains(&256.0), "{gaps:?}");
}

#[test]
fn poll_interval_grows_when_stable() {
    let mut quiet = Server::honest(0.002);
    quiet.noise = 0.000_01;
    let mut sim = Sim::with_servers(
        EngineConfig::default(),
        FakeClock::new(0.0, 0.0),
        vec![quiet],
    );
    assert_eq!(sim.engine.poll_interval(), 64.0);
    sim.run(12.0 * 3600.0);
    assert_eq!(sim.engine.poll_interval(), 1024.0);
    assert!(sim.events.iter().any(|e| matches!(e, Event::Poll { .. })));
    assert!(sim.clock.error.abs() < 0.001);
}

#[test]
fn panic_threshold_refuses_then_g_allows_the_first() {
    let mut sim = Sim::with_servers(
        EngineConfig::default(),
        FakeClock::new(-5000.0, 0.0),
        vec![Server::honest(0.01)],
    );
    sim.run(60.0);
    assert!(
        matches!(sim.exit, Some(Outcome::Panic { .. })),
        "{:?}",
        sim.exit
    );
    assert_eq!(sim.exit.as_ref().unwrap().exit_code(), 4);
    assert!(sim.clock.steps.is_empty());
    assert!(sim.events.iter().any(|e| matches!(e, Event::Panic { .. })));

    let mut cfg = EngineConfig::default();
    cfg.discipline.allow_first_panic = true;
    let mut sim = Sim::with_servers(
        cfg,
        FakeClock::new(-5000.0, 0.0),
        vec![Server::honest(0.01)],
    );
    sim.run(600.0);
    assert!(sim.exit.is_none());
    assert_eq!(sim.clock.steps.len(), 1);
    assert!((sim.clock.steps[0] - 5000.0).abs() < 0.01);
}

#[test]
fn oneshot_steps_or_slews_once_and_exits() {
    let mut sim = Sim::with_servers(
        fast_oneshot(),
        FakeClock::new(2.0, 0.0),
        vec![Server::honest(0.01), Server::honest(0.02)],
    );
    sim.run(60.0);
    let Some(Outcome::Synced { offset }) = sim.exit else {
        panic!("{:?}", sim.exit)
    };
    assert!((offset + 2.0).abs() < 0.005);
    assert_eq!(sim.clock.steps.len(), 1);
    assert!(
        sim.now < 1.0,
        "a fast burst takes well under a second: {}",
        sim.now
    );
    // Four requests per server.
    assert_eq!(sim.sends.len(), 8);

    let mut sim = Sim::with_servers(
        fast_oneshot(),
        FakeClock::new(0.05, 0.0),
        vec![Server::honest(0.01)],
    );
    sim.run(60.0);
    assert!(sim.clock.steps.is_empty());
    assert_eq!(sim.clock.slews_once.len(), 1);
    assert!((sim.clock.slews_once[0] + 0.05).abs() < 0.005);
}

#[test]
fn dry_run_never_touches_the_clock() {
    let mut cfg = fast_oneshot();
    cfg.dry_run = true;
    let mut sim = Sim::with_servers(cfg, FakeClock::new(-7.0, 0.0), vec![Server::honest(0.01)]);
    sim.run(60.0);
    assert!(matches!(sim.exit, Some(Outcome::Synced { offset }) if (offset - 7.0).abs() < 0.005));
    assert!(sim.clock.steps.is_empty() && sim.clock.updates == 0);
    assert!(sim
        .events
        .iter()
        .any(|e| e.to_string() == format!("{}", e) && e.to_string().contains("dry_run=true")));

    let mut cfg = EngineConfig {
        dry_run: true,
        ..EngineConfig::default()
    };
    cfg.discipline.stepout = 300.0;
    let mut sim = Sim::with_servers(
        cfg,
        FakeClock::new(-5000.0, 0.0),
        vec![Server::honest(0.01)],
    );
    sim.run(3600.0);
    assert!(sim.exit.is_none(), "a dry run logs a panic and goes on");
    assert!(sim.clock.steps.is_empty() && sim.clock.updates == 0);
}

#[test]
fn oneshot_without_answers_fails() {
    let mut silent = Server::honest(0.01);
    silent.behaviour = Behaviour::Silent;
    let mut sim = Sim::with_servers(fast_oneshot(), FakeClock::new(0.0, 0.0), vec![silent]);
    sim.run(100.0);
    let Some(Outcome::NoMeasurement { reason }) = &sim.exit else {
        panic!("{:?}", sim.exit)
    };
    assert_eq!(reason, "no server answered");
    // Four tries of 2 s each.
    assert!(sim.now < 10.0, "{}", sim.now);
}

#[test]
fn leap_second_goes_to_the_kernel() {
    let mut servers = vec![
        Server::honest(0.01),
        Server::honest(0.01),
        Server::honest(0.01),
    ];
    for s in &mut servers[..2] {
        s.leap = 1;
    }
    let mut sim = Sim::with_servers(EngineConfig::default(), FakeClock::new(0.01, 0.0), servers);
    sim.run(600.0);
    assert_eq!(sim.clock.leap, Leap::Insert);
    assert!(sim
        .events
        .iter()
        .any(|e| e.to_string() == "event=leap leap=insert"));
}

#[test]
fn dhcp_servers_are_replaced() {
    let mut sim = Sim::new(EngineConfig::default(), FakeClock::new(0.0, 0.0));
    sim.servers.insert(addr(1), Server::lying(2.5));
    sim.servers.insert(addr(2), Server::lying(-0.7));
    sim.engine.cfg.dry_run = true;
    sim.engine.set_dhcp_servers(&[addr(1)], 0.0);
    sim.run(30.0);
    let last = sim.offsets().last().unwrap().to_string();
    assert!(
        last.contains("offset=+2.50") && last.contains("sources=192.0.2.1:123"),
        "{last}"
    );
    sim.engine.set_dhcp_servers(&[addr(2)], sim.now);
    sim.run(60.0);
    let last = sim.offsets().last().unwrap().to_string();
    assert!(
        last.contains("offset=-0.70") && last.contains("sources=192.0.2.2:123"),
        "{last}"
    );
    assert!(sim
        .events
        .iter()
        .any(|e| matches!(e, Event::SourceRemoved { addr: a, .. } if *a == addr(1))));
}

#[test]
fn names_are_resolved_and_resolved_again_when_sources_fail() {
    let mut sim = Sim::new(EngineConfig::default(), FakeClock::new(0.0, 0.0));
    for i in 1..=4 {
        sim.servers.insert(addr(i), Server::honest(0.01));
    }
    let mut dead = Server::honest(0.01);
    dead.behaviour = Behaviour::Silent;
    sim.servers.insert(addr(3), dead);
    sim.dns.insert(
        "pool.test".into(),
        Ok(vec![addr(1).ip(), addr(2).ip(), addr(3).ip()]),
    );
    sim.dns
        .insert("one.test".into(), Ok(vec![addr(4).ip(), addr(1).ip()]));
    let specs = vec![
        ServerSpec::parse(Kind::Pool, "pool.test").unwrap(),
        ServerSpec::parse(Kind::Server, "one.test").unwrap(),
        ServerSpec::parse(Kind::Servers, "missing.test").unwrap(),
    ];
    sim.engine.set_servers(&specs, 0.0);
    sim.run(1.0);
    let mut addrs: Vec<SocketAddr> = sim.engine.sources().iter().map(|s| s.addr).collect();
    addrs.sort();
    // Every address of the pool, the first of the server.
    assert_eq!(addrs, vec![addr(1), addr(2), addr(3), addr(4)]);
    assert!(sim
        .events
        .iter()
        .any(|e| matches!(e, Event::ResolveFailed { name, .. } if name == "missing.test")));
    // The pool's dead member: once unreachable, the pool is resolved again and it is replaced.
    sim.dns.insert(
        "pool.test".into(),
        Ok(vec![addr(1).ip(), addr(2).ip(), addr(5).ip()]),
    );
    sim.servers.insert(addr(5), Server::honest(0.01));
    sim.run(600.0);
    let mut addrs: Vec<SocketAddr> = sim.engine.sources().iter().map(|s| s.addr).collect();
    addrs.sort();
    assert_eq!(addrs, vec![addr(1), addr(2), addr(4), addr(5)]);
    // The failing name is retried with backoff: 5, 10, 20, ... seconds.
    let retries: Vec<f64> = sim
        .events
        .iter()
        .filter_map(|e| match e {
            Event::ResolveFailed { name, retry, .. } if name == "missing.test" => Some(*retry),
            _ => None,
        })
        .collect();
    assert_eq!(&retries[..4], &[5.0, 10.0, 20.0, 40.0]);
}

#[test]
fn sighup_reload_keeps_what_stays() {
    let mut sim = Sim::with_servers(
        EngineConfig::default(),
        FakeClock::new(0.0, 0.0),
        vec![Server::honest(0.01), Server::honest(0.01)],
    );
    sim.run(100.0);
    let before = sim.engine.sources();
    let keep = ServerSpec::parse(Kind::Server, "192.0.2.1").unwrap();
    sim.engine.set_servers(&[keep], sim.now);
    let after = sim.engine.sources();
    assert_eq!(after.len(), 1);
    assert_eq!(after[0].id, before[0].id, "the kept source keeps its state");
    assert_eq!(after[0].samples, before[0].samples);
}
