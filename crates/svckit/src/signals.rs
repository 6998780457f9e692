//! SIGTERM and SIGINT (stop) and SIGHUP (whatever the service makes of it), as events of the
//! service's own type, in the order they arrive.

use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver};

/// Installs the handlers (so the signals no longer kill the process) and forwards each signal
/// as `stop` or `hangup`. Call inside a tokio runtime.
pub fn events<T: Clone + Send + 'static>(
    stop: T,
    hangup: T,
) -> std::io::Result<UnboundedReceiver<T>> {
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    let mut hup = signal(SignalKind::hangup())?;
    let (tx, rx) = unbounded_channel();
    tokio::spawn(async move {
        loop {
            let event = tokio::select! {
                _ = term.recv() => stop.clone(),
                _ = int.recv() => stop.clone(),
                _ = hup.recv() => hangup.clone(),
            };
            if tx.send(event).is_err() {
                break;
            }
        }
    });
    Ok(rx)
}

#[cfg(test)]
mod tests {
    use super::*;
    use nix::sys::signal::{kill, Signal};
    use nix::unistd::Pid;

    #[tokio::test(flavor = "current_thread")]
    async fn signals_arrive_as_the_services_events() {
        let mut events = events("stop", "hangup").unwrap();
        for (signal, expected) in [
            (Signal::SIGHUP, "hangup"),
            (Signal::SIGINT, "stop"),
            (Signal::SIGTERM, "stop"),
        ] {
            kill(Pid::this(), signal).unwrap();
            assert_eq!(events.recv().await, Some(expected));
        }
    }
}
