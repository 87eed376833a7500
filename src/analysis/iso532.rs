//! ISO 532-1:2017 loudness (Zwicker's method), stationary and time-varying,
//! free and diffuse field. A library module of its own: it knows nothing of
//! sessions or tracks, only of calibrated sound pressure.
//!
//! Written from the standard's published method and tables (Annex A: the
//! third-octave filter bank, Tables A.1–A.9): third-octave band levels →
//! low-frequency corrections and the first three critical bands → core
//! loudness of 20 critical bands → upper slopes → specific loudness on the
//! Bark scale (0.1 Bark steps, 240 values) → total loudness N in sone →
//! loudness level L_N in phon. Hand-written because no Rust implementation
//! exists (ALGORITHMS.md §4.2); cross-checked against MoSQITo 1.2.1 in
//! `tests/it/perceptual.rs`.
//!
//! # Calibration
//! Audio samples are not pressures. [`Calibration`] states the mapping
//! explicitly: `db_spl_at_unit_rms` is the sound pressure level of a signal
//! whose RMS is 1.0 (0 dBFS RMS). The default, 103 dB SPL, makes a signal at
//! −20 dBFS RMS play at 83 dB SPL (the film/broadcast reference level). A
//! full-scale sine has RMS 1/√2, i.e. −3.0103 dBFS RMS, and so plays at
//! 99.99 dB SPL ("full-scale sine = 100 dB SPL" to within 0.01 dB). A sample
//! value x is x · 20 µPa · 10^(103/20) = x · 2.8251 Pa.
//!
//! # Time-varying method (standard §6)
//! At 48 kHz (other rates are resampled first, by the caller or by
//! [`time_varying_buffer`]): the 28 third-octave filters (25 Hz–12.5 kHz,
//! each three second-order sections and a gain, Table A.2), squaring, three
//! first-order low-passes in series (τ = 2/(3·f_c), f_c ≤ 1 kHz; 2/3 ms
//! above), decimation by 24 to 2 kHz; core loudness per 0.5 ms step; the
//! nonlinear temporal decay of each critical band (24 interpolation steps
//! per sample); the slopes and total loudness; the temporal weighting of N
//! (0.47 × 3.5 ms + 0.53 × 70 ms first-order low-passes, interpolated);
//! decimation by 4 to 2 ms steps. N5 is the loudness exceeded 5 % of the
//! time (the 95th percentile of N(t), linear interpolation between order
//! statistics as numpy's `percentile`).
//!
//! # Stationary method (standard §5)
//! The same filter bank, and each band's mean square over the whole signal
//! (no smoothing), or third-octave levels given directly
//! ([`stationary_from_levels`]).

use crate::audio::Buffer;

/// Sample rate the standard's filter bank is defined at.
pub const RATE: u32 = 48_000;
/// Number of third-octave bands, 25 Hz … 12.5 kHz.
pub const BANDS: usize = 28;
/// Number of specific-loudness values (0.1 … 24 Bark in 0.1 Bark steps).
pub const BARK_STEPS: usize = 240;
/// Reference intensity (20 µPa)², Pa².
const I_REF: f64 = 4e-10;
/// Added to band mean squares before the logarithm, Pa² (standard's value).
const TINY: f64 = 1e-12;
/// Decimation from 48 kHz to the 2 kHz level/core-loudness rate.
const DEC_LEVEL: usize = 24;
/// Rate of the level series, Hz.
const LEVEL_RATE: f64 = 2000.0;
/// Decimation from 2 kHz to the 2 ms loudness series.
const DEC_LOUDNESS: usize = 4;
/// Interpolation steps per 0.5 ms sample in the nonlinear decay and the
/// temporal weighting (standard's NL_ITER).
const NL_ITER: usize = 24;

/// Nominal centre frequencies of the 28 bands, Hz.
pub const CENTRE_HZ: [f64; BANDS] = [
    25.0, 31.5, 40.0, 50.0, 63.0, 80.0, 100.0, 125.0, 160.0, 200.0, 250.0, 315.0, 400.0, 500.0,
    630.0, 800.0, 1000.0, 1250.0, 1600.0, 2000.0, 2500.0, 3150.0, 4000.0, 5000.0, 6300.0, 8000.0,
    10000.0, 12500.0,
];

/// Sound field of the listening situation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Field {
    /// Frontal free field.
    #[default]
    Free,
    /// Diffuse field (Table A.5 corrections).
    Diffuse,
}

/// dBFS → dB SPL mapping (see the module docs).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Calibration {
    /// Sound pressure level of a signal whose RMS is 1.0, dB SPL.
    pub db_spl_at_unit_rms: f64,
}

impl Default for Calibration {
    /// −20 dBFS RMS = 83 dB SPL, so 0 dBFS RMS = 103 dB SPL and a
    /// full-scale sine = 99.99 dB SPL.
    fn default() -> Self {
        Calibration {
            db_spl_at_unit_rms: 103.0,
        }
    }
}

impl Calibration {
    /// Pascals per unit of sample value.
    pub fn pascal_per_unit(&self) -> f64 {
        20e-6 * 10f64.powf(self.db_spl_at_unit_rms / 20.0)
    }
}

// ---------------------------------------------------------------------------
// Tables (ISO 532-1:2017 Annex A)
// ---------------------------------------------------------------------------

