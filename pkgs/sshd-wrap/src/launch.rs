//! What a session runs, decided before any process starts.
//!
//! The daemon fills a [`Launch`] from the channel requests and the key's options, and hands
//! it as JSON to the session helper: a fresh, single-threaded process of our own binary that
//! enters the host's namespaces, becomes the user and execs the shell (see `daemon::helper`).

use serde::{Deserialize, Serialize};

/// PATH of a session, as OpenSSH's default for every user.
pub const SESSION_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// What the client asked the channel to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    Shell,
    Exec(String),
    Subsystem(String),
}

/// What the session runs in the end.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Program {
    /// The user's shell as a login shell (`-sh`).
    Shell,
    /// `shell -c COMMAND`.
    Command(String),
    /// Our own SFTP server, on stdin and stdout.
    Sftp,
}

/// Why a channel request gets no program.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    #[error("unknown subsystem {0:?} (only sftp is served)")]
    UnknownSubsystem(String),
}

/// The program for `request`. A forced command (`command="..."`) replaces whatever was asked,
/// as in OpenSSH; the second value is then what goes into `SSH_ORIGINAL_COMMAND`.
pub fn program_for(
    request: &Request,
    forced: Option<&str>,
) -> Result<(Program, Option<String>), RequestError> {
    let original = match request {
        Request::Shell => None,
        Request::Exec(cmd) => Some(cmd.clone()),
        Request::Subsystem(name) => Some(name.clone()),
    };
    if let Some(forced) = forced {
        return Ok((Program::Command(forced.to_string()), original));
    }
    let program = match request {
        Request::Shell => Program::Shell,
        Request::Exec(cmd) => Program::Command(cmd.clone()),
        Request::Subsystem(name) if name == "sftp" => Program::Sftp,
        Request::Subsystem(name) => return Err(RequestError::UnknownSubsystem(name.clone())),
    };
    Ok((program, None))
}

/// Variables a client may set with `env` requests: the locale (Debian's `AcceptEnv LANG LC_*`).
/// Anything else (LD_PRELOAD, PATH, ...) could change what the user's own shell runs.
pub fn client_may_set(name: &str) -> bool {
    let valid = !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    valid && (name == "LANG" || name.starts_with("LC_"))
}

/// Everything the session helper needs, decided by the daemon.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Launch {
    pub user: String,
    pub uid: u32,
    pub gid: u32,
    pub home: String,
    /// The login shell from passwd; empty means `/bin/sh`.
    pub shell: String,
    pub program: Program,
    /// Enter this process's namespaces first (mnt, uts, ipc, net, pid, cgroup).
    pub host_pid: Option<u32>,
    /// Read, for the supplementary groups, after the namespaces are entered.
    pub group_file: String,
    /// The terminal type, when the session has a pty.
    pub term: Option<String>,
    /// `env` requests the client made that [`client_may_set`] allows.
    pub client_env: Vec<(String, String)>,
    /// `client_ip client_port server_ip server_port`, for SSH_CONNECTION and SSH_CLIENT.
    pub connection: (String, u16, String, u16),
    /// The pty's path, for SSH_TTY.
    pub tty: Option<String>,
    pub original_command: Option<String>,
}

impl Launch {
    pub fn shell_path(&self) -> &str {
        if self.shell.is_empty() {
            "/bin/sh"
        } else {
            &self.shell
        }
    }

    /// argv of the program, argv[0] first; None for [`Program::Sftp`], which is not exec'd.
    pub fn argv(&self) -> Option<Vec<String>> {
        let shell = self.shell_path();
        let base = shell.rsplit('/').next().unwrap_or(shell);
        match &self.program {
            // A leading '-' makes it a login shell, which reads /etc/profile.
            Program::Shell => Some(vec![format!("-{base}")]),
            Program::Command(cmd) => Some(vec![base.to_string(), "-c".into(), cmd.clone()]),
            Program::Sftp => None,
        }
    }

