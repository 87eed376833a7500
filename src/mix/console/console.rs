//! Console settings in real units and the renderer.

use super::comp::{CompParams, Compressor};
use super::eq::{Eq, EqParams};
use super::pan::PanLaw;
use super::stem::{Class, Stem, StereoBuffer};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// Stem fader range, dB.
pub const GAIN_RANGE_DB: (f64, f64) = (-24.0, 24.0);
/// Master output gain range, dB.
pub const OUTPUT_GAIN_RANGE_DB: (f64, f64) = (-24.0, 24.0);
/// Pan range (−1 left … +1 right).
pub const PAN_RANGE: (f64, f64) = (-1.0, 1.0);

/// One channel strip: gain → EQ → compressor → pan.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StripParams {
    /// The stem's name (for reports and the writers).
    pub name: String,
    /// The stem's class.
    pub class: Class,
    /// Fader gain, dB.
    pub gain_db: f64,
    /// Six-band EQ.
    pub eq: EqParams,
    /// Compressor.
    pub comp: CompParams,
    /// Pan, −1 (left) … +1 (right), under [`ConsoleParams::pan_law`].
    pub pan: f64,
}

impl StripParams {
    /// Neutral settings for `stem`: 0 dB, flat, no compression, centre.
    pub fn neutral(stem: &Stem) -> StripParams {
        StripParams {
            name: stem.name.clone(),
            class: stem.class,
            gain_db: 0.0,
            eq: EqParams::flat(),
            comp: CompParams::bypass(),
            pan: 0.0,
        }
    }
}

/// The master bus: EQ → compressor → output gain.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MasterParams {
    /// Six-band EQ.
    pub eq: EqParams,
    /// Compressor.
    pub comp: CompParams,
    /// Output gain, dB.
    pub output_gain_db: f64,
}

impl Default for MasterParams {
    fn default() -> MasterParams {
        MasterParams {
            eq: EqParams::flat(),
            comp: CompParams::bypass(),
            output_gain_db: 0.0,
        }
    }
}

/// Every setting of the console, in real units (dB, Hz, Q, ms, ratio).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConsoleParams {
    /// The pan law the pans are meant for.
    pub pan_law: PanLaw,
    /// One strip per stem, in stem order.
    pub stems: Vec<StripParams>,
    /// The master bus.
    pub master: MasterParams,
}

impl ConsoleParams {
    /// Neutral settings for `stems` (the render is the plain sum).
    pub fn neutral(stems: &[Stem]) -> ConsoleParams {
        ConsoleParams {
            pan_law: PanLaw::Balance,
            stems: stems.iter().map(StripParams::neutral).collect(),
            master: MasterParams::default(),
        }
    }

    /// Clamp every setting into the console's ranges.
    pub fn clamp(&mut self) {
        for s in &mut self.stems {
            s.gain_db = s.gain_db.clamp(GAIN_RANGE_DB.0, GAIN_RANGE_DB.1);
            s.pan = s.pan.clamp(PAN_RANGE.0, PAN_RANGE.1);
            s.eq.clamp();
            s.comp.clamp();
        }
        self.master.eq.clamp();
        self.master.comp.clamp();
        self.master.output_gain_db = self
            .master
            .output_gain_db
            .clamp(OUTPUT_GAIN_RANGE_DB.0, OUTPUT_GAIN_RANGE_DB.1);
    }
}

fn db_to_lin(db: f64) -> f64 {
    10f64.powf(db / 20.0)
}

/// Frames per processing chunk: small enough to stay in cache, large
/// enough that the per-chunk parallel fan-out costs little.
const CHUNK: usize = 16384;

/// A running strip with its scratch buffers.
struct Strip {
    gain: f32,
    pan: (f32, f32),
    eq: Eq,
    comp: Compressor,
    l: Vec<f32>,
    r: Vec<f32>,
}

impl Strip {
    fn new(p: &StripParams, law: PanLaw, sr: f64) -> Strip {
        let (gl, gr) = law.gains(p.pan);
        Strip {
            gain: db_to_lin(p.gain_db) as f32,
            pan: (gl as f32, gr as f32),
            eq: Eq::new(&p.eq, sr),
            comp: Compressor::new(&p.comp, sr),
            l: Vec::new(),
            r: Vec::new(),
        }
    }

    /// Process frames `[from, from + n)` of `audio` (zeros past its end)
    /// into the scratch buffers.
    fn run(&mut self, audio: &StereoBuffer, from: usize, n: usize) {
        self.l.clear();
        self.r.clear();
        let end = (from + n).min(audio.len());
        if from < end {
            self.l
                .extend(audio.left[from..end].iter().map(|x| x * self.gain));
            self.r
                .extend(audio.right[from..end].iter().map(|x| x * self.gain));
        }
        self.l.resize(n, 0.0);
        self.r.resize(n, 0.0);
        self.eq.process(&mut self.l, &mut self.r);
        if !self.comp.is_identity() {
            self.comp.process(&mut self.l, &mut self.r, None);
        }
        let (gl, gr) = self.pan;
        if gl != 1.0 {
            self.l.iter_mut().for_each(|x| *x *= gl);
        }
        if gr != 1.0 {
            self.r.iter_mut().for_each(|x| *x *= gr);
        }
    }
}

