//! A YAML stream as trees whose scalars know their byte span in the text, so a rewrite can change
//! those bytes and no others. An alias stands for a copy of its anchored node, spans included:
//! rewriting through an alias rewrites the anchored scalar, which is what every alias reads.

use std::collections::HashMap;
use std::ops::Range;

use saphyr_parser::{Event, Parser, ScalarStyle, Span};

#[derive(Debug, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct YamlError {
    pub line: usize,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scalar {
    pub value: String,
    pub style: ScalarStyle,
    /// Bytes of the scalar as the parser reports them (quotes included when quoted).
    pub span: Range<usize>,
    /// 1-based.
    pub line: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    Scalar(Scalar),
    Seq {
        items: Vec<Node>,
        line: usize,
    },
    Map {
        entries: Vec<(Node, Node)>,
        line: usize,
    },
}

impl Node {
    pub fn line(&self) -> usize {
        match self {
            Node::Scalar(s) => s.line,
            Node::Seq { line, .. } | Node::Map { line, .. } => *line,
        }
    }

    /// A mapping's value under a plain key, with YAML merge keys (`<<`) applied.
    pub fn get(&self, key: &str) -> Option<&Node> {
        let Node::Map { entries, .. } = self else {
            return None;
        };
        let own = entries
            .iter()
            .find(|(k, _)| matches!(k, Node::Scalar(s) if s.value == key))
            .map(|(_, v)| v);
        own.or_else(|| {
            entries
                .iter()
                .filter(|(k, _)| matches!(k, Node::Scalar(s) if s.value == "<<"))
                .find_map(|(_, merged)| match merged {
                    Node::Seq { items, .. } => items.iter().find_map(|m| m.get(key)),
                    other => other.get(key),
                })
        })
    }

    /// The node a field path names (`services[1].binds`), or the deepest one on the way there.
    pub fn deepest(&self, path: &str) -> &Node {
        let mut node = self;
        for segment in path.split('.').filter(|s| !s.is_empty()) {
            let (key, index) = match segment.split_once('[') {
                Some((key, rest)) => (key, rest.trim_end_matches(']').parse::<usize>().ok()),
                None => (segment, None),
            };
            if !key.is_empty() {
                match node.get(key) {
                    Some(next) => node = next,
                    None => return node,
                }
            }
            if let Some(i) = index {
                match node.items().get(i) {
                    Some(next) => node = next,
                    None => return node,
                }
            }
        }
        node
    }

    pub fn items(&self) -> &[Node] {
        match self {
            Node::Seq { items, .. } => items,
            _ => &[],
        }
    }
}

/// One document of the stream and the line it starts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    pub root: Option<Node>,
    pub line: usize,
}

/// Parses every document of `text`.
pub fn parse(text: &str) -> Result<Vec<Document>, YamlError> {
    // The parser counts characters; the rewrite needs bytes.
    let bytes_at: Vec<usize> = text
        .char_indices()
        .map(|(b, _)| b)
        .chain([text.len()])
        .collect();
    let mut builder = Builder {
        bytes_at,
        anchors: HashMap::new(),
        stack: Vec::new(),
        documents: Vec::new(),
    };
    for event in Parser::new_from_str(text) {
        let (event, span) = event.map_err(|e| YamlError {
            line: e.marker().line(),
            message: e.info().to_string(),
        })?;
        builder.event(event, span)?;
    }
    Ok(builder.documents)
}

/// A collection being filled, with the anchor it is to be stored under.
enum Open {
    Seq {
        items: Vec<Node>,
        line: usize,
        anchor: usize,
    },
    Map {
        entries: Vec<(Node, Node)>,
        key: Option<Node>,
        line: usize,
        anchor: usize,
    },
}

struct Builder {
    bytes_at: Vec<usize>,
    anchors: HashMap<usize, Node>,
    stack: Vec<Open>,
    documents: Vec<Document>,
}

impl Builder {
    fn event(&mut self, event: Event<'_>, span: Span) -> Result<(), YamlError> {
        let line = span.start.line();
        match event {
            Event::DocumentStart(_) => self.documents.push(Document { root: None, line }),
            Event::Scalar(value, style, anchor, _) => {
                let start = self.byte(span.start.index(), line)?;
                let end = self.byte(span.end.index(), line)?;
                let node = Node::Scalar(Scalar {
                    value: value.into_owned(),
                    style,
                    span: start..end,
                    line,
                });
                self.add(node, anchor, line)?;
            }
            Event::Alias(anchor) => {
                let node = self.anchors.get(&anchor).cloned().ok_or(YamlError {
                    line,
                    message: "an alias of an unknown anchor".into(),
                })?;
                self.add(node, 0, line)?;
            }
            Event::SequenceStart(anchor, _) => self.stack.push(Open::Seq {
                items: Vec::new(),
                line,
                anchor,
            }),
            Event::MappingStart(anchor, _) => self.stack.push(Open::Map {
                entries: Vec::new(),
                key: None,
                line,
                anchor,
            }),
            Event::SequenceEnd | Event::MappingEnd => {
                let (node, anchor) = match self.stack.pop() {
                    Some(Open::Seq {
                        items,
                        line,
                        anchor,
                    }) => (Node::Seq { items, line }, anchor),
                    Some(Open::Map {
                        entries,
                        line,
                        anchor,
                        ..
                    }) => (Node::Map { entries, line }, anchor),
                    None => {
                        return Err(YamlError {
                            line,
                            message: "a collection ends that never started".into(),
                        })
                    }
                };
                self.add(node, anchor, line)?;
            }
            Event::StreamStart | Event::StreamEnd | Event::DocumentEnd | Event::Nothing => {}
        }
        Ok(())
    }

