//! Lossless reading, editing and writing of Ableton Live sets (`.als`).
//!
//! A set is gzip around UTF-8 XML. [`Document::parse`] inflates it (with a
//! bound on the inflated size), indexes every element's byte spans with
//! quick-xml, and keeps the text itself; [`Document::xml`] on an unedited
//! document is therefore the input XML byte for byte (tabs, `" />"`, Live's
//! float spellings, the declaration), and [`Document::to_bytes`] re-gzips it
//! with the input's choice of compression. Every edit splices the text, so
//! only the edited bytes change.
//!
//! [`live`] navigates Live's schema (tracks, mixer parameters, devices,
//! clips, sample references) and makes the edits a mix needs under Live's Id
//! rules; [`validate()`] checks those rules on any set. Live 8 sets parse but
//! refuse edits ([`Document::read_only_reason`]).
//!
//! This crate knows nothing about audio or mixing: it is a syntax layer that
//! could be published on its own.
//!
//! ```
//! use premix_als::Document;
//! let xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Ableton MajorVersion=\"5\" MinorVersion=\"11.0_433\">\n\t<LiveSet>\n\t\t<NextPointeeId Value=\"10\" />\n\t</LiveSet>\n</Ableton>\n";
//! let mut doc = Document::parse(xml.as_bytes()).unwrap();
//! assert_eq!(doc.xml(), xml);
//! let npi = doc.path(doc.root(), &["LiveSet", "NextPointeeId"]).unwrap();
//! doc.set_attr(npi, "Value", "11").unwrap();
//! assert!(doc.xml().contains("<NextPointeeId Value=\"11\" />"));
//! ```

mod container;
mod error;
mod float;
pub mod live;
mod tree;
pub mod validate;

pub use container::Compression;
pub use error::{Error, ErrorKind, Limits, Result};
pub use float::format_live_float;
pub use tree::ElementId;
pub use validate::{validate, Issue, IssueKind};

use std::path::Path;
use tree::Tree;

/// A parsed set: the XML text, its element index and how it was stored.
#[derive(Clone, Debug)]
pub struct Document {
    tree: Tree,
    compression: Compression,
    limits: Limits,
}

impl Document {
    /// Parses a set (gzip or plain XML) with the default [`Limits`].
    pub fn parse(bytes: &[u8]) -> Result<Document> {
        Document::parse_with(bytes, &Limits::default())
    }

    /// Parses a set with explicit limits.
    pub fn parse_with(bytes: &[u8], limits: &Limits) -> Result<Document> {
        let (xml, compression) = container::decompress(bytes, limits)?;
        let text = String::from_utf8(xml).map_err(|e| {
            let at = e.utf8_error().valid_up_to();
            Error::at(ErrorKind::NotUtf8, e.as_bytes(), at)
        })?;
        let tree = Tree::parse(text, limits)?;
        Ok(Document {
            tree,
            compression,
            limits: limits.clone(),
        })
    }

    /// Reads and parses a file; errors name it.
    pub fn read(path: &Path) -> Result<Document> {
        Document::read_with(path, &Limits::default())
    }

    /// Reads and parses a file with explicit limits.
    pub fn read_with(path: &Path, limits: &Limits) -> Result<Document> {
        let meta =
            std::fs::metadata(path).map_err(|e| Error::new(ErrorKind::Io(e)).with_path(path))?;
        if meta.len() > limits.max_file_bytes as u64 {
            return Err(Error::new(ErrorKind::Limit(format!(
                "file larger than {} bytes",
                limits.max_file_bytes
            )))
            .with_path(path));
        }
        let bytes =
            std::fs::read(path).map_err(|e| Error::new(ErrorKind::Io(e)).with_path(path))?;
        Document::parse_with(&bytes, limits).map_err(|e| e.with_path(path))
    }

    /// The XML text as it stands (the input's text if unedited).
    pub fn xml(&self) -> &str {
        &self.tree.text
    }

    /// The XML bytes as they stand.
    pub fn to_xml_bytes(&self) -> Vec<u8> {
        self.tree.text.as_bytes().to_vec()
    }

    /// The set as it would be stored: gzip if the input was gzip.
    pub fn to_bytes(&self) -> Result<Vec<u8>> {
        container::compress(self.tree.text.as_bytes(), &self.compression)
    }

    /// Writes the set to `path` (through a temporary file in the same folder,
    /// renamed over the target, so a failed write leaves no half file).
    pub fn write(&self, path: &Path) -> Result<()> {
        let bytes = self.to_bytes().map_err(|e| e.with_path(path))?;
        let tmp = path.with_extension("als.premix-tmp");
        let io = |e| Error::new(ErrorKind::Io(e)).with_path(path);
        std::fs::write(&tmp, bytes).map_err(io)?;
        std::fs::rename(&tmp, path).map_err(io)
    }

