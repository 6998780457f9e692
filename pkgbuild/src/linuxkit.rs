//! Image references in a LinuxKit manifest, found where LinuxKit's own parsing finds them and
//! rewritten in place: every byte outside a rewritten reference stays as it was, in any YAML
//! style (flow collections, anchors and aliases, merge keys, quoting, CRLF).

use std::ops::Range;

use crate::yaml::{self, Node, YamlError};

/// The sections of list entries whose `image:` LinuxKit pulls (after `kernel` and `init`).
const ENTRY_SECTIONS: &[&str] = &["onboot", "onshutdown", "services", "volumes"];

/// One image reference and where it stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef {
    /// 1-based line number of the reference itself (the anchor's, when it comes via an alias).
    pub line: usize,
    pub section: String,
    /// The reference as written, without quotes.
    pub reference: String,
    /// Byte range of the reference in the text, quotes excluded.
    span: Range<usize>,
}

/// Finds the image references LinuxKit pulls, in its order: kernel, init, onboot, onshutdown,
/// services, volumes. A reference pkgbuild cannot place byte for byte (a block or folded scalar,
/// an escape) is an error naming its line.
pub fn image_refs(text: &str) -> Result<Vec<ImageRef>, YamlError> {
    let docs = yaml::parse(text)?;
    if let Some(second) = docs.iter().skip(1).find(|d| d.root.is_some()) {
        return Err(YamlError {
            line: second.line,
            message: "a second YAML document: LinuxKit reads only the first".into(),
        });
    }
    let Some(root) = docs.into_iter().next().and_then(|d| d.root) else {
        return Ok(Vec::new());
    };
    if !matches!(root, Node::Map { .. }) {
        return Err(YamlError {
            line: root.line(),
            message: "a LinuxKit manifest is a mapping of sections".into(),
        });
    }
    let mut found: Vec<(&str, &Node)> = Vec::new();
    if let Some(image) = root.get("kernel").and_then(|k| k.get("image")) {
        found.push(("kernel", image));
    }
    if let Some(init) = root.get("init") {
        found.extend(init.items().iter().map(|n| ("init", n)));
    }
    for section in ENTRY_SECTIONS {
        if let Some(list) = root.get(section) {
            found.extend(
                list.items()
                    .iter()
                    .filter_map(|entry| entry.get("image"))
                    .map(|n| (*section, n)),
            );
        }
    }
    found
        .into_iter()
        .map(|(section, node)| image_ref(text, section, node))
        .collect()
}

fn image_ref(text: &str, section: &str, node: &Node) -> Result<ImageRef, YamlError> {
    let Node::Scalar(scalar) = node else {
        return Err(YamlError {
            line: node.line(),
            message: format!("an image of {section} must be a string"),
        });
    };
    let span = yaml::exact_value_span(text, scalar).ok_or_else(|| YamlError {
        line: scalar.line,
        message: format!(
            "the image {:?} of {section} is written as a {:?} scalar with escapes or line breaks; \
             write it plain or quoted on one line so it can be rewritten in place",
            scalar.value, scalar.style
        ),
    })?;
    Ok(ImageRef {
        line: scalar.line,
        section: section.to_string(),
        reference: scalar.value.clone(),
        span,
    })
}

/// Replaces references in place; `rewrite` returns the new reference or None to keep it. A
/// reference reached through several aliases is rewritten once, where it is written.
pub fn rewrite(
    text: &str,
    mut rewrite: impl FnMut(&ImageRef) -> Option<String>,
) -> Result<String, YamlError> {
    let mut refs = image_refs(text)?;
    refs.sort_by_key(|r| r.span.start);
    refs.dedup_by_key(|r| r.span.clone());
    let mut out = String::with_capacity(text.len());
    let mut done = 0;
    for r in &refs {
        let Some(new) = rewrite(r) else { continue };
        if !is_plain_reference(&new) {
            return Err(YamlError {
                line: r.line,
                message: format!("{new:?} is not an image reference that can be written in place"),
            });
        }
        out.push_str(&text[done..r.span.start]);
        out.push_str(&new);
        done = r.span.end;
    }
    out.push_str(&text[done..]);
    Ok(out)
}

