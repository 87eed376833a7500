//! ReaEQ's opaque state (FORMATS.md §1.5), verified against REAPER's stock
//! preset bank: `i32 version, i32 n_bands`, then per band `i32 type,
//! i32 enabled, f64 frequency Hz, f64 gain (linear), f64 bandwidth (octaves)`
//! (+ `u8` flag in version 33), then a tail premix keeps verbatim.

use crate::vst::{vst2_id_hex, VstError, VstState, MAGIC_OPAQUE};
use crate::{Block, Line, Node};

/// ReaEQ's VST2 unique id, `reeq`.
pub const REAEQ_ID: u32 = 0x7265_6571;

/// A ReaEQ band type, by the codes REAPER writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BandType {
    LowShelf,
    HighShelf,
    /// Code 2: the legacy peaking band of old presets.
    BandLegacy,
    LowPass,
    HighPass,
    AllPass,
    Notch,
    BandPass,
    /// Code 8: the bell REAPER 6/7 writes for new bands.
    Band,
    Other(i32),
}

impl BandType {
    pub fn code(self) -> i32 {
        match self {
            BandType::LowShelf => 0,
            BandType::HighShelf => 1,
            BandType::BandLegacy => 2,
            BandType::LowPass => 3,
            BandType::HighPass => 4,
            BandType::AllPass => 5,
            BandType::Notch => 6,
            BandType::BandPass => 7,
            BandType::Band => 8,
            BandType::Other(c) => c,
        }
    }

    pub fn from_code(c: i32) -> BandType {
        match c {
            0 => BandType::LowShelf,
            1 => BandType::HighShelf,
            2 => BandType::BandLegacy,
            3 => BandType::LowPass,
            4 => BandType::HighPass,
            5 => BandType::AllPass,
            6 => BandType::Notch,
            7 => BandType::BandPass,
            8 => BandType::Band,
            c => BandType::Other(c),
        }
    }
}

/// One ReaEQ band, in ReaEQ's own units.
#[derive(Clone, Debug, PartialEq)]
pub struct Band {
    pub kind: BandType,
    pub enabled: bool,
    pub freq_hz: f64,
    /// Linear amplitude gain (1.0 = 0 dB).
    pub gain: f64,
    /// Bandwidth in octaves.
    pub bandwidth_oct: f64,
}

/// A decoded ReaEQ chunk.
#[derive(Clone, Debug, PartialEq)]
pub struct ReaEq {
    /// 32 (REAPER 5-era presets) or 33 (REAPER 6.08+ projects).
    pub version: i32,
    pub bands: Vec<Band>,
    /// Everything after the bands, kept verbatim (output gain and UI state).
    pub tail: Vec<u8>,
}

/// The tail of every version-32 state in REAPER's stock preset bank:
/// `i32 1, i32 1, f64 1.0` (the last is the output gain, linear).
pub const V32_TAIL: [u8; 16] = [1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xF0, 0x3F];

impl ReaEq {
    /// Decodes ReaEQ's opaque chunk.
    pub fn decode(body: &[u8]) -> Result<ReaEq, VstError> {
        let i32_at = |p: usize| -> Result<i32, VstError> {
            body.get(p..p + 4)
                .map(|s| i32::from_le_bytes([s[0], s[1], s[2], s[3]]))
                .ok_or_else(|| VstError("ReaEQ state is truncated".into()))
        };
        let f64_at = |p: usize| -> Result<f64, VstError> {
            body.get(p..p + 8)
                .map(|s| f64::from_le_bytes(s.try_into().unwrap_or([0; 8])))
                .ok_or_else(|| VstError("ReaEQ state is truncated".into()))
        };
        let version = i32_at(0)?;
        let band_size = match version {
            32 => 32,
            33 => 33,
            v => return Err(VstError(format!("unsupported ReaEQ state version {v}"))),
        };
        let n = i32_at(4)?;
        if !(0..=1024).contains(&n) {
            return Err(VstError(format!("implausible ReaEQ band count {n}")));
        }
        let mut bands = Vec::with_capacity(n as usize);
        let mut p = 8;
        for _ in 0..n {
            bands.push(Band {
                kind: BandType::from_code(i32_at(p)?),
                enabled: i32_at(p + 4)? != 0,
                freq_hz: f64_at(p + 8)?,
                gain: f64_at(p + 16)?,
                bandwidth_oct: f64_at(p + 24)?,
            });
            p += band_size;
        }
        Ok(ReaEq {
            version,
            bands,
            tail: body.get(p..).unwrap_or_default().to_vec(),
        })
    }

    /// Encodes the chunk (the band layout of `self.version`).
    pub fn encode(&self) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend(self.version.to_le_bytes());
        b.extend((self.bands.len() as i32).to_le_bytes());
        for band in &self.bands {
            b.extend(band.kind.code().to_le_bytes());
            b.extend(i32::from(band.enabled).to_le_bytes());
            b.extend(band.freq_hz.to_le_bytes());
            b.extend(band.gain.to_le_bytes());
            b.extend(band.bandwidth_oct.to_le_bytes());
            if self.version >= 33 {
                b.push(1);
            }
        }
        b.extend(&self.tail);
        b
    }

    /// A complete `<VST "VST: ReaEQ (Cockos)" …>` block holding this state,
    /// with REAPER's stereo pin layout, preceded by nothing: the caller adds
    /// `BYPASS`, `FXID` and friends around it in the `<FXCHAIN`.
    /// `custom_name` is the name REAPER shows for the instance.
    pub fn to_block(&self, custom_name: &str) -> Block {
        let state = VstState {
            plugin_id: REAEQ_ID,
            magic: MAGIC_OPAQUE,
            inputs: vec![1, 2],
            outputs: vec![1, 2],
            flags: 0x0010_0000,
            body: self.encode(),
            program: Vec::new(),
            preset: Vec::new(),
            trailer_rest: vec![0x10, 0, 0, 0],
        };
        let mut block = Block::new(
            "VST",
            [
                "VST: ReaEQ (Cockos)".to_string(),
                "reaeq.dll".to_string(),
                "0".to_string(),
                custom_name.to_string(),
                format!("{REAEQ_ID}<{}>", vst2_id_hex(REAEQ_ID, "reaeq")),
                String::new(),
            ],
        );
        for l in state.encode() {
            block.children.push(Node::Line(Line::raw(l)));
        }
        block
    }

    /// Decodes the ReaEQ state of a `<VST` block, if it is a ReaEQ.
    pub fn from_block(block: &Block) -> Option<Result<ReaEq, VstError>> {
        let state = match VstState::from_block(block) {
            Ok(s) => s,
            Err(e) => return Some(Err(e)),
        };
        (state.plugin_id == REAEQ_ID && state.magic == MAGIC_OPAQUE)
            .then(|| ReaEq::decode(&state.body))
    }
}

/// ReaEQ bandwidth (octaves) for a biquad Q, by the RBJ cookbook relation
/// 1/Q = 2·sinh(ln2/2 · BW).
pub fn q_to_octaves(q: f64) -> f64 {
    2.0 / std::f64::consts::LN_2 * (1.0 / (2.0 * q)).asinh()
}

/// The inverse of [`q_to_octaves`].
pub fn octaves_to_q(bw: f64) -> f64 {
    1.0 / (2.0 * (std::f64::consts::LN_2 / 2.0 * bw).sinh())
}
