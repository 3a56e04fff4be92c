//! *The parser*: statements to a tree of items, each with its block of items.
//!
//! A keepalived configuration is a tree. A statement is a keyword and its arguments
//! (`weight 3`); a statement followed by `{` opens a block of statements, closed by `}`
//! (`real_server 10.0.0.11 80 { ... }`). The `{` may sit on the keyword's line or alone on
//! the next one. This module builds that tree from the lexer's statements and nothing more:
//! which keywords exist and what they mean is the mapping's job (`keywords`, `services`,
//! `vrrp`).
//!
//! Braces that do not balance are where keepalived is least helpful ("There are 1 missing
//! '}'s or extra '{'s", without a line). Here, a block left open names its keyword and the
//! line that opened it. Which block that was is found from the indentation: when a `}` is
//! indented less than the line that opened the block it closes, the `}` of that block
//! was probably forgotten, and the `}` belongs to a block further out.
//!
//! # Simplifications
//! - keepalived skips a `{` wherever it appears and opens a block for any keyword that has
//!   sub-keywords, braces or not. netlab asks for the braces: a block keyword without `{`,
//!   or a `{` after a keyword that takes none, is reported by the mapping.

use std::ops::ControlFlow;

use super::lexer::Word;

/// The deepest nesting of blocks read. keepalived's deepest is five (`virtual_server`,
/// `real_server`, `HTTP_GET`, `url`, and a spare); more is a runaway file.
pub const MAX_DEPTH: usize = 16;

/// A statement and, if it opens one, its block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Item {
    /// The keyword and its arguments; never empty.
    pub words: Vec<Word>,
    /// The block after it, if any.
    pub block: Option<Block>,
}

impl Item {
    /// The keyword (the first word).
    pub fn keyword(&self) -> &Word {
        &self.words[0]
    }

    /// The arguments (the words after the keyword).
    pub fn args(&self) -> &[Word] {
        &self.words[1..]
    }
}

/// A `{ ... }` block.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Block {
    /// The `{`.
    pub open: Word,
    /// The `}`, or `None` when the file ended first.
    pub close: Option<Word>,
    /// The statements inside.
    pub items: Vec<Item>,
}

/// A brace that does not balance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BraceError {
    /// A `}` with no block open.
    ExtraClose(Word),
    /// A `{` with no statement before it in its block, or after a statement that already
    /// has a block.
    OpensNothing(Word),
    /// A block never closed: the statement that opened it, and the `}` that seems to have
    /// closed it instead (indented like an outer block), if one did.
    Unclosed {
        /// The keyword of the block left open.
        keyword: Word,
        /// Its `{`.
        open: Word,
        /// A `}` that probably belongs further out.
        misplaced_close: Option<Word>,
        /// The first statement inside the block indented no deeper than the block's own
        /// keyword: its `}` was probably meant to come just before that statement.
        outdented: Option<Word>,
    },
    /// Blocks nested deeper than [`MAX_DEPTH`].
    TooDeep(Word),
}

/// Builds the tree of `statements`. `indent` gives the indentation (in columns) of the line
/// a word is on, for finding the block whose `}` was forgotten.
pub fn parse(
    statements: Vec<Vec<Word>>,
    indent: impl Fn(&Word) -> usize,
) -> (Vec<Item>, Vec<BraceError>) {
    let mut tree = Tree::default();
    for statement in statements {
        let first = &statement[0];
        if first.is_brace("{") {
            if tree.open(first.clone()).is_break() {
                return (tree.top, tree.errors);
            }
        } else if first.is_brace("}") {
            tree.close(first.clone(), &indent);
        } else {
            tree.items().push(Item {
                words: statement,
                block: None,
            });
        }
    }
    tree.close_at_end();
    (tree.top, tree.errors)
}

