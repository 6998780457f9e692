//! An exec request's process spec, read into oci-spec's `Process` field by field.
//!
//! `Process`'s own parser checks `execCPUAffinity` with a regex, and instantiating it links a
//! whole regex engine (a third of the shim) for that one field. Each field's own type is parsed
//! here instead, and the affinity lists are checked by hand.

use oci_spec::runtime::{ExecCPUAffinity, Process};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::error::{Error, Result};

/// Parses the JSON of a runtime-spec `process` as `Process` would, keys it does not know ignored
/// as `Process` ignores them.
pub fn exec_process(json: &[u8]) -> Result<Process> {
    let mut fields: Map<String, Value> = serde_json::from_slice(json).map_err(invalid)?;
    let mut p = Process::default();
    p.set_terminal(take(&mut fields, "terminal")?)
        .set_console_size(take(&mut fields, "consoleSize")?)
        .set_user(required(&mut fields, "user")?)
        .set_args(take(&mut fields, "args")?)
        .set_command_line(take(&mut fields, "commandLine")?)
        .set_env(take(&mut fields, "env")?)
        .set_cwd(required(&mut fields, "cwd")?)
        .set_capabilities(take(&mut fields, "capabilities")?)
        .set_rlimits(take(&mut fields, "rlimits")?)
        .set_no_new_privileges(take(&mut fields, "noNewPrivileges")?)
        .set_apparmor_profile(take(&mut fields, "apparmorProfile")?)
        .set_oom_score_adj(take(&mut fields, "oomScoreAdj")?)
        .set_selinux_label(take(&mut fields, "selinuxLabel")?)
        .set_io_priority(take(&mut fields, "ioPriority")?)
        .set_scheduler(take(&mut fields, "scheduler")?);
    let affinity = match take::<Map<String, Value>>(&mut fields, "execCPUAffinity")? {
        None => None,
        Some(mut a) => {
            let mut affinity = ExecCPUAffinity::default();
            affinity
                .set_initial(cpu_list(&mut a, "initial")?)
                .set_cpu_affinity_final(cpu_list(&mut a, "final")?);
            Some(affinity)
        }
    };
    p.set_exec_cpu_affinity(affinity);
    Ok(p)
}

fn invalid(e: serde_json::Error) -> Error {
    Error::InvalidArgument(format!("process spec: {e}"))
}

/// The field `key`, absent and null alike as None.
fn take<T: DeserializeOwned>(fields: &mut Map<String, Value>, key: &str) -> Result<Option<T>> {
    match fields.remove(key) {
        None | Some(Value::Null) => Ok(None),
        Some(value) => serde_json::from_value(value)
            .map(Some)
            .map_err(|e| Error::InvalidArgument(format!("process spec: {key}: {e}"))),
    }
}

fn required<T: DeserializeOwned>(fields: &mut Map<String, Value>, key: &str) -> Result<T> {
    take(fields, key)?
        .ok_or_else(|| Error::InvalidArgument(format!("process spec: missing field `{key}`")))
}

/// A CPU list such as `0-3,7`, as the runtime spec allows it.
fn cpu_list(fields: &mut Map<String, Value>, key: &str) -> Result<Option<String>> {
    let Some(list) = take::<String>(fields, key)? else {
        return Ok(None);
    };
    let number = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let valid = list.split(',').all(|part| match part.split_once('-') {
        Some((from, to)) => number(from) && number(to),
        None => number(part),
    });
    if !valid {
        return Err(Error::InvalidArgument(format!(
            "process spec: execCPUAffinity.{key}: {list:?} is not a CPU list such as \"0-3,7\""
        )));
    }
    Ok(Some(list))
}

#[cfg(test)]
mod tests {
    use super::*;

    const FULL: &str = r#"{
        "terminal": true,
        "consoleSize": {"height": 24, "width": 80},
        "user": {"uid": 1, "gid": 2, "umask": 18, "additionalGids": [3, 4]},
        "args": ["sh", "-c", "true"],
        "commandLine": "sh -c true",
        "env": ["PATH=/bin", "TERM=xterm"],
        "cwd": "/work",
        "capabilities": {"bounding": ["CAP_KILL"], "effective": ["CAP_KILL"],
                         "permitted": ["CAP_KILL"], "inheritable": [], "ambient": []},
        "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1024, "soft": 512}],
        "noNewPrivileges": true,
        "apparmorProfile": "unconfined",
        "oomScoreAdj": -500,
        "selinuxLabel": "system_u:system_r:container_t:s0",
        "ioPriority": {"class": "IOPRIO_CLASS_BE", "priority": 4},
        "scheduler": {"policy": "SCHED_OTHER", "nice": 5},
        "execCPUAffinity": {"initial": "0-3,7", "final": "1"}
    }"#;

    #[test]
    fn every_field_is_read_as_process_reads_it() {
        let ours = exec_process(FULL.as_bytes()).unwrap();
        let theirs: Process = serde_json::from_str(FULL).unwrap();
        assert_eq!(ours, theirs);
        // Nothing is lost on the way to runc: it writes the same JSON back. Capability sets are
        // written in no fixed order, so they were compared as part of Process above.
        let mut back = serde_json::to_value(&ours).unwrap();
        let mut want: Value = serde_json::from_str(FULL).unwrap();
        back.as_object_mut().unwrap().remove("capabilities");
        want.as_object_mut().unwrap().remove("capabilities");
        assert_eq!(back, want);
    }

    #[test]
    fn absent_fields_stay_absent() {
        let p =
            exec_process(br#"{"user": {"uid": 0, "gid": 0}, "cwd": "/", "future": 1}"#).unwrap();
        assert_eq!(p.args(), &None);
        assert_eq!(p.env(), &None);
        assert_eq!(p.capabilities(), &None);
        assert_eq!(p.rlimits(), &None);
        assert_eq!(p.terminal(), None);
        assert_eq!(p.no_new_privileges(), None);
        assert_eq!(p.exec_cpu_affinity(), &None);
    }

    #[test]
    fn bad_specs_are_invalid_arguments_naming_the_field() {
        let cases: [(&[u8], &str); 5] = [
            (b"{", "process spec"),
            (br#"{"cwd": "/"}"#, "missing field `user`"),
            (br#"{"user": {"uid": 0, "gid": 0}}"#, "missing field `cwd`"),
            (
                br#"{"user": {"uid": 0, "gid": 0}, "cwd": "/", "args": "sh"}"#,
                "args",
            ),
            (
                br#"{"user": {"uid": 0, "gid": 0}, "cwd": "/", "execCPUAffinity": {"initial": "0-"}}"#,
                "execCPUAffinity.initial",
            ),
        ];
        for (json, want) in cases {
            let err = exec_process(json).unwrap_err();
            assert!(matches!(err, Error::InvalidArgument(_)), "{err:?}");
            assert!(err.to_string().contains(want), "{err} lacks {want}");
        }
    }

    #[test]
    fn cpu_lists() {
        let mut ok = Map::new();
        for list in ["0", "0-3", "0-3,7", "1,2,3", "10-20,30"] {
            ok.insert("k".into(), Value::String(list.into()));
            assert_eq!(cpu_list(&mut ok, "k").unwrap().as_deref(), Some(list));
        }
        for list in ["", "a", "1,", ",1", "1-", "-1", "1-2-3", "1 ,2"] {
            ok.insert("k".into(), Value::String(list.into()));
            assert!(cpu_list(&mut ok, "k").is_err(), "{list:?} accepted");
        }
    }
}
