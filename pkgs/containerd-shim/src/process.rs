//! The life of one process (a container's init or an exec), with no I/O:
//! which requests are valid in which state, and what an exit records.

use std::collections::HashMap;
use std::time::SystemTime;

use crate::error::{Error, Result};

/// Annotations that put containers in one shim, in the order the Go shim
/// reads them: an explicit group first, then the CRI sandbox.
pub const GROUP_LABELS: [&str; 2] = [
    "io.containerd.runc.v2.group",
    "io.kubernetes.cri.sandbox-id",
];

/// The group a container's shim serves: the first grouping annotation, or
/// the container's own id (one shim per container).
pub fn grouping(id: &str, annotations: Option<&HashMap<String, String>>) -> String {
    annotations
        .and_then(|a| GROUP_LABELS.iter().find_map(|l| a.get(*l)))
        .filter(|g| !g.is_empty())
        .cloned()
        .unwrap_or_else(|| id.to_string())
}

/// [`grouping`] from the bundle's config.json. Only `annotations` is read:
/// parsing the whole runtime spec would link a parser for its every type
/// (and, through the process's CPU affinity, a regex engine) into the shim.
pub fn grouping_of_spec(id: &str, config_json: &str) -> Result<String> {
    let spec: serde_json::Value = serde_json::from_str(config_json)
        .map_err(|e| Error::InvalidArgument(format!("config.json: {e}")))?;
    let annotations = match spec.get("annotations") {
        None | Some(serde_json::Value::Null) => None,
        Some(value) => Some(
            serde_json::from_value::<HashMap<String, String>>(value.clone())
                .map_err(|e| Error::InvalidArgument(format!("config.json annotations: {e}")))?,
        ),
    };
    Ok(grouping(id, annotations.as_ref()))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Created,
    Running,
    Paused,
    Stopped,
}

/// How a process ended: its status as a shell reports it (128 + signal
/// when killed, as the reaper computes it) and when.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Exit {
    pub status: u32,
    pub at: SystemTime,
}

/// The state of one process.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lifecycle {
    pub status: Status,
    pub pid: u32,
    pub exit: Option<Exit>,
}

impl Default for Lifecycle {
    fn default() -> Self {
        Lifecycle {
            status: Status::Created,
            pid: 0,
            exit: None,
        }
    }
}

impl Lifecycle {
    /// A process runc created (a container's init, paused before its
    /// user program) with its pid already known.
    pub fn created(pid: u32) -> Self {
        Lifecycle {
            pid,
            ..Default::default()
        }
    }

    /// Checked before asking runc to start the process.
    pub fn can_start(&self, what: &str) -> Result<()> {
        match self.status {
            Status::Created => Ok(()),
            Status::Stopped => Err(Error::FailedPrecondition(format!(
                "{what} has already exited"
            ))),
            _ => Err(Error::FailedPrecondition(format!("{what} already started"))),
        }
    }

    /// runc started it. An exit recorded in the meantime wins.
    pub fn started(&mut self, pid: u32) {
        self.pid = pid;
        if self.status != Status::Stopped {
            self.status = Status::Running;
        }
    }

    pub fn paused(&mut self, paused: bool) {
        if self.status != Status::Stopped {
            self.status = if paused {
                Status::Paused
            } else {
                Status::Running
            };
        }
    }

    /// The reaper saw the process end. Returns false for a second report,
    /// which changes nothing.
    pub fn exited(&mut self, status: u32, at: SystemTime) -> bool {
        if self.exit.is_some() {
            return false;
        }
        self.status = Status::Stopped;
        self.exit = Some(Exit { status, at });
        true
    }

    /// Signals go to live processes only; containerd takes NotFound as
    /// "already gone".
    pub fn can_kill(&self, what: &str) -> Result<()> {
        match self.status {
            Status::Stopped => Err(Error::NotFound(format!("{what}: process already finished"))),
            _ => Ok(()),
        }
    }

    /// A process is deleted once it has stopped, or before it ever started.
    pub fn can_delete(&self, what: &str) -> Result<()> {
        match self.status {
            Status::Running | Status::Paused => Err(Error::FailedPrecondition(format!(
                "{what} is still running: kill it first"
            ))),
            _ => Ok(()),
        }
    }
}

/// Sorts runc's complaint about a kill into what containerd expects.
pub fn kill_error(what: &str, runc_message: &str) -> Error {
    let m = runc_message.to_lowercase();
    if m.contains("process already finished")
        || m.contains("container not running")
        || m.contains("no such process")
        || m.contains("does not exist")
    {
        Error::NotFound(format!("{what}: process already finished"))
    } else {
        Error::Runc {
            op: "kill",
            msg: runc_message.trim().to_string(),
        }
    }
}

