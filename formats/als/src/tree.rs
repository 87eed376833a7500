//! A lossless XML tree: the document text plus an index of every element's
//! byte spans. Writing returns the text, so untouched bytes (tabs, `" />"`,
//! float spellings, the declaration, CRLF) survive exactly; every edit is a
//! splice of the text that shifts the spans behind it.

use crate::error::{Error, ErrorKind, Limits, Result};
use quick_xml::events::Event;
use quick_xml::reader::Reader;
use quick_xml::XmlVersion;
use std::ops::Range;

/// An element of a document (an index into its arena). Ids stay valid across
/// edits, except for elements removed or replaced by the edit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ElementId(pub(crate) usize);

#[derive(Clone, Debug)]
pub(crate) struct Attr {
    pub name: String,
    /// The value with entities resolved and whitespace normalised.
    pub value: String,
    /// The raw value's span in the text (inside the quotes).
    pub span: Range<usize>,
}

#[derive(Clone, Debug)]
pub(crate) struct Node {
    pub name: String,
    pub parent: Option<usize>,
    pub children: Vec<usize>,
    pub attrs: Vec<Attr>,
    /// `<` of the start tag.
    pub start: usize,
    /// Just past the `>` of the start tag (or of `/>`).
    pub tag_end: usize,
    /// `<` of the end tag; equal to `end` for a self-closing element.
    pub close_start: usize,
    /// Just past the element.
    pub end: usize,
    pub self_closing: bool,
    pub alive: bool,
}

/// The text and its element index.
#[derive(Clone, Debug)]
pub struct Tree {
    pub(crate) text: String,
    pub(crate) nodes: Vec<Node>,
    pub(crate) root: usize,
}

fn xml_err(text: &str, pos: u64, e: impl std::fmt::Display) -> Error {
    Error::at(ErrorKind::Xml(e.to_string()), text.as_bytes(), pos as usize)
}

fn limit(text: &str, pos: usize, m: String) -> Error {
    Error::at(ErrorKind::Limit(m), text.as_bytes(), pos)
}

impl Tree {
    /// Parses a whole document: one root element, with only the XML
    /// declaration, comments, processing instructions and whitespace around it.
    pub fn parse(text: String, limits: &Limits) -> Result<Tree> {
        let (nodes, roots) = index(&text, limits)?;
        match roots.as_slice() {
            [root] => Ok(Tree {
                root: *root,
                text,
                nodes,
            }),
            [] => Err(Error::at(
                ErrorKind::Xml("no root element".into()),
                text.as_bytes(),
                text.len(),
            )),
            [_, second, ..] => Err(Error::at(
                ErrorKind::Xml("more than one root element".into()),
                text.as_bytes(),
                nodes[*second].start,
            )),
        }
    }

    pub(crate) fn node(&self, id: ElementId) -> &Node {
        &self.nodes[id.0]
    }

    /// Splices `new` over `range` and shifts every span behind it.
    /// Starts at or after the range's end move; ends move when after it, or
    /// at it when the range is not empty (the end of what was replaced).
    fn splice(&mut self, range: Range<usize>, new: &str) {
        let (s, e) = (range.start, range.end);
        self.text.replace_range(range, new);
        let delta = new.len() as isize - (e - s) as isize;
        if delta == 0 {
            return;
        }
        let mv = |p: &mut usize| *p = (*p as isize + delta) as usize;
        let start_moves = |p: usize| p >= e;
        let end_moves = |p: usize| p > e || (p == e && s < e);
        for n in self.nodes.iter_mut().filter(|n| n.alive) {
            if start_moves(n.start) {
                mv(&mut n.start);
            }
            if end_moves(n.tag_end) {
                mv(&mut n.tag_end);
            }
            if n.self_closing {
                if end_moves(n.close_start) {
                    mv(&mut n.close_start);
                }
            } else if start_moves(n.close_start) {
                mv(&mut n.close_start);
            }
            if end_moves(n.end) {
                mv(&mut n.end);
            }
            for a in &mut n.attrs {
                if start_moves(a.span.start) {
                    mv(&mut a.span.start);
                }
                if end_moves(a.span.end) {
                    mv(&mut a.span.end);
                }
            }
        }
    }

