//! Commands run in lanes side by side: each lane runs its commands in order, and every line they
//! print is prefixed with the lane's name.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};
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

/// Runs the lanes at once and waits for all of them; fails naming each command that failed.
pub fn run(lanes: Vec<Lane>) -> anyhow::Result<()> {
    let started = Instant::now();
    let handles: Vec<_> = lanes
        .into_iter()
        .map(|lane| {
            let name = lane.name;
            (name, std::thread::spawn(move || run_lane(lane)))
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

fn run_lane(lane: Lane) -> anyhow::Result<()> {
    let mut failed = Vec::new();
    for mut cmd in lane.commands {
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
