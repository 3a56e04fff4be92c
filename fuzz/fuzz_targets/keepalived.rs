//! Fuzz target `keepalived`: any bytes, as the keepalived.conf that
//! `scenarios/l4-keepalived.ron` imports (`keepalived: "keepalived/lb1.conf"`), go through
//! everything the import does: reading (the file handed over in memory, as the browser
//! playground does, so no disk is touched), the lexer, the parser and its `include`s, the
//! mapping of `global_defs`, `vrrp_instance`, `virtual_server` and their checkers onto the
//! scenario, the validation of the result, and the printing of every diagnostic.
//!
//! The property: no panic, no abort, no hang, whatever the bytes. The file is read as UTF-8
//! with invalid bytes replaced (the disk reader refuses them with a located message, tested
//! apart); the target is the text a student could write.

#![no_main]

use std::collections::BTreeMap;

use libfuzzer_sys::fuzz_target;
use netlab::scenario::keepalived::with_files_in_memory;
use netlab::scenario::load::load_with_warnings;

/// The scenario that imports the fuzzed file.
const SCENARIO: &str = include_str!("../../scenarios/l4-keepalived.ron");

fuzz_target!(|data: &[u8]| {
    let conf = String::from_utf8_lossy(data).into_owned();
    let files = BTreeMap::from([("keepalived/lb1.conf".to_string(), conf)]);
    match with_files_in_memory(files, || load_with_warnings("l4-keepalived.ron", SCENARIO)) {
        Ok((_, warnings)) => {
            for warning in warnings {
                let _ = warning.to_string();
            }
        }
        Err(e) => {
            // The message must print (it is what the student reads).
            let _ = e.to_string();
        }
    }
});
