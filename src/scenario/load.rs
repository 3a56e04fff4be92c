//! *Loading*: from a file's bytes to checked scenario types, with every error positioned.
//!
//! 1. Read the file ([`read_source`]): refuse what is not a regular file before opening it,
//!    refuse more than [`MAX_FILE_SIZE`] bytes, and decode UTF-8 (naming UTF-16, and
//!    pointing at any other byte that is not UTF-8).
//! 2. Parse it as RON into the file types of `format` ([`parse`]): syntax and type errors stop
//!    here, with ron's position, and `explain` says what went wrong in the scenario's words
//!    ("`delay` is a duration: 10 needs a unit", not ron's "expected string").
//! 3. Check it (`validate`): every semantic error is collected, not just the first.
//!
//! RON is read with two extensions on, so students can write less:
//! - *implicit Some*: an optional field takes `count: 5` as well as `count: Some(5)`;
//! - *unwrapped newtype variants*: `WebServer(name: "web", ...)` rather than
//!   `WebServer((name: "web", ...))`.
//!
//! The rule "unbreakable by input" holds here: every input gives a scenario or a
//! [`LoadError`], never a panic or a hang, and no error is ever bigger than a screenful.

use std::fs::{File, FileType};
use std::io::Read;
use std::path::Path;

use ron::extensions::Extensions;
use thiserror::Error;

use super::diagnostic::{Diagnostic, Locator, Severity};
use super::format::ScenarioFile;
use super::keepalived;
use super::model::Scenario;
use super::validate;

mod explain;

/// The largest scenario file read, in bytes: 1 MiB.
///
/// The biggest shipped scenario is under 6 KB, and a hand-written one a hundred times larger
/// is still far below this. The limit is there so that a wrong path (a log file, a disk
/// image, a file that keeps growing) is refused at once instead of filling memory. It is
/// checked from the file's metadata before reading, and again while reading.
pub const MAX_FILE_SIZE: u64 = 1024 * 1024;

/// Most semantic errors printed at once. A student fixes the first few and runs again; a
/// generated file with thousands of mistakes should not scroll them all past.
pub const MAX_SHOWN_ERRORS: usize = 50;

/// Why a scenario could not be loaded.
#[derive(Debug, Error)]
pub enum LoadError {
    /// The file could not be read (it does not exist, or may not be read).
    #[error(
        "{}",
        file_error(path, &format!("cannot read {path}: {source}"),
            "check the path; `netlab list` shows the scenarios in scenarios/")
    )]
    Io {
        /// The file.
        path: String,
        /// The reason.
        source: std::io::Error,
    },
    /// The path is not a regular file: a folder, a named pipe, a device or a socket.
    #[error(
        "{}",
        file_error(path, &format!("{path} is {kind}, not a scenario file"),
            "give the path of a .ron file, such as scenarios/00-hello-web.ron \
             (`netlab list` shows them)")
    )]
    NotAFile {
        /// The path.
        path: String,
        /// What it is instead, such as "a folder".
        kind: &'static str,
    },
    /// The file is larger than [`MAX_FILE_SIZE`].
    #[error(
        "{}",
        file_error(path, &match size {
            Some(size) => format!("{path} is {size} bytes; a scenario file is at most {MAX_FILE_SIZE} bytes (1 MiB)"),
            None => format!("{path} is larger than {MAX_FILE_SIZE} bytes (1 MiB), the most a scenario file may be"),
        }, "scenario files are a few KB: is this the right file?")
    )]
    TooLarge {
        /// The file.
        path: String,
        /// Its size, if known before reading.
        size: Option<u64>,
    },
    /// The file is text in a wide encoding, such as UTF-16, rather than UTF-8.
    #[error("{}", wrong_encoding(path, encoding, first_line))]
    WrongEncoding {
        /// The file.
        path: String,
        /// The encoding it seems to be in, such as "UTF-16 (little-endian)".
        encoding: &'static str,
        /// Its first line, decoded from that encoding, to show the student their own text.
        first_line: String,
    },
    /// A byte of the file is not UTF-8 (the file was saved as Latin-1, or is not text).
    /// (Boxed, like `Syntax`'s, to keep every `Result<_, LoadError>` small.)
    #[error("{0}")]
    NotUtf8(Box<Diagnostic>),
    /// The text is not a valid scenario (syntax, unknown field, wrong type).
    #[error("{0}")]
    Syntax(Box<Diagnostic>),
    /// The scenario is well-formed but wrong (unknown names, bad addresses...).
    #[error("{}", render_all(.0))]
    Invalid(Vec<Diagnostic>),
}

