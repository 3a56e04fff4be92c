//! *Reporting*: errors and warnings located in the configuration's files.
//!
//! Every word of a configuration knows its file and byte offset (see `lexer`), so a problem
//! is reported on the word itself, with the same `Diagnostic` scenarios use:
//! `FILE:LINE:COL`, the line, a caret under the word, and a help line.

use super::keywords::{Class, Context, classify, why_not_modelled};
use super::lexer::Word;
use super::parser::Item;
use crate::scenario::diagnostic::{Diagnostic, Locator, Severity, nearest};

/// Collects the diagnostics of one configuration.
pub struct Report<'a> {
    /// One locator per file of the configuration, by file number.
    locators: &'a [Locator<'a>],
    /// What was found, errors and warnings, in the order found.
    pub diagnostics: Vec<Diagnostic>,
}

impl<'a> Report<'a> {
    /// A report over the files of `locators`.
    pub fn new(locators: &'a [Locator<'a>]) -> Report<'a> {
        Report {
            locators,
            diagnostics: Vec::new(),
        }
    }

    /// A diagnostic at byte `start` of `file`, `width` characters wide.
    pub fn at(
        &mut self,
        severity: Severity,
        file: usize,
        (start, width): (usize, usize),
        message: String,
        help: impl Into<String>,
    ) {
        let Some(locator) = self.locators.get(file) else {
            return;
        };
        let d = locator.at_offset(start, width, message);
        self.diagnostics.push(Diagnostic {
            severity,
            help: Some(help.into()),
            ..d
        });
    }

    /// An error on `word`.
    pub fn error(&mut self, word: &Word, message: String, help: impl Into<String>) {
        self.at(
            Severity::Error,
            word.file,
            (word.start, word.width),
            message,
            help,
        );
    }

    /// A warning on `word`.
    pub fn warning(&mut self, word: &Word, message: String, help: impl Into<String>) {
        self.at(
            Severity::Warning,
            word.file,
            (word.start, word.width),
            message,
            help,
        );
    }

    /// Adds a note to the last diagnostic.
    pub fn note(&mut self, note: String) {
        if let Some(last) = self.diagnostics.last_mut() {
            last.note = Some(note);
        }
    }

    /// The 1-based line of `word` in its file.
    pub fn line_of(&self, word: &Word) -> usize {
        self.locators
            .get(word.file)
            .map_or(0, |l| l.at_offset(word.start, 1, String::new()).line)
    }

    /// Whether an error has been reported.
    pub fn has_errors(&self) -> bool {
        self.diagnostics
            .iter()
            .any(|d| d.severity == Severity::Error)
    }

    /// Checks `item`'s keyword in `context`: `true` if netlab models it. A keyword netlab
    /// does not model gives a warning, an unknown one an error with the nearest keyword.
    pub fn known(&mut self, context: Context, item: &Item) -> bool {
        let keyword = item.keyword();
        match classify(context, &keyword.text) {
            Class::Modelled => true,
            Class::NotModelled => {
                self.warning(
                    keyword,
                    format!("`{}` is not modelled by netlab", keyword.text),
                    why_not_modelled(&keyword.text),
                );
                false
            }
            Class::Unknown(near) => {
                let help = match near {
                    Some(near) => format!("did you mean `{near}`?"),
                    None => format!(
                        "{} takes: {}",
                        context.name(),
                        context.modelled().join(", ")
                    ),
                };
                self.error(
                    keyword,
                    format!("unknown keyword `{}` in {}", keyword.text, context.name()),
                    help,
                );
                false
            }
        }
    }

    /// An error at `word`, which names no `what` of the file: the nearest of `names` as the
    /// hint, or `otherwise` when none is near.
    pub fn unknown_name<'n>(
        &mut self,
        word: &Word,
        what: &str,
        names: impl IntoIterator<Item = &'n str>,
        otherwise: &str,
    ) {
        let help = match nearest(&word.text, names) {
            Some(near) => format!("did you mean `{near}`?"),
            None => otherwise.to_string(),
        };
        self.error(word, format!("no {what} is named `{}`", word.text), help);
    }

    /// The `n`-th argument (0-based) of `item`, or an error at the end of the statement
    /// naming what is missing.
    pub fn arg<'i>(&mut self, item: &'i Item, n: usize, what: &str) -> Option<&'i Word> {
        let found = item.args().get(n);
        if found.is_none() {
            let last = &item.words[item.words.len() - 1];
            self.at(
                Severity::Error,
                last.file,
                (last.start + last_len(last), 1),
                format!("`{}` needs {what}", item.keyword().text),
                format!("write `{} {}`", item.keyword().text, what.to_uppercase()),
            );
        }
        found
    }

    /// The block of `item`, or an error saying that it needs one.
    pub fn block<'i>(&mut self, item: &'i Item) -> Option<&'i [Item]> {
        match &item.block {
            Some(block) => Some(&block.items),
            None => {
                let keyword = item.keyword();
                self.error(
                    keyword,
                    format!(
                        "`{}` needs a block: `{} {{ ... }}`",
                        keyword.text, keyword.text
                    ),
                    "open the block with `{` after the keyword, and close it with `}`",
                );
                None
            }
        }
    }

    /// An error if `item` has a block although its keyword takes none.
    pub fn no_block(&mut self, item: &Item) {
        if let Some(block) = &item.block {
            self.error(
                &block.open,
                format!("`{}` takes no block", item.keyword().text),
                "remove the braces; keepalived would read the statements inside as if they \
                 stood outside",
            );
        }
    }
}

/// The length in bytes of a word as written (for pointing just after it).
fn last_len(word: &Word) -> usize {
    if word.quoted {
        word.text.len() + 2
    } else {
        word.text.len()
    }
}
