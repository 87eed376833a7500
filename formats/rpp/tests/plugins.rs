//! Plugin-state codecs against REAPER-written data: every `<VST` block in
//! the corpus decodes and re-encodes to the same lines, and ReaEQ states in
//! REAPER's stock preset bank decode to the bands their names describe.

use premix_rpp::reaeq::{octaves_to_q, q_to_octaves, Band, BandType, ReaEq};
use premix_rpp::vst::VstState;
use premix_rpp::{Block, Document, Node};
use std::path::PathBuf;

fn corpus() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/rpp");
    if dir.is_dir() {
        return Some(dir);
    }
    assert!(
        std::env::var("CI").is_err(),
        "corpus {} missing under CI",
        dir.display()
    );
    eprintln!("skipping: corpus {} not found", dir.display());
    None
}

fn vst_blocks<'a>(nodes: &'a [Node], out: &mut Vec<&'a Block>) {
    for n in nodes {
        if let Node::Block(b) = n {
            if b.name() == "VST" {
                out.push(b);
            }
            vst_blocks(&b.children, out);
        }
    }
}

#[test]
fn every_corpus_vst_state_re_encodes_to_the_same_lines() {
    let Some(dir) = corpus() else { return };
    let mut seen = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if !path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("rpp"))
        {
            continue;
        }
        let doc = Document::read(&path).unwrap();
        let mut blocks = Vec::new();
        vst_blocks(&doc.nodes, &mut blocks);
        for b in blocks {
            let lines: Vec<&str> = b
                .children
                .iter()
                .filter_map(Node::as_line)
                .map(|l| l.tokens()[0].value())
                .collect();
            let state = VstState::decode(&lines)
                .unwrap_or_else(|e| panic!("{}: {}: {e}", path.display(), b.param(0).unwrap()));
            // VST2 states must re-encode to REAPER's exact lines; VST3 states
            // use another line layout, so compare their decoded bytes.
            let name = b.param(0).unwrap();
            if name.starts_with("VST3") {
                let again = VstState::decode(
                    &state
                        .encode()
                        .iter()
                        .map(String::as_str)
                        .collect::<Vec<_>>(),
                )
                .unwrap();
                assert_eq!(again, state, "{}: {name}", path.display());
            } else {
                assert_eq!(state.encode(), lines, "{}: {name}", path.display());
            }
            seen += 1;
        }
    }
    assert!(seen >= 10, "only {seen} VST blocks in the corpus");
}

#[test]
fn reacomp_instances_decode_as_parameter_lists() {
    let Some(dir) = corpus() else { return };
    let doc = Document::read(&dir.join("perlence_vst.RPP")).unwrap();
    let mut blocks = Vec::new();
    vst_blocks(&doc.nodes, &mut blocks);
    let comp = blocks
        .iter()
        .find(|b| b.param(0) == Some("VST: ReaComp (Cockos)"))
        .unwrap();
    let s = VstState::from_block(comp).unwrap();
    assert_eq!(s.plugin_id, u32::from_be_bytes(*b"recm"));
    assert_eq!(s.magic, premix_rpp::vst::MAGIC_PARAMS);
    assert_eq!(s.inputs, [1, 2, 4, 8], "ReaComp has sidechain pins");
    assert_eq!(s.outputs, [1, 2]);
    assert_eq!(
        &s.body[..8],
        &[0xEF, 0xBE, 0xAD, 0xDE, 0x0D, 0xF0, 0xAD, 0xDE]
    );
    assert_eq!(
        (s.body.len() - 8) / 4,
        19,
        "19 floats in REAPER 5.50's ReaComp"
    );
}