    /// Sets an existing attribute's value (escaped as XML needs).
    pub(crate) fn set_attr(&mut self, id: ElementId, name: &str, value: &str) -> Result<()> {
        let node = &self.nodes[id.0];
        let Some(ai) = node.attrs.iter().position(|a| a.name == name) else {
            return Err(Error::at(
                ErrorKind::Schema(format!("<{}> has no attribute {name}", node.name)),
                self.text.as_bytes(),
                node.start,
            ));
        };
        let span = node.attrs[ai].span.clone();
        let escaped = quick_xml::escape::escape(value);
        if self.text[span.clone()] == *escaped {
            return Ok(());
        }
        let start = span.start;
        self.splice(span, &escaped);
        // An empty value's span is empty, which `splice` would treat as an
        // insertion point; set this attribute's span outright.
        let a = &mut self.nodes[id.0].attrs[ai];
        a.span = start..start + escaped.len();
        a.value = value.to_owned();
        Ok(())
    }

    /// The whitespace-only text directly before `pos` back to the end of the
    /// previous markup, if that text is all whitespace.
    fn ws_before(&self, pos: usize) -> Option<&str> {
        let before = &self.text[..pos];
        let ws_start = before
            .rfind(|c: char| !c.is_ascii_whitespace())
            .map_or(0, |i| i + 1);
        let ws = &before[ws_start..];
        // Only trust it if the preceding character closes markup.
        if before[..ws_start].ends_with('>') {
            Some(ws)
        } else {
            None
        }
    }

    /// The indentation (spaces/tabs) of the line `pos` is on, up to `pos`.
    fn line_indent(&self, pos: usize) -> String {
        let before = &self.text[..pos];
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        before[line_start..]
            .chars()
            .take_while(|c| *c == '\t' || *c == ' ')
            .collect()
    }