/// Render the whole mix: as long as the longest stem, sample-accurate (no
/// latency, no tail past the end). Panics if the stems' sample rates or the
/// number of strips disagree (programming errors).
pub fn render(stems: &[Stem], params: &ConsoleParams) -> StereoBuffer {
    let len = stems.iter().map(|s| s.audio.len()).max().unwrap_or(0);
    render_range(stems, params, 0, len, 0)
}

/// Render frames `[start, start + len)` of the mix. Processing starts
/// `preroll` frames earlier (clamped at 0) so that filters and compressors
/// have settled; those frames are discarded. With `preroll ≥ start` the
/// result equals the same span of [`render`] exactly.
pub fn render_range(
    stems: &[Stem],
    params: &ConsoleParams,
    start: usize,
    len: usize,
    preroll: usize,
) -> StereoBuffer {
    assert_eq!(stems.len(), params.stems.len(), "one strip per stem");
    let sr = stems.first().map_or(48000, |s| s.audio.sample_rate);
    assert!(
        stems.iter().all(|s| s.audio.sample_rate == sr),
        "stems must share a sample rate"
    );
    let srf = f64::from(sr);
    let mut strips: Vec<Strip> = params
        .stems
        .iter()
        .map(|p| Strip::new(p, params.pan_law, srf))
        .collect();
    let mut meq = Eq::new(&params.master.eq, srf);
    let mut mcomp = Compressor::new(&params.master.comp, srf);
    let out_gain = db_to_lin(params.master.output_gain_db) as f32;

    let first = start.saturating_sub(preroll);
    let mut out = StereoBuffer::silence(sr, len);
    let mut bus_l = vec![0.0f32; CHUNK];
    let mut bus_r = vec![0.0f32; CHUNK];
    let mut pos = first;
    while pos < start + len {
        let n = CHUNK.min(start + len - pos);
        strips
            .par_iter_mut()
            .zip(stems.par_iter())
            .for_each(|(st, stem)| st.run(&stem.audio, pos, n));
        // Sum in stem order whatever the threads did: same bits every run.
        let (bl, br) = (&mut bus_l[..n], &mut bus_r[..n]);
        bl.fill(0.0);
        br.fill(0.0);
        for st in &strips {
            bl.iter_mut().zip(&st.l).for_each(|(b, x)| *b += x);
            br.iter_mut().zip(&st.r).for_each(|(b, x)| *b += x);
        }
        meq.process(bl, br);
        if !mcomp.is_identity() {
            mcomp.process(bl, br, None);
        }
        // Copy the part at or after `start` into the output.
        if pos + n > start {
            let skip = start.saturating_sub(pos);
            let at = pos + skip - start;
            for i in 0..n - skip {
                out.left[at + i] = bl[skip + i] * out_gain;
                out.right[at + i] = br[skip + i] * out_gain;
            }
        }
        pos += n;
    }
    out
}

/// Render one strip alone (gain, EQ, compressor, pan) over the whole stem.
pub fn render_strip(stem: &Stem, strip: &StripParams, law: PanLaw) -> StereoBuffer {
    let mut st = Strip::new(strip, law, f64::from(stem.audio.sample_rate));
    let n = stem.audio.len();
    let mut out = StereoBuffer::silence(stem.audio.sample_rate, n);
    let mut pos = 0;
    while pos < n {
        let m = CHUNK.min(n - pos);
        st.run(&stem.audio, pos, m);
        out.left[pos..pos + m].copy_from_slice(&st.l);
        out.right[pos..pos + m].copy_from_slice(&st.r);
        pos += m;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stem(seed: u32, len: usize) -> Stem {
        let mut x = seed.wrapping_mul(2_654_435_761).max(1);
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            (x as f32 / u32::MAX as f32) - 0.5
        };
        let left: Vec<f32> = (0..len).map(|_| next()).collect();
        let right: Vec<f32> = (0..len).map(|_| next()).collect();
        Stem {
            name: format!("s{seed}"),
            class: Class::Keys,
            audio: StereoBuffer::new(44100, left, right),
        }
    }

    #[test]
    fn neutral_console_is_the_plain_sum() {
        let stems = vec![stem(1, 40000), stem(2, 30000)];
        let mix = render(&stems, &ConsoleParams::neutral(&stems));
        assert_eq!(mix.len(), 40000);
        for i in 0..40000 {
            let want_l: f32 = stems
                .iter()
                .map(|s| s.audio.left.get(i).copied().unwrap_or(0.0))
                .sum();
            // f32 addition in the same order: bit-identical.
            assert_eq!(mix.left[i], want_l, "frame {i}");
        }
    }

    #[test]
    fn range_with_full_preroll_equals_the_full_render() {
        let stems = vec![stem(3, 50000), stem(4, 50000)];
        let mut p = ConsoleParams::neutral(&stems);
        p.stems[0].eq = EqParams::with_gains([3.0, -2.0, 1.0, 0.0, 2.0, -4.0]);
        p.stems[1].comp = CompParams {
            threshold_db: -20.0,
            ratio: 4.0,
            ..CompParams::bypass()
        };
        p.stems[1].pan = 0.4;
        p.master.comp = CompParams {
            threshold_db: -10.0,
            ratio: 2.0,
            ..CompParams::bypass()
        };
        let full = render(&stems, &p);
        let part = render_range(&stems, &p, 20000, 10000, 20000);
        assert_eq!(&full.left[20000..30000], &part.left[..]);
        assert_eq!(&full.right[20000..30000], &part.right[..]);
    }
}
