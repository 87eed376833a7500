use super::*;

fn roundtrip(text: &str) -> Document {
    let doc = Document::parse(text.as_bytes()).expect("parses");
    assert_eq!(String::from_utf8(doc.to_bytes()).unwrap(), text);
    doc
}

#[test]
fn keeps_crlf_lf_and_missing_final_newline() {
    roundtrip("<REAPER_PROJECT 0.1 \"6.0\" 1\r\n  RIPPLE 0\r\n>\r\n");
    roundtrip("<REAPER_PROJECT 0.1 \"6.0\" 1\n  RIPPLE 0\n>");
    roundtrip("<A\r\n  X 1\n>\r\n");
}

#[test]
fn keeps_odd_spacing_tabs_and_blank_lines() {
    roundtrip("<A\n\tX   1\t2 \n\n   <B \n   >  \n>\n");
}

#[test]
fn tokenizes_all_three_quote_kinds() {
    let t = tokenize(r#"NAME "a b" 'say "hi"' `it's "x"` bare "" 'x"#);
    let v: Vec<&str> = t.iter().map(|t| t.value()).collect();
    assert_eq!(
        v,
        ["NAME", "a b", "say \"hi\"", "it's \"x\"", "bare", "", "x"]
    );
}

#[test]
fn quotes_like_reaper() {
    assert_eq!(quote("Kick"), "Kick");
    assert_eq!(quote(""), "\"\"");
    assert_eq!(quote("Lead Vox"), "\"Lead Vox\"");
    assert_eq!(quote("say \"hi\" now"), "'say \"hi\" now'");
    assert_eq!(quote("it's \"x\""), "`it's \"x\"`");
    assert_eq!(quote("'start"), "\"'start\"");
    assert_eq!(quote("a'b\"c`d e"), "`a'b\"c'd e`");
    // Every quoted value tokenizes back to itself (unless all three occur).
    for v in ["", "a b", "x\"y z", "it's \"x\"", "\"lead", "tab\there"] {
        let line = format!("K {}", quote(v));
        assert_eq!(tokenize(&line)[1].value(), v, "{line}");
    }
}

#[test]
fn formats_reals_like_percent_14g() {
    assert_eq!(format_real(1.0), "1");
    assert_eq!(format_real(0.5), "0.5");
    assert_eq!(format_real(-0.25), "-0.25");
    assert_eq!(format_real(0.78736664651321), "0.78736664651321");
    assert_eq!(format_real(25.263157894736842), "25.263157894737");
    assert_eq!(format_real(3.981071705534973), "3.981071705535");
    assert_eq!(format_real(44100.0), "44100");
    assert_eq!(format_real(0.0), "0");
}

#[test]
fn editing_a_token_touches_only_that_line() {
    let text = "<REAPER_PROJECT 0.1 \"7.0\" 0\n  <TRACK {A}\n    NAME \"Lead Vox\"\n    VOLPAN 1 0 -1 -1 1\n  >\n>\n";
    let mut doc = roundtrip(text);
    let track = doc.project_mut().unwrap().block_mut("TRACK").unwrap();
    track.line_mut("VOLPAN").unwrap().set_token(1, "0.5");
    let out = String::from_utf8(doc.to_bytes()).unwrap();
    assert_eq!(out, text.replace("VOLPAN 1 0", "VOLPAN 0.5 0"));
}

#[test]
fn setting_same_values_keeps_line_pristine() {
    let text = "<A\n  NAME  'x'\n>\n";
    let mut doc = roundtrip(text);
    let a = doc.nodes[0].as_block_mut().unwrap();
    a.line_mut("NAME").unwrap().set_tokens(["NAME", "x"]);
    assert!(a.line("NAME").unwrap().is_pristine());
    assert_eq!(doc.to_bytes(), text.as_bytes());
}

#[test]
fn edited_line_keeps_spelling_of_unchanged_tokens() {
    let mut doc = roundtrip("<A\n  K 'x' 1.000 \"y\"\n>\n");
    let a = doc.nodes[0].as_block_mut().unwrap();
    a.line_mut("K").unwrap().set_token(2, "2");
    assert_eq!(
        String::from_utf8(doc.to_bytes()).unwrap(),
        "<A\n  K 'x' 2 \"y\"\n>\n"
    );
}

#[test]
fn new_blocks_are_indented_and_use_document_eol() {
    let mut doc = roundtrip("<REAPER_PROJECT 0.1 \"7.0\" 0\r\n  <TRACK\r\n  >\r\n>\r\n");
    let mut b = Block::new("TRACK", ["{G}"]);
    b.children.push(Node::Line(Line::new(["NAME", "My Bus"])));
    b.children.push(Node::Line(Line::new(["ISBUS", "1", "1"])));
    let mut fx = Block::new("FXCHAIN", Vec::<String>::new());
    fx.children.push(Node::Line(Line::raw("AAAA==")));
    b.children.push(Node::Block(fx));
    doc.project_mut()
        .unwrap()
        .children
        .insert(0, Node::Block(b));
    let out = String::from_utf8(doc.to_bytes()).unwrap();
    assert_eq!(
        out,
        "<REAPER_PROJECT 0.1 \"7.0\" 0\r\n  <TRACK {G}\r\n    NAME \"My Bus\"\r\n    ISBUS 1 1\r\n    <FXCHAIN\r\n      AAAA==\r\n    >\r\n  >\r\n  <TRACK\r\n  >\r\n>\r\n"
    );
    // And it parses back to the same tree.
    let again = Document::parse(out.as_bytes()).unwrap();
    assert_eq!(again.to_bytes(), out.as_bytes());
    assert_eq!(again.project().unwrap().blocks("TRACK").count(), 2);
}

#[test]
fn moving_blocks_reorders_tracks() {
    let text = "<P\n  <TRACK\n    NAME a\n  >\n  <TRACK\n    NAME b\n  >\n>\n";
    let mut doc = roundtrip(text);
    let p = doc.nodes[0].as_block_mut().unwrap();
    let idx = p.block_indices("TRACK");
    let b = p.children.remove(idx[1]);
    p.children.insert(idx[0], b);
    assert_eq!(
        String::from_utf8(doc.to_bytes()).unwrap(),
        "<P\n  <TRACK\n    NAME b\n  >\n  <TRACK\n    NAME a\n  >\n>\n"
    );
}

#[test]
fn notes_and_payload_lines_are_verbatim() {
    roundtrip("<P\n  <NOTES 0 2\n    |<not a block\n    |>\n    |\"unterminated\n  >\n  <VST \"VST: x\" x.dll 0 \"\" 1<00>\n    7mVlcu5e7f4=\n  >\n>\n");
    let doc = Document::parse(b"<P\n  <NOTES\n    |>\n  >\n>\n").unwrap();
    let notes = doc
        .project()
        .is_none()
        .then(|| doc.nodes[0].as_block().unwrap())
        .unwrap();
    assert_eq!(notes.block("NOTES").unwrap().children.len(), 1);
}

#[test]
fn errors_carry_line_and_column() {
    let e = Document::parse(b"<A\n  X 1\n").unwrap_err();
    assert!(
        matches!(e.kind, ErrorKind::Unclosed { opened_line: 1, .. }),
        "{e}"
    );
    let e = Document::parse(b"<A\n>\n  >\n").unwrap_err();
    assert!(matches!(e.kind, ErrorKind::UnexpectedClose));
    assert_eq!((e.line, e.column), (3, 3));
    let e = Document::parse(b"<A\n  X \xff\n>\n").unwrap_err();
    assert!(matches!(e.kind, ErrorKind::NotUtf8));
    assert_eq!((e.line, e.column), (2, 5));
    let e = Document::parse(b"<A\n\0\n>").unwrap_err();
    assert!(matches!(e.kind, ErrorKind::Binary));
    assert_eq!(
        e.to_string(),
        "2:1: binary data (NUL byte): not an RPP file"
    );
    let e = e.with_path(Path::new("x.rpp"));
    assert_eq!(
        e.to_string(),
        "x.rpp:2:1: binary data (NUL byte): not an RPP file"
    );
}

#[test]
fn limits_stop_hostile_input() {
    let limits = Limits {
        max_depth: 8,
        max_line_bytes: 100,
        ..Limits::default()
    };
    let deep = "<A\n".repeat(9);
    let e = Document::parse_with(deep.as_bytes(), &limits).unwrap_err();
    assert!(matches!(e.kind, ErrorKind::Limit(_)), "{e}");
    assert_eq!(e.line, 9);
    let long = format!("<A\n  {}\n>\n", "x".repeat(200));
    let e = Document::parse_with(long.as_bytes(), &limits).unwrap_err();
    assert!(matches!(e.kind, ErrorKind::Limit(_)));
    // Default depth limit holds for very deep input without overflowing the stack.
    let deep = "<A\n".repeat(100_000);
    assert!(Document::parse(deep.as_bytes()).is_err());
}

#[test]
fn empty_input_is_an_empty_document() {
    let doc = Document::parse(b"").unwrap();
    assert!(doc.nodes.is_empty());
    assert!(doc.to_bytes().is_empty());
}
