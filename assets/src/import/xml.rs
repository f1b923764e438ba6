//! A streaming walk over an XML report (quick-xml's pull reader, no DOM: a 10 k-host Nmap
//! file is read element by element), keeping the element path so a refusal can name it
//! (`nmaprun/host[3]/ports/port[2]`, with its line).

use std::borrow::Cow;

use quick_xml::events::{BytesStart, Event};
use quick_xml::{Reader, XmlVersion};

use crate::error::{AssetError, Place};

/// Elements nested deeper than this are refused: no scanner writes them, and the path stack
/// stays bounded on hostile input.
const MAX_DEPTH: usize = 256;

/// Distinct child names counted per element (for sibling indexes in paths): reports use a
/// handful; past this a new name is not counted (its index reads 1), so hostile input with
/// endless distinct names costs linear time.
const MAX_NAMES: usize = 64;

/// The text of an XML file: UTF-8 (a byte-order mark dropped); bytes that are not UTF-8
/// become U+FFFD rather than refusing a report for one odd byte in a banner.
pub(super) fn decode(bytes: &[u8]) -> Cow<'_, str> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    String::from_utf8_lossy(bytes)
}

/// What [`Walk::next`] gives.
pub(super) enum Node<'a> {
    /// An element opened (`<a>` or `<a/>`); it is now [`Walk::name`].
    Open(BytesStart<'a>),
    /// The current element closes; its own text (trimmed, entities resolved, the text of
    /// its children left out). It stays [`Walk::name`] until the next call.
    Close(String),
    /// The end of the document.
    Eof,
}

struct Level {
    name: String,
    /// Its position among its parent's children of the same name (1-based).
    index: usize,
    /// Its children's names seen so far, with their counts.
    children: Vec<(String, usize)>,
    /// Where its own text starts in the text buffer.
    text_from: usize,
}

/// The walk: elements with their path, text per element.
pub(super) struct Walk<'a> {
    format: &'static str,
    src: &'a str,
    reader: Reader<&'a [u8]>,
    stack: Vec<Level>,
    /// Top-level siblings (the root, normally alone).
    roots: Vec<(String, usize)>,
    text: String,
    /// The element just closed is still on the stack (so errors name it); pop it first.
    pop_pending: bool,
    /// `<a/>`: its Close is due.
    close_pending: bool,
}

impl<'a> Walk<'a> {
    pub(super) fn new(format: &'static str, src: &'a str) -> Self {
        let reader = Reader::from_str(src);
        Walk {
            format,
            src,
            reader,
            stack: Vec::new(),
            roots: Vec::new(),
            text: String::new(),
            pop_pending: false,
            close_pending: false,
        }
    }

