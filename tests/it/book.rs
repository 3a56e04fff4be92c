//! The book: every image a page shows exists, and every chart stored for the book is one a
//! page shows (the scenario snapshot test checks that each is up to date).

use std::path::{Path, PathBuf};

use super::support::root;

/// Every `.md` file under `dir`.
fn pages(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            found.extend(pages(&path));
        } else if path.extension().is_some_and(|e| e == "md") {
            found.push(path);
        }
    }
    found
}

/// Every stored chart under `dir`.
fn charts(dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            found.extend(charts(&path));
        } else {
            found.push(path);
        }
    }
    found
}

#[test]
fn every_image_in_the_book_exists_and_every_stored_chart_is_shown() {
    let src = root().join("book/src");
    let mut shown = Vec::new();
    for page in pages(&src) {
        let text = std::fs::read_to_string(&page).unwrap();
        for image in text.split("![").skip(1) {
            let Some(start) = image.find("](") else {
                continue;
            };
            let target = &image[start + 2..];
            let target = &target[..target.find(')').unwrap()];
            let file = page.parent().unwrap().join(target);
            assert!(
                file.is_file(),
                "{} shows {target}, which does not exist: run `cargo run --release --example book-charts`",
                page.display()
            );
            shown.push(file.canonicalize().unwrap());
        }
    }
    assert!(shown.len() >= 20, "the labs show their charts");
    for chart in charts(&src.join("charts")) {
        assert!(
            shown.contains(&chart.canonicalize().unwrap()),
            "{} is stored but no page shows it; delete it",
            chart.display()
        );
    }
}

/// The `--help` texts the CLI reference quotes are the binary's own, word for word.
#[test]
fn the_cli_reference_quotes_the_real_help() {
    let page = root().join("book/src/reference/cli.md");
    let text = std::fs::read_to_string(&page).unwrap();
    let mut checked = 0;
    for block in text.split("```text\n$ netlab ").skip(1) {
        let (command, rest) = block.split_once('\n').unwrap();
        let quoted = &rest[..rest.find("```").unwrap()];
        let output = std::process::Command::new(env!("CARGO_BIN_EXE_netlab"))
            .args(command.split_whitespace())
            .output()
            .unwrap();
        assert_eq!(
            quoted,
            String::from_utf8_lossy(&output.stdout),
            "book/src/reference/cli.md quotes an old `netlab {command}`: paste the new one"
        );
        checked += 1;
    }
    assert_eq!(checked, 5, "netlab, run, check, compare and list");
}
