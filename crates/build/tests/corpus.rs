//! Every file of `tests/corpus` parses without error and writes back byte for byte; a few
//! files are checked in detail for what the model says about them.

use std::path::{Path, PathBuf};

use berth_build::{Definition, LineEnding, SectionKind};

fn corpus_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus")
}

fn load(name: &str) -> (String, Definition) {
    let text = std::fs::read_to_string(corpus_dir().join(name)).unwrap();
    let def = Definition::parse(&text).unwrap_or_else(|e| panic!("{name}:\n{e}"));
    (text, def)
}

#[test]
fn every_corpus_file_parses_and_round_trips() {
    let mut names: Vec<String> = std::fs::read_dir(corpus_dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".def"))
        .collect();
    names.sort();
    assert!(names.len() >= 25, "corpus has only {} files", names.len());
    for name in &names {
        let (text, def) = load(name);
        assert_eq!(def.to_text(), text, "{name} did not round-trip");
        assert!(def.final_stage().bootstrap().is_some(), "{name}");
    }
}

#[test]
fn full_docker_file_has_every_section_in_order() {
    let (_, def) = load("02-docker-full.def");
    let stage = def.final_stage();
    assert_eq!(stage.bootstrap().as_deref(), Some("docker"));
    assert_eq!(stage.from(), Some("debian:bookworm-slim"));
    let kinds: Vec<SectionKind> = stage.sections().iter().map(|s| s.kind()).collect();
    use SectionKind::*;
    assert_eq!(
        kinds,
        [
            Setup,
            Files,
            Environment,
            Post,
            Runscript,
            Startscript,
            Test,
            Labels,
            Help
        ]
    );
    let files = stage.files();
    assert_eq!(
        (files[0].src.as_str(), files[0].dest.as_str()),
        ("notes.txt", "/opt/notes.txt")
    );
    assert_eq!(
        (files[1].src.as_str(), files[1].dest.as_str()),
        ("config.yaml", "config.yaml")
    );
    assert_eq!(files[1].line, 9);
    assert_eq!(
        stage.labels(),
        [
            ("Author".to_string(), "builder@example.org".to_string()),
            ("Version".to_string(), "v0.0.1".to_string())
        ]
    );
    assert!(stage.environment().unwrap().contains("export LC_ALL=C\n"));
    assert!(stage
        .runscript()
        .unwrap()
        .starts_with("    echo \"Arguments"));
    assert!(stage.help().unwrap().contains("Use it with care."));
    assert!(stage.needs_execution());
    assert!(!stage.local_buildable());
}

#[test]
fn multi_stage_files_from() {
    let (_, def) = load("07-multistage.def");
    assert_eq!(def.stages().len(), 2);
    assert_eq!(def.stages()[0].name(), Some("build"));
    let last = def.final_stage();
    assert_eq!(last.name(), Some("final"));
    let from = &last.sections()[0];
    assert_eq!(from.kind(), SectionKind::Files);
    assert_eq!(from.from_stage(), Some("build"));
    assert_eq!(from.files()[0].dest, "/usr/local/bin/hello");
    assert!(def.stage("build").unwrap().needs_execution());
    assert!(last.local_buildable());
    assert!(!def.local_buildable());

    let (_, def) = load("08-three-stages.def");
    assert_eq!(def.stages().len(), 3);
    let froms: Vec<Option<&str>> = def
        .final_stage()
        .sections()
        .iter()
        .map(|s| s.from_stage())
        .collect();
    assert_eq!(froms, [Some("deps"), Some("compile"), None]);
    assert_eq!(def.final_stage().files().len(), 3);
}

#[test]
fn apps_are_grouped_by_name() {
    let (_, def) = load("09-apps.def");
    let stage = def.final_stage();
    assert_eq!(stage.apps(), ["foo", "bar"]);
    let run = stage.app_section(SectionKind::AppRun, "bar").unwrap();
    assert_eq!(run.body(), "    echo \"RUNNING BAR\"\n\n");
    let labels = stage
        .app_section(SectionKind::AppLabels, "foo")
        .unwrap()
        .labels();
    assert_eq!(labels, [("BESTAPP".to_string(), "FOO".to_string())]);
    assert!(stage.needs_execution());
}

