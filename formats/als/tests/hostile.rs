//! Hostile or broken input gives an error with a position, never a panic or
//! a runaway allocation.

use premix_als::{Document, ErrorKind, Limits};
use std::io::Write;

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

const HEAD: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Ableton MajorVersion=\"5\" MinorVersion=\"11.0_433\">\n";

#[test]
fn gzip_bomb_stops_at_the_limit() {
    // 64 MiB of spaces inside an element compresses to about 64 KiB.
    let mut xml = HEAD.as_bytes().to_vec();
    xml.extend(std::iter::repeat_n(b' ', 64 << 20));
    xml.extend(b"</Ableton>\n");
    let bomb = gzip(&xml);
    assert!(bomb.len() < 1 << 20);
    let limits = Limits {
        max_xml_bytes: 8 << 20,
        ..Limits::default()
    };
    let e = Document::parse_with(&bomb, &limits).unwrap_err();
    assert!(matches!(e.kind, ErrorKind::Limit(_)), "{e}");
    assert!(e.to_string().contains("inflates to more than"), "{e}");
    // Exactly at the limit is fine.
    let ok = Limits {
        max_xml_bytes: xml.len(),
        ..Limits::default()
    };
    assert!(Document::parse_with(&bomb, &ok).is_ok());
}

#[test]
fn deep_nesting_is_refused_with_its_offset() {
    let depth = 100_000;
    let mut xml = String::from(HEAD);
    for _ in 0..depth {
        xml.push_str("<a>");
    }
    for _ in 0..depth {
        xml.push_str("</a>");
    }
    xml.push_str("</Ableton>");
    let e = Document::parse(xml.as_bytes()).unwrap_err();
    assert!(matches!(e.kind, ErrorKind::Limit(_)), "{e}");
    // The root is depth 1, so the 256th <a> is the first too deep.
    assert_eq!(e.offset, Some(HEAD.len() + 255 * 3));
    assert_eq!(e.line, 3);
}

#[test]
fn truncated_input_is_an_error() {
    let xml = format!("{HEAD}\t<LiveSet>\n\t\t<Tracks />\n\t</LiveSet>\n</Ableton>\n");
    assert!(Document::parse(xml.as_bytes()).is_ok());
    let gz = gzip(xml.as_bytes());
    for cut in [11, gz.len() / 2, gz.len() - 4] {
        let e = Document::parse(&gz[..cut]).unwrap_err();
        assert!(
            matches!(e.kind, ErrorKind::Gzip(_) | ErrorKind::Xml(_)),
            "{cut}: {e}"
        );
    }
    for cut in [HEAD.len() + 5, xml.len() - 3] {
        let e = Document::parse(&xml.as_bytes()[..cut]).unwrap_err();
        assert!(matches!(e.kind, ErrorKind::Xml(_)), "{e}");
        assert!(e.offset.is_some());
    }
}

#[test]
fn not_xml_is_an_error() {
    for bytes in [
        &b""[..],
        b"PK\x03\x04 a zip file",
        b"\x1f\x8b garbage after a gzip magic",
        b"just text",
        b"<a><b></a></b>",
        b"<a x=1/>",
        b"<a>&unknown;</a>",
        b"<a x=\"&bogus;\"/>",
        b"<a/>trailing text",
    ] {
        assert!(
            Document::parse(bytes).is_err(),
            "{:?}",
            String::from_utf8_lossy(bytes)
        );
    }
    let e = Document::parse(b"<a>\n<b>\n</c>\n</a>").unwrap_err();
    assert_eq!((e.offset, e.line), (Some(8), 3), "{e}");
    let e = Document::parse(b"<a x=\"\xff\"/>").unwrap_err();
    assert!(matches!(e.kind, ErrorKind::NotUtf8), "{e}");
    assert_eq!(e.offset, Some(6));
}

#[test]
fn huge_attribute_and_element_counts_are_bounded() {
    let big = "x".repeat(2 << 20);
    let xml = format!("{HEAD}<a v=\"{big}\"/></Ableton>");
    let e = Document::parse(xml.as_bytes()).unwrap_err();
    assert!(matches!(e.kind, ErrorKind::Limit(_)), "{e}");
    assert_eq!(e.offset, Some(HEAD.len()));

    let many = "<a/>".repeat(10_000);
    let xml = format!("{HEAD}{many}</Ableton>");
    let limits = Limits {
        max_elements: 1000,
        ..Limits::default()
    };
    let e = Document::parse_with(xml.as_bytes(), &limits).unwrap_err();
    assert!(matches!(e.kind, ErrorKind::Limit(_)), "{e}");
    assert!(Document::parse(xml.as_bytes()).is_ok());

    let limits = Limits {
        max_file_bytes: 100,
        ..Limits::default()
    };
    let e = Document::parse_with(xml.as_bytes(), &limits).unwrap_err();
    assert!(matches!(e.kind, ErrorKind::Limit(_)), "{e}");
}

#[test]
fn errors_name_the_file() {
    let dir = std::env::temp_dir().join(format!("premix-als-hostile-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join("broken.als");
    std::fs::write(&p, gzip(b"<Ableton>\n<LiveSet>\n</Ableton>")).unwrap();
    let e = Document::read(&p).unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains("broken.als") && msg.contains("line 3"),
        "{msg}"
    );
    let e = Document::read(&dir.join("missing.als")).unwrap_err();
    assert!(matches!(e.kind, ErrorKind::Io(_)) && e.to_string().contains("missing.als"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn crlf_and_odd_spacing_survive_and_edits_keep_them() {
    let xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n<Ableton MajorVersion=\"5\" MinorVersion=\"11.0_433\">\r\n\t<LiveSet>\r\n\t\t<NextPointeeId  Value = '7'/>\r\n\t\t<Tracks />\r\n\t</LiveSet>\r\n</Ableton>\r\n";
    let mut d = Document::parse(xml.as_bytes()).unwrap();
    assert_eq!(d.xml(), xml);
    let tracks = d.tracks_element().unwrap();
    d.insert_element(tracks, 0, "<X>\n\t<Y />\n</X>").unwrap();
    let npi = d.path(d.root(), &["LiveSet", "NextPointeeId"]).unwrap();
    d.set_attr(npi, "Value", "8").unwrap();
    assert_eq!(
        d.xml(),
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n<Ableton MajorVersion=\"5\" MinorVersion=\"11.0_433\">\r\n\t<LiveSet>\r\n\t\t<NextPointeeId  Value = '8'/>\r\n\t\t<Tracks>\r\n\t\t\t<X>\r\n\t\t\t\t<Y />\r\n\t\t\t</X>\r\n\t\t</Tracks>\r\n\t</LiveSet>\r\n</Ableton>\r\n"
    );
}
