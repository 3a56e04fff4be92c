//! Reading scenario files from disk: what is not a regular file, too big, or not UTF-8 is
//! refused quickly, with a message that names the problem; a byte-order mark is accepted.
//!
//! Each test writes its files into its own folder under the system's temporary folder.

use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use netlab::scenario::load::MAX_FILE_SIZE;
use netlab::scenario::{LoadError, Scenario, load_file};

/// A small valid scenario.
const HELLO: &str = r#"Scenario(
    name: "hello",
    description: "one client, one server",
    segments: [(name: "lan")],
    nodes: [
        WebServer(name: "web", interface: (attach: "lan", ip: "10.0.0.10/24")),
        Clients(name: "pc", attach: "lan", first_ip: "10.0.0.100/24",
                url: "http://10.0.0.10/", workload: OpenLoop(rate: 1.0, requests: 1)),
    ],
)
"#;

/// A fresh, empty folder for the test `name`.
fn folder(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("netlab-loading-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Loads `path` on another thread, failing the test if that takes more than a few seconds
/// (a FIFO or a device must be refused, not waited on or read).
fn load_quickly(path: &Path) -> Result<Scenario, LoadError> {
    let (tx, rx) = mpsc::channel();
    let owned = path.to_path_buf();
    std::thread::spawn(move || {
        let _ = tx.send(load_file(&owned));
    });
    rx.recv_timeout(Duration::from_secs(5))
        .unwrap_or_else(|_| panic!("loading {} did not return", path.display()))
}

#[test]
fn a_utf8_byte_order_mark_is_accepted() {
    let dir = folder("bom");
    let path = dir.join("bom.ron");
    let mut bytes = vec![0xEF, 0xBB, 0xBF];
    bytes.extend_from_slice(HELLO.as_bytes());
    std::fs::write(&path, bytes).unwrap();
    let scenario = load_file(&path).unwrap();
    assert_eq!(scenario.nodes.len(), 2);
    // After the mark, columns of line 1 still count from its first real character.
    let mut bytes = vec![0xEF, 0xBB, 0xBF];
    bytes.extend_from_slice(b"Scenario(nme: \"x\")");
    std::fs::write(&path, bytes).unwrap();
    let error = load_file(&path).unwrap_err();
    assert_eq!(error.diagnostics()[0].col, 10, "{error}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn utf16_files_are_named_in_both_byte_orders() {
    let dir = folder("utf16");
    for (big, name) in [(false, "little-endian"), (true, "big-endian")] {
        let path = dir.join(format!("{name}.ron"));
        let mut bytes = Vec::new();
        for unit in std::iter::once(0xFEFF).chain(HELLO.encode_utf16()) {
            bytes.extend(if big {
                u16::to_be_bytes(unit)
            } else {
                u16::to_le_bytes(unit)
            });
        }
        std::fs::write(&path, bytes).unwrap();
        let error = load_file(&path).unwrap_err();
        assert!(
            matches!(error, LoadError::WrongEncoding { .. }),
            "{error:?}"
        );
        let text = error.to_string();
        assert!(
            text.contains(&format!("this file is UTF-16 ({name}); save it as UTF-8")),
            "{text}"
        );
        assert!(text.contains("= help: in your editor"), "{text}");
    }
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_latin1_byte_is_located() {
    let dir = folder("latin1");
    let path = dir.join("latin1.ron");
    let text = HELLO.replace("one client, one server", "caf\u{e9}");
    let bytes: Vec<u8> = text.chars().map(|c| c as u8).collect();
    std::fs::write(&path, bytes).unwrap();
    let error = load_file(&path).unwrap_err();
    let d = error.diagnostics()[0].clone();
    assert_eq!((d.line, d.col), (3, 22), "{error}");
    let text = error.to_string();
    assert!(text.contains("byte 0xE9 is not UTF-8"), "{text}");
    assert!(
        text.contains("3 |     description: \"caf\u{fffd}\","),
        "{text}"
    );
    assert!(text.contains("  |                      ^\n"), "{text}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_folder_is_refused() {
    let dir = folder("folder");
    let error = load_quickly(&dir).unwrap_err();
    assert!(
        matches!(
            error,
            LoadError::NotAFile {
                kind: "a folder",
                ..
            }
        ),
        "{error:?}"
    );
    assert!(
        error
            .to_string()
            .contains("is a folder, not a scenario file")
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_missing_file_is_an_io_error() {
    let dir = folder("missing");
    let error = load_quickly(&dir.join("nope.ron")).unwrap_err();
    assert!(matches!(error, LoadError::Io { .. }), "{error:?}");
    assert!(error.to_string().contains("cannot read"), "{error}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[cfg(unix)]
#[test]
fn a_fifo_without_a_writer_is_refused_at_once() {
    let dir = folder("fifo");
    let path = dir.join("pipe.ron");
    let made = std::process::Command::new("mkfifo").arg(&path).status();
    if !made.is_ok_and(|s| s.success()) {
        eprintln!("mkfifo is not available; skipping");
        return;
    }
    let error = load_quickly(&path).unwrap_err();
    assert!(
        matches!(
            error,
            LoadError::NotAFile {
                kind: "a named pipe (FIFO)",
                ..
            }
        ),
        "{error:?}"
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[cfg(unix)]
#[test]
fn dev_zero_is_refused_without_being_read() {
    let error = load_quickly(Path::new("/dev/zero")).unwrap_err();
    assert!(
        matches!(
            error,
            LoadError::NotAFile {
                kind: "a device",
                ..
            }
        ),
        "{error:?}"
    );
}

#[test]
fn an_oversized_file_is_refused_from_its_size() {
    let dir = folder("big");
    // A sparse file: 100 MiB by its size, almost nothing on disk. Reading it all would be
    // slow; refusing it from its metadata is instant.
    let path = dir.join("big.ron");
    let file = std::fs::File::create(&path).unwrap();
    file.set_len(100 * 1024 * 1024).unwrap();
    let error = load_quickly(&path).unwrap_err();
    assert!(
        matches!(error, LoadError::TooLarge { size: Some(s), .. } if s == 100 * 1024 * 1024),
        "{error:?}"
    );
    // One byte over the limit is too much; exactly the limit is read (and then parsed).
    file.set_len(MAX_FILE_SIZE + 1).unwrap();
    assert!(matches!(
        load_quickly(&path),
        Err(LoadError::TooLarge { .. })
    ));
    std::fs::write(&path, " ".repeat(MAX_FILE_SIZE as usize)).unwrap();
    assert!(matches!(load_quickly(&path), Err(LoadError::Syntax(_))));
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn windows_line_endings_load_and_are_not_shown() {
    let dir = folder("crlf");
    let path = dir.join("crlf.ron");
    std::fs::write(&path, HELLO.replace('\n', "\r\n")).unwrap();
    load_file(&path).unwrap();
    std::fs::write(
        &path,
        HELLO
            .replace('\n', "\r\n")
            .replace("(name: \"lan\")]", "(nme: \"lan\")]"),
    )
    .unwrap();
    let error = load_file(&path).unwrap_err();
    let d = error.diagnostics()[0].clone();
    assert_eq!((d.line, d.col), (4, 17), "{error}");
    assert!(!error.to_string().contains('\r'), "{error:?}");
    std::fs::remove_dir_all(dir).unwrap();
}