/// A `}` indented less than the keyword of the block it closed: a sign that the block's own
/// `}` was forgotten, and that this one was meant for a block further out.
#[derive(Debug)]
struct Suspect {
    /// The keyword of the block the `}` closed.
    keyword: Word,
    /// The `}`.
    close: Word,
    /// The first statement inside the block indented no deeper than its keyword.
    outdented: Option<Word>,
}

/// The tree while it is being built: the blocks still open, and what is read so far.
#[derive(Debug, Default)]
struct Tree {
    /// The open blocks: the item that owns each (outermost first) and its items so far.
    stack: Vec<(Item, Vec<Item>)>,
    /// The items outside every block.
    top: Vec<Item>,
    /// The braces that do not balance, in the order found.
    errors: Vec<BraceError>,
    /// The `}`s that closed a block opened on a line indented more: candidates for a
    /// forgotten `}`.
    suspects: Vec<Suspect>,
}

impl Tree {
    /// Where a statement read now goes: the innermost open block, or the top of the file.
    fn items(&mut self) -> &mut Vec<Item> {
        match self.stack.last_mut() {
            Some((_, items)) => items,
            None => &mut self.top,
        }
    }

    /// A `{`: it opens the block of the statement just before it, if that has no block yet.
    /// Breaks (with [`BraceError::TooDeep`]) when the blocks would nest deeper than
    /// [`MAX_DEPTH`]: the rest of the file is not read.
    fn open(&mut self, brace: Word) -> ControlFlow<()> {
        match self.items().pop() {
            Some(mut owner) if owner.block.is_none() => {
                if self.stack.len() >= MAX_DEPTH {
                    self.errors.push(BraceError::TooDeep(brace));
                    return ControlFlow::Break(());
                }
                owner.block = Some(Block {
                    open: brace,
                    close: None,
                    items: Vec::new(),
                });
                self.stack.push((owner, Vec::new()));
            }
            other => {
                self.items().extend(other);
                self.errors.push(BraceError::OpensNothing(brace));
            }
        }
        ControlFlow::Continue(())
    }

    /// A `}`: it closes the innermost open block, which joins the block around it.
    fn close(&mut self, close: Word, indent: &impl Fn(&Word) -> usize) {
        let Some((mut owner, inner)) = self.stack.pop() else {
            self.errors.push(BraceError::ExtraClose(close));
            return;
        };
        self.suspect(&owner, &inner, &close, indent);
        if let Some(block) = owner.block.as_mut() {
            block.close = Some(close);
            block.items = inner;
        }
        self.items().push(owner);
    }

    /// Notes `close` as a [`Suspect`] when it is indented less than `owner`'s keyword, the
    /// block it closes holding `inner`.
    fn suspect(
        &mut self,
        owner: &Item,
        inner: &[Item],
        close: &Word,
        indent: &impl Fn(&Word) -> usize,
    ) {
        let depth = indent(owner.keyword());
        if indent(close) >= depth {
            return;
        }
        let outdented = inner
            .iter()
            .find(|item| indent(item.keyword()) <= depth)
            .map(|item| item.keyword().clone());
        self.suspects.push(Suspect {
            keyword: owner.keyword().clone(),
            close: close.clone(),
            outdented,
        });
    }

    /// The end of the file: blocks still open are reported (once, for the one most likely
    /// left open), then closed, so that the mapping still sees what was read.
    fn close_at_end(&mut self) {
        if self.stack.is_empty() {
            return;
        }
        let unclosed = self.unclosed();
        self.errors.push(unclosed);
        while let Some((mut owner, inner)) = self.stack.pop() {
            if let Some(block) = owner.block.as_mut() {
                block.items = inner;
            }
            self.items().push(owner);
        }
    }

    /// The block left open: the one the first [`Suspect`] closed, if there is one (its `}`
    /// was misplaced), else the innermost block still open.
    fn unclosed(&self) -> BraceError {
        let (keyword, misplaced_close, outdented) = match self.suspects.first() {
            Some(suspect) => (
                suspect.keyword.clone(),
                Some(suspect.close.clone()),
                suspect.outdented.clone(),
            ),
            None => (
                self.stack[self.stack.len() - 1].0.keyword().clone(),
                None,
                None,
            ),
        };
        let open = find_open(&self.stack, &self.top, &keyword);
        BraceError::Unclosed {
            keyword,
            open,
            misplaced_close,
            outdented,
        }
    }
}

