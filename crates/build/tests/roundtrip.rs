//! Property tests: generated definition files round-trip byte for byte and parse into the
//! structure they were generated from; arbitrary text never panics the parser.

use berth_build::{Definition, SectionKind};
use proptest::prelude::*;

/// A header line: a known keyword with odd spacing, a comment or a blank line.
fn header_line() -> impl Strategy<Value = String> {
    prop_oneof![
        (
            prop::sample::select(vec!["From", "from", "OSVersion", "MirrorURL", "Include"]),
            "[ \t]{0,2}",
            "[ \t]{0,2}",
            "[a-z0-9:/._-]{0,12}",
            "[ \t]{0,2}"
        )
            .prop_map(|(k, a, b, v, c)| format!("{k}{a}:{b}{v}{c}")),
        "[ \t]{0,2}#[ -~]{0,20}".prop_map(|s| s),
        "[ \t]{0,3}".prop_map(|s| s),
    ]
}

/// A body line that is script text: it never starts a section or a stage. `%` may appear
/// anywhere but at the start of the (trimmed) line.
fn body_line() -> impl Strategy<Value = String> {
    prop_oneof![
        "[ \t]{0,4}(echo|export|#|cat|printf) [ -~]{0,24}".prop_map(|s| s),
        "[ \t]{0,3}".prop_map(|s| s),
    ]
}

fn section_kind() -> impl Strategy<Value = SectionKind> {
    prop::sample::select(SectionKind::ALL.to_vec())
}

#[derive(Debug, Clone)]
struct GenSection {
    kind: SectionKind,
    indent: String,
    trailing: String,
    body: Vec<String>,
}

fn section() -> impl Strategy<Value = GenSection> {
    (
        section_kind(),
        "[ \t]{0,2}",
        "[ \t]{0,2}",
        prop::collection::vec(body_line(), 0..5),
    )
        .prop_map(|(kind, indent, trailing, body)| GenSection {
            kind,
            indent,
            trailing,
            body,
        })
}

#[derive(Debug, Clone)]
struct GenStage {
    header: Vec<String>,
    sections: Vec<GenSection>,
}

fn stage() -> impl Strategy<Value = GenStage> {
    (
        prop::collection::vec(header_line(), 0..4),
        prop::collection::vec(section(), 0..6),
    )
        .prop_map(|(header, sections)| GenStage { header, sections })
}

/// Renders stages; each section is made unique per stage (app sections get distinct app
/// names, other kinds are deduplicated) so the file is valid.
fn render(
    stages: &[GenStage],
    crlf: bool,
    bom: bool,
    final_newline: bool,
) -> (String, Vec<Vec<SectionKind>>) {
    let nl = if crlf { "\r\n" } else { "\n" };
    let mut lines: Vec<String> = Vec::new();
    let mut kinds = Vec::new();
    for (si, st) in stages.iter().enumerate() {
        lines.push(format!(
            "Bootstrap: docker{}",
            if si % 2 == 1 { " " } else { "" }
        ));
        lines.extend(st.header.iter().cloned());
        let mut seen = Vec::new();
        let mut stage_kinds = Vec::new();
        for (i, sec) in st.sections.iter().enumerate() {
            if !sec.kind.is_app() {
                if seen.contains(&sec.kind) {
                    continue;
                }
                seen.push(sec.kind);
            }
            let app = if sec.kind.is_app() {
                format!(" app{i}")
            } else {
                String::new()
            };
            lines.push(format!(
                "{}%{}{}{}",
                sec.indent,
                sec.kind.name(),
                app,
                sec.trailing
            ));
            lines.extend(sec.body.iter().cloned());
            stage_kinds.push(sec.kind);
        }
        kinds.push(stage_kinds);
    }
    let mut text = if bom {
        "\u{feff}".to_string()
    } else {
        String::new()
    };
    text.push_str(&lines.join(nl));
    if final_newline {
        text.push_str(nl);
    }
    (text, kinds)
}

proptest! {
    #[test]
    fn generated_files_round_trip(
        stages in prop::collection::vec(stage(), 1..4),
        crlf in any::<bool>(),
        bom in any::<bool>(),
        final_newline in any::<bool>(),
    ) {
        let (text, kinds) = render(&stages, crlf, bom, final_newline);
        let def = Definition::parse(&text).map_err(|e| TestCaseError::fail(format!("{e}\n{text:?}")))?;
        prop_assert_eq!(def.to_text(), text);
        prop_assert_eq!(def.has_bom(), bom);
        let got: Vec<Vec<SectionKind>> = def
            .stages()
            .iter()
            .map(|s| s.sections().iter().map(|x| x.kind()).collect())
            .collect();
        prop_assert_eq!(got, kinds);
    }

    #[test]
    fn arbitrary_text_never_panics_and_round_trips_when_valid(text in "(Bootstrap: docker\n)?[%a-zA-Z: \t\r\n#\u{feff}-]{0,200}") {
        if let Ok(def) = Definition::parse(&text) {
            prop_assert_eq!(def.to_text(), text);
        }
    }
}