    /// The line break the document uses (`\r\n` if its first break is one).
    fn newline(&self) -> &'static str {
        match self.text.find('\n') {
            Some(i) if i > 0 && self.text.as_bytes()[i - 1] == b'\r' => "\r\n",
            _ => "\n",
        }
    }

    /// Parses `fragment` (one element) and splices it in as child `index` of
    /// `parent`, re-indented to the child depth. Returns the new element.
    pub(crate) fn insert(
        &mut self,
        parent: ElementId,
        index: usize,
        fragment: &str,
        limits: &Limits,
    ) -> Result<ElementId> {
        let p = self.nodes[parent.0].clone();
        if index > p.children.len() {
            return Err(Error::schema(format!(
                "child index {index} out of range for <{}> ({} children)",
                p.name,
                p.children.len()
            )));
        }
        let nl = self.newline();
        let parent_indent = self.line_indent(p.start);
        // Separator before a child: copied from an existing child, else the
        // parent's indentation plus one tab (Live's style).
        let sep = p
            .children
            .first()
            .and_then(|&c| self.ws_before(self.nodes[c].start))
            .filter(|ws| ws.contains('\n'))
            .map(str::to_owned)
            .unwrap_or_else(|| format!("{nl}{parent_indent}\t"));
        let child_indent = sep.rsplit('\n').next().unwrap_or("").to_owned();
        let frag = reindent(fragment, &child_indent, nl);

        if p.self_closing {
            // `<X a="1" />` becomes `<X a="1">` SEP child NL INDENT `</X>`.
            let tag = &self.text[p.start..p.tag_end];
            let open = tag
                .strip_suffix("/>")
                .map(str::trim_end)
                .ok_or_else(|| Error::schema("self-closing tag without />"))?;
            let new = format!("{open}>{sep}{frag}{nl}{parent_indent}</{}>", p.name);
            let new_parent = self.replace(parent, &new, limits)?;
            let child = self.nodes[new_parent.0].children[0];
            return Ok(ElementId(child));
        }

        let (pos, text) = if let Some(&next) = p.children.get(index) {
            let at = self.nodes[next].start;
            let own_sep = self
                .ws_before(at)
                .filter(|ws| ws.contains('\n'))
                .map_or(sep.clone(), str::to_owned);
            (at, format!("{frag}{own_sep}"))
        } else if let Some(&last) = p.children.last() {
            (self.nodes[last].end, format!("{sep}{frag}"))
        } else {
            // No element children: the content must be whitespace only.
            let content = &self.text[p.tag_end..p.close_start];
            if !content.trim().is_empty() {
                return Err(Error::at(
                    ErrorKind::Schema(format!("<{}> holds text, not a list", p.name)),
                    self.text.as_bytes(),
                    p.tag_end,
                ));
            }
            let range = p.tag_end..p.close_start;
            let new = format!("{sep}{frag}{nl}{parent_indent}");
            let frag_at = p.tag_end + sep.len();
            self.splice(range, &new);
            let id = self.graft(&frag, frag_at, Some(parent.0), limits)?;
            self.nodes[parent.0].children.push(id);
            return Ok(ElementId(id));
        };
        let frag_at = if p.children.get(index).is_some() {
            pos
        } else {
            pos + sep.len()
        };
        self.splice(pos..pos, &text);
        let id = self.graft(&frag, frag_at, Some(parent.0), limits)?;
        self.nodes[parent.0].children.insert(index, id);
        Ok(ElementId(id))
    }

    /// Indexes `frag`, which now sits at byte `at` of the text, and adds its
    /// elements to the arena under `parent`. Returns the fragment root.
    fn graft(
        &mut self,
        frag: &str,
        at: usize,
        parent: Option<usize>,
        limits: &Limits,
    ) -> Result<usize> {
        let (nodes, roots) = index(frag, limits)?;
        let [root] = roots.as_slice() else {
            return Err(Error::schema("a fragment must be exactly one element"));
        };
        let base = self.nodes.len();
        if base + nodes.len() > limits.max_elements {
            return Err(limit(
                &self.text,
                at,
                format!("more than {} elements", limits.max_elements),
            ));
        }
        for mut n in nodes {
            n.start += at;
            n.tag_end += at;
            n.close_start += at;
            n.end += at;
            for a in &mut n.attrs {
                a.span = a.span.start + at..a.span.end + at;
            }
            n.parent = n.parent.map(|p| p + base).or(parent);
            for c in &mut n.children {
                *c += base;
            }
            self.nodes.push(n);
        }
        Ok(base + root)
    }

    /// Replaces element `id` (its whole text) with `new`, one element. The
    /// element keeps its id; its old descendants die.
    pub(crate) fn replace(
        &mut self,
        id: ElementId,
        new: &str,
        limits: &Limits,
    ) -> Result<ElementId> {
        let old = self.nodes[id.0].clone();
        let (nodes, roots) = index(new, limits)?;
        if roots.len() != 1 || nodes.is_empty() {
            return Err(Error::schema("a replacement must be exactly one element"));
        }
        self.kill_descendants(id.0);
        self.nodes[id.0].alive = false;
        self.splice(old.start..old.end, new);
        let new_id = self.graft(new, old.start, old.parent, limits)?;
        // Move the new root into the old slot so the id stays valid.
        let mut root = self.nodes[new_id].clone();
        root.parent = old.parent;
        for &c in &root.children {
            self.nodes[c].parent = Some(id.0);
        }
        self.nodes[id.0] = root;
        self.nodes[new_id].alive = false;
        self.nodes[new_id].children.clear();
        Ok(id)
    }

    fn kill_descendants(&mut self, id: usize) {
        let mut stack = self.nodes[id].children.clone();
        while let Some(c) = stack.pop() {
            self.nodes[c].alive = false;
            stack.extend(self.nodes[c].children.iter().copied());
        }
    }

    /// Removes element `id` and the whitespace before it.
    pub(crate) fn remove(&mut self, id: ElementId) -> Result<()> {
        let n = self.nodes[id.0].clone();
        let Some(parent) = n.parent else {
            return Err(Error::schema("cannot remove the root element"));
        };
        let ws = self.ws_before(n.start).map_or(0, str::len);
        // Do not eat into the parent's start tag or a sibling.
        let from = (n.start - ws).max(self.nodes[parent].tag_end);
        self.kill_descendants(id.0);
        self.nodes[id.0].alive = false;
        self.nodes[parent].children.retain(|&c| c != id.0);
        self.splice(from..n.end, "");
        Ok(())
    }
}

/// Re-indents an element's text for a new depth: lines after the first lose
/// the indentation of the element's closing line and gain `indent`.
fn reindent(fragment: &str, indent: &str, nl: &str) -> String {
    let fragment = fragment.trim();
    let lines: Vec<&str> = fragment
        .split('\n')
        .map(|l| l.trim_end_matches('\r'))
        .collect();
    if lines.len() == 1 {
        return fragment.to_owned();
    }
    let last = lines[lines.len() - 1];
    let base: &str = &last[..last.len() - last.trim_start_matches(['\t', ' ']).len()];
    let mut out = String::with_capacity(fragment.len() + lines.len() * indent.len());
    for (i, l) in lines.iter().enumerate() {
        if i == 0 {
            out.push_str(l);
            continue;
        }
        out.push_str(nl);
        out.push_str(indent);
        out.push_str(l.strip_prefix(base).unwrap_or(l));
    }
    out
}

