//! `authorized_keys` in OpenSSH's format (sshd(8), AUTHORIZED_KEYS FILE FORMAT):
//! `[options] keytype base64-key [comment]`, one key a line. No I/O: the caller reads the file.
//!
//! Options are kept as written (name lowercased, value dequoted); what they mean is decided in
//! [`crate::policy`], so that an option we do not enforce refuses its key instead of vanishing.

use ssh_key::{HashAlg, PublicKey};

/// The key types we accept. Certificates, security keys (`sk-*`) and DSA are not among them.
pub const KEY_TYPES: &[&str] = &[
    "ssh-ed25519",
    "ecdsa-sha2-nistp256",
    "ecdsa-sha2-nistp384",
    "ecdsa-sha2-nistp521",
    "ssh-rsa",
];

/// One option of a key line: `name` or `name="value"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyOption {
    /// Lowercased: OpenSSH compares option names without case.
    pub name: String,
    /// The dequoted value (`\"` becomes `"`), if the option has one.
    pub value: Option<String>,
}

/// One usable line of an `authorized_keys` file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizedKey {
    /// 1-based line number, for log lines.
    pub line: usize,
    pub options: Vec<KeyOption>,
    pub key: PublicKey,
    pub comment: String,
}

impl AuthorizedKey {
    /// The fingerprint as `ssh-keygen -l` prints it: `SHA256:` and unpadded base64.
    pub fn fingerprint(&self) -> String {
        fingerprint(&self.key)
    }
}

/// The SHA256 fingerprint of a key as OpenSSH prints it.
pub fn fingerprint(key: &PublicKey) -> String {
    key.fingerprint(HashAlg::Sha256).to_string()
}

/// Why one line was skipped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("unterminated quote in the options")]
    UnterminatedQuote,
    #[error("empty option name")]
    EmptyOptionName,
    #[error("option {0:?}: the value must be in double quotes")]
    UnquotedValue(String),
    #[error("option {0:?}: garbage after the closing quote")]
    AfterQuote(String),
    #[error("no key after the options")]
    MissingKey,
    #[error("unsupported key type {0:?}")]
    UnsupportedKeyType(String),
    #[error("no base64 key after the key type")]
    MissingBlob,
    #[error("bad key: {0}")]
    BadKey(String),
    #[error("the key is a {actual} key but the line says {declared}")]
    TypeMismatch { declared: String, actual: String },
}

/// A skipped line and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {error}")]
pub struct LineWarning {
    pub line: usize,
    pub error: ParseError,
}

/// The keys of a file and the lines that were skipped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Parsed {
    pub keys: Vec<AuthorizedKey>,
    pub warnings: Vec<LineWarning>,
}

/// Parses the text of an `authorized_keys` file. Blank lines and `#` comments are skipped
/// silently; malformed lines are skipped with a warning.
pub fn parse_authorized_keys(text: &str) -> Parsed {
    let mut parsed = Parsed::default();
    for (i, line) in text.lines().enumerate() {
        match parse_line(line) {
            Ok(None) => {}
            Ok(Some((options, key, comment))) => parsed.keys.push(AuthorizedKey {
                line: i + 1,
                options,
                key,
                comment,
            }),
            Err(error) => parsed.warnings.push(LineWarning { line: i + 1, error }),
        }
    }
    parsed
}

type Line = (Vec<KeyOption>, PublicKey, String);

/// One line: None for blank lines and comments.
pub fn parse_line(line: &str) -> Result<Option<Line>, ParseError> {
    let line = line.trim_matches(|c: char| c.is_ascii_whitespace());
    if line.is_empty() || line.starts_with('#') {
        return Ok(None);
    }
    // As sshd: a line that starts with a key type has no options; anything else starts with them.
    let (options, rest) = match split_field(line) {
        (first, _) if is_key_type_like(first) => (Vec::new(), line),
        _ => {
            let (raw, rest) = split_options(line)?;
            (parse_options(raw)?, rest)
        }
    };
    let (key_type, rest) = split_field(rest);
    if key_type.is_empty() {
        return Err(ParseError::MissingKey);
    }
    if !KEY_TYPES.contains(&key_type) {
        return Err(ParseError::UnsupportedKeyType(key_type.to_string()));
    }
    let (blob, comment) = split_field(rest);
    if blob.is_empty() {
        return Err(ParseError::MissingBlob);
    }
    let key = PublicKey::from_openssh(&format!("{key_type} {blob}"))
        .map_err(|e| ParseError::BadKey(e.to_string()))?;
    let actual = key.algorithm().as_str().to_string();
    if actual != key_type {
        return Err(ParseError::TypeMismatch {
            declared: key_type.to_string(),
            actual,
        });
    }
    Ok(Some((options, key, comment.to_string())))
}