/// Table A.2: per band and section, the differences (Δa1, Δa2) of the
/// denominator from the reference sections of Table A.1
/// (b = [1,2,1], [1,0,−1], [1,−2,1]; a = [1,−2,1] for all three); the
/// section's denominator is a1 = −2 − Δa1, a2 = 1 − Δa2.
const FILTER_DA: [[[f64; 2]; 3]; BANDS] = [
    [
        [-6.70260e-4, 6.59453e-4],
        [-3.75071e-4, 3.61926e-4],
        [-3.06523e-4, 2.97634e-4],
    ],
    [
        [-8.47258e-4, 8.30131e-4],
        [-4.76448e-4, 4.55616e-4],
        [-3.88773e-4, 3.74685e-4],
    ],
    [
        [-1.07210e-3, 1.04496e-3],
        [-6.06567e-4, 5.73553e-4],
        [-4.94004e-4, 4.71677e-4],
    ],
    [
        [-1.35836e-3, 1.31535e-3],
        [-7.74327e-4, 7.22007e-4],
        [-6.29154e-4, 5.93771e-4],
    ],
    [
        [-1.72380e-3, 1.65564e-3],
        [-9.91780e-4, 9.08866e-4],
        [-8.03529e-4, 7.47455e-4],
    ],
    [
        [-2.19188e-3, 2.08388e-3],
        [-1.27545e-3, 1.14406e-3],
        [-1.02976e-3, 9.40900e-4],
    ],
    [
        [-2.79386e-3, 2.62274e-3],
        [-1.64828e-3, 1.44006e-3],
        [-1.32520e-3, 1.18438e-3],
    ],
    [
        [-3.57182e-3, 3.30071e-3],
        [-2.14252e-3, 1.81258e-3],
        [-1.71397e-3, 1.49082e-3],
    ],
    [
        [-4.58305e-3, 4.15355e-3],
        [-2.80413e-3, 2.28135e-3],
        [-2.23006e-3, 1.87646e-3],
    ],
    [
        [-5.90655e-3, 5.22622e-3],
        [-3.69947e-3, 2.87118e-3],
        [-2.92205e-3, 2.36178e-3],
    ],
    [
        [-7.65243e-3, 6.57493e-3],
        [-4.92540e-3, 3.61318e-3],
        [-3.86007e-3, 2.97240e-3],
    ],
    [
        [-1.00023e-2, 8.29610e-3],
        [-6.63788e-3, 4.55999e-3],
        [-5.15982e-3, 3.75306e-3],
    ],
    [
        [-1.31230e-2, 1.04220e-2],
        [-9.02274e-3, 5.73132e-3],
        [-6.94543e-3, 4.71734e-3],
    ],
    [
        [-1.73693e-2, 1.30947e-2],
        [-1.24176e-2, 7.20526e-3],
        [-9.46002e-3, 5.93145e-3],
    ],
    [
        [-2.31934e-2, 1.64308e-2],
        [-1.73009e-2, 9.04761e-3],
        [-1.30358e-2, 7.44926e-3],
    ],
    [
        [-3.13292e-2, 2.06370e-2],
        [-2.44342e-2, 1.13731e-2],
        [-1.82108e-2, 9.36778e-3],
    ],
    [
        [-4.28261e-2, 2.59325e-2],
        [-3.49619e-2, 1.43046e-2],
        [-2.57855e-2, 1.17912e-2],
    ],
    [
        [-5.91733e-2, 3.25054e-2],
        [-5.06072e-2, 1.79513e-2],
        [-3.69401e-2, 1.48094e-2],
    ],
    [
        [-8.26348e-2, 4.05894e-2],
        [-7.40348e-2, 2.24476e-2],
        [-5.34977e-2, 1.85371e-2],
    ],
    [
        [-1.17018e-1, 5.08116e-2],
        [-1.09516e-1, 2.81387e-2],
        [-7.85097e-2, 2.32872e-2],
    ],
    [
        [-1.67714e-1, 6.37872e-2],
        [-1.63378e-1, 3.53729e-2],
        [-1.16419e-1, 2.93723e-2],
    ],
    [
        [-2.42528e-1, 7.98576e-2],
        [-2.45161e-1, 4.43370e-2],
        [-1.73972e-1, 3.70015e-2],
    ],
    [
        [-3.53142e-1, 9.96330e-2],
        [-3.69163e-1, 5.53535e-2],
        [-2.61399e-1, 4.65428e-2],
    ],
    [
        [-5.16316e-1, 1.24177e-1],
        [-5.55473e-1, 6.89403e-2],
        [-3.93998e-1, 5.86715e-2],
    ],
    [
        [-7.56635e-1, 1.55023e-1],
        [-8.34281e-1, 8.58123e-2],
        [-5.94547e-1, 7.43960e-2],
    ],
    [
        [-1.10165e0, 1.91713e-1],
        [-1.23939e0, 1.05243e-1],
        [-8.91666e-1, 9.40354e-2],
    ],
    [
        [-1.58477e0, 2.39049e-1],
        [-1.80505e0, 1.28794e-1],
        [-1.32500e0, 1.21333e-1],
    ],
    [
        [-2.50630e0, 1.42308e-1],
        [-2.19464e0, 2.76470e-1],
        [-1.90231e0, 1.47304e-1],
    ],
];

/// Table A.2: overall gain of each band's filter.
const FILTER_GAIN: [f64; BANDS] = [
    4.30764e-11,
    8.59340e-11,
    1.71424e-10,
    3.41944e-10,
    6.82035e-10,
    1.36026e-9,
    2.71261e-9,
    5.40870e-9,
    1.07826e-8,
    2.14910e-8,
    4.28228e-8,
    8.54316e-8,
    1.70009e-7,
    3.38215e-7,
    6.71990e-7,
    1.33531e-6,
    2.65172e-6,
    5.25477e-6,
    1.03780e-5,
    2.04870e-5,
    4.05198e-5,
    7.97914e-5,
    1.56511e-4,
    3.04954e-4,
    5.99157e-4,
    1.16544e-3,
    2.27488e-3,
    3.91006e-3,
];

/// Table A.3: upper limits of the eight level ranges for the low-frequency
/// corrections, dB.
const RAP: [f64; 8] = [45.0, 55.0, 65.0, 71.0, 80.0, 90.0, 100.0, 120.0];