impl LoadError {
    /// The diagnostics, for tests and tools.
    pub fn diagnostics(&self) -> Vec<&Diagnostic> {
        match self {
            LoadError::Io { .. }
            | LoadError::NotAFile { .. }
            | LoadError::TooLarge { .. }
            | LoadError::WrongEncoding { .. } => Vec::new(),
            LoadError::NotUtf8(d) | LoadError::Syntax(d) => vec![d.as_ref()],
            LoadError::Invalid(ds) => ds.iter().collect(),
        }
    }
}

/// How to save a file as UTF-8, for encoding errors.
const SAVE_AS_UTF8: &str = "in your editor, save the file with the encoding UTF-8 \
    (VS Code: click the encoding in the status bar, then \"Save with Encoding\"; \
    Notepad: \"Save as\", then Encoding: UTF-8)";

/// A file in the wrong encoding, shown as a diagnostic on its first line.
fn wrong_encoding(path: &str, encoding: &str, first_line: &str) -> String {
    Diagnostic {
        severity: Severity::Error,
        file: path.to_string(),
        line: 1,
        col: 1,
        width: 1,
        source_line: first_line.to_string(),
        source_start: 0,
        message: format!("this file is {encoding}; save it as UTF-8"),
        help: Some(SAVE_AS_UTF8.to_string()),
        note: None,
    }
    .to_string()
}

/// An error about the whole file, which has no line to show.
fn file_error(path: &str, message: &str, help: &str) -> String {
    format!("error: {message}\n --> {path}\n  = help: {help}")
}

/// The diagnostics, separated by blank lines, at most [`MAX_SHOWN_ERRORS`] of them, with a
/// count at the end.
fn render_all(diagnostics: &[Diagnostic]) -> String {
    let mut text = String::new();
    for d in diagnostics.iter().take(MAX_SHOWN_ERRORS) {
        text.push_str(&d.to_string());
        text.push_str("\n\n");
    }
    let count = diagnostics.len();
    if count > MAX_SHOWN_ERRORS {
        text.push_str(&format!(
            "{count} errors found; the first {MAX_SHOWN_ERRORS} are shown"
        ));
    } else {
        text.push_str(&format!(
            "{count} error{} found",
            if count == 1 { "" } else { "s" }
        ));
    }
    text
}

/// Reads and checks the scenario in `path`.
pub fn load_file(path: &Path) -> Result<Scenario, LoadError> {
    let source = read_source(path)?;
    load_str(&path.display().to_string(), &source)
}

/// Step 1: the text of the scenario file at `path`.
///
/// The path is looked at before it is opened: a folder, a named pipe (FIFO), a device such
/// as `/dev/zero` or a socket is refused without being opened, since opening a pipe waits for
/// a writer and a device may never end. Then the size is checked from the metadata, and
/// again while reading, which stops after [`MAX_FILE_SIZE`] + 1 bytes.
///
/// Simplification: a path swapped for a pipe between the look and the open would still make
/// the open wait; only a program racing netlab on purpose can do that.
pub fn read_source(path: &Path) -> Result<String, LoadError> {
    let name = path.display().to_string();
    let io = |source| LoadError::Io {
        path: name.clone(),
        source,
    };
    let not_a_file = |kind| LoadError::NotAFile {
        path: name.clone(),
        kind,
    };
    // 1. Look before opening.
    let metadata = std::fs::metadata(path).map_err(io)?;
    if let Some(kind) = not_a_regular_file(metadata.file_type()) {
        return Err(not_a_file(kind));
    }
    if metadata.len() > MAX_FILE_SIZE {
        return Err(LoadError::TooLarge {
            path: name,
            size: Some(metadata.len()),
        });
    }
    // 2. Open, and look again at what was opened.
    let file = File::open(path).map_err(io)?;
    let opened = file.metadata().map_err(io)?;
    if let Some(kind) = not_a_regular_file(opened.file_type()) {
        return Err(not_a_file(kind));
    }
    // 3. Read at most one byte more than allowed: enough to know a file that grew is too big.
    let capacity = opened.len().min(MAX_FILE_SIZE) as usize;
    let mut bytes = Vec::with_capacity(capacity);
    file.take(MAX_FILE_SIZE + 1)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() as u64 > MAX_FILE_SIZE {
        return Err(LoadError::TooLarge {
            path: name,
            size: None,
        });
    }
    decode(&name, bytes)
}