    /// The whole environment of the session; `home` is the directory it starts in.
    pub fn environment(&self, home: &str) -> Vec<(String, String)> {
        let mut env = vec![
            ("HOME".to_string(), home.to_string()),
            ("USER".into(), self.user.clone()),
            ("LOGNAME".into(), self.user.clone()),
            ("SHELL".into(), self.shell_path().to_string()),
            ("PATH".into(), SESSION_PATH.into()),
        ];
        if let Some(term) = &self.term {
            env.push(("TERM".into(), term.clone()));
        }
        env.extend(
            self.client_env
                .iter()
                .filter(|(k, _)| client_may_set(k))
                .cloned(),
        );
        let (cip, cport, sip, sport) = &self.connection;
        env.push((
            "SSH_CONNECTION".into(),
            format!("{cip} {cport} {sip} {sport}"),
        ));
        env.push(("SSH_CLIENT".into(), format!("{cip} {cport} {sport}")));
        if let Some(tty) = &self.tty {
            env.push(("SSH_TTY".into(), tty.clone()));
        }
        if let Some(cmd) = &self.original_command {
            env.push(("SSH_ORIGINAL_COMMAND".into(), cmd.clone()));
        }
        env
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn launch(program: Program) -> Launch {
        Launch {
            user: "alice".into(),
            uid: 1000,
            gid: 1000,
            home: "/home/alice".into(),
            shell: "/bin/bash".into(),
            program,
            host_pid: None,
            group_file: "/etc/group".into(),
            term: None,
            client_env: vec![],
            connection: ("127.0.0.1".into(), 40000, "127.0.0.1".into(), 22),
            tty: None,
            original_command: None,
        }
    }

    #[test]
    fn requests_map_to_programs() {
        assert_eq!(
            program_for(&Request::Shell, None),
            Ok((Program::Shell, None))
        );
        assert_eq!(
            program_for(&Request::Exec("id".into()), None),
            Ok((Program::Command("id".into()), None))
        );
        assert_eq!(
            program_for(&Request::Subsystem("sftp".into()), None),
            Ok((Program::Sftp, None))
        );
        assert_eq!(
            program_for(&Request::Subsystem("netconf".into()), None),
            Err(RequestError::UnknownSubsystem("netconf".into()))
        );
    }

    #[test]
    fn a_forced_command_replaces_every_request() {
        for (request, original) in [
            (Request::Shell, None),
            (
                Request::Exec("rm -rf /".into()),
                Some("rm -rf /".to_string()),
            ),
            (Request::Subsystem("sftp".into()), Some("sftp".to_string())),
        ] {
            assert_eq!(
                program_for(&request, Some("uptime")),
                Ok((Program::Command("uptime".into()), original))
            );
        }
    }

    #[test]
    fn clients_may_set_the_locale_only() {
        for ok in ["LANG", "LC_ALL", "LC_CTYPE"] {
            assert!(client_may_set(ok), "{ok}");
        }
        for bad in [
            "PATH",
            "LD_PRELOAD",
            "TERM",
            "HOME",
            "LC_A=B",
            "",
            "BASH_ENV",
            "LC_\n",
        ] {
            assert!(!client_may_set(bad), "{bad:?}");
        }
    }

    #[test]
    fn argv_of_each_program() {
        assert_eq!(
            launch(Program::Shell).argv(),
            Some(vec!["-bash".to_string()])
        );
        assert_eq!(
            launch(Program::Command("echo hi".into())).argv(),
            Some(vec!["bash".into(), "-c".into(), "echo hi".into()])
        );
        assert_eq!(launch(Program::Sftp).argv(), None);
        let mut empty = launch(Program::Shell);
        empty.shell = String::new();
        assert_eq!(empty.shell_path(), "/bin/sh");
        assert_eq!(empty.argv(), Some(vec!["-sh".to_string()]));
    }

    #[test]
    fn the_environment_holds_only_what_is_safe() {
        let mut l = launch(Program::Command("env".into()));
        l.term = Some("xterm-256color".into());
        l.tty = Some("/dev/pts/3".into());
        l.original_command = Some("ls".into());
        l.client_env = vec![
            ("LANG".into(), "C.UTF-8".into()),
            ("LD_PRELOAD".into(), "/tmp/evil.so".into()),
        ];
        let env = l.environment("/home/alice");
        let get = |k: &str| env.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        assert_eq!(get("HOME"), Some("/home/alice"));
        assert_eq!(get("TERM"), Some("xterm-256color"));
        assert_eq!(get("LANG"), Some("C.UTF-8"));
        assert_eq!(get("LD_PRELOAD"), None);
        assert_eq!(get("SSH_CONNECTION"), Some("127.0.0.1 40000 127.0.0.1 22"));
        assert_eq!(get("SSH_CLIENT"), Some("127.0.0.1 40000 22"));
        assert_eq!(get("SSH_TTY"), Some("/dev/pts/3"));
        assert_eq!(get("SSH_ORIGINAL_COMMAND"), Some("ls"));
        assert_eq!(get("PATH"), Some(SESSION_PATH));
        // No pty: no TERM, as in OpenSSH.
        let plain = launch(Program::Shell).environment("/");
        assert!(plain.iter().all(|(k, _)| k != "TERM" && k != "SSH_TTY"));
    }

    #[test]
    fn launch_round_trips_through_json() {
        let l = launch(Program::Sftp);
        let text = serde_json::to_string(&l).unwrap();
        assert_eq!(serde_json::from_str::<Launch>(&text).unwrap(), l);
    }
}