/// Table A.3: level corrections of the 11 bands 25–250 Hz in each range, dB.
const DLL: [[f64; 11]; 8] = [
    [-32., -24., -16., -10., -5., 0., -7., -3., 0., -2., 0.],
    [-29., -22., -15., -10., -4., 0., -7., -2., 0., -2., 0.],
    [-27., -19., -14., -9., -4., 0., -6., -2., 0., -2., 0.],
    [-25., -17., -12., -9., -3., 0., -5., -2., 0., -2., 0.],
    [-23., -16., -11., -7., -3., 0., -4., -1., 0., -1., 0.],
    [-20., -14., -10., -6., -3., 0., -4., -1., 0., -1., 0.],
    [-18., -12., -9., -6., -2., 0., -3., -1., 0., -1., 0.],
    [-15., -10., -8., -4., -2., 0., -3., -1., 0., -1., 0.],
];

/// Table A.6: critical-band level at the threshold in quiet, dB.
const LTQ: [f64; 20] = [
    30., 18., 12., 8., 7., 6., 5., 4., 3., 3., 3., 3., 3., 3., 3., 3., 3., 3., 3., 3.,
];

/// Table A.4: attenuation of the transmission through the outer and middle
/// ear, dB.
const A0: [f64; 20] = [
    0., 0., 0., 0., 0., 0., 0., 0., 0., 0., -0.5, -1.6, -3.2, -5.4, -5.6, -4., -1.5, 2., 5., 12.,
];

/// Table A.5: free-field to diffuse-field level differences, dB.
const DDF: [f64; 20] = [
    0., 0., 0.5, 0.9, 1.2, 1.6, 2.3, 2.8, 3., 2., 0., -1.4, -2., -1.9, -1., 0.5, 3., 4., 4.3, 4.,
];

/// Table A.7: third-octave to critical-band level corrections, dB.
const DCB: [f64; 20] = [
    -0.25, -0.6, -0.8, -0.8, -0.5, 0., 0.5, 1.1, 1.5, 1.7, 1.8, 1.8, 1.7, 1.6, 1.4, 1.2, 0.8, 0.5,
    0., -0.5,
];

/// Table A.8: upper limits of the 21 approximated critical bands, Bark.
const ZUP: [f64; 21] = [
    0.9, 1.8, 2.8, 3.5, 4.4, 5.4, 6.6, 7.9, 9.2, 10.6, 12.3, 13.8, 15.2, 16.7, 18.1, 19.3, 20.6,
    21.8, 22.7, 23.6, 24.0,
];

/// Table A.9: ranges of specific loudness for the upper slopes, sone/Bark.
const RNS: [f64; 18] = [
    21.5, 18.0, 15.1, 11.5, 9.0, 6.1, 4.4, 3.1, 2.13, 1.36, 0.82, 0.42, 0.30, 0.22, 0.15, 0.10,
    0.035, 0.0,
];

/// Table A.9: steepness of the upper slopes, (sone/Bark)/Bark, by range
/// (rows) and critical band (columns; bands 8 and up share the last).
const USL: [[f64; 8]; 18] = [
    [13.0, 8.2, 6.3, 5.5, 5.5, 5.5, 5.5, 5.5],
    [9.0, 7.5, 6.0, 5.1, 4.5, 4.5, 4.5, 4.5],
    [7.8, 6.7, 5.6, 4.9, 4.4, 3.9, 3.9, 3.9],
    [6.2, 5.4, 4.6, 4.0, 3.5, 3.2, 3.2, 3.2],
    [4.5, 3.8, 3.6, 3.2, 2.9, 2.7, 2.7, 2.7],
    [3.7, 3.0, 2.8, 2.35, 2.2, 2.2, 2.2, 2.2],
    [2.9, 2.3, 2.1, 1.9, 1.8, 1.7, 1.7, 1.7],
    [2.4, 1.7, 1.5, 1.35, 1.3, 1.3, 1.3, 1.3],
    [1.95, 1.45, 1.3, 1.15, 1.1, 1.1, 1.1, 1.1],
    [1.5, 1.2, 0.94, 0.86, 0.82, 0.82, 0.82, 0.82],
    [0.72, 0.67, 0.64, 0.63, 0.62, 0.62, 0.62, 0.62],
    [0.59, 0.53, 0.51, 0.50, 0.42, 0.42, 0.42, 0.42],
    [0.40, 0.33, 0.26, 0.24, 0.24, 0.22, 0.22, 0.22],
    [0.27, 0.21, 0.20, 0.18, 0.17, 0.17, 0.17, 0.17],
    [0.16, 0.15, 0.14, 0.12, 0.11, 0.11, 0.11, 0.11],
    [0.12, 0.11, 0.10, 0.08, 0.08, 0.08, 0.08, 0.08],
    [0.09, 0.08, 0.07, 0.06, 0.06, 0.06, 0.06, 0.05],
    [0.06, 0.05, 0.03, 0.02, 0.02, 0.02, 0.02, 0.02],
];

// ---------------------------------------------------------------------------
// Core loudness, slopes, loudness level
// ---------------------------------------------------------------------------

/// Core loudness of the 20 critical bands (and a 21st, always 0, that closes
/// the pattern) from the 28 third-octave band intensities in units of
/// I_REF (i.e. 10^(L/10) for band levels L in dB SPL).
pub fn core_loudness_from_intensities(rel: &[f64; BANDS], field: Field) -> [f64; 21] {
    let t = tables();
    // Low-frequency corrections (Table A.3) of the 11 bands up to 250 Hz,
    // summed into the first three critical bands. The level-range test
    // L > RAP − DLL is made on intensities (no logarithm per step).
    let mut cbi = [0f64; 3];
    for (i, &ri) in rel.iter().take(11).enumerate() {
        let mut k = 0;
        while k < 7 && ri > t.rap_thr[k][i] {
            k += 1;
        }
        let g = match i {
            0..=5 => 0,
            6..=8 => 1,
            _ => 2,
        };
        cbi[g] += ri * t.dll_gain[k][i];
    }
    let f = usize::from(field == Field::Diffuse);
    let mut nm = [0f64; 21];
    for (i, n) in nm.iter_mut().take(20).enumerate() {
        let intensity = if i < 3 { cbi[i] } else { rel[i + 8] };
        // Excitation over threshold, 10^((L_E − LTQ)/10) with
        // L_E = L − A0 (+ DDF): the test L_E > LTQ and the formula
        // N' = 0.0635·10^(0.025·LTQ)·((0.75 + 0.25·10^((L_E − DCB − LTQ)/10))^0.25 − 1)
        // in intensity ratios.
        let over = intensity * t.over_thr[f][i];
        if over > 1.0 {
            let r = over * t.dcb_gain[i];
            *n = (t.mp1[i] * ((0.75 + 0.25 * r).sqrt().sqrt() - 1.0)).max(0.0);
        }
    }
    // Correction of the lowest critical band.
    let corr = (0.4 + 0.32 * nm[0].powf(0.2)).min(1.0);
    nm[0] *= corr;
    nm
}