/// What a path is, if not a regular file.
fn not_a_regular_file(file_type: FileType) -> Option<&'static str> {
    if file_type.is_file() {
        return None;
    }
    if file_type.is_dir() {
        return Some("a folder");
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if file_type.is_fifo() {
            return Some("a named pipe (FIFO)");
        }
        if file_type.is_char_device() || file_type.is_block_device() {
            return Some("a device");
        }
        if file_type.is_socket() {
            return Some("a socket");
        }
    }
    Some("not a regular file")
}

/// The text of a file's bytes: UTF-8, with a leading byte-order mark dropped. `file` names it
/// in errors.
pub fn decode(file: &str, mut bytes: Vec<u8>) -> Result<String, LoadError> {
    // Windows editors may start UTF-8 files with a byte-order mark; it is not text.
    if bytes.starts_with(&[0xEF, 0xBB, 0xBF]) {
        bytes.drain(..3);
    }
    // UTF-16 with mostly ASCII text is valid UTF-8 (full of NUL bytes), so look for it first.
    if let Some((encoding, width, big_endian)) = wide_encoding(&bytes) {
        return Err(LoadError::WrongEncoding {
            path: file.to_string(),
            encoding,
            first_line: first_wide_line(&bytes, width, big_endian),
        });
    }
    String::from_utf8(bytes).map_err(|e| {
        let bytes = e.as_bytes();
        LoadError::NotUtf8(Box::new(not_utf8(
            file,
            bytes,
            e.utf8_error().valid_up_to(),
        )))
    })
}

/// The encoding of text in two or four bytes per character, if `bytes` is such text: by its
/// byte-order mark, or, without one, by the NUL byte beside every ASCII character. Returns
/// its name, its bytes per unit, and whether it is big-endian.
fn wide_encoding(bytes: &[u8]) -> Option<(&'static str, usize, bool)> {
    match bytes {
        [0xFF, 0xFE, 0, 0, ..] => return Some(("UTF-32 (little-endian)", 4, false)),
        [0, 0, 0xFE, 0xFF, ..] => return Some(("UTF-32 (big-endian)", 4, true)),
        [0xFF, 0xFE, ..] => return Some(("UTF-16 (little-endian)", 2, false)),
        [0xFE, 0xFF, ..] => return Some(("UTF-16 (big-endian)", 2, true)),
        _ => {}
    }
    // Without a mark: in the first 256 pairs of bytes, three quarters or more of the shape
    // (letter, NUL) or (NUL, letter). Text in UTF-8 has no NUL bytes at all.
    let pairs: Vec<&[u8]> = bytes.chunks_exact(2).take(256).collect();
    let little = pairs.iter().filter(|p| p[0] != 0 && p[1] == 0).count();
    let big = pairs.iter().filter(|p| p[0] == 0 && p[1] != 0).count();
    if pairs.is_empty() {
        None
    } else if little * 4 >= pairs.len() * 3 {
        Some(("UTF-16 (little-endian)", 2, false))
    } else if big * 4 >= pairs.len() * 3 {
        Some(("UTF-16 (big-endian)", 2, true))
    } else {
        None
    }
}

/// The first line of text in units of `width` bytes (2 for UTF-16, 4 for UTF-32), decoded
/// leniently (surrogate pairs and invalid units become `�`), without its byte-order mark.
fn first_wide_line(bytes: &[u8], width: usize, big_endian: bool) -> String {
    bytes
        .chunks_exact(width)
        .map(|unit| {
            let unit = if big_endian {
                unit.iter().fold(0u32, |n, &b| n << 8 | u32::from(b))
            } else {
                unit.iter().rev().fold(0u32, |n, &b| n << 8 | u32::from(b))
            };
            char::from_u32(unit).unwrap_or('\u{fffd}')
        })
        .skip_while(|&c| c == '\u{feff}')
        .take_while(|&c| c != '\n')
        .take(1000)
        .filter(|&c| c != '\r')
        .collect()
}

