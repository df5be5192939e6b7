//! Invalid definition files: each gives the expected errors at the expected positions.

use berth_build::{Definition, ErrorKind};

/// An expected error: (line, column, code).
type Expected = (usize, usize, &'static str);

/// (input, expected errors in file order).
const CASES: &[(&str, &[Expected])] = &[
    // Unknown section in column 1 (a typo), with the position of the `%`.
    (
        "Bootstrap: docker\nFrom: alpine\n%enviroment\n    export A=1\n",
        &[(3, 1, "def.unknown_section")],
    ),
    // The body of an unknown section does not cause header errors.
    (
        "Bootstrap: docker\n%postt\n    apt-get install x\n    y z\n%runscript\n    echo\n",
        &[(2, 1, "def.unknown_section")],
    ),
    // Header line without a colon.
    ("Bootstrap: docker\nFrom alpine\n", &[(2, 1, "def.header_without_colon")]),
    // Colon only inside the value: `From docker://x` has a space in its "key".
    (
        "Bootstrap: docker\n  From docker://alpine\n",
        &[(2, 3, "def.header_without_colon")],
    ),
    // Script text before the first section.
    (
        "Bootstrap: docker\nFrom: alpine\necho hi\n%post\n",
        &[(3, 1, "def.header_without_colon")],
    ),
    // Missing Bootstrap, no sections.
    ("From: alpine\n", &[(1, 1, "def.missing_bootstrap")]),
    // Empty file.
    ("", &[(1, 1, "def.missing_bootstrap")]),
    // Only comments.
    ("# nothing here\n\n", &[(1, 1, "def.missing_bootstrap")]),
    // Missing Bootstrap before the first section: reported at the section.
    (
        "From: alpine\n\n%post\n    echo\n%runscript\n",
        &[(3, 1, "def.missing_bootstrap")],
    ),
    // Unknown bootstrap agent, at the value's column.
    ("Bootstrap: dokcer\nFrom: alpine\n", &[(1, 12, "def.unknown_bootstrap")]),
    // Empty bootstrap value.
    ("Bootstrap:\n", &[(1, 11, "def.unknown_bootstrap")]),
    // Duplicate non-app section.
    (
        "Bootstrap: docker\n%post\n    a\n%labels\n    A b\n  %post\n    b\n",
        &[(6, 3, "def.duplicate_section")],
    ),
    // The same app section twice for one app.
    (
        "Bootstrap: docker\n%apprun foo\n    a\n%apprun foo\n    b\n%apprun bar\n",
        &[(4, 1, "def.duplicate_section")],
    ),
    // The same section in two stages is fine; twice in the second stage is not.
    (
        "Bootstrap: docker\n%post\nBootstrap: docker\n%post\n%post\n",
        &[(5, 1, "def.duplicate_section")],
    ),
    // App section without app name: column just after the section name.
    ("Bootstrap: docker\n%apprun\n    echo\n", &[(2, 8, "def.missing_app_name")]),
    (
        "Bootstrap: docker\n%appinstall   \n",
        &[(2, 15, "def.missing_app_name")],
    ),
    // `%files from` without a stage.
    (
        "Bootstrap: docker\nStage: a\nBootstrap: docker\n%files from\n    /x\n",
        &[(4, 8, "def.files_from_without_stage")],
    ),
    // `%files from X` with X not an earlier stage (here: a later one, and an unknown one).
    (
        "Bootstrap: docker\n%files from later\n    /x\nBootstrap: docker\nStage: later\n%files from nowhere\n",
        &[(2, 13, "def.unknown_stage"), (6, 13, "def.unknown_stage")],
    ),
    // A stage cannot copy from itself.
    (
        "Bootstrap: docker\nStage: self\n%files from self\n",
        &[(3, 13, "def.unknown_stage")],
    ),
    // Stage name used twice, at the second value.
    (
        "Bootstrap: docker\nStage: build\n%post\nBootstrap: docker\nStage:  build\n",
        &[(5, 9, "def.duplicate_stage_name")],
    ),
    // `-c` without an interpreter.
    ("Bootstrap: docker\n%post -c\n", &[(2, 7, "def.missing_argument_value")]),
    // Several errors at once, in file order; CRLF does not shift columns.
    (
        "Bootstrap: dockr\r\nFrom alpine\r\n%lables\r\n    a b\r\n%apprun\r\n",
        &[
            (1, 12, "def.unknown_bootstrap"),
            (2, 1, "def.header_without_colon"),
            (3, 1, "def.unknown_section"),
            (5, 8, "def.missing_app_name"),
        ],
    ),
    // A BOM is not counted as a column.
    ("\u{feff}Bootstrap: nope\n", &[(1, 12, "def.unknown_bootstrap")]),
];

#[test]
fn invalid_inputs_give_positioned_errors() {
    for (input, expected) in CASES {
        let errors = match Definition::parse(input) {
            Ok(_) => panic!("parsed without error: {input:?}"),
            Err(e) => e,
        };
        let got: Vec<(usize, usize, &str)> = errors
            .errors()
            .iter()
            .map(|e| (e.line, e.column, e.code()))
            .collect();
        assert_eq!(&got, expected, "input {input:?}:\n{errors}");
        for e in errors.errors() {
            assert!(!e.hint().is_empty());
            assert!(!e.message.is_empty());
        }
    }
}

#[test]
fn messages_say_what_was_expected() {
    let err = Definition::parse("Bootstrap: docker\n%enviroment\n").unwrap_err();
    let e = &err.errors()[0];
    assert_eq!(e.kind, ErrorKind::UnknownSection);
    assert!(
        e.message.contains("did you mean `%environment`"),
        "{}",
        e.message
    );

    let err = Definition::parse("Bootstrap: dokcer\n").unwrap_err();
    assert!(err.errors()[0].message.contains("did you mean `docker`"));

    let err = Definition::parse("Bootstrap: x\nFrom alpine\n").unwrap_err();
    let shown = err.to_string();
    let lines: Vec<&str> = shown.lines().collect();
    assert_eq!(lines.len(), 2);
    assert!(
        lines[0].starts_with("1:12: expected a bootstrap agent"),
        "{shown}"
    );
    assert!(
        lines[1].starts_with("2:1: expected a header line"),
        "{shown}"
    );
}