/// The last error runc wrote to its JSON log (`--log ... --log-format
/// json`), which is where it explains a failure when its stdio belongs to
/// the container.
pub fn last_runc_error(log: &str) -> Option<String> {
    log.lines().rev().find_map(|line| {
        let v: serde_json::Value = serde_json::from_str(line).ok()?;
        (v.get("level")?.as_str()? == "error")
            .then(|| v.get("msg")?.as_str().map(str::to_string))?
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grouping_prefers_the_group_label_then_the_sandbox() {
        let mut a = HashMap::new();
        assert_eq!(grouping("c1", None), "c1");
        assert_eq!(grouping("c1", Some(&a)), "c1");
        a.insert("io.kubernetes.cri.sandbox-id".to_string(), "sb".to_string());
        assert_eq!(grouping("c1", Some(&a)), "sb");
        a.insert("io.containerd.runc.v2.group".to_string(), "g".to_string());
        assert_eq!(grouping("c1", Some(&a)), "g");
        a.insert("io.containerd.runc.v2.group".to_string(), String::new());
        assert_eq!(grouping("c1", Some(&a)), "c1");
    }

    #[test]
    fn grouping_reads_only_the_specs_annotations() {
        let spec = r#"{"ociVersion": "1.1.0", "process": {"args": ["sh"], "cwd": "/"},
            "annotations": {"io.containerd.runc.v2.group": "g"}}"#;
        assert_eq!(grouping_of_spec("c1", spec).unwrap(), "g");
        assert_eq!(
            grouping_of_spec("c1", r#"{"ociVersion": "1.1.0"}"#).unwrap(),
            "c1"
        );
        assert_eq!(
            grouping_of_spec("c1", r#"{"annotations": null}"#).unwrap(),
            "c1"
        );
        let err = grouping_of_spec("c1", r#"{"annotations": {"a": 1}}"#).unwrap_err();
        assert!(err.to_string().contains("annotations"), "{err}");
        assert!(grouping_of_spec("c1", "{").is_err());
    }

    #[test]
    fn a_process_starts_once_and_exits_once() {
        let t = SystemTime::UNIX_EPOCH;
        let mut p = Lifecycle::created(10);
        assert!(p.can_start("c1").is_ok());
        assert!(
            p.can_delete("c1").is_ok(),
            "created processes can be deleted"
        );
        p.started(10);
        assert_eq!(p.status, Status::Running);
        assert!(p.can_start("c1").is_err());
        assert!(p.can_delete("c1").is_err());
        assert!(p.can_kill("c1").is_ok());
        assert!(p.exited(137, t));
        assert!(!p.exited(0, t), "the first exit counts");
        assert_eq!(p.exit.unwrap().status, 137);
        assert_eq!(p.status, Status::Stopped);
        assert!(matches!(p.can_kill("c1"), Err(Error::NotFound(_))));
        assert!(p.can_delete("c1").is_ok());
        assert!(p.can_start("c1").is_err());
    }

    #[test]
    fn an_exit_before_start_returns_is_kept() {
        let mut p = Lifecycle::default();
        p.exited(0, SystemTime::UNIX_EPOCH);
        p.started(42);
        assert_eq!(p.status, Status::Stopped);
        assert_eq!(p.pid, 42);
        p.paused(true);
        assert_eq!(p.status, Status::Stopped);
    }

    #[test]
    fn pause_and_resume() {
        let mut p = Lifecycle::created(1);
        p.started(1);
        p.paused(true);
        assert_eq!(p.status, Status::Paused);
        assert!(p.can_delete("c").is_err());
        p.paused(false);
        assert_eq!(p.status, Status::Running);
    }

    #[test]
    fn kill_errors_for_finished_processes_are_not_found() {
        for m in [
            "container not running",
            "process already finished",
            "no such process",
            "container \"x\" does not exist",
        ] {
            assert!(matches!(kill_error("c", m), Error::NotFound(_)), "{m}");
        }
        assert!(matches!(
            kill_error("c", "permission denied"),
            Error::Runc { .. }
        ));
    }

    #[test]
    fn runc_log_gives_the_last_error() {
        let log = concat!(
            r#"{"level":"warning","msg":"w","time":"t"}"#,
            "\n",
            r#"{"level":"error","msg":"first","time":"t"}"#,
            "\n",
            r#"{"level":"error","msg":"exec: \"nope\": not found","time":"t"}"#,
            "\n",
            "garbage\n"
        );
        assert_eq!(
            last_runc_error(log).as_deref(),
            Some("exec: \"nope\": not found")
        );
        assert_eq!(last_runc_error(""), None);
    }
}