/// A diagnostic on the first byte that is not UTF-8, at byte offset `bad`.
fn not_utf8(file: &str, bytes: &[u8], bad: usize) -> Diagnostic {
    // Everything before `bad` is valid UTF-8, so lines and columns are counted as usual.
    let valid = std::str::from_utf8(&bytes[..bad]).unwrap_or_default();
    let line_start = valid.rfind('\n').map_or(0, |i| i + 1);
    let line_end = bytes[bad..]
        .iter()
        .position(|&b| b == b'\n')
        .map_or(bytes.len(), |i| bad + i);
    let line = String::from_utf8_lossy(&bytes[line_start..line_end]);
    let byte = bytes[bad];
    let guess = match byte {
        0xA0..=0xFF => format!(
            "; in Latin-1 and Windows-1252, byte 0x{byte:02X} is `{}`",
            char::from(byte)
        ),
        _ => "; the file was probably saved as Latin-1 or Windows-1252".to_string(),
    };
    Diagnostic {
        severity: Severity::Error,
        file: file.to_string(),
        line: valid.matches('\n').count() + 1,
        col: valid[line_start..].chars().count() + 1,
        width: 1,
        source_line: line.trim_end_matches('\r').to_string(),
        source_start: 0,
        message: format!("byte 0x{byte:02X} is not UTF-8 text"),
        help: Some(format!("{SAVE_AS_UTF8}{guess}")),
        note: None,
    }
}

/// Parses and checks a scenario's text; `file` names it in diagnostics. Any text gives a
/// scenario or an error, never a panic.
pub fn load_str(file: &str, source: &str) -> Result<Scenario, LoadError> {
    load_with_warnings(file, source).map(|(scenario, _)| scenario)
}

/// [`load_str`], also returning the warnings of the keepalived.conf files the scenario
/// names (keywords netlab does not model). `file`'s folder is where those files are looked
/// for.
pub fn load_with_warnings(
    file: &str,
    source: &str,
) -> Result<(Scenario, Vec<Diagnostic>), LoadError> {
    if source.len() as u64 > MAX_FILE_SIZE {
        return Err(LoadError::TooLarge {
            path: file.to_string(),
            size: Some(source.len() as u64),
        });
    }
    let mut parsed = parse(file, source)?;
    let (warnings, addresses) = import_keepalived(file, source, &mut parsed)?;
    let scenario =
        validate::validate(&parsed, &Locator::new(file, source)).map_err(|mut problems| {
            keepalived::relocate(&mut problems, &addresses);
            LoadError::Invalid(problems)
        })?;
    Ok((scenario, warnings))
}

/// For each node configured by a keepalived.conf, the addresses its file writes (see
/// `keepalived::relocate`).
pub type ConfAddresses = Vec<(String, Vec<(String, Diagnostic)>)>;

/// Step 2½: puts into `parsed` what the keepalived.conf files it names say (see
/// `scenario::keepalived`). Returns the warnings and where the files write their addresses,
/// or every error (warnings are dropped then: the errors come first).
pub fn import_keepalived(
    file: &str,
    source: &str,
    parsed: &mut ScenarioFile,
) -> Result<(Vec<Diagnostic>, ConfAddresses), LoadError> {
    let source = source.strip_prefix('\u{feff}').unwrap_or(source);
    let found = keepalived::import(parsed, file, &Locator::new(file, source));
    let (errors, warnings): (Vec<Diagnostic>, Vec<Diagnostic>) = found
        .diagnostics
        .into_iter()
        .partition(|d| d.severity == Severity::Error);
    if errors.is_empty() {
        Ok((warnings, found.addresses))
    } else {
        Err(LoadError::Invalid(errors))
    }
}

/// Step 2: RON text to file types. A leading byte-order mark is skipped.
pub fn parse(file: &str, source: &str) -> Result<ScenarioFile, LoadError> {
    let source = source.strip_prefix('\u{feff}').unwrap_or(source);
    ron_options()
        .from_str::<ScenarioFile>(source)
        .map_err(|error| {
            LoadError::Syntax(Box::new(explain::explain(
                &Locator::new(file, source),
                &error,
            )))
        })
}

