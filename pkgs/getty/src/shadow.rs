//! `/etc/shadow` entries and password checks. No I/O: the caller reads the file.
//!
//! Hashes: SHA-512-crypt `$6$` and SHA-256-crypt `$5$` (RustCrypto's `sha-crypt`) and yescrypt
//! `$y$` (RustCrypto's `yescrypt`), the three that Debian, Alpine and LinuxKit images write.
//! Anything else (MD5 `$1$`, bcrypt `$2b$`, DES) is refused and logged, never guessed at.

use sha_crypt::PasswordVerifier as _;

/// One line of a shadow file (the fields login needs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShadowEntry {
    pub name: String,
    /// The encrypted password: a hash, or a lock marker (`*`, `!`, `!!`, `!$6$...`), or empty.
    pub hash: String,
    /// The day (since 1970-01-01) the account expires, if set.
    pub expire: Option<i64>,
}

/// Why a login was refused. The console always says "Login incorrect"; the log says which.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("no such user")]
    UnknownUser,
    #[error("the account is locked")]
    Locked,
    #[error("the account has an empty password and empty passwords are not allowed")]
    EmptyPassword,
    #[error("the account expired")]
    Expired,
    #[error("wrong password")]
    WrongPassword,
    #[error("unsupported hash type {0:?} (supported: $6$, $5$, $y$)")]
    Unsupported(String),
    #[error("malformed hash")]
    Malformed,
}

impl Refusal {
    /// A short key for log lines.
    pub fn key(&self) -> &'static str {
        match self {
            Refusal::UnknownUser => "unknown-user",
            Refusal::Locked => "locked",
            Refusal::EmptyPassword => "empty-password",
            Refusal::Expired => "expired",
            Refusal::WrongPassword => "wrong-password",
            Refusal::Unsupported(_) => "unsupported-hash",
            Refusal::Malformed => "malformed-hash",
        }
    }
}

impl ShadowEntry {
    /// Parses `name:hash:lastchg:min:max:warn:inactive:expire:reserved`. Trailing fields may
    /// be missing (LinuxKit's sample `getty.shadow` lines are often short); None if the line
    /// is not an entry at all.
    pub fn parse_line(line: &str) -> Option<ShadowEntry> {
        let line = line.strip_suffix('\r').unwrap_or(line);
        let mut fields = line.split(':');
        let name = fields.next()?;
        let hash = fields.next()?;
        if name.is_empty() || name.starts_with(['#', '+', '-']) {
            return None;
        }
        let expire = fields.nth(5).and_then(|f| f.trim().parse::<i64>().ok());
        Some(ShadowEntry {
            name: name.to_string(),
            hash: hash.to_string(),
            expire,
        })
    }
}

/// The first entry for `name` in the text of a shadow file.
pub fn find_entry(shadow: &str, name: &str) -> Option<ShadowEntry> {
    shadow
        .lines()
        .filter_map(ShadowEntry::parse_line)
        .find(|e| e.name == name)
}

/// What to do with an entry before a password is asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// Let accounts with an empty password field in without a password.
    pub allow_empty: bool,
}

/// Whether to ask for a password at all: not for an empty field that the policy allows.
/// Everyone else is asked, known or not, locked or not, so that the prompt says nothing.
pub fn needs_password(entry: Option<&ShadowEntry>, policy: Policy) -> bool {
    !(policy.allow_empty && entry.is_some_and(|e| e.hash.is_empty()))
}

/// Decides a login. `today` is the day since the epoch, for the expiry date.
pub fn authenticate(
    entry: Option<&ShadowEntry>,
    password: &[u8],
    policy: Policy,
    today: i64,
) -> Result<(), Refusal> {
    let Some(entry) = entry else {
        // Spend the time a real check takes, so the answer's delay does not tell.
        let _ = verify(DUMMY_HASH, password);
        return Err(Refusal::UnknownUser);
    };
    let hash = entry.hash.as_str();
    if hash.starts_with(['!', '*']) {
        return Err(Refusal::Locked);
    }
    if hash.is_empty() {
        return if policy.allow_empty {
            check_expiry(entry, today)
        } else {
            Err(Refusal::EmptyPassword)
        };
    }
    verify(hash, password)?;
    check_expiry(entry, today)
}

fn check_expiry(entry: &ShadowEntry, today: i64) -> Result<(), Refusal> {
    // As shadow(5): the account is unusable from the expiry day on; 0 is no expiry for some
    // tools, and login(1) follows them.
    match entry.expire {
        Some(day) if day > 0 && today >= day => Err(Refusal::Expired),
        _ => Ok(()),
    }
}