    /// The next element boundary. Malformed XML, a file cut short, or nesting beyond
    /// [`MAX_DEPTH`] is refused naming the element it happened in.
    pub(super) fn next(&mut self) -> Result<Node<'a>, AssetError> {
        if self.pop_pending {
            self.pop_pending = false;
            if let Some(level) = self.stack.pop() {
                self.text.truncate(level.text_from);
            }
        }
        if self.close_pending {
            self.close_pending = false;
            return Ok(self.close());
        }
        loop {
            let event = match self.reader.read_event() {
                Ok(e) => e,
                Err(e) => {
                    let at = usize::try_from(self.reader.error_position()).unwrap_or(0);
                    return Err(self.refuse_at(at, format!("malformed XML: {e}")));
                }
            };
            match event {
                Event::Start(e) => {
                    self.push(e.local_name().as_ref())?;
                    return Ok(Node::Open(e));
                }
                Event::Empty(e) => {
                    self.push(e.local_name().as_ref())?;
                    self.close_pending = true;
                    return Ok(Node::Open(e));
                }
                Event::End(_) => return Ok(self.close()),
                Event::Text(t) => {
                    if !self.stack.is_empty() {
                        self.text.push_str(&t.xml10_content());
                    }
                }
                Event::CData(t) => {
                    if !self.stack.is_empty() {
                        self.text.push_str(&t.xml10_content());
                    }
                }
                Event::GeneralRef(r) => {
                    if !self.stack.is_empty() {
                        match r.resolve_char_ref() {
                            Ok(Some(c)) => self.text.push(c),
                            _ => match quick_xml::escape::resolve_predefined_entity(&r) {
                                Some(s) => self.text.push_str(s),
                                None => {
                                    self.text.push('&');
                                    self.text.push_str(&r);
                                    self.text.push(';');
                                }
                            },
                        }
                    }
                }
                Event::Eof => {
                    if self.stack.is_empty() {
                        return Ok(Node::Eof);
                    }
                    return Err(self.refuse("the file ends before this element closes"));
                }
                Event::Comment(_) | Event::Decl(_) | Event::PI(_) | Event::DocType(_) => {}
            }
        }
    }

    fn push(&mut self, name: &str) -> Result<(), AssetError> {
        if self.stack.len() >= MAX_DEPTH {
            return Err(self.refuse(format!("elements nested deeper than {MAX_DEPTH}")));
        }
        let siblings = match self.stack.last_mut() {
            Some(parent) => &mut parent.children,
            None => &mut self.roots,
        };
        let index = match siblings.iter_mut().find(|(n, _)| n == name) {
            Some((_, count)) => {
                *count += 1;
                *count
            }
            None => {
                if siblings.len() < MAX_NAMES {
                    siblings.push((name.to_string(), 1));
                }
                1
            }
        };
        self.stack.push(Level {
            name: name.to_string(),
            index,
            children: Vec::new(),
            text_from: self.text.len(),
        });
        Ok(())
    }

    fn close(&mut self) -> Node<'a> {
        self.pop_pending = true;
        let from = self.stack.last().map_or(self.text.len(), |l| l.text_from);
        let own = self.text.get(from..).unwrap_or("").trim().to_string();
        self.text.truncate(from);
        Node::Close(own)
    }

    /// The current element's local name (`""` outside the root).
    pub(super) fn name(&self) -> &str {
        self.stack.last().map_or("", |l| l.name.as_str())
    }

    /// The local name of the element `up` levels above the current one (1 = its parent).
    pub(super) fn ancestor(&self, up: usize) -> &str {
        self.stack
            .len()
            .checked_sub(up + 1)
            .and_then(|i| self.stack.get(i))
            .map_or("", |l| l.name.as_str())
    }

    /// How deep the current element is (the root is 1).
    pub(super) fn depth(&self) -> usize {
        self.stack.len()
    }

    /// The current element's path: `nmaprun/host[3]/ports/port[2]` (an index only where
    /// the element has siblings of its name before it).
    pub(super) fn path(&self) -> String {
        let mut out = String::new();
        for (i, level) in self.stack.iter().enumerate() {
            if i > 0 {
                out.push('/');
            }
            out.push_str(&level.name);
            if level.index > 1 || self.later_siblings(i) {
                out.push_str(&format!("[{}]", level.index));
            }
        }
        out
    }

    /// Whether level `i` has siblings of its name seen so far (so `host[1]` is written as
    /// such once a second host exists).
    fn later_siblings(&self, i: usize) -> bool {
        let siblings = match i.checked_sub(1).and_then(|p| self.stack.get(p)) {
            Some(parent) => &parent.children,
            None => &self.roots,
        };
        let Some(level) = self.stack.get(i) else {
            return false;
        };
        siblings
            .iter()
            .any(|(n, count)| *n == level.name && *count > 1)
    }

    /// An attribute of `e` by local name, entities resolved.
    pub(super) fn attr(
        &self,
        e: &BytesStart<'_>,
        name: &str,
    ) -> Result<Option<String>, AssetError> {
        for attr in e.attributes() {
            let attr = attr.map_err(|err| self.refuse(format!("malformed attribute: {err}")))?;
            if attr.key.local_name().as_ref() == name {
                let value = attr
                    .normalized_value(XmlVersion::Implicit1_0)
                    .map_err(|err| self.refuse(format!("attribute {name}: {err}")))?;
                return Ok(Some(value.into_owned()));
            }
        }
        Ok(None)
    }

    /// A refusal naming the current element and the line the reader is on.
    pub(super) fn refuse(&self, reason: impl Into<String>) -> AssetError {
        let at = usize::try_from(self.reader.buffer_position()).unwrap_or(0);
        self.refuse_at(at, reason)
    }

    fn refuse_at(&self, at: usize, reason: impl Into<String>) -> AssetError {
        let line = line_of(self.src, at);
        let path = if self.stack.is_empty() {
            "(document)".to_string()
        } else {
            self.path()
        };
        AssetError::refused(
            self.format,
            Place::Element {
                path,
                line: Some(line),
            },
            reason,
        )
    }
}

