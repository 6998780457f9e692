//! Image references in a LinuxKit manifest, found and rewritten line by line, so comments, order
//! and formatting survive.

/// The sections whose images LinuxKit pulls.
const SECTIONS: &[&str] = &[
    "kernel",
    "init",
    "volumes",
    "onboot",
    "onshutdown",
    "services",
];

/// One image reference and where it stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef {
    /// 1-based line number.
    pub line: usize,
    pub section: String,
    /// The reference as written, without quotes.
    pub reference: String,
    /// Byte range of the reference in its line.
    span: (usize, usize),
}

/// Finds the image references of the sections LinuxKit pulls from.
pub fn image_refs(text: &str) -> Vec<ImageRef> {
    let mut refs = Vec::new();
    let mut section: Option<&str> = None;
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        if !line.starts_with([' ', '\t', '-']) {
            // A top-level key opens a section.
            let key = trimmed.split(':').next().unwrap_or_default().trim();
            section = SECTIONS.iter().copied().find(|s| *s == key);
            continue;
        }
        let Some(sec) = section else { continue };
        let value_start = if let Some(rest) = strip_key(trimmed, "image") {
            line.len() - rest.len()
        } else if sec == "init" {
            // init is a plain list of references.
            match trimmed.strip_prefix('-') {
                Some(rest) if !rest.trim_start().contains(": ") => line.len() - rest.len(),
                _ => continue,
            }
        } else {
            continue;
        };
        if let Some((start, end)) = value_span(line, value_start) {
            refs.push(ImageRef {
                line: i + 1,
                section: sec.to_string(),
                reference: line[start..end].to_string(),
                span: (start, end),
            });
        }
    }
    refs
}

/// `image: x` or `- image: x`: the text after the colon.
fn strip_key<'a>(trimmed: &'a str, key: &str) -> Option<&'a str> {
    let s = trimmed
        .strip_prefix('-')
        .map(str::trim_start)
        .unwrap_or(trimmed);
    s.strip_prefix(key)?.strip_prefix(':')
}

/// The byte span of a scalar value starting at `from`, quotes and trailing comment excluded.
fn value_span(line: &str, from: usize) -> Option<(usize, usize)> {
    let rest = &line[from..];
    let lead = rest.len() - rest.trim_start().len();
    let start = from + lead;
    let value = &line[start..];
    let (start, len) = match value.chars().next()? {
        q @ ('"' | '\'') => (start + 1, value[1..].find(q)?),
        _ => {
            let end = value.find(" #").unwrap_or(value.len());
            (start, value[..end].trim_end().len())
        }
    };
    (len > 0).then_some((start, start + len))
}

/// Replaces references in place; `rewrite` returns the new reference or None to keep it.
pub fn rewrite(text: &str, mut rewrite: impl FnMut(&ImageRef) -> Option<String>) -> String {
    let refs = image_refs(text);
    let mut out = String::with_capacity(text.len());
    for (i, line) in text.split_inclusive('\n').enumerate() {
        match refs
            .iter()
            .find(|r| r.line == i + 1)
            .and_then(|r| rewrite(r).map(|new| (r, new)))
        {
            Some((r, new)) => {
                out.push_str(&line[..r.span.0]);
                out.push_str(&new);
                out.push_str(&line[r.span.1..]);
            }
            None => out.push_str(line),
        }
    }
    out
}

/// A reference split into name, tag and digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed<'a> {
    /// Everything before the tag: `[registry/]org/image`.
    pub name: &'a str,
    pub tag: Option<&'a str>,
    pub digest: Option<&'a str>,
}

pub fn parse_reference(reference: &str) -> Parsed<'_> {
    let (rest, digest) = match reference.split_once('@') {
        Some((r, d)) => (r, Some(d)),
        None => (reference, None),
    };
    // A colon after the last slash is a tag; one before it is a registry port.
    let last_slash = rest.rfind('/').map(|i| i + 1).unwrap_or(0);
    let (name, tag) = match rest[last_slash..].rfind(':') {
        Some(i) => (&rest[..last_slash + i], Some(&rest[last_slash + i + 1..])),
        None => (rest, None),
    };
    Parsed { name, tag, digest }
}

/// A digest of the form `sha256:<64 hex>`.
pub fn is_sha256_digest(digest: &str) -> bool {
    digest.strip_prefix("sha256:").is_some_and(|h| {
        h.len() == 64
            && h.bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const MANIFEST: &str = r#"# a comment
kernel:
  image: linuxkit/kernel:6.6.13  # the kernel
  cmdline: "console=ttyS0"
init:
  - linuxkit/init:abc
  - "linuxkit/runc:def"
onboot:
  - name: dhcpcd
    image: linuxkit/dhcpcd:0.1.0
    command: ["/usr/sbin/dhcpcd", "-1"]
services:
  - name: getty
    image: 'linuxkit/getty:xyz'
    env:
     - INSECURE=true
files:
  - path: etc/x
    image: not/this:one
"#;

    #[test]
    fn finds_references_with_lines_and_sections() {
        let refs: Vec<(usize, &str, String)> = image_refs(MANIFEST)
            .into_iter()
            .map(|r| {
                (
                    r.line,
                    if r.section == "init" { "init" } else { "other" },
                    r.reference,
                )
            })
            .collect();
        assert_eq!(
            refs,
            vec![
                (3, "other", "linuxkit/kernel:6.6.13".to_string()),
                (6, "init", "linuxkit/init:abc".to_string()),
                (7, "init", "linuxkit/runc:def".to_string()),
                (10, "other", "linuxkit/dhcpcd:0.1.0".to_string()),
                (14, "other", "linuxkit/getty:xyz".to_string()),
            ]
        );
    }

    #[test]
    fn rewrite_keeps_everything_else() {
        let out = rewrite(MANIFEST, |r| {
            r.reference
                .starts_with("linuxkit/getty")
                .then(|| "linuxkit/getty:new@sha256:00".to_string())
        });
        assert!(
            out.contains("    image: 'linuxkit/getty:new@sha256:00'\n"),
            "{out}"
        );
        assert!(out.contains("  image: linuxkit/kernel:6.6.13  # the kernel\n"));
        assert_eq!(out.lines().count(), MANIFEST.lines().count());
        let unchanged = rewrite(MANIFEST, |_| None);
        assert_eq!(unchanged, MANIFEST);
    }

    #[test]
    fn parses_names_tags_digests_and_ports() {
        let p = parse_reference("localhost:5000/org/x:tag@sha256:ab");
        assert_eq!(
            (p.name, p.tag, p.digest),
            ("localhost:5000/org/x", Some("tag"), Some("sha256:ab"))
        );
        let p = parse_reference("localhost:5000/org/x");
        assert_eq!(
            (p.name, p.tag, p.digest),
            ("localhost:5000/org/x", None, None)
        );
        assert!(is_sha256_digest(&format!("sha256:{}", "a".repeat(64))));
        assert!(!is_sha256_digest("sha256:abc"));
    }
}