/// A SHA-512 hash of nothing in particular, checked against for unknown users.
const DUMMY_HASH: &str = "$6$dummysaltdummysa$vrCwqerVjFC7Vv8Nhy3XuNH7mzvWsYPZU4PXOCjzqr.hymjKMzwQini3MYIGMxLCGxpU1n5zTEyeoHZVnFYwd.";

/// Checks `password` against one crypt(3) hash string.
pub fn verify(hash: &str, password: &[u8]) -> Result<(), Refusal> {
    let kind = hash
        .strip_prefix('$')
        .and_then(|h| h.split('$').next())
        .unwrap_or("");
    let result = match kind {
        "5" | "6" => sha_crypt::ShaCrypt::default().verify_password(password, hash),
        "y" => yescrypt::PasswordVerifier::<str>::verify_password(
            &yescrypt::Yescrypt::default(),
            password,
            hash,
        ),
        _ => {
            let shown = if kind.is_empty() { "DES" } else { kind };
            return Err(Refusal::Unsupported(format!("${shown}$")));
        }
    };
    match result {
        Ok(()) => Ok(()),
        Err(sha_crypt::password_hash::Error::PasswordInvalid) => Err(Refusal::WrongPassword),
        Err(_) => Err(Refusal::Malformed),
    }
}