    fn byte(&self, char_index: usize, line: usize) -> Result<usize, YamlError> {
        self.bytes_at.get(char_index).copied().ok_or(YamlError {
            line,
            message: "a position past the end of the text".into(),
        })
    }

    /// Puts a finished node where it belongs: into the open collection, or as the document.
    fn add(&mut self, node: Node, anchor: usize, line: usize) -> Result<(), YamlError> {
        if anchor != 0 {
            self.anchors.insert(anchor, node.clone());
        }
        match self.stack.last_mut() {
            Some(Open::Seq { items, .. }) => items.push(node),
            Some(Open::Map { entries, key, .. }) => match key.take() {
                None => *key = Some(node),
                Some(k) => entries.push((k, node)),
            },
            None => match self.documents.last_mut() {
                Some(doc) => doc.root = Some(node),
                None => {
                    return Err(YamlError {
                        line,
                        message: "a node outside any document".into(),
                    })
                }
            },
        }
        Ok(())
    }
}

/// The byte range that holds exactly a scalar's value, when there is one: a plain, single-quoted
/// or double-quoted scalar on one line, written without escapes or folding. The parser's span
/// starts at the node's properties (anchor, tag) and may run on over blanks and a comment, so the
/// value is found from its start.
pub fn exact_value_span(text: &str, scalar: &Scalar) -> Option<Range<usize>> {
    let mut pos = scalar.span.start;
    while let Some(rest) = text.get(pos..).filter(|r| r.starts_with(['&', '!'])) {
        pos += rest.find([' ', '\t', '\r', '\n'])?;
        let rest = &text[pos..];
        pos += rest.len() - rest.trim_start_matches([' ', '\t']).len();
    }
    let rest = text.get(pos..)?;
    let inner = match scalar.style {
        ScalarStyle::Plain => pos..pos + scalar.value.len(),
        ScalarStyle::SingleQuoted => {
            let close = rest.strip_prefix('\'')?.find('\'')?;
            pos + 1..pos + 1 + close
        }
        ScalarStyle::DoubleQuoted => {
            let close = rest.strip_prefix('"')?.find(['"', '\\'])?;
            pos + 1..pos + 1 + close
        }
        _ => return None,
    };
    (text.get(inner.clone())? == scalar.value).then_some(inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scalar(node: &Node) -> &Scalar {
        match node {
            Node::Scalar(s) => s,
            other => panic!("not a scalar: {other:?}"),
        }
    }

    #[test]
    fn spans_are_bytes_in_every_style() {
        let text = "a: plain é\nb: &anchor 'single'\t# c\nc: !!str \"double\" # c\n\
                    d: {e: flow, f: [x, 'y' ]}\n";
        let docs = parse(text).unwrap();
        let root = docs[0].root.as_ref().unwrap();
        for (key, want) in [("a", "plain é"), ("b", "single"), ("c", "double")] {
            let s = scalar(root.get(key).unwrap());
            let span = exact_value_span(text, s).unwrap();
            assert_eq!(&text[span], want);
        }
        let flow = root.get("d").unwrap();
        let e = scalar(flow.get("e").unwrap());
        assert_eq!(&text[exact_value_span(text, e).unwrap()], "flow");
        let y = scalar(&flow.get("f").unwrap().items()[1]);
        assert_eq!(&text[exact_value_span(text, y).unwrap()], "y");
        assert_eq!(y.line, 4);
    }

    #[test]
    fn aliases_and_merge_keys_keep_the_anchored_spans() {
        let text = "base: &b\n  image: org/x:1\nuse: *b\nmerged:\n  <<: *b\n  name: m\n";
        let root = parse(text).unwrap().remove(0).root.unwrap();
        let direct = scalar(root.get("base").unwrap().get("image").unwrap());
        let via_alias = scalar(root.get("use").unwrap().get("image").unwrap());
        let via_merge = scalar(root.get("merged").unwrap().get("image").unwrap());
        assert_eq!(direct.span, via_alias.span);
        assert_eq!(direct.span, via_merge.span);
        assert_eq!(direct.line, 2);
    }

    #[test]
    fn escaped_folded_and_block_scalars_have_no_exact_span() {
        let text = "a: \"esc\\x41\"\nb: 'it''s'\nc: |\n  block\nd: two\n  lines\n";
        let root = parse(text).unwrap().remove(0).root.unwrap();
        for key in ["a", "b", "c", "d"] {
            let s = scalar(root.get(key).unwrap());
            assert_eq!(exact_value_span(text, s), None, "{key}: {s:?}");
        }
    }

    #[test]
    fn documents_crlf_and_errors_name_lines() {
        let text = "---\r\na: 1\r\n---\r\nb: 2\r\n";
        let docs = parse(text).unwrap();
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[1].line, 3);
        let b = scalar(docs[1].root.as_ref().unwrap().get("b").unwrap());
        assert_eq!(&text[exact_value_span(text, b).unwrap()], "2");
        let err = parse("a: 1\nb: [unclosed\n").unwrap_err();
        assert!(err.line >= 2, "{err}");
    }
}