/// Reads `Data=` hex and `Name=` from REAPER's preset bank, parsing the
/// wrapper header here independently of the crate's decoder.
fn preset_bank() -> Vec<(String, Vec<u8>)> {
    let Some(dir) = corpus() else {
        return Vec::new();
    };
    let text = std::fs::read_to_string(dir.join("exvertus_presets_vst-reaeq.ini")).unwrap();
    let mut out = Vec::new();
    let mut data = None;
    for line in text.lines() {
        if let Some(hex) = line.strip_prefix("Data=") {
            data = Some(
                (0..hex.len() / 2)
                    .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap())
                    .collect::<Vec<u8>>(),
            );
        } else if let Some(name) = line.strip_prefix("Name=") {
            let d: Vec<u8> = data.take().unwrap();
            let u32_at = |p: usize| u32::from_le_bytes(d[p..p + 4].try_into().unwrap());
            let n_in = u32_at(8) as usize;
            let p = 12 + 8 * n_in;
            let n_out = u32_at(p) as usize;
            let p = p + 4 + 8 * n_out;
            let body_len = u32_at(p) as usize;
            let body = d[p + 12..p + 12 + body_len].to_vec();
            // Only opaque (0xFEED5EEE) presets hold ReaEQ's own chunk; some
            // presets are stored as plain parameter lists instead.
            if u32_at(4) == 0xFEED_5EEE {
                out.push((name.to_owned(), body));
            }
        }
    }
    out
}

#[test]
fn stock_reaeq_presets_decode_to_their_named_bands() {
    let bank = preset_bank();
    if bank.is_empty() {
        return;
    }
    assert_eq!(
        bank.len(),
        20,
        "opaque presets (4 [snk] ones are parameter lists)"
    );
    for (name, body) in &bank {
        let eq = ReaEq::decode(body).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(eq.version, 32, "{name}");
        assert_eq!(eq.encode(), *body, "{name}: re-encoding changes bytes");
        // Tails vary in length; all begin with REAPER's i32 1.
        assert!(
            eq.tail.len() >= 16 && eq.tail[..4] == [1, 0, 0, 0],
            "{name}"
        );
    }
    let get = |n: &str| ReaEq::decode(&bank.iter().find(|(name, _)| name == n).unwrap().1).unwrap();
    let hpf = get("stock - Basic 100 HPF");
    assert!(hpf
        .bands
        .iter()
        .any(|b| b.kind == BandType::HighPass && b.freq_hz == 100.0 && b.enabled));
    let hpf150 = get("stock - Basic 150 HPF");
    assert!(hpf150
        .bands
        .iter()
        .any(|b| b.kind == BandType::HighPass && b.freq_hz == 150.0));
    let eleven = get("stock - Basic 11 band");
    assert_eq!(eleven.bands.len(), 11);
    assert!(eleven
        .bands
        .iter()
        .all(|b| b.kind == BandType::BandLegacy && b.gain == 1.0));
}

#[test]
fn written_reaeq_block_round_trips_through_an_rpp_document() {
    let eq = ReaEq {
        version: 32,
        bands: vec![
            Band {
                kind: BandType::LowShelf,
                enabled: true,
                freq_hz: 120.0,
                gain: 0.5,
                bandwidth_oct: 2.0,
            },
            Band {
                kind: BandType::Band,
                enabled: true,
                freq_hz: 3150.0,
                gain: 1.5,
                bandwidth_oct: q_to_octaves(1.4),
            },
            Band {
                kind: BandType::HighShelf,
                enabled: false,
                freq_hz: 9000.0,
                gain: 1.0,
                bandwidth_oct: 1.0,
            },
        ],
        tail: premix_rpp::reaeq::V32_TAIL.to_vec(),
    };
    let mut chain = Block::new("FXCHAIN", Vec::<String>::new());
    chain.children.push(Node::Block(eq.to_block("premix EQ")));
    let text = "<REAPER_PROJECT 0.1 \"7.0\" 0\n>\n";
    let mut doc = Document::parse(text.as_bytes()).unwrap();
    doc.project_mut().unwrap().children.push(Node::Block(chain));
    let bytes = doc.to_bytes();
    let again = Document::parse(&bytes).unwrap();
    let vst = again
        .project()
        .unwrap()
        .block("FXCHAIN")
        .unwrap()
        .block("VST")
        .unwrap();
    assert_eq!(vst.param(3), Some("premix EQ"));
    assert_eq!(
        vst.param(4),
        Some("1919247729<56535472656571726561657100000000>")
    );
    assert_eq!(ReaEq::from_block(vst).unwrap().unwrap(), eq);
    assert!((octaves_to_q(q_to_octaves(1.4)) - 1.4).abs() < 1e-12);
    // One octave is Q = 1.414 (RBJ cookbook).
    assert!((octaves_to_q(1.0) - std::f64::consts::SQRT_2).abs() < 1e-3);
}
