//! Tokens: REAPER's quoting rules (FORMATS.md §1.1).
//!
//! Tokens are separated by spaces and tabs. A token that starts with `"`,
//! `'` or a backtick runs to the next occurrence of the same character; there
//! is no escaping. An unterminated quote runs to the end of the line (the
//! tokenizer is total: every line has a tokenization).

use std::borrow::Cow;

/// One token of a line: its unquoted value and, for tokens read from a file,
/// the exact spelling it had there (so that re-rendering an edited line keeps
/// the spelling of the tokens that did not change).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Token {
    value: String,
    spelling: Option<String>,
}

impl Token {
    /// A token that will be quoted as needed when written.
    pub fn new(value: String) -> Token {
        Token {
            value,
            spelling: None,
        }
    }

    /// A token written exactly as given (raw payload, `<NAME`, `>`).
    pub(crate) fn verbatim(text: String) -> Token {
        Token {
            spelling: Some(text.clone()),
            value: text,
        }
    }

    /// The unquoted value.
    pub fn value(&self) -> &str {
        &self.value
    }

    /// How the token is written.
    pub fn spelling(&self) -> Cow<'_, str> {
        match &self.spelling {
            Some(s) => Cow::Borrowed(s),
            None => quote(&self.value),
        }
    }
}

impl AsRef<str> for Token {
    fn as_ref(&self) -> &str {
        &self.value
    }
}

/// Splits a line into tokens, keeping each token's original spelling.
pub fn tokenize(line: &str) -> Vec<Token> {
    let mut out = Vec::new();
    let bytes = line.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b' ' || b == b'\t' {
            i += 1;
            continue;
        }
        let start = i;
        if b == b'"' || b == b'\'' || b == b'`' {
            // Quoted: runs to the next occurrence of the same quote character.
            match line[i + 1..].find(b as char) {
                Some(rel) => {
                    let end = i + 1 + rel;
                    out.push(Token {
                        value: line[i + 1..end].to_owned(),
                        spelling: Some(line[start..=end].to_owned()),
                    });
                    i = end + 1;
                }
                None => {
                    out.push(Token {
                        value: line[i + 1..].to_owned(),
                        spelling: Some(line[start..].to_owned()),
                    });
                    i = bytes.len();
                }
            }
        } else {
            while i < bytes.len() && bytes[i] != b' ' && bytes[i] != b'\t' {
                i += 1;
            }
            out.push(Token {
                value: line[start..i].to_owned(),
                spelling: Some(line[start..i].to_owned()),
            });
        }
    }
    out
}

/// Quotes `value` the way REAPER writes it: bare unless it is empty, contains
/// whitespace or starts with a quote character; then `"…"`, or `'…'` if it
/// contains `"`, or `` `…` `` if it contains both. A value containing all three
/// quote characters cannot be written faithfully; like REAPER, its backticks
/// become `'`.
pub fn quote(value: &str) -> Cow<'_, str> {
    let needs =
        value.is_empty() || value.contains([' ', '\t']) || value.starts_with(['"', '\'', '`']);
    if !needs {
        return Cow::Borrowed(value);
    }
    let has_dq = value.contains('"');
    let has_sq = value.contains('\'');
    let has_bt = value.contains('`');
    if !has_dq {
        Cow::Owned(format!("\"{value}\""))
    } else if !has_sq {
        Cow::Owned(format!("'{value}'"))
    } else if !has_bt {
        Cow::Owned(format!("`{value}`"))
    } else {
        Cow::Owned(format!("`{}`", value.replace('`', "'")))
    }
}

/// Formats a real number the way REAPER does: up to 14 significant digits,
/// no trailing zeros, no exponent for ordinary magnitudes (`%.14g`).
pub fn format_real(x: f64) -> String {
    if !x.is_finite() {
        return "0".to_owned();
    }
    if x == 0.0 {
        return "0".to_owned();
    }
    let exp = x.abs().log10().floor() as i32;
    if !(-5..14).contains(&exp) {
        // %g switches to exponent notation here; REAPER never writes such
        // values for the fields premix edits, but stay faithful to %g.
        let s = format!("{:.13e}", x);
        let (mant, e) = s.split_once('e').unwrap_or((&s, "0"));
        let mant = trim_zeros(mant);
        let e: i32 = e.parse().unwrap_or(0);
        return format!("{mant}e{}{:02}", if e < 0 { '-' } else { '+' }, e.abs());
    }
    let decimals = (13 - exp).max(0) as usize;
    let s = format!("{:.*}", decimals, x);
    trim_zeros(&s).to_owned()
}

fn trim_zeros(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}
