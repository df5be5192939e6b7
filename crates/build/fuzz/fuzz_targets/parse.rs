//! Parses arbitrary text as a definition file: it must never panic, and whatever parses must
//! write back byte for byte. Run with `cargo fuzz run parse` from `crates/build`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    // Definition files are text; invalid UTF-8 is the caller's problem (it cannot be opened
    // in the editor either), so only valid strings reach the parser.
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(def) = berth_build::Definition::parse(text) {
        assert_eq!(def.to_text(), text, "round trip changed the text");
    }
});