/// Looks like a key type rather than options: a known type, or one that sshd would also take
/// for a key (so that `sk-ssh-ed25519@openssh.com AAAA...` says "unsupported key type").
fn is_key_type_like(field: &str) -> bool {
    KEY_TYPES.contains(&field)
        || field.starts_with("sk-")
        || field.starts_with("ssh-")
        || field.starts_with("ecdsa-sha2-")
}

/// The first whitespace-separated field and the rest, trimmed.
fn split_field(s: &str) -> (&str, &str) {
    let s = s.trim_start_matches(|c: char| c.is_ascii_whitespace());
    match s.find(|c: char| c.is_ascii_whitespace()) {
        Some(i) => (
            &s[..i],
            s[i..].trim_matches(|c: char| c.is_ascii_whitespace()),
        ),
        None => (s, ""),
    }
}

/// Splits the options field off: it ends at the first blank outside double quotes.
fn split_options(line: &str) -> Result<(&str, &str), ParseError> {
    // The same scan as sshd's `sshkey_advance_past_options`, so that both agree on where
    // the key starts: `\"` is skipped anywhere, and no other backslash escapes.
    let mut quoted = false;
    let mut chars = line.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' if chars.peek().is_some_and(|&(_, n)| n == '"') => {
                chars.next();
            }
            '"' => quoted = !quoted,
            c if c.is_ascii_whitespace() && !quoted => return Ok((&line[..i], &line[i..])),
            _ => {}
        }
    }
    if quoted {
        Err(ParseError::UnterminatedQuote)
    } else {
        Err(ParseError::MissingKey)
    }
}

/// `name[="value"],...`; commas inside quotes belong to the value.
fn parse_options(raw: &str) -> Result<Vec<KeyOption>, ParseError> {
    let mut options = Vec::new();
    let mut rest = raw;
    loop {
        let end = rest.find([',', '=']).unwrap_or(rest.len());
        let name = rest[..end].to_ascii_lowercase();
        if name.is_empty() {
            return Err(ParseError::EmptyOptionName);
        }
        rest = &rest[end..];
        let value = match rest.strip_prefix('=') {
            Some(v) => {
                let v = v
                    .strip_prefix('"')
                    .ok_or_else(|| ParseError::UnquotedValue(name.clone()))?;
                let (value, after) = dequote(v)?;
                rest = after;
                Some(value)
            }
            None => None,
        };
        options.push(KeyOption { name, value });
        match rest.strip_prefix(',') {
            Some(r) => rest = r,
            None if rest.is_empty() => return Ok(options),
            None => {
                let name = options.pop().map(|o| o.name).unwrap_or_default();
                return Err(ParseError::AfterQuote(name));
            }
        }
    }
}

