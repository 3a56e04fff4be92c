//! Broken scenario files get clear messages: `file:line:col`, the line, a caret and a hint.
//! Each file in `tests/it/bad/` is one mistake (or several); its rendered output is snapshotted.
//! Files are read as bytes, as `netlab check` reads them, so encoding mistakes (Latin-1,
//! UTF-16, a byte-order mark) are snapshotted too.

use netlab::scenario::load::{decode, load_str};

#[test]
fn broken_files_get_positioned_messages() {
    insta::glob!("bad", "*.ron", |path| {
        let bytes = std::fs::read(path).unwrap();
        let name = format!("bad/{}", path.file_name().unwrap().to_string_lossy());
        let error = decode(&name, bytes)
            .and_then(|source| load_str(&name, &source))
            .expect_err("a file in bad/ must not load");
        let text = error.to_string();
        assert!(
            text.contains(&format!("--> {name}:")),
            "no position in:\n{text}"
        );
        assert!(text.contains("= help:"), "no hint in:\n{text}");
        insta::assert_snapshot!(text);
    });
}

#[test]
fn all_semantic_errors_are_reported_together() {
    let source = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/bad/many-mistakes.ron"),
    )
    .unwrap();
    let error = load_str("many-mistakes.ron", &source).unwrap_err();
    assert!(error.diagnostics().len() >= 4, "{error}");
}

#[test]
fn garbage_never_panics() {
    let inputs = [
        "",
        "(",
        "Scenario(",
        "Scenario(name: 1)",
        "\u{0}\u{1}",
        "Scenario(nodes: [Router()])",
    ];
    for input in inputs {
        assert!(load_str("garbage.ron", input).is_err(), "{input:?} loaded");
    }
}
