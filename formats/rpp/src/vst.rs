//! REAPER's VST plugin-state framing (FORMATS.md §1.5), and the `<VST …>`
//! block that carries it.
//!
//! The payload lines of a `<VST` block are three independent base64 streams:
//! a header (plugin id, magic, pin masks, body length), the body (wrapped at
//! 128 characters, padded only at its end) and a trailer (program and preset
//! names). Decoding each stream separately is essential: concatenating them as
//! text does not give valid base64.

use crate::{Block, Line, Node};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;

/// The body is the plugin's own opaque chunk (`effGetChunk`).
pub const MAGIC_OPAQUE: u32 = 0xFEED_5EEE;
/// The body is a parameter list: `DEADBEEF DEADF00D` then `f32` values.
pub const MAGIC_PARAMS: u32 = 0xFEED_5EEF;

/// REAPER wraps each base64 stream of a VST2 state at this many characters.
const WRAP: usize = 128;

/// A decoded VST state.
#[derive(Clone, Debug, PartialEq)]
pub struct VstState {
    /// The VST2 unique id (`reeq` for ReaEQ).
    pub plugin_id: u32,
    /// [`MAGIC_OPAQUE`] or [`MAGIC_PARAMS`].
    pub magic: u32,
    /// Input pin channel masks.
    pub inputs: Vec<u64>,
    /// Output pin channel masks.
    pub outputs: Vec<u64>,
    /// The header word after the body length and opaque flag
    /// (`0x00100000` in every REAPER-written project seen).
    pub flags: u32,
    pub body: Vec<u8>,
    /// Trailer: the program name.
    pub program: Vec<u8>,
    /// Trailer: the preset name (empty when none).
    pub preset: Vec<u8>,
    /// Trailer bytes after the two names (`10 00 00 00` as seen).
    pub trailer_rest: Vec<u8>,
}

/// Why a VST state could not be decoded.
#[derive(Debug, PartialEq, Eq)]
pub struct VstError(pub String);

impl std::fmt::Display for VstError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for VstError {}

fn err(msg: impl Into<String>) -> VstError {
    VstError(msg.into())
}

struct Reader<'a> {
    b: &'a [u8],
    p: usize,
}

impl Reader<'_> {
    fn u32(&mut self) -> Result<u32, VstError> {
        let s = self
            .b
            .get(self.p..self.p + 4)
            .ok_or_else(|| err("VST header is truncated"))?;
        self.p += 4;
        Ok(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
    }
    fn u64(&mut self) -> Result<u64, VstError> {
        let lo = self.u32()? as u64;
        let hi = self.u32()? as u64;
        Ok(lo | (hi << 32))
    }
}

impl VstState {
    /// Decodes the payload lines of a `<VST` block (header, body lines,
    /// trailer), each a separate base64 stream.
    pub fn decode(lines: &[&str]) -> Result<VstState, VstError> {
        // Every line REAPER writes is a whole number of base64 quanta, and
        // padding only ever ends a line, so decoding line by line and
        // concatenating the bytes gives header + body + trailer whatever the
        // wrap layout (VST2 wraps each stream at 128; VST3 lines differ).
        let mut bytes = Vec::new();
        for (i, l) in lines.iter().enumerate() {
            let chunk = STANDARD
                .decode(l.trim())
                .map_err(|e| err(format!("bad base64 in VST state line {}: {e}", i + 1)))?;
            bytes.extend(chunk);
        }
        let mut r = Reader { b: &bytes, p: 0 };
        let plugin_id = r.u32()?;
        let magic = r.u32()?;
        if magic != MAGIC_OPAQUE && magic != MAGIC_PARAMS {
            return Err(err(format!("unknown VST state magic {magic:#010x}")));
        }
        let n_in = r.u32()? as usize;
        if n_in > 64 {
            return Err(err("implausible VST input pin count"));
        }
        let inputs = (0..n_in).map(|_| r.u64()).collect::<Result<_, _>>()?;
        let n_out = r.u32()? as usize;
        if n_out > 64 {
            return Err(err("implausible VST output pin count"));
        }
        let outputs = (0..n_out).map(|_| r.u64()).collect::<Result<_, _>>()?;
        let body_len = r.u32()? as usize;
        let _opaque_flag = r.u32()?;
        let flags = r.u32()?;
        let body = bytes
            .get(r.p..r.p.saturating_add(body_len))
            .ok_or_else(|| {
                err(format!(
                    "VST body is {} bytes but the header says {body_len}",
                    bytes.len() - r.p
                ))
            })?
            .to_vec();
        let trailer = &bytes[r.p + body_len..];
        let mut parts = trailer.splitn(3, |&b| b == 0);
        let program = parts.next().unwrap_or_default().to_vec();
        let preset = parts.next().unwrap_or_default().to_vec();
        let trailer_rest = parts.next().unwrap_or_default().to_vec();
        Ok(VstState {
            plugin_id,
            magic,
            inputs,
            outputs,
            flags,
            body,
            program,
            preset,
            trailer_rest,
        })
    }

    /// Encodes as the payload lines of a `<VST` block the way REAPER writes
    /// VST2 states: header, body and trailer as separate base64 streams, each
    /// wrapped at 128 characters.
    pub fn encode(&self) -> Vec<String> {
        let mut h = Vec::new();
        h.extend(self.plugin_id.to_le_bytes());
        h.extend(self.magic.to_le_bytes());
        h.extend((self.inputs.len() as u32).to_le_bytes());
        for m in &self.inputs {
            h.extend(m.to_le_bytes());
        }
        h.extend((self.outputs.len() as u32).to_le_bytes());
        for m in &self.outputs {
            h.extend(m.to_le_bytes());
        }
        h.extend((self.body.len() as u32).to_le_bytes());
        h.extend(u32::from(self.magic == MAGIC_OPAQUE).to_le_bytes());
        h.extend(self.flags.to_le_bytes());
        let mut t = self.program.clone();
        t.push(0);
        t.extend(&self.preset);
        t.push(0);
        t.extend(&self.trailer_rest);
        let mut lines = Vec::new();
        for stream in [h, self.body.clone(), t] {
            let text = STANDARD.encode(stream);
            lines.extend(
                text.as_bytes()
                    .chunks(WRAP)
                    .map(|c| String::from_utf8_lossy(c).into_owned()),
            );
        }
        lines
    }

    /// Decodes the state held by a `<VST` block.
    pub fn from_block(block: &Block) -> Result<VstState, VstError> {
        let lines: Vec<&str> = block
            .children
            .iter()
            .filter_map(Node::as_line)
            .filter_map(|l| l.tokens().first().map(|t| t.value()))
            .collect();
        VstState::decode(&lines)
    }

    /// Replaces the payload lines of a `<VST` block with this state.
    pub fn write_to_block(&self, block: &mut Block) {
        block.children.retain(|n| n.as_block().is_some());
        for (i, l) in self.encode().into_iter().enumerate() {
            block.children.insert(i, Node::Line(Line::raw(l)));
        }
    }
}

/// The 16-byte id REAPER writes after a VST2 plugin's unique id in the
/// `<VST` header: `VST` + the 4-byte id as big-endian text + the file stem,
/// padded with zeros (e.g. `VSTreeqreaeq\0\0\0\0` for ReaEQ).
pub fn vst2_id_hex(unique_id: u32, stem: &str) -> String {
    let mut b = Vec::with_capacity(16);
    b.extend(b"VST");
    b.extend(unique_id.to_be_bytes());
    b.extend(stem.bytes().take(9));
    b.resize(16, 0);
    b.iter().map(|x| format!("{x:02X}")).collect()
}
