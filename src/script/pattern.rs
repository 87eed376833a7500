//! A worst-case cost estimate for Lua's pattern matcher, so that a script
//! cannot stall premix inside `string.find`/`match`/`gmatch`/`gsub`.
//!
//! Lua's matcher is a C backtracking loop: while it runs, no VM instruction
//! executes, so the instruction hook (the sandbox's time limit) never fires.
//! `("a"):rep(1e6):find(".-b")` alone takes hours. The sandbox therefore asks
//! [`match_cost`] before each call and refuses calls whose bound is too high.
//!
//! The bound: with `q` unbounded quantifiers (`*`, `+`, `-`) the matcher tries
//! at most C(n + q, q) ways of sharing the `n` subject bytes among them, for
//! each of the `n + 1` start positions (one if anchored with `^`), and each
//! try walks the `m` pattern items. Each `?` doubles the tries; a
//! back-reference (`%1`) or balance (`%b()`) item may scan the subject, a
//! factor `n`. The estimate is loose (real patterns usually fail fast) but
//! never low, which is what a limit needs.

/// What the cost of one call depends on, taken from the pattern text.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Shape {
    /// Pattern items (single-character classes, `%b`, `%f`, back-references).
    items: u32,
    /// Items with `*`, `+` or `-`.
    unbounded: u32,
    /// Items with `?`.
    optional: u32,
    /// Back-references and `%b` items.
    scanning: u32,
    /// Starts with `^` (only `find`, `match` and `gsub` treat it as an anchor).
    anchored: bool,
    /// Contains any of `^$*+?.([%-`; without them `find` does a plain search.
    special: bool,
}

/// Which string function is being called.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MatchOp {
    Find,
    Match,
    Gmatch,
    Gsub,
}

/// Estimated worst-case number of matcher steps for `op(subject, pattern)`
/// with a subject of `subject_len` bytes. `plain` is `find`'s fourth
/// argument. The result saturates at `f64::INFINITY`.
pub fn match_cost(op: MatchOp, subject_len: usize, pattern: &[u8], plain: bool) -> f64 {
    let n = subject_len as f64;
    let m = pattern.len().max(1) as f64;
    let shape = shape(pattern);
    if op == MatchOp::Find && (plain || !shape.special) {
        // lmemfind: memchr for the first byte, memcmp for the rest.
        return (n + 1.0) * m;
    }
    let anchored = shape.anchored && op != MatchOp::Gmatch;
    let starts = if anchored { 1.0 } else { n + 1.0 };
    let mut ways = 1.0f64;
    for i in 1..=shape.unbounded {
        ways *= (n + f64::from(i)) / f64::from(i);
    }
    ways *= 2f64.powi(shape.optional.min(1000) as i32);
    ways *= (n + 1.0).powi(shape.scanning.min(1000) as i32);
    starts * ways * f64::from(shape.items.max(1))
}

/// Reads the pattern the way `lstrlib.c` does (`classEnd`, `do_match`), only
/// far enough to count items and quantifiers. Malformed patterns are counted
/// as far as they go; the real matcher reports them.
fn shape(p: &[u8]) -> Shape {
    let mut s = Shape {
        special: p.iter().any(|c| b"^$*+?.([%-".contains(c)),
        ..Shape::default()
    };
    let mut i = 0;
    if p.first() == Some(&b'^') {
        s.anchored = true;
        i = 1;
    }
    while i < p.len() {
        match p[i] {
            b'(' | b')' => {
                i += 1;
                continue;
            }
            b'$' if i + 1 == p.len() => break,
            b'%' if matches!(p.get(i + 1), Some(b'b')) => {
                s.items += 1;
                s.scanning += 1;
                i += 4;
                continue;
            }
            b'%' if matches!(p.get(i + 1), Some(b'f')) => {
                s.items += 1;
                i = class_end(p, i + 2);
                continue;
            }
            b'%' if matches!(p.get(i + 1), Some(b'0'..=b'9')) => {
                s.items += 1;
                s.scanning += 1;
                i += 2;
                continue;
            }
            _ => {}
        }
        // A single-character class, possibly followed by a quantifier.
        let end = class_end(p, i);
        s.items += 1;
        match p.get(end) {
            Some(b'*' | b'+' | b'-') => {
                s.unbounded += 1;
                i = end + 1;
            }
            Some(b'?') => {
                s.optional += 1;
                i = end + 1;
            }
            _ => i = end,
        }
    }
    s
}

/// The index just after the single-character class starting at `i`.
fn class_end(p: &[u8], i: usize) -> usize {
    match p.get(i) {
        None => i,
        Some(b'%') => (i + 2).min(p.len()),
        Some(b'[') => {
            let mut j = i + 1;
            if p.get(j) == Some(&b'^') {
                j += 1;
            }
            // The first character of a set may be a literal ']'.
            let mut first = true;
            while j < p.len() {
                match p[j] {
                    b']' if !first => return j + 1,
                    b'%' => j += 2,
                    _ => j += 1,
                }
                first = false;
            }
            p.len()
        }
        Some(_) => i + 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_of_common_patterns() {
        let s = shape(b"^%s*(.-)%s*$");
        assert!(s.anchored);
        assert_eq!((s.items, s.unbounded, s.optional), (3, 3, 0));
        let s = shape(b"[%w_]+");
        assert_eq!((s.items, s.unbounded), (1, 1));
        let s = shape(b"[]]?x");
        assert_eq!((s.items, s.optional), (2, 1));
        let s = shape(b"%b()%1");
        assert_eq!((s.items, s.scanning), (2, 2));
        assert!(!shape(b"kick").special);
        assert!(shape(b"a.b").special);
    }

    #[test]
    fn plain_find_is_linear_and_patterns_grow_with_quantifiers() {
        assert_eq!(match_cost(MatchOp::Find, 99, b"abc", false), 300.0);
        assert_eq!(match_cost(MatchOp::Find, 99, b"a.c", true), 300.0);
        // ".-b" on a megabyte: every start scans to the end, ~n²/2 steps.
        let bomb = match_cost(MatchOp::Find, 1_000_000, b".-b", false);
        assert!(bomb > 1e11, "{bomb}");
        // The same pattern on a track name is cheap.
        assert!(match_cost(MatchOp::Find, 40, b".-b", false) < 1e4);
        // Anchoring removes the start-position factor, except in gmatch.
        let a = match_cost(MatchOp::Match, 1000, b"^a*", false);
        let g = match_cost(MatchOp::Gmatch, 1000, b"^a*", false);
        assert!(g > 900.0 * a);
    }

    #[test]
    fn malformed_patterns_do_not_panic() {
        for p in [&b"%"[..], b"[", b"[^", b"%b", b"%f", b"(", b"x%", b"[%"] {
            let _ = match_cost(MatchOp::Gsub, 10, p, false);
        }
    }
}