/// Annex A tables turned into the intensity ratios the core loudness uses.
struct Tables {
    rap_thr: [[f64; 11]; 8],
    dll_gain: [[f64; 11]; 8],
    /// Per field (free, diffuse): 10^((−A0 (+DDF) − LTQ)/10).
    over_thr: [[f64; 20]; 2],
    dcb_gain: [f64; 20],
    mp1: [f64; 20],
}

fn tables() -> &'static Tables {
    static T: std::sync::OnceLock<Tables> = std::sync::OnceLock::new();
    T.get_or_init(|| {
        let p = |db: f64| 10f64.powf(db / 10.0);
        Tables {
            rap_thr: std::array::from_fn(|k| std::array::from_fn(|i| p(RAP[k] - DLL[k][i]))),
            dll_gain: std::array::from_fn(|k| std::array::from_fn(|i| p(DLL[k][i]))),
            over_thr: std::array::from_fn(|f| {
                std::array::from_fn(|i| p(-A0[i] + if f == 1 { DDF[i] } else { 0.0 } - LTQ[i]))
            }),
            dcb_gain: std::array::from_fn(|i| p(-DCB[i])),
            mp1: std::array::from_fn(|i| 0.0635 * 10f64.powf(0.025 * LTQ[i])),
        }
    })
}

/// Core loudness from third-octave levels in dB SPL.
pub fn core_loudness(levels_db: &[f64; BANDS], field: Field) -> [f64; 21] {
    let rel = levels_db.map(|l| 10f64.powf(l / 10.0));
    core_loudness_from_intensities(&rel, field)
}

/// Total loudness (sone) from the core loudness, adding the upper slopes;
/// fills `specific` (sone/Bark at 0.1, 0.2, … 24 Bark) when given.
pub fn slopes(nm: &[f64; 21], mut specific: Option<&mut [f64; BARK_STEPS]>) -> f64 {
    if let Some(s) = specific.as_deref_mut() {
        s.fill(0.0);
    }
    let mut total = 0.0;
    let (mut z1, mut n1) = (0.0f64, 0.0f64);
    let mut iz = 0usize; // next specific-loudness index (z = (iz+1)/10 Bark)
    let mut j = RNS.len() - 1;
    for (i, &nmi) in nm.iter().enumerate() {
        let nmi = if nmi.is_finite() { nmi.max(0.0) } else { 0.0 };
        // The standard's code lifts each limit by 1e-4 Bark so that rounding
        // cannot leave a band edge unreached.
        let zup = ZUP[i] + 1e-4;
        let ig = i.saturating_sub(1).min(7);
        // Each pass either reaches zup or moves j down the RNS table, so
        // the loop ends; the cap only guards against the unforeseen.
        let mut guard = 0;
        while z1 < zup && guard < 64 {
            guard += 1;
            let (z2, n2);
            if n1 <= nmi {
                // Flat part at the band's core loudness.
                if n1 < nmi {
                    j = 0;
                    while RNS[j] > nmi && j < RNS.len() - 1 {
                        j += 1;
                    }
                }
                z2 = zup;
                n2 = nmi;
                total += n2 * (z2 - z1);
                if let Some(s) = specific.as_deref_mut() {
                    while iz < BARK_STEPS && (iz + 1) as f64 * 0.1 <= z2 {
                        s[iz] = n2;
                        iz += 1;
                    }
                }
            } else {
                // Upper slope of the band below, masking this one (wholly
                // or in part).
                let usl = USL[j][ig];
                let mut n = RNS[j].max(nmi);
                let mut dz = (n1 - n) / usl;
                let mut z = z1 + dz;
                if z > zup {
                    z = zup;
                    dz = z - z1;
                    n = n1 - dz * usl;
                }
                z2 = z;
                n2 = n;
                total += dz * (n1 + n2) / 2.0;
                if let Some(s) = specific.as_deref_mut() {
                    while iz < BARK_STEPS && (iz + 1) as f64 * 0.1 <= z2 {
                        s[iz] = n1 - ((iz + 1) as f64 * 0.1 - z1) * usl;
                        iz += 1;
                    }
                }
            }
            if n2 <= RNS[j] && j < RNS.len() - 1 {
                j += 1;
            }
            z1 = z2;
            n1 = n2;
        }
    }
    total.max(0.0)
}

/// Loudness level in phon from loudness in sone: 40 + 10·log2(N) for
/// N ≥ 1 sone, 40·(N + 0.0005)^0.35 below (the standard's formula), and at
/// least 3 phon.
pub fn sone_to_phon(n: f64) -> f64 {
    if n >= 1.0 {
        40.0 + 10.0 * n.log2()
    } else {
        (40.0 * (n.max(0.0) + 0.0005).powf(0.35)).max(3.0)
    }
}

/// Inverse of [`sone_to_phon`] (above 3 phon).
pub fn phon_to_sone(p: f64) -> f64 {
    if p >= 40.0 {
        2f64.powf((p - 40.0) / 10.0)
    } else {
        ((p.max(3.0) / 40.0).powf(1.0 / 0.35) - 0.0005).max(0.0)
    }
}

// ---------------------------------------------------------------------------
// Stationary
// ---------------------------------------------------------------------------

