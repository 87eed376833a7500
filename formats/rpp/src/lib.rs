//! Lossless reading, editing and writing of REAPER project files (`.RPP`,
//! `.RfxChain`, `.RTrackTemplate`).
//!
//! An RPP file is a line-oriented tree: `<NAME params` opens a block, a line
//! holding only `>` closes it, and every other line is a key line
//! (`VOLPAN 1 0 -1 -1 1`) or a raw payload line (base64 plugin state, `|`
//! notes, MIDI events). [`Document::parse`] keeps every line's exact text and
//! line ending, so [`Document::to_bytes`] on an unedited document returns the
//! input bytes exactly. Editing a line re-renders that line alone, reusing the
//! original spelling of every token whose value did not change.
//!
//! [`vst`] and [`reaeq`] decode and encode REAPER's plugin-state framing and
//! ReaEQ's chunk, so that EQ settings can be written as ordinary plugin state.
//!
//! This crate knows nothing about audio, mixing or any other premix concept:
//! it is a syntax layer that could be published on its own.
//!
//! ```
//! use premix_rpp::Document;
//! let text = "<REAPER_PROJECT 0.1 \"7.0\" 0\n  <TRACK\n    NAME \"Lead Vox\"\n    VOLPAN 1 0 -1 -1 1\n  >\n>\n";
//! let mut doc = Document::parse(text.as_bytes()).unwrap();
//! assert_eq!(doc.to_bytes(), text.as_bytes());
//! let track = doc.project_mut().unwrap().blocks_mut("TRACK").next().unwrap();
//! assert_eq!(track.value("NAME"), Some("Lead Vox"));
//! track.line_mut("VOLPAN").unwrap().set_token(1, "0.5");
//! assert!(String::from_utf8(doc.to_bytes()).unwrap().contains("    VOLPAN 0.5 0 -1 -1 1\n"));
//! ```

mod error;
pub mod reaeq;
mod token;
pub mod vst;

pub use error::{Error, ErrorKind, Limits};
pub use token::{format_real, quote, tokenize, Token};

use std::borrow::Cow;
use std::path::Path;

/// How a line ends in the file. Kept per line so that mixed endings survive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Eol {
    /// `\n`
    Lf,
    /// `\r\n`
    CrLf,
    /// The last line of a file with no final newline.
    None,
}

impl Eol {
    fn as_str(self) -> &'static str {
        match self {
            Eol::Lf => "\n",
            Eol::CrLf => "\r\n",
            Eol::None => "",
        }
    }
}

/// One line of the file: a key line, a raw payload line, a blank line, or
/// the header or closing line of a block.
#[derive(Clone, Debug, PartialEq)]
pub struct Line {
    /// The line's text without its line ending. `None` for a line created or
    /// edited in memory, which is rendered from `tokens` when written.
    text: Option<String>,
    tokens: Vec<Token>,
    eol: Option<Eol>,
}