/// Whether a typed user name can be looked up at all: what useradd would accept, roughly.
/// Anything else is refused before any file is read (and never logged verbatim).
pub fn valid_username(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && !name.starts_with('-')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '$' | '@'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use sha_crypt::{Algorithm, CustomizedPasswordHasher as _, Params, ShaCrypt};
    use yescrypt::Yescrypt;

    const OPEN: Policy = Policy { allow_empty: false };

    fn sha(alg: Algorithm, rounds: u32, password: &[u8]) -> String {
        ShaCrypt::new(alg, Params::new(rounds).unwrap())
            .hash_password_with_params(password, b"saltsaltsalt", Params::new(rounds).unwrap())
            .unwrap()
            .to_string()
    }

    fn entry(hash: &str) -> ShadowEntry {
        ShadowEntry {
            name: "u".into(),
            hash: hash.into(),
            expire: None,
        }
    }

    #[test]
    fn parses_lines() {
        let text =
            "# comment\nroot:$6$abc$def:17322:0:::::\nshort:!\nexp:$5$x$y:1:0:99999:7::19000:\n\n";
        assert_eq!(find_entry(text, "root").unwrap().hash, "$6$abc$def");
        assert_eq!(find_entry(text, "short").unwrap().hash, "!");
        assert_eq!(find_entry(text, "exp").unwrap().expire, Some(19000));
        assert_eq!(find_entry(text, "root").unwrap().expire, None);
        assert_eq!(find_entry(text, "# comment"), None);
        assert_eq!(find_entry(text, "nobody"), None);
        assert_eq!(ShadowEntry::parse_line("nocolon"), None);
    }

    #[test]
    fn linuxkit_sample_shadow_line() {
        // The getty.shadow sample in LinuxKit's README: root's password is "abcdefgh".
        let text = "root:$6$6tPd2uhHrecCEKug$8mKfcgfwguP7f.BLdZsT1Wz7WIIJOBY1oUFHzIv9/O71M2J0EPdtFqFGTxB1UK5ejqQxRFQ.ZSG9YXR0SNsc11:17322:0:::::";
        let e = find_entry(text, "root").unwrap();
        assert_eq!(authenticate(Some(&e), b"abcdefgh", OPEN, 20_000), Ok(()));
        assert_eq!(
            authenticate(Some(&e), b"abcdefgi", OPEN, 20_000),
            Err(Refusal::WrongPassword)
        );
    }

    #[test]
    fn sha_crypt_both_sizes() {
        for alg in [Algorithm::Sha512Crypt, Algorithm::Sha256Crypt] {
            let h = sha(alg, 1000, b"secret");
            assert!(h.starts_with(if alg == Algorithm::Sha512Crypt {
                "$6$"
            } else {
                "$5$"
            }));
            assert_eq!(verify(&h, b"secret"), Ok(()));
            assert_eq!(verify(&h, b"Secret"), Err(Refusal::WrongPassword));
            assert_eq!(verify(&h, b""), Err(Refusal::WrongPassword));
        }
    }

    #[test]
    fn libxcrypt_strings() {
        // Made by libxcrypt's crypt(3), the library Debian's login and mkpasswd use.
        for (hash, password) in [
            ("$5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5", "Hello world!"),
            ("$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1", "Hello world!"),
            ("$5$rounds=1000$roundsfortest$7P.7wnAur.hhaJZ7BPT7UaK/Nb9i.Ga4DYEjxGhNgV5", "Hello world!"),
            ("$6$rounds=1000$roundsfortest$2/U83Bauzs/PU/.t4.PIO5d0LnwA2CZtLmw1bxz3GJZzCnRLa.1JeW9zIvYiLYhcum.cWge04vCuUlfT0UI4C0", "Hello world!"),
            ("$y$j//$LdJMENpBABJJ3hIHjB1B$U8a2MaK.yesqWySK8Owk6PWeWmp/XuagMbpP45q1/q1", "pleaseletmein"),
            ("$y$j0/$LdJM$k7BXzSDuoGHW56SY3HxROCiA0gWRscZe2aA0q5oHPM0", "pleaseletmein"),
            // mkpasswd -m yescrypt -R 1
            ("$y$j75$DsqzHpOXnjWzPGfnckbAP/$L8xCfBwdwIKRngFM051gogHbOvMtd1fC88oDFIGYvXA", "secret"),
        ] {
            assert_eq!(verify(hash, password.as_bytes()), Ok(()), "{hash}");
            assert_eq!(verify(hash, b"wrong"), Err(Refusal::WrongPassword), "{hash}");
        }
        // libxcrypt refuses rounds below 1000 (glibc used to clamp them); so do we.
        assert_eq!(
            verify(
                "$5$rounds=10$roundstoolow$yfvwcWrQ8l/K0DAWyuPMDNHpIVlTQebY9l/gL972bIC",
                b"x"
            ),
            Err(Refusal::Malformed)
        );
    }

    #[test]
    fn dummy_hash_is_a_real_one() {
        // Unknown users must cost a full SHA-512 check, not a parse error.
        assert_eq!(verify(DUMMY_HASH, b"not-a-password"), Ok(()));
    }

    #[test]
    fn yescrypt_hashes() {
        let params = yescrypt::Params::new(yescrypt::Mode::default(), 1024, 8, 1).unwrap();
        let h = Yescrypt::default()
            .hash_password_with_params(b"secret", b"0123456789abcdef", params)
            .unwrap()
            .to_string();
        assert!(h.starts_with("$y$"), "{h}");
        assert_eq!(verify(&h, b"secret"), Ok(()));
        assert_eq!(verify(&h, b"secreT"), Err(Refusal::WrongPassword));
    }

    #[test]
    fn locked_empty_and_unsupported() {
        let good = sha(Algorithm::Sha512Crypt, 1000, b"pw");
        for locked in ["*", "!", "!!", "*LK*", &format!("!{good}")] {
            assert_eq!(
                authenticate(Some(&entry(locked)), b"pw", OPEN, 0),
                Err(Refusal::Locked),
                "{locked}"
            );
        }
        assert_eq!(
            authenticate(Some(&entry("")), b"", OPEN, 0),
            Err(Refusal::EmptyPassword)
        );
        let allow = Policy { allow_empty: true };
        assert_eq!(authenticate(Some(&entry("")), b"", allow, 0), Ok(()));
        assert!(!needs_password(Some(&entry("")), allow));
        assert!(needs_password(Some(&entry("")), OPEN));
        assert!(needs_password(Some(&entry("*")), allow));
        assert!(needs_password(None, allow));
        assert_eq!(
            authenticate(Some(&entry("$1$salt$hash")), b"pw", OPEN, 0),
            Err(Refusal::Unsupported("$1$".into()))
        );
        assert_eq!(
            authenticate(Some(&entry("abJnggxhB/yWI")), b"pw", OPEN, 0),
            Err(Refusal::Unsupported("$DES$".into()))
        );
        assert_eq!(
            authenticate(Some(&entry("$6$only-salt")), b"pw", OPEN, 0),
            Err(Refusal::Malformed)
        );
        assert_eq!(
            authenticate(None, b"pw", OPEN, 0),
            Err(Refusal::UnknownUser)
        );
    }

    #[test]
    fn expiry() {
        let mut e = entry(&sha(Algorithm::Sha256Crypt, 1000, b"pw"));
        e.expire = Some(100);
        assert_eq!(authenticate(Some(&e), b"pw", OPEN, 99), Ok(()));
        assert_eq!(
            authenticate(Some(&e), b"pw", OPEN, 100),
            Err(Refusal::Expired)
        );
        // A wrong password is wrong first: expiry says nothing to someone without it.
        assert_eq!(
            authenticate(Some(&e), b"no", OPEN, 100),
            Err(Refusal::WrongPassword)
        );
        e.expire = Some(0);
        assert_eq!(authenticate(Some(&e), b"pw", OPEN, 100), Ok(()));
    }

    #[test]
    fn user_names() {
        for ok in ["root", "alice", "svc_1", "a.b-c", "machine$", "x@y"] {
            assert!(valid_username(ok), "{ok}");
        }
        for bad in [
            "",
            "-f",
            "a b",
            "a:b",
            "a\u{7f}",
            "ü",
            &"x".repeat(65),
            "../x",
        ] {
            assert!(!valid_username(bad), "{bad:?}");
        }
    }
}