/// Result of the stationary method.
#[derive(Clone, Debug, PartialEq)]
pub struct Stationary {
    /// Total loudness N, sone.
    pub sone: f64,
    /// Loudness level L_N, phon.
    pub phon: f64,
    /// Specific loudness at 0.1 … 24 Bark, sone/Bark.
    pub specific: Vec<f64>,
    /// The third-octave levels used, dB SPL.
    pub levels_db: [f64; BANDS],
}

/// Stationary loudness from 28 third-octave levels (dB SPL, 25 Hz…12.5 kHz).
pub fn stationary_from_levels(levels_db: &[f64; BANDS], field: Field) -> Stationary {
    let nm = core_loudness(levels_db, field);
    let mut spec = [0f64; BARK_STEPS];
    let sone = slopes(&nm, Some(&mut spec));
    Stationary {
        sone,
        phon: sone_to_phon(sone),
        specific: spec.to_vec(),
        levels_db: *levels_db,
    }
}

/// Stationary loudness of a signal at 48 kHz in pascals: the filter bank,
/// each band's mean square over the whole signal, then
/// [`stationary_from_levels`].
pub fn stationary(signal_pa: &[f32], field: Field) -> Stationary {
    let mut bank = FilterBank::new();
    let mut acc = [0f64; BANDS];
    let mut out = [0f64; BANDS];
    for &x in signal_pa {
        bank.process(f64::from(x), &mut out);
        for (a, y) in acc.iter_mut().zip(&out) {
            *a += y * y;
        }
    }
    let n = signal_pa.len().max(1) as f64;
    let levels = acc.map(|a| 10.0 * ((a / n + TINY) / I_REF).log10());
    stationary_from_levels(&levels, field)
}

// ---------------------------------------------------------------------------
// Filter bank
// ---------------------------------------------------------------------------

/// The 28 band filters of Table A.2 (three transposed direct-form II
/// sections each), run side by side so the per-band loop vectorises.
#[derive(Clone, Debug)]
pub struct FilterBank {
    /// Denominators −a1, −a2 of each section, per band.
    na1: [[f64; BANDS]; 3],
    na2: [[f64; BANDS]; 3],
    s1: [[f64; BANDS]; 3],
    s2: [[f64; BANDS]; 3],
}

/// Numerators of the three reference sections (Table A.1).
const REF_B: [[f64; 3]; 3] = [[1.0, 2.0, 1.0], [1.0, 0.0, -1.0], [1.0, -2.0, 1.0]];

impl Default for FilterBank {
    fn default() -> Self {
        Self::new()
    }
}

/// Power response |H(f)|² of band `b` of the filter bank at `f_hz`
/// (the filters are defined at 48 kHz; f at or above 24 kHz gives 0).
pub fn band_power_response(b: usize, f_hz: f64) -> f64 {
    if b >= BANDS || !(0.0..f64::from(RATE) / 2.0).contains(&f_hz) {
        return 0.0;
    }
    let w = 2.0 * std::f64::consts::PI * f_hz / f64::from(RATE);
    // z^-1 = e^{-jw}; |Σ c_k z^-k|² for k = 0..2.
    let mag2 = |c: [f64; 3]| {
        let re = c[0] + c[1] * w.cos() + c[2] * (2.0 * w).cos();
        let im = -c[1] * w.sin() - c[2] * (2.0 * w).sin();
        re * re + im * im
    };
    let mut h = FILTER_GAIN[b] * FILTER_GAIN[b];
    for s in 0..3 {
        let [da1, da2] = FILTER_DA[b][s];
        h *= mag2(REF_B[s]) / mag2([1.0, -2.0 - da1, 1.0 - da2]);
    }
    h
}

impl FilterBank {
    pub fn new() -> FilterBank {
        let mut na1 = [[0f64; BANDS]; 3];
        let mut na2 = [[0f64; BANDS]; 3];
        for b in 0..BANDS {
            for s in 0..3 {
                let [da1, da2] = FILTER_DA[b][s];
                na1[s][b] = -(-2.0 - da1);
                na2[s][b] = -(1.0 - da2);
            }
        }
        FilterBank {
            na1,
            na2,
            s1: [[0.0; BANDS]; 3],
            s2: [[0.0; BANDS]; 3],
        }
    }

    /// Filters one input sample (Pa) into the 28 band outputs (Pa).
    // Indexing several arrays in lockstep is what lets the band loop
    // vectorise; iterator zips of five arrays read worse.
    #[allow(clippy::needless_range_loop)]
    #[inline]
    pub fn process(&mut self, x: f64, out: &mut [f64; BANDS]) {
        let mut v = [x; BANDS];
        for s in 0..3 {
            let [b0, b1, b2] = REF_B[s];
            let (na1, na2) = (&self.na1[s], &self.na2[s]);
            let (s1, s2) = (&mut self.s1[s], &mut self.s2[s]);
            for b in 0..BANDS {
                let xin = v[b];
                let y = b0 * xin + s1[b];
                s1[b] = b1 * xin + na1[b] * y + s2[b];
                s2[b] = b2 * xin + na2[b] * y;
                v[b] = y;
            }
        }
        for b in 0..BANDS {
            out[b] = v[b] * FILTER_GAIN[b];
        }
    }
}

// ---------------------------------------------------------------------------
// Time-varying
// ---------------------------------------------------------------------------

/// Result of the time-varying method.
#[derive(Clone, Debug, PartialEq)]
pub struct TimeVarying {
    /// Loudness N(t) every 2 ms, sone.
    pub n: Vec<f64>,
    /// N5: loudness exceeded 5 % of the time, sone.
    pub n5: f64,
    /// Mean of N(t), sone.
    pub mean: f64,
    /// Maximum of N(t), sone.
    pub max: f64,
    /// Time-averaged specific loudness (2 ms steps), sone/Bark.
    pub specific_mean: Vec<f64>,
}

impl TimeVarying {
    /// Loudness level of N5, phon.
    pub fn n5_phon(&self) -> f64 {
        sone_to_phon(self.n5)
    }
    /// Loudness level of the mean loudness, phon.
    pub fn mean_phon(&self) -> f64 {
        sone_to_phon(self.mean)
    }
}