impl Line {
    /// A new key line `KEY tok tok ...`; tokens are quoted as REAPER would.
    pub fn new<I, S>(tokens: I) -> Line
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Line {
            text: None,
            tokens: tokens.into_iter().map(|s| Token::new(s.into())).collect(),
            eol: None,
        }
    }

    /// A new raw payload line (base64, a `|` notes line, a JS slider line)
    /// whose text is written exactly as given after the indentation.
    pub fn raw(text: impl Into<String>) -> Line {
        let text = text.into();
        Line {
            tokens: vec![Token::verbatim(text.clone())],
            text: None,
            eol: None,
        }
    }

    fn parsed(text: &str, eol: Eol) -> Line {
        Line {
            tokens: tokenize(text),
            text: Some(text.to_owned()),
            eol: Some(eol),
        }
    }

    /// The unquoted token values.
    pub fn tokens(&self) -> &[Token] {
        &self.tokens
    }

    /// The first token (the key), if any.
    pub fn key(&self) -> Option<&str> {
        self.tokens.first().map(|t| t.value())
    }

    /// Token `i` (0 is the key), unquoted.
    pub fn get(&self, i: usize) -> Option<&str> {
        self.tokens.get(i).map(|t| t.value())
    }

    /// Token `i` parsed as a number.
    pub fn get_f64(&self, i: usize) -> Option<f64> {
        self.get(i).and_then(|s| s.parse().ok())
    }

    /// The original text of the line (without indentation handling and without
    /// its line ending), if it came from a parsed file and was not edited.
    pub fn original_text(&self) -> Option<&str> {
        self.text.as_deref()
    }

    /// Whether this line is written exactly as it was read.
    pub fn is_pristine(&self) -> bool {
        self.text.is_some()
    }

    /// Replaces token `i` (0 is the key). Tokens between the current end and
    /// `i` are filled with empty strings. Other tokens keep their spelling.
    pub fn set_token(&mut self, i: usize, value: impl Into<String>) {
        let value = value.into();
        if self.tokens.get(i).is_some_and(|t| t.value() == value) {
            return;
        }
        self.touch();
        while self.tokens.len() <= i {
            self.tokens.push(Token::new(String::new()));
        }
        self.tokens[i] = Token::new(value);
    }

    /// Replaces all tokens. Tokens whose value is unchanged keep their
    /// original spelling; a call that changes nothing leaves the line pristine.
    pub fn set_tokens<I, S>(&mut self, values: I)
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let values: Vec<String> = values.into_iter().map(Into::into).collect();
        let same = values.len() == self.tokens.len()
            && values.iter().zip(&self.tokens).all(|(v, t)| v == t.value());
        if same {
            return;
        }
        self.touch();
        let old = std::mem::take(&mut self.tokens);
        self.tokens = values
            .into_iter()
            .enumerate()
            .map(|(i, v)| match old.get(i) {
                Some(t) if t.value() == v => t.clone(),
                _ => Token::new(v),
            })
            .collect();
    }

    fn touch(&mut self) {
        self.text = None;
    }

    fn render(&self, depth: usize, out: &mut Vec<u8>, default_eol: Eol) {
        match &self.text {
            Some(text) => out.extend_from_slice(text.as_bytes()),
            None => {
                for _ in 0..depth {
                    out.extend_from_slice(b"  ");
                }
                for (i, t) in self.tokens.iter().enumerate() {
                    if i > 0 {
                        out.push(b' ');
                    }
                    out.extend_from_slice(t.spelling().as_bytes());
                }
            }
        }
        out.extend_from_slice(self.eol.unwrap_or(default_eol).as_str().as_bytes());
    }
}

/// A node of the tree: a line or a block.
#[derive(Clone, Debug, PartialEq)]
pub enum Node {
    Line(Line),
    Block(Block),
}

impl Node {
    pub fn as_block(&self) -> Option<&Block> {
        match self {
            Node::Block(b) => Some(b),
            Node::Line(_) => None,
        }
    }

    pub fn as_block_mut(&mut self) -> Option<&mut Block> {
        match self {
            Node::Block(b) => Some(b),
            Node::Line(_) => None,
        }
    }

    pub fn as_line(&self) -> Option<&Line> {
        match self {
            Node::Line(l) => Some(l),
            Node::Block(_) => None,
        }
    }

    pub fn as_line_mut(&mut self) -> Option<&mut Line> {
        match self {
            Node::Line(l) => Some(l),
            Node::Block(_) => None,
        }
    }
}

/// A `<NAME params ... >` block.
#[derive(Clone, Debug, PartialEq)]
pub struct Block {
    /// The header line; its first token is `<NAME`.
    header: Line,
    /// Child lines and blocks, in file order. Public so that callers can
    /// insert, remove and reorder children with ordinary `Vec` operations.
    pub children: Vec<Node>,
    close: Line,
}

