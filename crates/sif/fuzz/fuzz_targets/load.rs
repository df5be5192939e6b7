//! Loads arbitrary bytes as a SIF image and walks every decoded field and object reader.
//! Run with `cargo fuzz run load` from `crates/sif`.
#![no_main]

// The same walk the no-panic test in `tests/malformed.rs` runs.
#[path = "../../tests/support/walk.rs"]
mod walk;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    walk::walk(data);
});
