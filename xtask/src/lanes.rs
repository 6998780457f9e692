//! Commands run in lanes side by side: each lane runs its own commands in order, then takes
//! commands from a shared queue until it is empty, so the lane that ends first does the rest.
//! Every line a command prints is prefixed with its lane's name.

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

pub struct Lane {
    name: &'static str,
    commands: Vec<Command>,
    /// Run the remaining commands after one fails (cargo's --no-fail-fast).
    keep_going: bool,
}

impl Lane {
    pub fn new(name: &'static str, commands: Vec<Command>, keep_going: bool) -> Lane {
        Lane {
            name,
            commands,
            keep_going,
        }
    }
}

/// The commands any lane may run once its own are done, first come first served.
struct Shared {
    queue: Mutex<VecDeque<Command>>,
    /// Set when a command failed and the lanes do not keep going: no lane takes another.
    stop: AtomicBool,
}

impl Shared {
    fn take(&self) -> Option<Command> {
        if self.stop.load(Ordering::SeqCst) {
            return None;
        }
        self.queue.lock().unwrap().pop_front()
    }
}

/// Runs the lanes at once, then `shared` in whichever lane is free, and waits for all of them;
/// fails naming each command that failed.
pub fn run(lanes: Vec<Lane>, shared: Vec<Command>) -> anyhow::Result<()> {
    let started = Instant::now();
    let shared = Arc::new(Shared {
        queue: Mutex::new(shared.into()),
        stop: AtomicBool::new(false),
    });
    let handles: Vec<_> = lanes
        .into_iter()
        .map(|lane| {
            let name = lane.name;
            let shared = shared.clone();
            (name, std::thread::spawn(move || run_lane(lane, &shared)))
        })
        .collect();
    let mut failed = Vec::new();
    for (name, handle) in handles {
        match handle.join() {
            Ok(Ok(())) => {}
            Ok(Err(err)) => failed.push(format!("{name}: {err:#}")),
            Err(_) => failed.push(format!("{name}: its thread panicked")),
        }
    }
    eprintln!(
        "xtask: the lanes took {:.0}s",
        started.elapsed().as_secs_f64()
    );
    if !failed.is_empty() {
        bail!("{}", failed.join("\n"));
    }
    Ok(())
}

fn run_lane(lane: Lane, shared: &Shared) -> anyhow::Result<()> {
    let mut failed = Vec::new();
    let mut own = lane.commands.into_iter();
    while let Some(mut cmd) = own.next().or_else(|| shared.take()) {
        let started = Instant::now();
        eprintln!("[{}] xtask: running {cmd:?}", lane.name);
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("starting {cmd:?}"))?;
        let out = child.stdout.take().unwrap();
        let err = child.stderr.take().unwrap();
        let name = lane.name;
        let (done, copied) = std::sync::mpsc::channel();
        let done_err = done.clone();
        std::thread::spawn(move || {
            prefix_lines(name, out, std::io::stdout());
            let _ = done.send(());
        });
        std::thread::spawn(move || {
            prefix_lines(name, err, std::io::stderr());
            let _ = done_err.send(());
        });
        let status = child.wait().context("waiting for a test command")?;
        // A process the command left behind may hold its output open: say so, and go on.
        for _ in 0..2 {
            if copied.recv_timeout(Duration::from_secs(10)).is_err() {
                eprintln!(
                    "[{}] xtask: warning: a process {cmd:?} started still holds its output",
                    lane.name
                );
                break;
            }
        }
        eprintln!(
            "[{}] xtask: {status} after {:.0}s: {cmd:?}",
            lane.name,
            started.elapsed().as_secs_f64()
        );
        if !status.success() {
            failed.push(format!("{cmd:?} failed ({status})"));
            if !lane.keep_going {
                shared.stop.store(true, Ordering::SeqCst);
                break;
            }
        }
    }
    if !failed.is_empty() {
        bail!("{}", failed.join("\n"));
    }
    Ok(())
}

/// Copies lines, each whole and behind `[name] `, so two lanes' lines never mix mid-line.
fn prefix_lines(name: &str, from: impl Read, mut to: impl Write) {
    let mut reader = BufReader::new(from);
    let mut line = Vec::new();
    loop {
        line.clear();
        match reader.read_until(b'\n', &mut line) {
            Ok(0) | Err(_) => return,
            Ok(_) => {
                let mut whole = format!("[{name}] ").into_bytes();
                whole.extend_from_slice(&line);
                if !whole.ends_with(b"\n") {
                    whole.push(b'\n');
                }
                let _ = to.write_all(&whole);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn append(file: &std::path::Path, word: &str) -> Command {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", &format!("echo {word} >> '{}'", file.display())]);
        cmd
    }

    #[test]
    fn every_shared_command_runs_once_in_some_lane() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("log");
        let lanes = vec![
            Lane::new("a", vec![append(&log, "a1"), append(&log, "a2")], false),
            Lane::new("b", vec![], false),
        ];
        let shared = (1..=5).map(|i| append(&log, &format!("s{i}"))).collect();
        run(lanes, shared).unwrap();
        let mut lines: Vec<String> = std::fs::read_to_string(&log)
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect();
        lines.sort();
        assert_eq!(lines, ["a1", "a2", "s1", "s2", "s3", "s4", "s5"]);
    }

    #[test]
    fn a_failure_is_named_and_stops_the_shared_queue() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("log");
        let lanes = vec![Lane::new("a", vec![Command::new("false")], false)];
        let err = run(lanes, vec![append(&log, "s1")]).unwrap_err();
        assert!(format!("{err:#}").contains("\"false\" failed"), "{err:#}");
        assert!(!log.exists(), "a shared command ran after a failure");
    }
}