impl Block {
    /// A new, empty block `<NAME params...` with its closing `>`.
    pub fn new<I, S>(name: &str, params: I) -> Block
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut header = Line::new(params);
        header.tokens.insert(0, Token::verbatim(format!("<{name}")));
        Block {
            header,
            children: Vec::new(),
            close: Line::raw(">"),
        }
    }

    /// The chunk name (`TRACK`, `ITEM`, `SOURCE`, ...).
    pub fn name(&self) -> &str {
        self.header
            .tokens
            .first()
            .map(|t| t.value().trim_start_matches('<'))
            .unwrap_or("")
    }

    /// The header's parameters (tokens after the name), unquoted.
    pub fn params(&self) -> &[Token] {
        self.header.tokens.get(1..).unwrap_or(&[])
    }

    /// Parameter `i` of the header (0 is the first after the name).
    pub fn param(&self, i: usize) -> Option<&str> {
        self.header.get(i + 1)
    }

    /// Replaces header parameter `i`.
    pub fn set_param(&mut self, i: usize, value: impl Into<String>) {
        self.header.set_token(i + 1, value);
    }

    pub fn header(&self) -> &Line {
        &self.header
    }

    /// Key lines directly inside this block.
    pub fn lines(&self) -> impl Iterator<Item = &Line> {
        self.children.iter().filter_map(Node::as_line)
    }

    /// The first direct key line whose key is `key`.
    pub fn line(&self, key: &str) -> Option<&Line> {
        self.lines().find(|l| l.key() == Some(key))
    }

    pub fn line_mut(&mut self, key: &str) -> Option<&mut Line> {
        self.children
            .iter_mut()
            .filter_map(Node::as_line_mut)
            .find(|l| l.key() == Some(key))
    }

    /// Token 1 of the first line with this key: `NAME x` gives `x`.
    pub fn value(&self, key: &str) -> Option<&str> {
        self.line(key).and_then(|l| l.get(1))
    }

    /// Sets the tokens after `key` on its first line, appending the line at
    /// the end of the block (before child blocks' trailing lines is not
    /// attempted) if it does not exist.
    pub fn set_line(&mut self, key: &str, values: &[&str]) {
        let tokens = std::iter::once(key).chain(values.iter().copied());
        match self.line_mut(key) {
            Some(line) => line.set_tokens(tokens),
            None => self.children.push(Node::Line(Line::new(tokens))),
        }
    }

    /// Direct child blocks named `name`.
    pub fn blocks<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Block> + 'a {
        self.children
            .iter()
            .filter_map(Node::as_block)
            .filter(move |b| b.name() == name)
    }

    pub fn blocks_mut<'a>(&'a mut self, name: &'a str) -> impl Iterator<Item = &'a mut Block> + 'a {
        self.children
            .iter_mut()
            .filter_map(Node::as_block_mut)
            .filter(move |b| b.name() == name)
    }

    /// The first direct child block named `name`.
    pub fn block(&self, name: &str) -> Option<&Block> {
        self.children
            .iter()
            .filter_map(Node::as_block)
            .find(|b| b.name() == name)
    }

    pub fn block_mut(&mut self, name: &str) -> Option<&mut Block> {
        self.children
            .iter_mut()
            .filter_map(Node::as_block_mut)
            .find(|b| b.name() == name)
    }

    /// Positions in `children` of the direct child blocks named `name`.
    pub fn block_indices(&self, name: &str) -> Vec<usize> {
        self.children
            .iter()
            .enumerate()
            .filter(|(_, n)| n.as_block().is_some_and(|b| b.name() == name))
            .map(|(i, _)| i)
            .collect()
    }

    fn render(&self, depth: usize, out: &mut Vec<u8>, eol: Eol) {
        self.header.render(depth, out, eol);
        render_nodes(&self.children, depth + 1, out, eol);
        self.close.render(depth, out, eol);
    }
}