/// Pole of each band's three smoothing low-passes: τ = 2/(3·f_c) up to
/// 1 kHz (exact centres 1000·10^((b−16)/10)), 2/3 ms above.
fn smooth_coeffs() -> [f64; BANDS] {
    std::array::from_fn(|b| {
        let fc = 1000.0 * 10f64.powf((b as f64 - 16.0) / 10.0);
        let tau = if fc <= 1000.0 {
            2.0 / (3.0 * fc)
        } else {
            2.0 / 3000.0
        };
        (-1.0 / (f64::from(RATE) * tau)).exp()
    })
}

/// Coefficients of the nonlinear temporal decay (standard §6, f_nl_lp).
#[derive(Clone, Copy, Debug)]
struct NlCoeffs {
    b: [f64; 6],
}

impl NlCoeffs {
    fn new() -> NlCoeffs {
        let (t_short, t_long, t_var) = (0.005f64, 0.015f64, 0.075f64);
        let dt = 1.0 / (LEVEL_RATE * NL_ITER as f64);
        let p = (t_var + t_long) / (t_var * t_short);
        let q = 1.0 / (t_short * t_var);
        let l1 = -p / 2.0 + (p * p / 4.0 - q).sqrt();
        let l2 = -p / 2.0 - (p * p / 4.0 - q).sqrt();
        let den = t_var * (l1 - l2);
        let (e1, e2) = ((l1 * dt).exp(), (l2 * dt).exp());
        NlCoeffs {
            b: [
                (e1 - e2) / den,
                ((t_var * l2 + 1.0) * e1 - (t_var * l1 + 1.0) * e2) / den,
                ((t_var * l1 + 1.0) * e1 - (t_var * l2 + 1.0) * e2) / den,
                (t_var * l1 + 1.0) * (t_var * l2 + 1.0) * (e1 - e2) / den,
                (-dt / t_long).exp(),
                (-dt / t_var).exp(),
            ],
        }
    }
}

/// One step of the nonlinear low-pass of one band: state (uo, u2).
#[inline]
fn nl_step(c: &NlCoeffs, uo_last: &mut f64, u2_last: &mut f64, ui: f64) -> f64 {
    let b = &c.b;
    let (uo, u2);
    if ui < *uo_last {
        if *uo_last > *u2_last {
            // Discharging the two capacitors.
            let mut u2n = *uo_last * b[0] - *u2_last * b[1];
            let mut uon = *uo_last * b[2] - *u2_last * b[3];
            if ui > uon {
                uon = ui;
            }
            if u2n > uon {
                u2n = uon;
            }
            uo = uon;
            u2 = u2n;
        } else {
            let uon = (*uo_last * b[4]).max(ui);
            uo = uon;
            u2 = uon;
        }
    } else if ui == *uo_last {
        uo = ui;
        u2 = if uo > *u2_last {
            (*u2_last - ui) * b[5] + ui
        } else {
            ui
        };
    } else {
        uo = ui;
        u2 = (*u2_last - ui) * b[5] + ui;
    }
    *uo_last = uo;
    *u2_last = u2;
    uo
}

/// Streaming time-varying loudness of a 48 kHz signal in pascals: feed
/// blocks with [`TimeVaryingMeter::add`], then [`TimeVaryingMeter::finish`].
/// Memory: the filter state plus 8 bytes per 0.5 ms of signal (the total
/// loudness before temporal weighting).
#[derive(Clone, Debug)]
pub struct TimeVaryingMeter {
    field: Field,
    bank: FilterBank,
    smooth_a1: [f64; BANDS],
    smooth_b0: [f64; BANDS],
    smooth: [[f64; BANDS]; 3],
    phase: usize,
    nl: NlCoeffs,
    uo: [f64; 21],
    u2: [f64; 21],
    /// Core loudness of the previous 2 kHz step, waiting for the next one
    /// (the decay interpolates towards it).
    pending: Option<[f64; 21]>,
    /// Total loudness per 0.5 ms before temporal weighting.
    n_raw: Vec<f64>,
    spec_sum: [f64; BARK_STEPS],
    spec_count: usize,
    steps: usize,
}

impl Default for TimeVaryingMeter {
    fn default() -> Self {
        Self::new(Field::Free)
    }
}

impl TimeVaryingMeter {
    pub fn new(field: Field) -> TimeVaryingMeter {
        let smooth_a1 = smooth_coeffs();
        TimeVaryingMeter {
            field,
            bank: FilterBank::new(),
            smooth_a1,
            smooth_b0: smooth_a1.map(|a| 1.0 - a),
            smooth: [[0.0; BANDS]; 3],
            phase: 0,
            nl: NlCoeffs::new(),
            uo: [0.0; 21],
            u2: [0.0; 21],
            pending: None,
            n_raw: Vec::new(),
            spec_sum: [0.0; BARK_STEPS],
            spec_count: 0,
            steps: 0,
        }
    }

    /// Feeds samples (Pa, 48 kHz).
    pub fn add(&mut self, block: &[f32]) {
        let mut out = [0f64; BANDS];
        for &x in block {
            self.bank.process(f64::from(x), &mut out);
            // Squaring and three first-order low-passes (y = b0·x + a1·y).
            let a1 = &self.smooth_a1;
            let b0s = &self.smooth_b0;
            let [s0, s1, s2] = &mut self.smooth;
            for b in 0..BANDS {
                let b0 = b0s[b];
                s0[b] = b0 * out[b] * out[b] + a1[b] * s0[b];
                s1[b] = b0 * s0[b] + a1[b] * s1[b];
                s2[b] = b0 * s1[b] + a1[b] * s2[b];
            }
            if self.phase == 0 {
                let rel = self.smooth[2].map(|v| (v + TINY) / I_REF);
                self.push_intensities(&rel);
            }
            self.phase += 1;
            if self.phase == DEC_LEVEL {
                self.phase = 0;
            }
        }
    }

