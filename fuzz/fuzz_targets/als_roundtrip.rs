//! parse → write → parse is a fixpoint, writing an unedited document gives
//! the input's XML (and, for plain XML, the input bytes), edits keep the
//! element index in step with the text, and nothing panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use premix_als::{validate, Compression, Document, ElementId, Limits};

/// Every element's span text, name and attributes.
type Shape = Vec<(String, String, Vec<(String, String)>)>;

/// (text, name, attributes) of every element in document order; the text
/// comes from the element's recorded span, so stale spans show up here.
fn shape(d: &Document) -> Shape {
    d.descendants(d.root())
        .into_iter()
        .map(|e| {
            (
                d.text_of(e).to_owned(),
                d.name(e).to_owned(),
                d.attrs(e)
                    .map(|(k, v)| (k.to_owned(), v.to_owned()))
                    .collect(),
            )
        })
        .collect()
}

fuzz_target!(|data: &[u8]| {
    // Small limits so the fuzzer explores the limit paths too.
    let limits = Limits {
        max_file_bytes: 1 << 20,
        max_xml_bytes: 4 << 20,
        max_depth: 64,
        max_elements: 100_000,
        max_attr_bytes: 4096,
    };
    let Ok(mut doc) = Document::parse_with(data, &limits) else {
        return;
    };
    if *doc.compression() == Compression::None {
        assert_eq!(
            doc.xml().as_bytes(),
            data,
            "unedited document must write its input"
        );
    }
    let bytes = doc.to_bytes().expect("writes");
    let again = Document::parse_with(&bytes, &limits).expect("own output parses");
    assert_eq!(again.xml(), doc.xml());
    assert_eq!(again.to_bytes().expect("writes"), bytes);

    // The Live layer must not panic on anything that parses.
    let _ = validate(&doc);
    let _ = doc.read_only_reason();
    for t in doc.tracks() {
        let _ = doc.arrangement_clips(t.element);
        let _ = doc.mixer_parameter(t.element, "Volume");
    }

    // Edit a few attributes and insert elements, then check the index
    // against a fresh parse of the text.
    let targets: Vec<ElementId> = doc.descendants(doc.root()).into_iter().take(8).collect();
    for (k, e) in targets.iter().enumerate() {
        let first = doc.attrs(*e).next().map(|(n, _)| n.to_owned());
        if let Some(name) = first {
            // An empty value first: its span is empty, a corner for splicing.
            doc.set_attr(*e, &name, "").expect("existing attribute");
            doc.set_attr(*e, &name, &format!("v{k} & <\"'>"))
                .expect("existing attribute");
        }
    }
    let root = doc.root();
    let n = doc.children(root).count();
    let _ = doc.insert_element(root, n, "<Z a=\"1\">\n\t<W />\n</Z>");
    let _ = doc.insert_element(root, 0, "<Y />");
    if let Some(&e) = targets.get(3) {
        if e != root {
            let _ = doc.remove_element(e);
        }
    }
    let relaxed = Limits {
        max_elements: 200_000,
        max_attr_bytes: 1 << 20,
        max_depth: 128,
        ..limits
    };
    let edited =
        Document::parse_with(doc.xml().as_bytes(), &relaxed).expect("edited output parses");
    assert_eq!(
        shape(&edited),
        shape(&doc),
        "index out of step with the text"
    );
});