#[test]
fn arguments_with_and_without_defaults() {
    let (_, def) = load("10-arguments.def");
    let args = def.final_stage().arguments();
    let pairs: Vec<(&str, Option<&str>)> = args
        .iter()
        .map(|a| (a.name.as_str(), a.default.as_deref()))
        .collect();
    assert_eq!(
        pairs,
        [
            ("UBUNTU_VERSION", Some("22.04")),
            ("GREETING", Some("\"hello there\"")),
            ("NO_DEFAULT", None)
        ]
    );
}

#[test]
fn line_endings_and_bom_are_remembered() {
    let (text, def) = load("11-crlf.def");
    assert_eq!(def.line_ending(), LineEnding::CrLf);
    assert!(!def.has_bom());
    // Bodies keep their CRLF; structured views do not see the CR.
    assert_eq!(def.final_stage().labels()[0].1, "Notepad");
    assert!(text.contains("\r\n"));

    let (_, def) = load("34-bom-crlf.def");
    assert!(def.has_bom());
    assert_eq!(def.line_ending(), LineEnding::CrLf);
    assert_eq!(def.final_stage().bootstrap().as_deref(), Some("docker"));

    let (_, def) = load("01-docker-minimal.def");
    assert_eq!(def.line_ending(), LineEnding::Lf);
    assert!(def.final_stage().sections().is_empty());
    assert!(def.local_buildable());
}

#[test]
fn comments_in_scripts_are_body_text() {
    let (_, def) = load("12-comments-everywhere.def");
    let stage = def.final_stage();
    let post = stage.post().unwrap();
    assert!(post.contains("# this comment is part of the post script"));
    assert!(post.contains("# column-one comment inside the body"));
    assert_eq!(
        stage.labels(),
        [("Maintainer".to_string(), "someone".to_string())]
    );
    assert_eq!(stage.header_lines().len(), 8);
}

#[test]
fn odd_spacing_and_section_arguments() {
    let (_, def) = load("13-odd-spacing.def");
    let stage = def.final_stage();
    assert_eq!(stage.bootstrap().as_deref(), Some("docker"));
    assert_eq!(stage.from(), Some("alpine:3.19"));
    assert_eq!(stage.get("osversion"), Some("ignored-here"));
    assert_eq!(
        stage.section(SectionKind::Runscript).unwrap().shell(),
        Some("/bin/sh")
    );
    assert_eq!(
        stage.labels(),
        [
            ("Key1".to_string(), "value with   spaces".to_string()),
            ("Key2".to_string(), "value\twith\ttabs".to_string())
        ]
    );
    let (_, def) = load("18-post-shell.def");
    assert_eq!(
        def.final_stage()
            .section(SectionKind::Post)
            .unwrap()
            .shell(),
        Some("/bin/bash")
    );
}

#[test]
fn percent_lines_inside_scripts_stay_in_the_body() {
    let (_, def) = load("17-percent-lines-in-post.def");
    let stage = def.final_stage();
    assert_eq!(stage.sections().len(), 1);
    let post = stage.post().unwrap();
    assert!(post.contains("  %_topdir /root/rpmbuild\n"));
    assert!(post.contains("%{not_a_section}\n%% also not a section\n"));

    let (_, def) = load("15-help-percent.def");
    assert_eq!(def.final_stage().sections().len(), 1);

    let (_, def) = load("29-indented-sections.def");
    assert_eq!(def.final_stage().sections().len(), 2);
}

#[test]
fn unknown_header_keys_are_kept_with_a_warning() {
    let (_, def) = load("20-unknown-header-key.def");
    assert_eq!(def.warnings().len(), 1);
    let w = &def.warnings()[0];
    assert_eq!((w.line, w.column, w.code), (3, 1, "def.unknown_header_key"));
    assert_eq!(
        def.final_stage().get("mycustomkey"),
        Some("kept with a warning")
    );

    let (_, def) = load("22-yum.def");
    assert!(def.warnings().is_empty(), "{:?}", def.warnings());
}

#[test]
fn case_insensitive_keywords_and_sections() {
    let (_, def) = load("19-uppercase-keys.def");
    let stage = def.final_stage();
    assert_eq!(stage.bootstrap().as_deref(), Some("docker"));
    assert_eq!(stage.name(), Some("only"));
    assert!(stage.post().is_some());
    assert_eq!(stage.labels().len(), 1);
}