/// Reads a quoted value up to its closing quote. As OpenSSH, only `\"` is an escape; any other
/// backslash is kept as written (a forced command may well contain one).
fn dequote(s: &str) -> Result<(String, &str), ParseError> {
    let mut value = String::new();
    let mut chars = s.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Ok((value, &s[i + 1..])),
            '\\' if s[i + 1..].starts_with('"') => {
                value.push('"');
                chars.next();
            }
            c => value.push(c),
        }
    }
    Err(ParseError::UnterminatedQuote)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    // Made with `ssh-keygen -t <type> -N '' -C <comment>`; the fingerprints are what
    // `ssh-keygen -lf` printed for each.
    pub const ED25519: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIMfX68fKgxhWWREPgArOBkbXd2O5uKFhbkNiir4G+qMr ed25519@test";
    pub const ED25519_FP: &str = "SHA256:OGbO2WOJY9wX1OQnA0b/Fa+TVAHSopThMnb3IJjKCqU";
    pub const P256: &str = "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBF73Y3zpYErwNvBefCV9PMf0aBLUw1pLYz61/cG6tS8SdyvWetozmUK18434GT2TD89W6c4QxTnemQfNigE2n/Q= ecdsab256@test";
    const P256_FP: &str = "SHA256:VWZJZJ9rr/coQnm2KiXb3DNXz+gi8lHhzWck5kCxQ2U";
    const P384: &str = "ecdsa-sha2-nistp384 AAAAE2VjZHNhLXNoYTItbmlzdHAzODQAAAAIbmlzdHAzODQAAABhBFCuXB3lQ7rI6tv0e4kmM7xrFzTHNZfxjgZl1qE5lofa3Gh7IPMUxdiWccH02BZvGc+qPElmDDdPwyVbUg45inqx3xuSrXW6P41UaDxtzF21MIL/Rx9tOXZfbqYe+DC4VA== ecdsab384@test";
    const P384_FP: &str = "SHA256:9ucTLow9KFffn2mjsiqimEFsrQmX6K5Rr6vS6z0eYLA";
    const P521: &str = "ecdsa-sha2-nistp521 AAAAE2VjZHNhLXNoYTItbmlzdHA1MjEAAAAIbmlzdHA1MjEAAACFBAFfxaD2tQpHBEXwDmdGWZRK4jjUku+g7QhYcI5lW2NB7zAmHNspu8icVT/DUKLTpyWb9hNjuDl+cwjvU17uisnNDwEZ+8W4e3nAWifBoqKi0oK4ZNWtWzLkNy/dO4Yzy92JJvq02n8waHmUt7ASwT3Y+FD7HYof/5YkAm9THSJCk3dx2g== ecdsab521@test";
    const P521_FP: &str = "SHA256:a/oXRVJuSjwJvqDX4vXuN2ECiW7DBqHXMFpBf3/JoBU";
    pub const RSA: &str = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQDh9IL9RhAPFMbkrLNfbXjOIE8c5lKI8G6MS8ljKbMXcuHU4ubdLYHqc88z3zefUPgHW8l4N/jJFDu+BZQC3QMDsy+AX2IVTEVdyY84vyI47gHvBNDxUSFxD+tuDzaThYERTvnXmQZo49mygHvey8cdBEzitqZHJjPj21LVW+8QojmstHRtz3U3Ofs319GwIEaIAmDOEmCiwXl5bp2nMAEpjcpO/8KkoY3lI8V2OGyqEABsg1Cm3RPrvf6FIQOEswnLALqajGITxqmms2uvYF3T32E3qeqww0uq2zYw+DyinM6dtRuK8PNA7F5TtobOW+vj22Kn5O1lyXWzsZixjTGR rsab2048@test";
    const RSA_FP: &str = "SHA256:pH/eYmCsRcckS22UaopzlvPR3XCFUvh1juV2dY0KcCg";

    fn one(line: &str) -> AuthorizedKey {
        let p = parse_authorized_keys(line);
        assert_eq!(p.warnings, vec![], "{line}");
        assert_eq!(p.keys.len(), 1);
        p.keys.into_iter().next().unwrap()
    }

    fn opt(name: &str, value: Option<&str>) -> KeyOption {
        KeyOption {
            name: name.into(),
            value: value.map(Into::into),
        }
    }

    #[test]
    fn all_key_types_and_fingerprints() {
        for (line, fp, comment) in [
            (ED25519, ED25519_FP, "ed25519@test"),
            (P256, P256_FP, "ecdsab256@test"),
            (P384, P384_FP, "ecdsab384@test"),
            (P521, P521_FP, "ecdsab521@test"),
            (RSA, RSA_FP, "rsab2048@test"),
        ] {
            let k = one(line);
            assert_eq!(k.fingerprint(), fp);
            assert_eq!(k.comment, comment);
            assert!(k.options.is_empty());
            assert_eq!(k.line, 1);
        }
    }

    #[test]
    fn skips_blanks_and_comments_and_counts_lines() {
        let text = format!("# keys\n\n   \n\t# indented comment\n{ED25519}\r\n{RSA}\n");
        let p = parse_authorized_keys(&text);
        assert!(p.warnings.is_empty());
        assert_eq!(
            p.keys.iter().map(|k| k.line).collect::<Vec<_>>(),
            vec![5, 6]
        );
        assert_eq!(p.keys[0].comment, "ed25519@test");
    }

    #[test]
    fn comment_may_have_spaces_or_be_missing() {
        let blob = ED25519.split(' ').nth(1).unwrap();
        assert_eq!(
            one(&format!("ssh-ed25519 {blob}   Alice  at work ")).comment,
            "Alice  at work"
        );
        assert_eq!(one(&format!("ssh-ed25519 {blob}")).comment, "");
    }

    #[test]
    fn options_with_quotes_commas_and_escapes() {
        let line = format!(
            r#"restrict,PTY,command="echo \"a, b\" c\\d",from="10.0.0.0/8,!10.1.*" {ED25519}"#
        );
        let k = one(&line);
        assert_eq!(
            k.options,
            vec![
                opt("restrict", None),
                opt("pty", None),
                opt("command", Some(r#"echo "a, b" c\\d"#)),
                opt("from", Some("10.0.0.0/8,!10.1.*")),
            ]
        );
        assert_eq!(k.fingerprint(), ED25519_FP);
        // A blank inside quotes does not end the options field.
        let k = one(&format!(r#"command="ls -l /tmp" {RSA}"#));
        assert_eq!(k.options, vec![opt("command", Some("ls -l /tmp"))]);
        // As sshd, `\\"` is a backslash then an escaped quote: the value goes on.
        let p = parse_authorized_keys(&format!(r#"command="a\\" {RSA}"#));
        assert_eq!(p.warnings[0].error, ParseError::UnterminatedQuote);
        assert_eq!(k.fingerprint(), RSA_FP);
    }

    #[test]
    fn no_panic_on_any_prefix() {
        // Cut a busy line at every character (multi-byte ones included): each piece parses to
        // a key or a warning, never a panic.
        let line = format!(r#"restrict,command="é \"x, y\" c:\\d",from="::1/128,!h?st*" {P256}"#);
        for (i, _) in line.char_indices() {
            let _ = parse_authorized_keys(&line[..i]);
            let _ = parse_authorized_keys(&line[i..]);
        }
        assert_eq!(parse_authorized_keys(&line).keys.len(), 1);
    }

    #[test]
    fn malformed_lines_are_warnings_with_line_numbers() {
        let blob = ED25519.split(' ').nth(1).unwrap();
        let rsa_blob = RSA.split(' ').nth(1).unwrap();
        let text = [
            r#"command="unterminated ssh-ed25519 AAAA"#.to_string(), // 1
            format!("command=noquotes {ED25519}"),                   // 2
            format!(r#"command="x"y {ED25519}"#),                    // 3
            "ssh-ed25519".to_string(),                               // 4
            "ssh-ed25519 !!!notbase64!!!".to_string(),               // 5
            format!("ssh-dss {blob}"),                               // 6
            format!("ssh-rsa {blob}"),                               // 7
            format!("ssh-ed25519 {rsa_blob}"),                       // 8
            "no-pty".to_string(),                                    // 9
            format!(",no-pty {ED25519}"),                            // 10
            format!("sk-ssh-ed25519@openssh.com {blob}"),            // 11
            ED25519.to_string(),                                     // 12
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5".to_string(),          // 13 (truncated)
        ]
        .join("\n");
        let p = parse_authorized_keys(&text);
        assert_eq!(p.keys.len(), 1);
        assert_eq!(p.keys[0].line, 12);
        let lines: Vec<usize> = p.warnings.iter().map(|w| w.line).collect();
        assert_eq!(lines, vec![1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 13]);
        let e = |n: usize| {
            p.warnings
                .iter()
                .find(|w| w.line == n)
                .unwrap()
                .error
                .clone()
        };
        assert_eq!(e(1), ParseError::UnterminatedQuote);
        assert_eq!(e(2), ParseError::UnquotedValue("command".into()));
        assert_eq!(e(3), ParseError::AfterQuote("command".into()));
        assert_eq!(e(4), ParseError::MissingBlob);
        assert!(matches!(e(5), ParseError::BadKey(_)));
        assert_eq!(e(6), ParseError::UnsupportedKeyType("ssh-dss".into()));
        assert!(matches!(
            e(7),
            ParseError::BadKey(_) | ParseError::TypeMismatch { .. }
        ));
        assert!(matches!(
            e(8),
            ParseError::BadKey(_) | ParseError::TypeMismatch { .. }
        ));
        assert_eq!(e(9), ParseError::MissingKey);
        assert_eq!(e(10), ParseError::EmptyOptionName);
        assert!(matches!(e(11), ParseError::UnsupportedKeyType(_)));
        assert!(matches!(e(13), ParseError::BadKey(_)));
        assert!(p.warnings[0].to_string().starts_with("line 1: "));
    }
}