    /// Feeds one 0.5 ms step of smoothed band intensities (units of I_REF),
    /// bypassing the filter bank (see [`LevelSeries`]).
    pub fn push_intensities(&mut self, rel: &[f64; BANDS]) {
        let core = core_loudness_from_intensities(rel, self.field);
        self.push_core(core);
    }

    /// Runs the nonlinear decay for the pending step, interpolating towards
    /// `next` (the standard's NL_ITER sub-steps), and the slopes.
    fn push_core(&mut self, next: [f64; 21]) {
        if let Some(cur) = self.pending.replace(next) {
            self.decay_step(&cur, Some(&next));
        }
    }

    fn decay_step(&mut self, cur: &[f64; 21], next: Option<&[f64; 21]>) {
        let mut out = [0f64; 21];
        for i in 0..21 {
            let x0 = cur[i];
            // With no next sample (the end), the decay has nothing to
            // interpolate towards; only the output at x0 matters.
            let delta = next.map_or(0.0, |n| (n[i] - x0) / NL_ITER as f64);
            let (mut uo, mut u2) = (self.uo[i], self.u2[i]);
            out[i] = nl_step(&self.nl, &mut uo, &mut u2, x0);
            for k in 1..NL_ITER {
                nl_step(&self.nl, &mut uo, &mut u2, x0 + k as f64 * delta);
            }
            self.uo[i] = uo;
            self.u2[i] = u2;
        }
        let total = if self.steps % DEC_LOUDNESS == 0 {
            let mut spec = [0f64; BARK_STEPS];
            let n = slopes(&out, Some(&mut spec));
            for (a, s) in self.spec_sum.iter_mut().zip(&spec) {
                *a += s;
            }
            self.spec_count += 1;
            n
        } else {
            slopes(&out, None)
        };
        self.n_raw.push(total);
        self.steps += 1;
    }

    /// Ends the signal and returns N(t), N5, the mean and the maximum.
    pub fn finish(mut self) -> TimeVarying {
        if let Some(cur) = self.pending.take() {
            self.decay_step(&cur, None);
        }
        // Temporal weighting: two first-order low-passes of N at 48 kHz
        // effective rate (linear interpolation between the 2 kHz samples),
        // 0.47 × τ = 3.5 ms + 0.53 × τ = 70 ms; decimated to 2 ms.
        let weighted = |tau: f64| -> Vec<f64> {
            let a1 = (-1.0 / (LEVEL_RATE * NL_ITER as f64 * tau)).exp();
            let b0 = 1.0 - a1;
            let mut y = 0.0;
            let mut out = Vec::with_capacity(self.n_raw.len() / DEC_LOUDNESS + 1);
            for (i, &x) in self.n_raw.iter().enumerate() {
                let next = self.n_raw.get(i + 1).copied().unwrap_or(0.0);
                let d = (next - x) / NL_ITER as f64;
                y = b0 * x + a1 * y;
                if i % DEC_LOUDNESS == 0 {
                    out.push(y);
                }
                for k in 1..NL_ITER {
                    y = b0 * (x + k as f64 * d) + a1 * y;
                }
            }
            out
        };
        let fast = weighted(3.5e-3);
        let slow = weighted(70e-3);
        let n: Vec<f64> = fast
            .iter()
            .zip(&slow)
            .map(|(f, s)| 0.47 * f + 0.53 * s)
            .collect();
        let mean = if n.is_empty() {
            0.0
        } else {
            n.iter().sum::<f64>() / n.len() as f64
        };
        let max = n.iter().copied().fold(0.0, f64::max);
        let n5 = percentile(&n, 95.0);
        let specific_mean = self
            .spec_sum
            .iter()
            .map(|s| s / self.spec_count.max(1) as f64)
            .collect();
        TimeVarying {
            n,
            n5,
            mean,
            max,
            specific_mean,
        }
    }
}

/// The linear part of the time-varying method kept for re-use: the
/// smoothed third-octave intensities every 0.5 ms. A gain g scales them by
/// g², so the loudness at any gain is [`LevelSeries::loudness`] without
/// running the filter bank again (8 × 28 bytes per 0.5 ms: 13 MB per
/// 30 s of signal).
#[derive(Clone, Debug)]
pub struct LevelSeries {
    rel: Vec<[f64; BANDS]>,
}

impl LevelSeries {
    /// Runs the filter bank, squaring and smoothing over `signal_pa`
    /// (48 kHz).
    pub fn new(signal_pa: &[f32]) -> LevelSeries {
        let mut bank = FilterBank::new();
        let mut out = [0f64; BANDS];
        let mut rec = Vec::with_capacity(signal_pa.len() / DEC_LEVEL + 1);
        let a1 = smooth_coeffs();
        let mut sm = [[0f64; BANDS]; 3];
        for (i, &x) in signal_pa.iter().enumerate() {
            bank.process(f64::from(x), &mut out);
            for b in 0..BANDS {
                let b0 = 1.0 - a1[b];
                sm[0][b] = b0 * out[b] * out[b] + a1[b] * sm[0][b];
                sm[1][b] = b0 * sm[0][b] + a1[b] * sm[1][b];
                sm[2][b] = b0 * sm[1][b] + a1[b] * sm[2][b];
            }
            if i % DEC_LEVEL == 0 {
                rec.push(sm[2].map(|v| (v + TINY) / I_REF));
            }
        }
        LevelSeries { rel: rec }
    }

    /// Time-varying loudness of the signal played `gain_db` louder.
    pub fn loudness(&self, gain_db: f64, field: Field) -> TimeVarying {
        let g2 = 10f64.powf(gain_db / 10.0);
        let tiny = TINY / I_REF;
        let mut m = TimeVaryingMeter::new(field);
        for r in &self.rel {
            // TINY is added once, not scaled with the gain.
            m.push_intensities(&r.map(|v| (v - tiny) * g2 + tiny));
        }
        m.finish()
    }
}

