//! Live's spelling of parameter values.
//!
//! Measured on every `Manual`, `Min` and `Max` value of the corpus (57 330
//! values, all but 28 matching): Live stores parameters as 32-bit floats and
//! writes them in fixed notation (never an exponent) with 10 significant
//! digits below 1 and 9 from 1 up, trailing zeros trimmed, and whole numbers
//! without a decimal point (`1`, `0.7071067095`, `1.99526238`, `220.051514`,
//! `0.0003162277571`). The 28 misses are `FLT_MAX` (∞:1 ratios), spelled as
//! the float's exact integer digits, which is what this function writes too
//! (one older file spells it with 17 digits and zeros).
//!
//! Hand-written because no crate writes `%g`-style fixed precision without
//! an exponent; it is a few lines over `format!("{:e}")`, which rounds
//! correctly.

/// `v` as Live writes a float parameter (rounded to `f32` first).
pub fn format_live_float(v: f64) -> String {
    let v = f64::from(v as f32);
    if !v.is_finite() {
        // Live never writes these; keep the text parseable by Rust at least.
        return if v.is_nan() {
            "nan".into()
        } else if v > 0.0 {
            "inf".into()
        } else {
            "-inf".into()
        };
    }
    if v == v.trunc() {
        // Exact integer digits (f32 integers are exact in f64).
        let s = format!("{v:.0}");
        return if s == "-0" { "0".into() } else { s };
    }
    let digits = if v.abs() < 1.0 { 10 } else { 9 };
    // d.ddddddddde±x, correctly rounded to `digits` significant digits.
    let sci = format!("{:.*e}", digits - 1, v);
    let (mant, exp) = sci.split_once('e').expect("{:e} has an exponent");
    let exp: i32 = exp.parse().expect("{:e} exponent is an integer");
    let neg = mant.starts_with('-');
    let ds: String = mant.chars().filter(char::is_ascii_digit).collect();
    let mut out = String::new();
    if neg {
        out.push('-');
    }
    if exp < 0 {
        out.push_str("0.");
        for _ in 0..(-exp - 1) {
            out.push('0');
        }
        out.push_str(&ds);
    } else {
        let int_len = (exp + 1) as usize;
        if ds.len() <= int_len {
            out.push_str(&ds);
            for _ in ds.len()..int_len {
                out.push('0');
            }
        } else {
            out.push_str(&ds[..int_len]);
            out.push('.');
            out.push_str(&ds[int_len..]);
        }
    }
    if out.contains('.') {
        while out.ends_with('0') {
            out.pop();
        }
        if out.ends_with('.') {
            out.pop();
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::format_live_float;

    #[test]
    fn spellings_seen_in_live_sets() {
        // Each pair: a value and the text Live wrote for it in a corpus set.
        for (v, s) in [
            (0.707_106_709_5, "0.7071067095"),
            (1.995_262_38, "1.99526238"),
            (220.051_51, "220.051514"),
            (0.000_316_227_76, "0.0003162277571"),
            (119.999_992, "119.999992"),
            (0.000_019_837_538, "0.00001983753828"),
            (1.0, "1"),
            (0.0, "0"),
            (-1.0, "-1"),
            (0.5, "0.5"),
            (-0.25, "-0.25"),
            (3.402_823_26e38, "340282326356119256160033759537265639424"),
        ] {
            assert_eq!(format_live_float(v), s, "{v}");
        }
    }

    #[test]
    fn round_trips_through_f32() {
        for v in [0.1f32, 0.333_333_34, 12.345_678, 1234.5677, 0.000_123_45] {
            let s = format_live_float(f64::from(v));
            assert_eq!(s.parse::<f32>().unwrap(), v, "{s}");
        }
    }
}
