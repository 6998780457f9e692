//! What a service that logs people in needs from the host, without NSS.
//!
//! Services here are static binaries, so `getpwnam` and friends are out: [`passwd`] reads
//! `/etc/passwd` and `/etc/group` by hand (the parsers are pure functions over text). [`ns`]
//! enters the namespaces of another process (the host's, from a container that shares the host's
//! PID namespace), and [`user`] drops to a user and builds the environment of a login shell.
//!
//! Shared by `pkgs/getty` and the ssh wrapper; keep it small and free of policy.

#![forbid(unsafe_code)]

pub mod ns;
pub mod passwd;
pub mod user;

pub use ns::{enter_namespaces, Ns, NsError};
pub use passwd::{
    builtin_root, find_user, find_user_by_uid, lookup_user, supplementary_groups, user_groups,
    DbError, Group, LineError, User,
};
pub use user::{chdir_home, drop_privileges, login_env, DropError, DEFAULT_PATH};