/// Indexes every element of `text`. Returns the arena (document order) and
/// the top-level elements.
fn index(text: &str, limits: &Limits) -> Result<(Vec<Node>, Vec<usize>)> {
    if text.len() > limits.max_xml_bytes {
        return Err(limit(
            text,
            limits.max_xml_bytes,
            format!("XML larger than {} bytes", limits.max_xml_bytes),
        ));
    }
    // quick-xml skips a byte-order mark without counting it in its
    // positions; index the text after it and add its length back.
    let bom = if text.starts_with('\u{feff}') { 3 } else { 0 };
    let mut reader = Reader::from_str(&text[bom..]);
    {
        let c = reader.config_mut();
        c.check_end_names = true;
        c.expand_empty_elements = false;
        c.trim_text(false);
    }
    let base = text.as_ptr() as usize;
    let mut nodes: Vec<Node> = Vec::new();
    let mut stack: Vec<usize> = Vec::new();
    let mut roots = Vec::new();
    loop {
        let start = reader.buffer_position() as usize + bom;
        let ev = reader
            .read_event()
            .map_err(|e| xml_err(text, reader.error_position() + bom as u64, e))?;
        let end = reader.buffer_position() as usize + bom;
        match ev {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let self_closing = matches!(ev, Event::Empty(_));
                if stack.len() >= limits.max_depth {
                    return Err(limit(
                        text,
                        start,
                        format!("elements nested deeper than {}", limits.max_depth),
                    ));
                }
                if nodes.len() >= limits.max_elements {
                    return Err(limit(
                        text,
                        start,
                        format!("more than {} elements", limits.max_elements),
                    ));
                }
                let name = e.name().as_ref().to_owned();
                let mut attrs = Vec::new();
                for a in e.attributes().with_checks(true) {
                    let a = a.map_err(|err| xml_err(text, start as u64, err))?;
                    let raw: &str = a.value.as_ref();
                    if raw.len() > limits.max_attr_bytes {
                        return Err(limit(
                            text,
                            start,
                            format!(
                                "attribute value longer than {} bytes",
                                limits.max_attr_bytes
                            ),
                        ));
                    }
                    // The raw value borrows from `text` (a borrowed reader
                    // never copies); its address gives its offset.
                    let off = (raw.as_ptr() as usize).wrapping_sub(base);
                    if off > text.len() || text.get(off..off + raw.len()) != Some(raw) {
                        return Err(xml_err(
                            text,
                            start as u64,
                            "attribute value not found in the input",
                        ));
                    }
                    let value = a
                        .normalized_value(XmlVersion::Implicit1_0)
                        .map_err(|err| xml_err(text, off as u64, err))?
                        .into_owned();
                    attrs.push(Attr {
                        name: a.key.as_ref().to_owned(),
                        value,
                        span: off..off + raw.len(),
                    });
                }
                let id = nodes.len();
                let parent = stack.last().copied();
                nodes.push(Node {
                    name,
                    parent,
                    children: Vec::new(),
                    attrs,
                    start,
                    tag_end: end,
                    close_start: end,
                    end,
                    self_closing,
                    alive: true,
                });
                match parent {
                    Some(p) => nodes[p].children.push(id),
                    None => roots.push(id),
                }
                if !self_closing {
                    stack.push(id);
                }
            }
            Event::End(_) => {
                let Some(id) = stack.pop() else {
                    return Err(xml_err(text, start as u64, "end tag with no open element"));
                };
                nodes[id].close_start = start;
                nodes[id].end = end;
            }
            Event::Text(ref t) => {
                if stack.is_empty() && !t.as_ref().trim().is_empty() {
                    return Err(xml_err(text, start as u64, "text outside the root element"));
                }
            }
            Event::CData(_) | Event::GeneralRef(_) if stack.is_empty() => {
                return Err(xml_err(text, start as u64, "text outside the root element"));
            }
            Event::GeneralRef(ref r) => {
                // Text stays as written, but a reference must still be one XML
                // defines (no DTD may declare others): a valid character or
                // one of the five predefined entities.
                let ok = if r.is_char_ref() {
                    matches!(r.resolve_char_ref(), Ok(Some(_)))
                } else {
                    quick_xml::escape::resolve_predefined_entity(r.as_ref()).is_some()
                };
                if !ok {
                    return Err(xml_err(
                        text,
                        start as u64,
                        format!("unknown entity or bad character reference &{};", &**r),
                    ));
                }
            }
            Event::CData(_) => {}
            Event::DocType(_) => {
                return Err(xml_err(
                    text,
                    start as u64,
                    "a DOCTYPE (Live never writes one)",
                ));
            }
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
            Event::Eof => break,
        }
    }
    if let Some(&open) = stack.last() {
        return Err(xml_err(
            text,
            text.len() as u64,
            format!(
                "the document ends inside <{}> opened at byte {} (truncated?)",
                nodes[open].name, nodes[open].start
            ),
        ));
    }
    Ok((nodes, roots))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(s: &str) -> Tree {
        Tree::parse(s.to_owned(), &Limits::default()).unwrap()
    }

    /// Re-indexes the text and checks the arena's live spans agree with it.
    fn consistent(t: &Tree) {
        let fresh = tree(&t.text);
        let mut live = Vec::new();
        let mut stack = vec![t.root];
        while let Some(i) = stack.pop() {
            live.push(i);
            stack.extend(t.nodes[i].children.iter().rev());
        }
        assert_eq!(live.len(), fresh.nodes.len());
        for (a, b) in live.iter().map(|&i| &t.nodes[i]).zip(&fresh.nodes) {
            assert_eq!(
                (&a.name, a.start, a.tag_end, a.close_start, a.end),
                (&b.name, b.start, b.tag_end, b.close_start, b.end)
            );
            for (x, y) in a.attrs.iter().zip(&b.attrs) {
                assert_eq!((&x.name, &x.value, &x.span), (&y.name, &y.value, &y.span));
            }
        }
    }

    #[test]
    fn spans_follow_edits() {
        let src = "<?xml version=\"1.0\"?>\n<A>\n\t<B V=\"1\" />\n\t<C>\n\t\t<D V=\"x\" />\n\t</C>\n\t<E />\n</A>\n";
        let mut t = tree(src);
        assert_eq!(t.text, src);
        let b = ElementId(1);
        t.set_attr(b, "V", "1.2345").unwrap();
        consistent(&t);
        t.set_attr(ElementId(3), "V", "").unwrap();
        consistent(&t);
        t.set_attr(ElementId(3), "V", "a<b").unwrap();
        assert!(t.text.contains("V=\"a&lt;b\""));
        consistent(&t);
        let e = ElementId(4);
        let f = t
            .insert(e, 0, "<F>\n\t\t<G />\n\t</F>", &Limits::default())
            .unwrap();
        consistent(&t);
        assert_eq!(
            t.text[t.node(f).start..t.node(f).end],
            *"<F>\n\t\t\t<G />\n\t\t</F>"
        );
        let c = ElementId(2);
        t.insert(c, 1, "<H />", &Limits::default()).unwrap();
        t.insert(c, 0, "<I />", &Limits::default()).unwrap();
        consistent(&t);
        assert!(t
            .text
            .contains("\t<C>\n\t\t<I />\n\t\t<D V=\"a&lt;b\" />\n\t\t<H />\n\t</C>"));
        t.remove(c).unwrap();
        consistent(&t);
        assert_eq!(
            t.text,
            "<?xml version=\"1.0\"?>\n<A>\n\t<B V=\"1.2345\" />\n\t<E>\n\t\t<F>\n\t\t\t<G />\n\t\t</F>\n\t</E>\n</A>\n"
        );
    }

    #[test]
    fn a_byte_order_mark_does_not_shift_spans() {
        let mut t = tree("\u{feff}<A x=\"1\">\n\t<B />\n</A>");
        assert_eq!(&t.text[t.nodes[1].start..t.nodes[1].end], "<B />");
        t.insert(ElementId(0), 1, "<C />", &Limits::default())
            .unwrap();
        consistent(&t);
        assert_eq!(t.text, "\u{feff}<A x=\"1\">\n\t<B />\n\t<C />\n</A>");
    }

    #[test]
    fn malformed_documents_are_errors_with_offsets() {
        for (src, at) in [
            ("<A><B></A>", 6),
            ("<A>", 3),
            ("<A/><B/>", 4),
            ("text", 0),
            ("<A x=\"1\" x=\"2\"/>", 0),
            ("", 0),
            ("<!DOCTYPE a><A/>", 0),
        ] {
            let e = Tree::parse(src.to_owned(), &Limits::default()).unwrap_err();
            assert!(e.offset.is_some(), "{src}: {e}");
            assert!(e.offset.unwrap() <= src.len().max(at), "{src}: {e}");
        }
    }
}
