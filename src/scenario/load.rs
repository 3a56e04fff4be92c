//! *Loading*: from a file's text to checked scenario types, with every error positioned.
//!
//! 1. Read the file.
//! 2. Parse it as RON into the file types of `format` (syntax and type errors stop here, with
//!    ron's position).
//! 3. Check it (`validate`): every semantic error is collected, not just the first.
//!
//! RON is read with two extensions on, so students can write less:
//! - *implicit Some*: an optional field takes `count: 5` as well as `count: Some(5)`;
//! - *unwrapped newtype variants*: `WebServer(name: "web", ...)` rather than
//!   `WebServer((name: "web", ...))`.

use std::path::Path;

use ron::extensions::Extensions;
use thiserror::Error;

use super::diagnostic::{Diagnostic, Locator};
use super::format::ScenarioFile;
use super::model::Scenario;
use super::validate;

/// Why a scenario could not be loaded.
#[derive(Debug, Error)]
pub enum LoadError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The reason.
        source: std::io::Error,
    },
    /// The text is not a valid scenario (syntax, unknown field, wrong type). (Boxed to keep
    /// every `Result<_, LoadError>` small.)
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
            LoadError::Io { .. } => Vec::new(),
            LoadError::Syntax(d) => vec![d.as_ref()],
            LoadError::Invalid(ds) => ds.iter().collect(),
        }
    }
}

/// All diagnostics, separated by blank lines, with a count at the end.
fn render_all(diagnostics: &[Diagnostic]) -> String {
    let mut text = String::new();
    for d in diagnostics {
        text.push_str(&d.to_string());
        text.push_str("\n\n");
    }
    text.push_str(&format!(
        "{} error{} found",
        diagnostics.len(),
        if diagnostics.len() == 1 { "" } else { "s" }
    ));
    text
}

/// Reads and checks the scenario in `path`.
pub fn load_file(path: &Path) -> Result<Scenario, LoadError> {
    let source = std::fs::read_to_string(path).map_err(|source| LoadError::Io {
        path: path.display().to_string(),
        source,
    })?;
    load_str(&path.display().to_string(), &source)
}

/// Parses and checks a scenario's text; `file` names it in diagnostics.
pub fn load_str(file: &str, source: &str) -> Result<Scenario, LoadError> {
    let parsed = parse(file, source)?;
    validate::validate(&parsed, &Locator::new(file, source)).map_err(LoadError::Invalid)
}

/// Step 2: RON text to file types.
pub fn parse(file: &str, source: &str) -> Result<ScenarioFile, LoadError> {
    let options = ron::Options::default()
        .with_default_extension(Extensions::IMPLICIT_SOME | Extensions::UNWRAP_VARIANT_NEWTYPES);
    options.from_str::<ScenarioFile>(source).map_err(|error| {
        let locator = Locator::new(file, source);
        let start = error.span.start;
        let end = error.span.end;
        let width = if end.line == start.line && end.col > start.col {
            end.col - start.col
        } else {
            1
        };
        let mut d = locator.at_line_col(start.line, start.col, width, error.code.to_string());
        d.message = lowercase_first(&d.message);
        d.help = Some(syntax_hint(&error.code.to_string()));
        LoadError::Syntax(Box::new(d))
    })
}

/// ron's messages start with a capital; ours do not.
fn lowercase_first(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_lowercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// A hint for common syntax and type mistakes.
fn syntax_hint(message: &str) -> String {
    if message.contains("Unexpected field") || message.contains("unknown field") {
        "check the spelling; the book's scenario reference lists every field".to_string()
    } else if message.contains("missing field") || message.contains("Missing field") {
        "this field has no default and must be given".to_string()
    } else if message.contains("variant") {
        "node kinds are Router, Host, WebServer, Clients, L4Balancer, L7Balancer, DnsServer and DnsResolver; workloads are OpenLoop and ClosedLoop; forwarding is Nat or Dr; checkers with options need parentheses, as in TcpCheck()"
            .to_string()
    } else {
        "compare with a scenario in scenarios/ (`netlab list` shows them)".to_string()
    }
}