fn render_nodes(nodes: &[Node], depth: usize, out: &mut Vec<u8>, eol: Eol) {
    for node in nodes {
        match node {
            Node::Line(l) => l.render(depth, out, eol),
            Node::Block(b) => b.render(depth, out, eol),
        }
    }
}

/// A parsed RPP file.
#[derive(Clone, Debug, PartialEq)]
pub struct Document {
    /// Top-level nodes: one `<REAPER_PROJECT` block for a project, a list of
    /// plugin blocks and lines for an `.RfxChain`.
    pub nodes: Vec<Node>,
    /// The line ending used for lines created in memory: the first line's.
    eol: Eol,
}

impl Document {
    /// Parses with the default [`Limits`].
    pub fn parse(bytes: &[u8]) -> Result<Document, Error> {
        Document::parse_with(bytes, &Limits::default())
    }

    /// Reads and parses a file; errors name the file.
    pub fn read(path: &Path) -> Result<Document, Error> {
        Document::read_with(path, &Limits::default())
    }

    pub fn read_with(path: &Path, limits: &Limits) -> Result<Document, Error> {
        let with_path = |e: Error| e.with_path(path);
        let meta = std::fs::metadata(path).map_err(|e| with_path(Error::io(e)))?;
        if meta.len() > limits.max_file_bytes as u64 {
            return Err(with_path(Error::at(
                ErrorKind::Limit(format!(
                    "file is {} bytes, more than the limit of {} bytes",
                    meta.len(),
                    limits.max_file_bytes
                )),
                0,
                0,
            )));
        }
        let bytes = std::fs::read(path).map_err(|e| with_path(Error::io(e)))?;
        Document::parse_with(&bytes, limits).map_err(with_path)
    }

    /// Parses `bytes`. Never panics; hostile input hits a [`Limits`] error.
    pub fn parse_with(bytes: &[u8], limits: &Limits) -> Result<Document, Error> {
        if bytes.len() > limits.max_file_bytes {
            return Err(Error::at(
                ErrorKind::Limit(format!(
                    "input is {} bytes, more than the limit of {} bytes",
                    bytes.len(),
                    limits.max_file_bytes
                )),
                0,
                0,
            ));
        }
        if let Some(pos) = bytes.iter().position(|&b| b == 0) {
            let (line, col) = line_col(bytes, pos);
            return Err(Error::at(ErrorKind::Binary, line, col));
        }
        let text = match std::str::from_utf8(bytes) {
            Ok(t) => t,
            Err(e) => {
                let (line, col) = line_col(bytes, e.valid_up_to());
                return Err(Error::at(ErrorKind::NotUtf8, line, col));
            }
        };
        // A stack of open blocks; the bottom entry collects top-level nodes.
        let mut stack: Vec<(Block, usize)> = Vec::new();
        let mut top: Vec<Node> = Vec::new();
        let mut first_eol = None;
        let mut line_no = 0usize;
        let mut rest = text;
        while !rest.is_empty() {
            line_no += 1;
            let (content, eol, next) = match rest.find('\n') {
                Some(i) if i > 0 && rest.as_bytes()[i - 1] == b'\r' => {
                    (&rest[..i - 1], Eol::CrLf, &rest[i + 1..])
                }
                Some(i) => (&rest[..i], Eol::Lf, &rest[i + 1..]),
                None => (rest, Eol::None, ""),
            };
            rest = next;
            if content.len() > limits.max_line_bytes {
                return Err(Error::at(
                    ErrorKind::Limit(format!(
                        "line is {} bytes, more than the limit of {} bytes",
                        content.len(),
                        limits.max_line_bytes
                    )),
                    line_no,
                    limits.max_line_bytes + 1,
                ));
            }
            if line_no > limits.max_lines {
                return Err(Error::at(
                    ErrorKind::Limit(format!("more than {} lines", limits.max_lines)),
                    line_no,
                    1,
                ));
            }
            first_eol.get_or_insert(eol);
            let trimmed = content.trim_start_matches([' ', '\t']);
            let line = Line::parsed(content, eol);
            if trimmed.starts_with('<') {
                if stack.len() >= limits.max_depth {
                    return Err(Error::at(
                        ErrorKind::Limit(format!(
                            "blocks nested deeper than {} levels",
                            limits.max_depth
                        )),
                        line_no,
                        content.len() - trimmed.len() + 1,
                    ));
                }
                let block = Block {
                    header: line,
                    children: Vec::new(),
                    close: Line::raw(">"),
                };
                stack.push((block, line_no));
            } else if trimmed.trim_end_matches([' ', '\t']) == ">" {
                match stack.pop() {
                    Some((mut block, _)) => {
                        block.close = line;
                        let node = Node::Block(block);
                        match stack.last_mut() {
                            Some((parent, _)) => parent.children.push(node),
                            None => top.push(node),
                        }
                    }
                    None => {
                        return Err(Error::at(
                            ErrorKind::UnexpectedClose,
                            line_no,
                            content.len() - trimmed.len() + 1,
                        ))
                    }
                }
            } else {
                let node = Node::Line(line);
                match stack.last_mut() {
                    Some((parent, _)) => parent.children.push(node),
                    None => top.push(node),
                }
            }
        }
        if let Some((block, opened)) = stack.pop() {
            let (line, col) = line_col(bytes, bytes.len());
            return Err(Error::at(
                ErrorKind::Unclosed {
                    name: block.name().to_owned(),
                    opened_line: opened,
                },
                line,
                col,
            ));
        }
        Ok(Document {
            nodes: top,
            eol: first_eol.unwrap_or(Eol::Lf),
        })
    }