/// The `{` of the block whose keyword is `keyword`, searched in the open blocks and the
/// items read so far.
fn find_open(stack: &[(Item, Vec<Item>)], top: &[Item], keyword: &Word) -> Word {
    fn search<'i>(items: &'i [Item], keyword: &Word) -> Option<&'i Word> {
        items.iter().find_map(|item| {
            let block = item.block.as_ref()?;
            if item.keyword() == keyword {
                Some(&block.open)
            } else {
                search(&block.items, keyword)
            }
        })
    }
    for (owner, items) in stack {
        if let Some(block) = &owner.block
            && owner.keyword() == keyword
        {
            return block.open.clone();
        }
        if let Some(open) = search(items, keyword) {
            return open.clone();
        }
    }
    search(top, keyword)
        .cloned()
        .unwrap_or_else(|| keyword.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::keepalived::lexer::lex;

    /// Parses `text`, with the indentation of each line.
    fn tree(text: &str) -> (Vec<Item>, Vec<BraceError>) {
        let (statements, problems) = lex(text, 0);
        assert!(problems.is_empty());
        parse(statements, |w| {
            let line_start = text[..w.start].rfind('\n').map_or(0, |i| i + 1);
            text[line_start..w.start]
                .chars()
                .take_while(|c| c.is_whitespace())
                .count()
        })
    }

    #[test]
    fn blocks_nest() {
        let (items, errors) = tree(
            "virtual_server 10.0.0.1 80 {\n  lb_algo rr\n  real_server 10.0.0.2 80\n  {\n    weight 3\n  }\n}\n",
        );
        assert!(errors.is_empty(), "{errors:?}");
        assert_eq!(items.len(), 1);
        let vs = items[0].block.as_ref().unwrap();
        assert_eq!(vs.items.len(), 2);
        assert_eq!(vs.items[1].args()[0].text, "10.0.0.2");
        let rs = vs.items[1].block.as_ref().unwrap();
        assert_eq!(rs.items[0].words[1].text, "3");
        assert!(vs.close.is_some());
    }

    #[test]
    fn a_forgotten_close_is_found_by_indentation() {
        let text = "virtual_server 10.0.0.1 80 {\n  real_server 10.0.0.2 80 {\n    weight 3\n\n  real_server 10.0.0.3 80 {\n    weight 1\n  }\n}\n";
        let (_, errors) = tree(text);
        let [
            BraceError::Unclosed {
                keyword,
                open,
                misplaced_close: Some(close),
                outdented: Some(next),
            },
        ] = errors.as_slice()
        else {
            panic!("{errors:?}");
        };
        // The first real_server is the one left open, and the last `}` was meant for the
        // virtual server.
        assert_eq!(keyword.start, text.find("real_server").unwrap());
        assert_eq!(open.start, text.match_indices('{').nth(1).unwrap().0);
        assert_eq!(close.start, text.len() - 2);
        // The second real_server is where the first one's `}` was forgotten.
        assert_eq!(next.start, text.rfind("real_server").unwrap());
    }

    #[test]
    fn stray_braces_are_errors() {
        let (_, errors) = tree("}\n{\nweight 1 {\n}\n{\n");
        assert!(matches!(errors[0], BraceError::ExtraClose(_)));
        assert!(matches!(errors[1], BraceError::OpensNothing(_)));
        assert!(matches!(errors[2], BraceError::OpensNothing(_)));
    }

    #[test]
    fn deep_nesting_stops() {
        let (_, errors) = tree(&"a {\n".repeat(100));
        assert!(matches!(errors[0], BraceError::TooDeep(_)));
    }
}
