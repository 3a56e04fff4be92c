//! Fuzz target `check`: any bytes, read as a scenario file, go through everything
//! `netlab check` does: decoding (UTF-8, BOM, UTF-16 and other encodings named), parsing,
//! validation, the lints, and the printing of every diagnostic.
//!
//! The property: no panic, no abort, no hang, whatever the bytes. libFuzzer's `-timeout` and
//! `-rss_limit_mb` turn a hang or runaway allocation into a finding.

#![no_main]

use libfuzzer_sys::fuzz_target;
use netlab::scenario::{self, diagnostic::Locator};

fuzz_target!(|data: &[u8]| {
    let file = "fuzz.ron";
    let source = match scenario::load::decode(file, data.to_vec()) {
        Ok(source) => source,
        Err(e) => {
            // The message must print (it is what the student reads).
            let _ = e.to_string();
            return;
        }
    };
    match scenario::load_str(file, &source) {
        Ok(checked) => {
            for warning in scenario::lint::lint(&checked, &Locator::new(file, &source)) {
                let _ = warning.to_string();
            }
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
});