    /// The line ending used for new lines.
    pub fn eol(&self) -> Eol {
        self.eol
    }

    /// The `<REAPER_PROJECT` root block, if this is a project file.
    pub fn project(&self) -> Option<&Block> {
        self.nodes
            .iter()
            .filter_map(Node::as_block)
            .find(|b| b.name() == "REAPER_PROJECT")
    }

    pub fn project_mut(&mut self) -> Option<&mut Block> {
        self.nodes
            .iter_mut()
            .filter_map(Node::as_block_mut)
            .find(|b| b.name() == "REAPER_PROJECT")
    }

    /// Serialises the document. Unedited lines are written byte for byte;
    /// new and edited lines use two-space indentation per level and the
    /// document's line ending.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        render_nodes(&self.nodes, 0, &mut out, self.eol);
        out
    }

    /// A new project document with an empty `<REAPER_PROJECT` root.
    pub fn new_project(version: &str, timestamp: u64) -> Document {
        let root = Block::new(
            "REAPER_PROJECT",
            [
                "0.1".to_string(),
                version.to_string(),
                timestamp.to_string(),
            ],
        );
        Document {
            nodes: vec![Node::Block(root)],
            eol: Eol::Lf,
        }
    }
}

/// 1-based line and column (in bytes) of byte offset `pos`.
fn line_col(bytes: &[u8], pos: usize) -> (usize, usize) {
    let before = &bytes[..pos.min(bytes.len())];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let col = match before.iter().rposition(|&b| b == b'\n') {
        Some(nl) => pos - nl,
        None => pos + 1,
    };
    (line, col)
}

/// A GUID spelt as REAPER writes them, `{XXXXXXXX-XXXX-XXXX-XXXX-XXXXXXXXXXXX}`
/// upper case, from 128 bits given as two words.
pub fn guid(hi: u64, lo: u64) -> String {
    format!(
        "{{{:08X}-{:04X}-{:04X}-{:04X}-{:012X}}}",
        hi >> 32,
        (hi >> 16) & 0xFFFF,
        hi & 0xFFFF,
        lo >> 48,
        lo & 0xFFFF_FFFF_FFFF
    )
}

/// Convenience: the value of a token for display, quoted as REAPER would.
pub fn display_token(value: &str) -> Cow<'_, str> {
    quote(value)
}

#[cfg(test)]
mod tests;