/// The 1-based line of byte `at` in `src`.
fn line_of(src: &str, at: usize) -> usize {
    let end = at.min(src.len());
    src.as_bytes()
        .get(..end)
        .map_or(0, |b| b.iter().filter(|&&c| c == b'\n').count())
        + 1
}

/// The local name of the first element of `src` (a prefix of a file is enough), with the
/// element itself for its attributes; `None` when it is not XML.
pub(super) fn root(src: &str) -> Option<(String, Vec<(String, String)>)> {
    let mut reader = Reader::from_str(src);
    loop {
        match reader.read_event() {
            Ok(Event::Start(e)) | Ok(Event::Empty(e)) => {
                let attrs = e
                    .attributes()
                    .filter_map(Result::ok)
                    .map(|a| {
                        let value = a
                            .normalized_value(XmlVersion::Implicit1_0)
                            .map(Cow::into_owned)
                            .unwrap_or_default();
                        (a.key.as_ref().to_string(), value)
                    })
                    .collect();
                return Some((e.local_name().as_ref().to_string(), attrs));
            }
            Ok(Event::Decl(_) | Event::Comment(_) | Event::PI(_) | Event::DocType(_)) => {}
            Ok(Event::Text(t)) if t.xml10_content().trim().is_empty() => {}
            _ => return None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_lines_and_text() {
        let src =
            "<?xml version=\"1.0\"?>\n<a>\n<b x=\"1&amp;2\">t&lt;1<c/>u</b>\n<b>\n<c>v</c></b></a>";
        let mut w = Walk::new("test", src);
        let mut seen = Vec::new();
        loop {
            match w.next().unwrap() {
                Node::Open(e) => {
                    if w.name() == "b" {
                        seen.push(format!("b x={:?}", w.attr(&e, "x").unwrap()));
                    }
                }
                Node::Close(text) => seen.push(format!("{} {text:?}", w.path())),
                Node::Eof => break,
            }
        }
        assert_eq!(
            seen,
            [
                "b x=Some(\"1&2\")",
                "a/b/c \"\"",
                "a/b \"t<1u\"",
                "b x=None",
                "a/b[2]/c \"v\"",
                "a/b[2] \"\"",
                "a \"\"",
            ]
        );
    }

    #[test]
    fn a_file_cut_short_names_the_open_element() {
        let src = "<a>\n<b>\n<c>";
        let mut w = Walk::new("test", src);
        let err = loop {
            match w.next() {
                Ok(Node::Eof) => panic!("a truncated file read to the end"),
                Ok(_) => {}
                Err(e) => break e,
            }
        };
        let AssetError::Refused { refusal, .. } = err else {
            panic!("{err}")
        };
        match refusal.place {
            Place::Element { path, .. } => assert!(path.starts_with("a/b"), "{path}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn root_of_a_prefix() {
        let (name, attrs) =
            root("<?xml version=\"1.0\"?><!-- x --><nmaprun start=\"5\"><host").unwrap();
        assert_eq!(name, "nmaprun");
        assert_eq!(attrs, [("start".to_string(), "5".to_string())]);
        assert!(root("host,port\n").is_none());
    }
}