/// `q`-th percentile with linear interpolation between order statistics
/// (numpy's default); 0 for an empty slice.
pub fn percentile(x: &[f64], q: f64) -> f64 {
    if x.is_empty() {
        return 0.0;
    }
    let mut v = x.to_vec();
    v.sort_by(f64::total_cmp);
    let pos = (q / 100.0).clamp(0.0, 1.0) * (v.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = (lo + 1).min(v.len() - 1);
    v[lo] + (v[hi] - v[lo]) * (pos - lo as f64)
}

/// Time-varying loudness of a 48 kHz signal in pascals.
pub fn time_varying(signal_pa: &[f32], field: Field) -> TimeVarying {
    let mut m = TimeVaryingMeter::new(field);
    m.add(signal_pa);
    m.finish()
}

/// The mono signal ISO 532-1 measures from a buffer, in pascals at 48 kHz:
/// mono as it is, two or more channels as the mid (mean of the channels,
/// like the mid view of BENCHMARKS.md), scaled by `cal` and resampled to
/// 48 kHz (rubato, `crate::audio::resample`) when needed.
pub fn prepare(buf: &Buffer, cal: &Calibration) -> Result<Vec<f32>, String> {
    let channels = buf.channels();
    if channels == 0 || buf.len_frames() == 0 {
        return Ok(Vec::new());
    }
    let k = cal.pascal_per_unit() / channels as f64;
    let mono: Vec<f32> = (0..buf.len_frames())
        .map(|i| {
            let s: f64 = buf.planes.iter().map(|p| f64::from(p[i])).sum();
            (s * k) as f32
        })
        .collect();
    if buf.sample_rate == RATE {
        return Ok(mono);
    }
    let out = crate::audio::resample::resample(Buffer::mono(buf.sample_rate, mono), RATE)?;
    Ok(out.planes.into_iter().next().unwrap_or_default())
}

/// Time-varying loudness of a buffer (any rate; see [`prepare`]).
pub fn time_varying_buffer(
    buf: &Buffer,
    cal: &Calibration,
    field: Field,
) -> Result<TimeVarying, String> {
    Ok(time_varying(&prepare(buf, cal)?, field))
}

/// Stationary loudness of a buffer (any rate; see [`prepare`]).
pub fn stationary_buffer(
    buf: &Buffer,
    cal: &Calibration,
    field: Field,
) -> Result<Stationary, String> {
    Ok(stationary(&prepare(buf, cal)?, field))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine(f: f64, db_spl: f64, seconds: f64) -> Vec<f32> {
        let amp = 20e-6 * 10f64.powf(db_spl / 20.0) * std::f64::consts::SQRT_2;
        (0..(seconds * f64::from(RATE)) as usize)
            .map(|i| {
                (amp * (2.0 * std::f64::consts::PI * f * i as f64 / f64::from(RATE)).sin()) as f32
            })
            .collect()
    }

    #[test]
    fn one_khz_at_40_db_is_one_sone() {
        // The definition of the sone; the standard's own tables give
        // 1.0 sone within its 3-decimal rounding.
        let s = stationary(&sine(1000.0, 40.0, 1.0), Field::Free);
        assert!((s.sone - 1.0).abs() < 0.01, "{}", s.sone);
        let mut levels = [-100.0; BANDS];
        levels[16] = 40.0;
        // A lone 40 dB band (no filter leakage into its neighbours) is a
        // little less: MoSQITo 1.2.1's `_main_loudness` + `_calc_slopes`
        // give 0.927 sone for these levels.
        let l = stationary_from_levels(&levels, Field::Free);
        assert!((l.sone - 0.927).abs() < 0.001, "{}", l.sone);
    }

    #[test]
    fn loudness_doubles_per_10_db_at_1_khz() {
        // 50 dB → ~2 sone, 60 → ~4 (Zwicker's model rounds these to within
        // a few %: the slopes make the doubling approximate).
        let mut levels = [-100.0; BANDS];
        let mut prev = None;
        for l in [50.0, 60.0, 70.0, 80.0] {
            levels[16] = l;
            let n = stationary_from_levels(&levels, Field::Free).sone;
            if let Some(p) = prev {
                let r: f64 = n / p;
                assert!((1.8..2.2).contains(&r), "{l}: {r}");
            }
            prev = Some(n);
        }
    }

    #[test]
    fn time_varying_steady_tone_matches_stationary() {
        let x = sine(1000.0, 60.0, 1.0);
        let tv = time_varying(&x, Field::Free);
        let st = stationary(&x, Field::Free);
        assert_eq!(tv.n.len(), 500);
        // Smoothing ripple and the nonlinear decay settle within a few %.
        assert!(
            (tv.n5 / st.sone - 1.0).abs() < 0.03,
            "{} {}",
            tv.n5,
            st.sone
        );
    }

    #[test]
    fn level_series_matches_the_direct_method_at_any_gain() {
        let x = sine(250.0, 50.0, 0.5);
        let series = LevelSeries::new(&x);
        let direct = time_varying(&x, Field::Free);
        let again = series.loudness(0.0, Field::Free);
        assert!((again.n5 / direct.n5 - 1.0).abs() < 1e-9);
        let louder: Vec<f32> = x.iter().map(|v| v * 2.0).collect();
        let direct6 = time_varying(&louder, Field::Free);
        let series6 = series.loudness(20.0 * 2f64.log10(), Field::Free);
        // f32 input vs f64 scaling of intensities: rounding only.
        assert!((series6.n5 / direct6.n5 - 1.0).abs() < 1e-6);
    }

    #[test]
    fn silence_and_nan_are_zero_not_a_hang() {
        assert_eq!(time_varying(&[0.0; 4800], Field::Free).n5, 0.0);
        let s = stationary(&[f32::NAN; 480], Field::Diffuse);
        assert_eq!(s.sone, 0.0);
        assert_eq!(sone_to_phon(0.0), 3.0);
        assert!((phon_to_sone(sone_to_phon(3.7)) - 3.7).abs() < 1e-9);
        assert!((phon_to_sone(sone_to_phon(0.4)) - 0.4).abs() < 1e-9);
    }
}
