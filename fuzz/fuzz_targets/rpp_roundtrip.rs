//! parse → write → parse is a fixpoint, writing an unedited document gives
//! the input bytes, an edit followed by a write re-parses, and nothing panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use premix_rpp::{Document, Limits};

fuzz_target!(|data: &[u8]| {
    // Small limits so the fuzzer explores the limit paths too.
    let limits = Limits {
        max_file_bytes: 1 << 20,
        max_line_bytes: 4096,
        max_lines: 100_000,
        max_depth: 64,
    };
    let Ok(mut doc) = Document::parse_with(data, &limits) else {
        return;
    };
    let out = doc.to_bytes();
    assert_eq!(out, data, "unedited document must write its input bytes");
    let again = Document::parse_with(&out, &limits).expect("own output parses");
    assert_eq!(again.to_bytes(), out);

    // Edit every key line's second token and every block's first parameter,
    // then check the result still parses to the same tree shape.
    fn edit(nodes: &mut [premix_rpp::Node]) {
        for n in nodes {
            match n {
                premix_rpp::Node::Line(l) => {
                    if l.tokens().len() > 1 {
                        l.set_token(1, "a b");
                    }
                }
                premix_rpp::Node::Block(b) => {
                    b.set_param(0, "x");
                    edit(&mut b.children);
                }
            }
        }
    }
    edit(&mut doc.nodes);
    let edited = doc.to_bytes();
    let reparsed = Document::parse_with(&edited, &Limits { max_line_bytes: 1 << 20, ..limits })
        .expect("edited output parses");
    assert_eq!(reparsed.to_bytes(), edited);
});