/// Characters a reference has, none of which needs quoting or escaping in any YAML style.
fn is_plain_reference(reference: &str) -> bool {
    !reference.is_empty()
        && reference
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"./:@_-+".contains(&b))
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
            .unwrap()
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
        })
        .unwrap();
        assert!(
            out.contains("    image: 'linuxkit/getty:new@sha256:00'\n"),
            "{out}"
        );
        assert!(out.contains("  image: linuxkit/kernel:6.6.13  # the kernel\n"));
        assert_eq!(out.lines().count(), MANIFEST.lines().count());
        let unchanged = rewrite(MANIFEST, |_| None).unwrap();
        assert_eq!(unchanged, MANIFEST);
    }

    const PIN: &str = "@sha256:0000000000000000000000000000000000000000000000000000000000000000";

    /// Pins every reference under linuxkit/ and checks the output byte for byte: the input with
    /// exactly `refs` pinned, each where it is written.
    fn pins_exactly(text: &str, refs: &[&str]) {
        let out = rewrite(text, |r| {
            r.reference
                .starts_with("linuxkit/")
                .then(|| format!("{}{PIN}", r.reference))
        })
        .unwrap_or_else(|e| panic!("{e}\n{text}"));
        let mut expected = text.to_string();
        for r in refs {
            assert_eq!(text.matches(r).count(), 1, "{r} must be written once");
            expected = expected.replace(r, &format!("{r}{PIN}"));
        }
        assert_eq!(out, expected);
    }

    #[test]
    fn flow_mappings_and_sequences() {
        pins_exactly(
            "kernel: {image: linuxkit/kernel:6.6, cmdline: console=ttyS0}\n\
             init: [linuxkit/init:a, 'linuxkit/runc:b']\n\
             services:\n  - {name: ntpd, image: linuxkit/ntpd:0.1.0}\n",
            &[
                "linuxkit/kernel:6.6",
                "linuxkit/init:a",
                "linuxkit/runc:b",
                "linuxkit/ntpd:0.1.0",
            ],
        );
    }

    #[test]
    fn anchors_aliases_and_merge_keys_pin_where_written() {
        let text = "onboot:\n  - &dhcp {name: dhcpcd, image: linuxkit/dhcpcd:1}\n\
                    services:\n  - *dhcp\n  - &base\n    name: a\n    image: &img linuxkit/a:1\n\
                    \x20 - <<: *base\n    name: b\n  - name: c\n    image: *img\n";
        pins_exactly(text, &["linuxkit/dhcpcd:1", "linuxkit/a:1"]);
        let refs = image_refs(text).unwrap();
        let sections: Vec<&str> = refs.iter().map(|r| r.section.as_str()).collect();
        assert_eq!(
            sections,
            ["onboot", "services", "services", "services", "services"]
        );
        assert!(refs.iter().all(|r| r.line == 2 || r.line == 7), "{refs:?}");
    }

    #[test]
    fn quoted_keys_crlf_and_tabs_in_comments() {
        pins_exactly(
            "\"kernel\":\r\n  'image': \"linuxkit/kernel:6.6\"\t#\tthe kernel\r\n\
             services:\r\n  - \"name\": x # a\tcomment\r\n    \"image\": linuxkit/x:1\r\n",
            &["linuxkit/kernel:6.6", "linuxkit/x:1"],
        );
    }

    #[test]
    fn linuxkit_example_shapes() {
        let text = r#"kernel:
  image: linuxkit/kernel:6.6.13
  cmdline: "console=tty0 console=ttyS0"
init:
  - linuxkit/init:8a7b6cdb89197dc94eb6db69ef9dc90b750db598
  - linuxkit/runc:6062483d748609d505f2bcde4e52ee64a3329f5f
onboot:
  - name: sysctl
    image: linuxkit/sysctl:5f56434b81004b50b47ed629b222619168c2bcdf
  - name: dhcpcd
    image: linuxkit/dhcpcd:e9e3580f2de00e73e7b316a007186d22fea056ee
    command: ["/sbin/dhcpcd", "--nobackground", "-f", "/dhcpcd.conf", "-1"]
onshutdown:
  - name: shutdown
    image: busybox:latest
    command: ["/bin/echo", "so long and thanks for all the fish"]
services:
  - name: getty
    image: linuxkit/getty:5d86a2ce2d890c14ab66b13638dcadf74f29218b
    env:
     - INSECURE=true
files:
  - path: etc/linuxkit-config
    metadata: yaml
  - path: etc/motd
    contents: |
      image: linuxkit/decoy:1
      welcome
  - path: etc/ssh/authorized_keys
    source: ~/.ssh/id_rsa.pub
    mode: "0600"
    optional: true
trust:
  org:
    - linuxkit
"#;
        pins_exactly(
            text,
            &[
                "linuxkit/kernel:6.6.13",
                "linuxkit/init:8a7b6cdb89197dc94eb6db69ef9dc90b750db598",
                "linuxkit/runc:6062483d748609d505f2bcde4e52ee64a3329f5f",
                "linuxkit/sysctl:5f56434b81004b50b47ed629b222619168c2bcdf",
                "linuxkit/dhcpcd:e9e3580f2de00e73e7b316a007186d22fea056ee",
                "linuxkit/getty:5d86a2ce2d890c14ab66b13638dcadf74f29218b",
            ],
        );
        let refs = image_refs(text).unwrap();
        assert_eq!(refs.len(), 7);
        assert_eq!((refs[5].section.as_str(), refs[5].line), ("onshutdown", 15));
    }

    #[test]
    fn what_cannot_be_placed_exactly_names_its_line() {
        for (text, line, words) in [
            (
                "services:\n  - name: a\n    image: |\n      linuxkit/a:1\n",
                4,
                "Literal",
            ),
            (
                "services:\n  - name: a\n    image: \"linuxkit/\\x61:1\"\n",
                3,
                "DoubleQuoted",
            ),
            (
                "services:\n  - name: a\n    image: linuxkit/a\n      :1\n",
                3,
                "Plain",
            ),
            ("init:\n  - [linuxkit/a:1]\n", 2, "must be a string"),
            (
                "kernel:\n  image: linuxkit/k:1\n---\ninit: [linuxkit/i:1]\n",
                3,
                "second YAML document",
            ),
            ("- linuxkit/a:1\n", 1, "a mapping of sections"),
            ("services:\n  - name: a\n    image: [unclosed\n", 4, ""),
        ] {
            let err = image_refs(text).unwrap_err();
            assert!(
                err.line == line && err.message.contains(words),
                "{text:?}: {err}"
            );
            assert!(rewrite(text, |_| Some("x".into())).is_err());
        }
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