    /// How the input was stored.
    pub fn compression(&self) -> &Compression {
        &self.compression
    }

    /// Chooses how [`Document::to_bytes`] stores the set.
    pub fn set_compression(&mut self, c: Compression) {
        self.compression = c;
    }

    /// The limits the document was parsed with (also applied to fragments
    /// inserted later).
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    // ----- navigation -------------------------------------------------

    /// The root element (`Ableton` in a Live set).
    pub fn root(&self) -> ElementId {
        ElementId(self.tree.root)
    }

    /// The element's tag name.
    pub fn name(&self, id: ElementId) -> &str {
        &self.tree.node(id).name
    }

    /// An attribute's value (entities resolved).
    pub fn attr(&self, id: ElementId, name: &str) -> Option<&str> {
        self.tree
            .node(id)
            .attrs
            .iter()
            .find(|a| a.name == name)
            .map(|a| a.value.as_str())
    }

    /// All attributes, in order, as (name, value).
    pub fn attrs(&self, id: ElementId) -> impl Iterator<Item = (&str, &str)> {
        self.tree
            .node(id)
            .attrs
            .iter()
            .map(|a| (a.name.as_str(), a.value.as_str()))
    }

    /// The `Value` attribute, Live's usual carrier of a setting.
    pub fn value(&self, id: ElementId) -> Option<&str> {
        self.attr(id, "Value")
    }

    /// The parent element.
    pub fn parent(&self, id: ElementId) -> Option<ElementId> {
        self.tree.node(id).parent.map(ElementId)
    }

    /// Child elements in document order.
    pub fn children(&self, id: ElementId) -> impl Iterator<Item = ElementId> + '_ {
        self.tree.node(id).children.iter().map(|&c| ElementId(c))
    }

    /// The first child named `name`.
    pub fn child(&self, id: ElementId, name: &str) -> Option<ElementId> {
        self.children(id).find(|&c| self.name(c) == name)
    }

    /// Follows a path of child names.
    pub fn path(&self, id: ElementId, names: &[&str]) -> Option<ElementId> {
        names.iter().try_fold(id, |at, n| self.child(at, n))
    }

    /// `id` and every element below it, in document order.
    pub fn descendants(&self, id: ElementId) -> Vec<ElementId> {
        let mut out = Vec::new();
        let mut stack = vec![id];
        while let Some(e) = stack.pop() {
            out.push(e);
            let n = self.tree.node(e);
            stack.extend(n.children.iter().rev().map(|&c| ElementId(c)));
        }
        out
    }

    /// The element's exact text, start tag to end tag.
    pub fn text_of(&self, id: ElementId) -> &str {
        let n = self.tree.node(id);
        &self.tree.text[n.start..n.end]
    }

    /// The raw text between the element's start and end tags (markup of
    /// children included; entities not resolved). Empty for `<X />`.
    pub fn inner_text(&self, id: ElementId) -> &str {
        let n = self.tree.node(id);
        &self.tree.text[n.tag_end..n.close_start]
    }

    /// The element's byte span in [`Document::xml`].
    pub fn span(&self, id: ElementId) -> std::ops::Range<usize> {
        let n = self.tree.node(id);
        n.start..n.end
    }

    // ----- generic edits ------------------------------------------------

    /// Sets an existing attribute. Only the value's bytes change.
    pub fn set_attr(&mut self, id: ElementId, name: &str, value: &str) -> Result<()> {
        self.tree.set_attr(id, name, value)
    }

    /// Inserts `fragment` (the text of one element, such as another set's
    /// [`Document::text_of`]) as child `index` of `parent`, re-indented to
    /// its depth with Live's tab style. Returns the new element.
    pub fn insert_element(
        &mut self,
        parent: ElementId,
        index: usize,
        fragment: &str,
    ) -> Result<ElementId> {
        self.tree.insert(parent, index, fragment, &self.limits)
    }

    /// Removes an element and the whitespace before it.
    pub fn remove_element(&mut self, id: ElementId) -> Result<()> {
        self.tree.remove(id)
    }

    /// Replaces an element's whole text with `fragment` (one element); the
    /// element keeps its id, its old descendants' ids become invalid.
    pub fn replace_element(&mut self, id: ElementId, fragment: &str) -> Result<ElementId> {
        self.tree.replace(id, fragment, &self.limits)
    }

    /// An error positioned at element `id`.
    pub(crate) fn error_at(&self, id: ElementId, kind: ErrorKind) -> Error {
        Error::at(kind, self.tree.text.as_bytes(), self.tree.node(id).start)
    }
}