/// The RON options every scenario is read with.
fn ron_options() -> ron::Options {
    ron::Options::default()
        .with_default_extension(Extensions::IMPLICIT_SOME | Extensions::UNWRAP_VARIANT_NEWTYPES)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_files_with_a_mark_decode_without_it() {
        let mut bytes = vec![0xEF, 0xBB, 0xBF];
        bytes.extend_from_slice(b"Scenario()");
        assert_eq!(decode("t.ron", bytes).unwrap(), "Scenario()");
    }

    #[test]
    fn wide_encodings_are_named() {
        let utf16 = |big: bool, mark: bool| {
            let mut bytes = Vec::new();
            let units = mark
                .then_some(0xFEFF_u16)
                .into_iter()
                .chain("Scenario()".encode_utf16());
            for unit in units {
                bytes.extend(if big {
                    unit.to_be_bytes()
                } else {
                    unit.to_le_bytes()
                });
            }
            bytes
        };
        let encoding = |bytes| match decode("t.ron", bytes) {
            Err(LoadError::WrongEncoding {
                encoding,
                first_line,
                ..
            }) => {
                assert_eq!(first_line, "Scenario()");
                encoding
            }
            other => panic!("{other:?}"),
        };
        assert_eq!(encoding(utf16(false, true)), "UTF-16 (little-endian)");
        assert_eq!(encoding(utf16(true, true)), "UTF-16 (big-endian)");
        assert_eq!(encoding(utf16(false, false)), "UTF-16 (little-endian)");
        assert_eq!(encoding(utf16(true, false)), "UTF-16 (big-endian)");
        let utf32: Vec<u8> = std::iter::once('\u{feff}')
            .chain("Scenario()\r\n)".chars())
            .flat_map(|c| u32::from(c).to_le_bytes())
            .collect();
        assert_eq!(encoding(utf32), "UTF-32 (little-endian)");
        let text = decode("t.ron", utf16(false, true)).unwrap_err().to_string();
        assert!(
            text.contains("this file is UTF-16 (little-endian); save it as UTF-8"),
            "{text}"
        );
        assert!(text.contains("= help: in your editor"), "{text}");
    }

    #[test]
    fn a_latin1_byte_is_located() {
        let bytes = b"Scenario(\n  name: \"caf\xE9\",\n)".to_vec();
        let Err(LoadError::NotUtf8(d)) = decode("t.ron", bytes) else {
            panic!("not refused");
        };
        assert_eq!((d.line, d.col), (2, 13));
        let text = d.to_string();
        assert!(text.contains("byte 0xE9 is not UTF-8"), "{text}");
        assert!(text.contains("2 |   name: \"caf\u{fffd}\","), "{text}");
        assert!(text.contains("  |             ^\n"), "{text}");
        assert!(text.contains("byte 0xE9 is `é`"), "{text}");
    }

    #[test]
    fn text_larger_than_the_limit_is_refused() {
        let big = " ".repeat(MAX_FILE_SIZE as usize + 1);
        assert!(matches!(
            load_str("t.ron", &big),
            Err(LoadError::TooLarge { size: Some(_), .. })
        ));
    }

    #[test]
    fn garbage_never_panics() {
        let deep = "[".repeat(100_000);
        let deep_field = format!("Scenario(nodes: [WebServer(x: {})])", "(".repeat(100_000));
        let inputs = [
            "",
            "\u{feff}",
            "\u{feff}\u{feff}",
            "\0",
            "Scenario(\"",
            "Scenario(/*",
            "r#\"",
            "Scenario(name: -)",
            "Scenario(seed: -99999999999999999999999)",
            "'",
            "Scenario('",
            "Scenario(name: \"\\u{110000}\")",
            "Scenario(nodes: [Clients(",
            &deep,
            &deep_field,
            "Scenario(name: b\"x\")",
            "é",
            "Scenario(é: 1)",
            "Scenario(\r\n\r\n",
        ];
        for input in inputs {
            let result = load_str("g.ron", input);
            assert!(result.is_err(), "{input:?} loaded");
            let text = result.unwrap_err().to_string();
            assert!(text.contains("= help:"), "{input:?}:\n{text}");
        }
    }

    #[test]
    fn many_errors_are_cut_short() {
        let d = Locator::new("t.ron", "x").at_offset(0, 1, "m".into());
        let text = render_all(&vec![d; 500]);
        assert_eq!(text.matches("error: m").count(), MAX_SHOWN_ERRORS);
        assert!(
            text.ends_with("500 errors found; the first 50 are shown"),
            "{text}"
        );
    }
}
