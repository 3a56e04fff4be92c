//! *Reading configuration files*: a scenario's keepalived.conf and the files it includes,
//! read as safely as the scenario itself.
//!
//! A scenario and the files it names are untrusted input: an instructor runs students'
//! submissions. So:
//! - every file is read by `load::read_source` (no FIFOs or devices, at most 1 MiB, UTF-8,
//!   a byte-order mark dropped, UTF-16 named);
//! - a path may only reach files inside the scenario's own folder tree: no absolute paths,
//!   no `..` out of it, no symbolic link out of it (paths are compared after the links are
//!   resolved);
//! - `include` nests at most [`MAX_INCLUDE_DEPTH`] deep, reads at most [`MAX_FILES`] files
//!   and [`MAX_TOTAL_BYTES`] bytes in all, and an include loop is an error;
//! - a refused file is never read, so no diagnostic can show a line of it.
//!
//! `include PATTERN` works as in keepalived (`lib/parser.c`): the pattern is relative to the
//! including file's folder, may hold the wildcards `*`, `?` and `[...]`, and the matching
//! files are read in name order, as if their statements stood in place of the `include`.
//!
//! The files come from the disk, or, where there is no disk (the browser playground,
//! `src/wasm.rs`), from a map of paths to texts handed over with the scenario
//! ([`with_files_in_memory`]). Only the four file-system calls differ ([`Files`]); the rules
//! above, the includes and the diagnostics are the same code for both.
//!
//! # Simplifications
//! - Wildcards are expanded in the file name only, not in folder names
//!   (`include conf.d/*.conf`, not `include */lb.conf`).
//! - keepalived reads an absolute path; netlab refuses it (see above).
//! - In memory there are no symbolic links, and a folder exists when a file is in it.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::io;
use std::path::{Component, Path, PathBuf};
use std::rc::Rc;

use super::lexer::{Problem, Word, lex};
use crate::scenario::diagnostic::{Diagnostic, Locator, Severity};
use crate::scenario::load::{LoadError, MAX_FILE_SIZE, decode, read_source};

/// How deep `include`s may nest.
pub const MAX_INCLUDE_DEPTH: usize = 8;
/// The most files one configuration may read, the first included.
pub const MAX_FILES: usize = 64;
/// The most bytes one configuration may read, over all its files: as much as one scenario.
pub const MAX_TOTAL_BYTES: u64 = MAX_FILE_SIZE;

/// One file read.
#[derive(Debug)]
pub struct SourceFile {
    /// Its path as diagnostics name it: the scenario's folder joined with the paths written.
    pub name: String,
    /// Its text.
    pub text: String,
}

/// A configuration read: its files, its statements in reading order (includes spliced in),
/// and the problems found.
#[derive(Debug, Default)]
pub struct Reading {
    /// Every file read, the configuration itself first.
    pub files: Vec<SourceFile>,
    /// The statements, as the lexer gives them.
    pub statements: Vec<Vec<Word>>,
    /// Problems found by the lexer or while including, by file.
    pub problems: Vec<(usize, Problem)>,
    /// Problems that already are diagnostics (a file that is not UTF-8).
    pub diagnostics: Vec<Diagnostic>,
}

impl Reading {
    /// A locator for each file, in file order.
    pub fn locators(&self) -> Vec<Locator<'_>> {
        self.files
            .iter()
            .map(|f| Locator::new(&f.name, &f.text))
            .collect()
    }
}

/// Why the configuration itself could not be read: a message and a hint, to be shown on
/// the scenario's `keepalived:` line.
#[derive(Debug)]
pub struct Refusal {
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub help: String,
    /// A diagnostic inside the file, when the file was read but is not UTF-8 (boxed to keep
    /// the refusal small).
    pub inside: Option<Box<Diagnostic>>,
}

thread_local! {
    /// The files [`with_files_in_memory`] hands over, while it runs.
    static IN_MEMORY: RefCell<Option<Rc<BTreeMap<String, String>>>> = const { RefCell::new(None) };
}

/// Runs `f` (which loads a scenario) with its configuration files read from `files` instead
/// of the disk: each path, relative to the current folder as a scenario names it
/// (`keepalived/lb1.conf` for a scenario `x.ron`), to its text. The browser has no files;
/// the playground hands over the shipped ones (and the student's edits) this way.
pub fn with_files_in_memory<T>(files: BTreeMap<String, String>, f: impl FnOnce() -> T) -> T {
    /// Puts back what was there before, even if `f` panics.
    struct Restore(Option<Rc<BTreeMap<String, String>>>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let before = self.0.take();
            IN_MEMORY.with(|m| *m.borrow_mut() = before);
        }
    }
    let before = IN_MEMORY.with(|m| m.borrow_mut().replace(Rc::new(files)));
    let _restore = Restore(before);
    f()
}

/// Where files are read from: the four calls the reader makes.
enum Files {
    /// The disk.
    Disk,
    /// The map [`with_files_in_memory`] was given; its folder `/` is the current folder.
    Memory(Rc<BTreeMap<String, String>>),
}

impl Files {
    /// The disk, or the files in memory while [`with_files_in_memory`] runs.
    fn current() -> Files {
        IN_MEMORY.with(|m| m.borrow().clone().map_or(Files::Disk, Files::Memory))
    }

    /// The path with links resolved, if it exists (in memory: `.` and `..` resolved).
    fn canonicalize(&self, path: &Path) -> io::Result<PathBuf> {
        let Files::Memory(files) = self else {
            return path.canonicalize();
        };
        let real = lexical(path);
        let key = key(&real);
        let folder = format!("{key}/");
        let exists = key.is_empty()
            || files.contains_key(&key)
            || files.keys().any(|k| k.starts_with(&folder));
        if exists {
            Ok(real)
        } else {
            Err(io::Error::new(
                io::ErrorKind::NotFound,
                "no such file among the files given with the scenario",
            ))
        }
    }

    /// The names in folder `dir` (a canonical path).
    fn list(&self, dir: &Path) -> io::Result<Vec<String>> {
        let Files::Memory(files) = self else {
            return Ok(std::fs::read_dir(dir)?
                .filter_map(|e| e.ok()?.file_name().into_string().ok())
                .collect());
        };
        let key = key(dir);
        let prefix = if key.is_empty() {
            key
        } else {
            format!("{key}/")
        };
        let mut names: Vec<String> = files
            .keys()
            .filter_map(|k| k.strip_prefix(&prefix)?.split('/').next())
            .map(str::to_string)
            .collect();
        names.dedup();
        Ok(names)
    }

    /// The text of the file at `real` (a canonical path), by the rules of `read_source`.
    fn read(&self, real: &Path) -> Result<String, LoadError> {
        let Files::Memory(files) = self else {
            return read_source(real);
        };
        let name = real.display().to_string();
        let Some(text) = files.get(&key(real)) else {
            return Err(LoadError::Io {
                path: name,
                source: io::Error::new(io::ErrorKind::NotFound, "no such file"),
            });
        };
        if text.len() as u64 > MAX_FILE_SIZE {
            return Err(LoadError::TooLarge {
                path: name,
                size: Some(text.len() as u64),
            });
        }
        decode(&name, text.clone().into_bytes())
    }
}

/// `path` made absolute under `/` with `.` and `..` resolved, as in memory there are no links.
fn lexical(path: &Path) -> PathBuf {
    let mut real = PathBuf::from("/");
    for part in path.components() {
        match part {
            Component::Normal(name) => real.push(name),
            Component::ParentDir => {
                real.pop();
            }
            Component::RootDir | Component::Prefix(_) => real = PathBuf::from("/"),
            Component::CurDir => {}
        }
    }
    real
}

/// The key of the map for an in-memory path: without its leading `/`.
fn key(real: &Path) -> String {
    real.display()
        .to_string()
        .trim_start_matches('/')
        .to_string()
}

/// Reads the configuration at `path` (as written in the scenario), relative to
/// `scenario_dir`, the folder of the scenario file (`""` for the current folder).
pub fn read(scenario_dir: &Path, path: &str) -> Result<Reading, Refusal> {
    let fs = Files::current();
    let refuse = |message: String, help: &str| Refusal {
        message,
        help: help.to_string(),
        inside: None,
    };
    let root_dir = if scenario_dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        scenario_dir
    };
    let root = fs.canonicalize(root_dir).map_err(|e| {
        refuse(
            format!("cannot read the scenario's folder: {e}"),
            "run netlab from a folder you may read",
        )
    })?;
    let files = resolve(&fs, &root, root_dir, scenario_dir, path)
        .map_err(|(message, help)| refuse(message, &help))?;
    let [(real, name)] = files.as_slice() else {
        return Err(refuse(
            format!("\"{path}\" names {} files; give one", files.len()),
            "name one keepalived.conf; it may include the others",
        ));
    };
    let mut reader = Reader {
        fs,
        root,
        reading: Reading::default(),
        stack: Vec::new(),
        total_bytes: 0,
    };
    match reader.read_file(real, name) {
        Ok(()) => Ok(reader.reading),
        Err(Failure::Refused(message, help)) => Err(refuse(message, &help)),
        Err(Failure::Inside(d)) => Err(Refusal {
            message: format!("{name} is not UTF-8 text"),
            help: "save it as UTF-8".into(),
            inside: Some(d),
        }),
    }
}

/// Why one file could not be read.
enum Failure {
    /// A message and a hint, for the line that named the file.
    Refused(String, String),
    /// A diagnostic inside the file itself (a byte that is not UTF-8).
    Inside(Box<Diagnostic>),
}

/// The reader's state while it follows includes.
struct Reader {
    /// Where the files are.
    fs: Files,
    /// The scenario's folder, with links resolved: nothing outside it is read.
    root: PathBuf,
    /// What has been read.
    reading: Reading,
    /// The files being read, outermost first (real paths), to find include loops.
    stack: Vec<PathBuf>,
    /// Bytes read so far.
    total_bytes: u64,
}

impl Reader {
    /// Reads the file at `real` (resolved) named `name`, and its includes.
    fn read_file(&mut self, real: &Path, name: &str) -> Result<(), Failure> {
        if self.reading.files.len() >= MAX_FILES {
            return Err(Failure::Refused(
                format!("the configuration reads more than {MAX_FILES} files"),
                "include fewer files".into(),
            ));
        }
        let text = self.fs.read(real).map_err(|e| refused_by_load(name, e))?;
        self.total_bytes += text.len() as u64;
        if self.total_bytes > MAX_TOTAL_BYTES {
            return Err(Failure::Refused(
                format!(
                    "the configuration's files hold more than {MAX_TOTAL_BYTES} bytes (1 MiB) in all"
                ),
                "a keepalived.conf is a few KB: is an include matching the wrong files?".into(),
            ));
        }
        let file = self.reading.files.len();
        let (statements, problems) = lex(&text, file);
        self.reading.files.push(SourceFile {
            name: name.to_string(),
            text,
        });
        self.reading
            .problems
            .extend(problems.into_iter().map(|p| (file, p)));
        self.stack.push(real.to_path_buf());
        for statement in statements {
            if statement[0].text == "include" && !statement[0].quoted {
                self.include(&statement, real, name);
            } else {
                self.reading.statements.push(statement);
            }
        }
        self.stack.pop();
        Ok(())
    }

    /// `include PATTERN`: the matching files, read in place.
    fn include(&mut self, statement: &[Word], real: &Path, name: &str) {
        let Some(pattern) = self.include_pattern(statement) else {
            return;
        };
        let dir = real.parent().unwrap_or(Path::new("/"));
        let shown_dir = Path::new(name).parent().unwrap_or(Path::new(""));
        let matches = match resolve(&self.fs, &self.root, dir, shown_dir, &pattern.text) {
            Ok(matches) => matches,
            Err((message, help)) => return self.refuse(pattern, message, help),
        };
        if matches.is_empty() {
            self.nothing_matches(pattern, name);
        }
        for (matched, shown) in matches {
            self.include_file(pattern, &matched, &shown);
        }
    }

    /// The pattern of an `include` statement; `None`, with the problem noted, when it has
    /// none or the includes already nest [`MAX_INCLUDE_DEPTH`] deep.
    fn include_pattern<'w>(&mut self, statement: &'w [Word]) -> Option<&'w Word> {
        let keyword = &statement[0];
        let Some(pattern) = statement.get(1) else {
            self.refuse(
                keyword,
                "`include` needs a file name".into(),
                "write `include FILE`, relative to this file's folder".into(),
            );
            return None;
        };
        if self.stack.len() >= MAX_INCLUDE_DEPTH {
            self.refuse(
                pattern,
                format!("includes nest more than {MAX_INCLUDE_DEPTH} deep"),
                "include the files from one place instead of from each other".into(),
            );
            return None;
        }
        Some(pattern)
    }

    /// A warning that `pattern`, in the file named `name`, matches no file: as in
    /// keepalived, the include reads nothing.
    fn nothing_matches(&mut self, pattern: &Word, name: &str) {
        let d = Locator::new(name, &self.reading.files[pattern.file].text).at_offset(
            pattern.start,
            pattern.width,
            format!("no file matches \"{}\"", pattern.text),
        );
        self.reading.diagnostics.push(Diagnostic {
            severity: Severity::Warning,
            help: Some("the include reads nothing, as in keepalived".into()),
            ..d
        });
    }

    /// One file that `pattern` matched, at `matched` (resolved) and named `shown`: read in
    /// place, unless it is being read already (an include loop) or is refused.
    fn include_file(&mut self, pattern: &Word, matched: &Path, shown: &str) {
        if let Some(k) = self.stack.iter().position(|p| p == matched) {
            let help = if k + 1 == self.stack.len() {
                "a file may not include itself"
            } else {
                "a file may not include itself, even through the files it includes"
            };
            let message = format!("include loop: {shown} is already being read");
            return self.refuse(pattern, message, help.to_string());
        }
        match self.read_file(matched, shown) {
            Ok(()) => {}
            Err(Failure::Refused(message, help)) => self.refuse(pattern, message, help),
            Err(Failure::Inside(d)) => self.reading.diagnostics.push(*d),
        }
    }

    /// A problem with the `include` at word `at` of its file.
    fn refuse(&mut self, at: &Word, message: String, help: String) {
        let problem = Problem {
            start: at.start,
            width: at.width,
            message,
            help,
        };
        self.reading.problems.push((at.file, problem));
    }
}

/// A load error of a named file, for the line that named it.
fn refused_by_load(name: &str, e: LoadError) -> Failure {
    let (message, help) = match e {
        LoadError::NotUtf8(d) | LoadError::Syntax(d) => return Failure::Inside(d),
        LoadError::Io { source, .. } => (format!("cannot read {name}: {source}"), "check the path"),
        LoadError::NotAFile { kind, .. } => (
            format!("{name} is {kind}, not a configuration file"),
            "name a keepalived.conf file",
        ),
        LoadError::TooLarge { .. } => (
            format!("{name} is larger than {MAX_FILE_SIZE} bytes (1 MiB)"),
            "a keepalived.conf is a few KB: is this the right file?",
        ),
        LoadError::WrongEncoding { encoding, .. } => (
            format!("{name} is {encoding}"),
            "save it as UTF-8 in your editor",
        ),
        LoadError::Invalid(_) => (format!("cannot read {name}"), "check the file"),
    };
    Failure::Refused(message, help.to_string())
}

/// The files `pattern` names, relative to `dir` (shown to the user as `shown_dir`): each as
/// its real path and the name diagnostics give it. Refuses anything outside `root`.
fn resolve(
    fs: &Files,
    root: &Path,
    dir: &Path,
    shown_dir: &Path,
    pattern: &str,
) -> Result<Vec<(PathBuf, String)>, (String, String)> {
    let (folder, file_name) = split_pattern(pattern)?;
    let real_folder = fs.canonicalize(&dir.join(folder)).map_err(|e| {
        (
            format!("cannot read the folder of \"{pattern}\": {e}"),
            "check the path; it is relative to the file that names it".into(),
        )
    })?;
    if !real_folder.starts_with(root) {
        return Err(outside(pattern, "is outside the scenario's folder"));
    }
    let names = if file_name.contains(is_wildcard) {
        matching_names(fs, &real_folder, file_name, pattern)?
    } else {
        vec![file_name.to_string()]
    };
    let folders = Folders {
        real: &real_folder,
        shown: &shown_dir.join(folder),
    };
    names
        .iter()
        .map(|name| real_file(fs, root, &folders, name, pattern))
        .collect()
}

/// A folder an include pattern names: its real path (links resolved) and as diagnostics
/// show it.
struct Folders<'a> {
    /// Its real path.
    real: &'a Path,
    /// The path diagnostics show.
    shown: &'a Path,
}

/// `pattern` split into its folder and its file name, once it is known to be a relative
/// path with wildcards in the file name only.
fn split_pattern(pattern: &str) -> Result<(&str, &str), (String, String)> {
    if pattern.is_empty() {
        return Err(("the file name is empty".into(), "name a file".into()));
    }
    if Path::new(pattern).is_absolute() || pattern.starts_with('~') {
        return Err(outside(pattern, "is an absolute path"));
    }
    let (folder, file_name) = pattern.rsplit_once('/').unwrap_or(("", pattern));
    if folder.contains(is_wildcard) {
        return Err((
            format!("\"{pattern}\" has a wildcard in a folder name"),
            "netlab expands wildcards in the file name only, such as conf.d/*.conf".into(),
        ));
    }
    Ok((folder, file_name))
}

/// The names in `real_folder` that the wildcard `file_name` matches, in name order; hidden
/// files only when the pattern itself starts with a dot, as glob(3) does.
fn matching_names(
    fs: &Files,
    real_folder: &Path,
    file_name: &str,
    pattern: &str,
) -> Result<Vec<String>, (String, String)> {
    let entries = fs.list(real_folder).map_err(|e| {
        (
            format!("cannot list the folder of \"{pattern}\": {e}"),
            "check the path".into(),
        )
    })?;
    let mut names: Vec<String> = entries
        .into_iter()
        .filter(|n| glob_matches(file_name, n))
        .filter(|n| !n.starts_with('.') || file_name.starts_with('.'))
        .collect();
    names.sort();
    Ok(names)
}

/// File `name` in `folders`, as its real path and its shown name; refused when a symbolic
/// link leads it outside `root`.
fn real_file(
    fs: &Files,
    root: &Path,
    folders: &Folders<'_>,
    name: &str,
    pattern: &str,
) -> Result<(PathBuf, String), (String, String)> {
    let shown = folders.shown.join(name).display().to_string();
    let real = fs.canonicalize(&folders.real.join(name)).map_err(|e| {
        (
            format!("cannot read {shown}: {e}"),
            "check the path; it is relative to the file that names it".into(),
        )
    })?;
    if !real.starts_with(root) {
        return Err(outside(
            pattern,
            "leads outside the scenario's folder (a symbolic link)",
        ));
    }
    Ok((real, shown))
}

/// Why `pattern` is refused: it `what` (reaches outside the scenario's folder).
fn outside(pattern: &str, what: &str) -> (String, String) {
    (
        format!("\"{pattern}\" {what}"),
        "netlab reads only files inside the scenario's folder: copy the file next to the scenario"
            .to_string(),
    )
}

/// Whether `c` is a wildcard of glob(3).
fn is_wildcard(c: char) -> bool {
    matches!(c, '*' | '?' | '[')
}

/// Whether `name` matches the glob(3) `pattern`: `*` any run of characters, `?` one,
/// `[abc]`, `[a-z]` and `[!a]` one of a set.
fn glob_matches(pattern: &str, name: &str) -> bool {
    let pattern: Vec<char> = pattern.chars().collect();
    let name: Vec<char> = name.chars().collect();
    // Classic matching with one backtrack point for the last `*`.
    let (mut p, mut n) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while n < name.len() {
        if p < pattern.len() {
            match pattern[p] {
                '*' => {
                    star = Some((p, n));
                    p += 1;
                    continue;
                }
                '?' => {
                    p += 1;
                    n += 1;
                    continue;
                }
                '[' => {
                    if let Some((matched, next)) = set_matches(&pattern, p, name[n])
                        && matched
                    {
                        p = next;
                        n += 1;
                        continue;
                    }
                }
                c if c == name[n] => {
                    p += 1;
                    n += 1;
                    continue;
                }
                _ => {}
            }
        }
        match star {
            Some((sp, sn)) => {
                p = sp + 1;
                n = sn + 1;
                star = Some((sp, sn + 1));
            }
            None => return false,
        }
    }
    pattern[p..].iter().all(|&c| c == '*')
}

/// Whether `c` is in the set `[...]` starting at `pattern[at]`, and the index after the set;
/// `None` if the set is never closed.
fn set_matches(pattern: &[char], at: usize, c: char) -> Option<(bool, usize)> {
    let mut i = at + 1;
    let negated = matches!(pattern.get(i), Some('!') | Some('^'));
    if negated {
        i += 1;
    }
    let mut matched = false;
    let mut first = true;
    while i < pattern.len() && (first || pattern[i] != ']') {
        first = false;
        if pattern.get(i + 1) == Some(&'-') && pattern.get(i + 2).is_some_and(|&e| e != ']') {
            matched |= (pattern[i]..=pattern[i + 2]).contains(&c);
            i += 3;
        } else {
            matched |= pattern[i] == c;
            i += 1;
        }
    }
    (i < pattern.len()).then_some((matched != negated, i + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_as_glob3_does() {
        assert!(glob_matches("*.conf", "lb1.conf"));
        assert!(!glob_matches("*.conf", "lb1.conf.bak"));
        assert!(glob_matches("lb?.conf", "lb1.conf"));
        assert!(glob_matches("lb[12].conf", "lb2.conf"));
        assert!(!glob_matches("lb[!12].conf", "lb2.conf"));
        assert!(glob_matches("lb[a-c]*", "lbb-x"));
        assert!(glob_matches("*", ""));
        assert!(!glob_matches("[", "["));
    }

    /// A folder of its own under the system's temporary folder.
    fn temp(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("netlab-kaconf-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        dir
    }

    #[test]
    fn includes_are_spliced_in_name_order() {
        let dir = temp("splice");
        std::fs::write(dir.join("main.conf"), "a\ninclude sub/*.conf\nd\n").unwrap();
        std::fs::write(dir.join("sub/2.conf"), "c\n").unwrap();
        std::fs::write(dir.join("sub/1.conf"), "b\n").unwrap();
        let reading = read(&dir, "main.conf").unwrap();
        let words: Vec<&str> = reading
            .statements
            .iter()
            .map(|s| s[0].text.as_str())
            .collect();
        assert_eq!(words, ["a", "b", "c", "d"]);
        assert_eq!(reading.files.len(), 3);
        assert!(reading.files[1].name.ends_with("sub/1.conf"));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn nothing_outside_the_scenario_folder_is_read() {
        let dir = temp("outside");
        std::fs::write(
            dir.join("main.conf"),
            "include /etc/passwd\ninclude ../../x\ninclude sub/../../y\ninclude main.conf\n",
        )
        .unwrap();
        let reading = read(&dir, "main.conf").unwrap();
        let messages: Vec<&str> = reading
            .problems
            .iter()
            .map(|(_, p)| p.message.as_str())
            .collect();
        assert_eq!(reading.files.len(), 1, "{messages:?}");
        assert!(messages[0].contains("absolute path"), "{messages:?}");
        assert!(messages[1].contains("outside") || messages[1].contains("cannot read"));
        assert!(messages[3].contains("include loop"), "{messages:?}");
        assert!(read(&dir, "/etc/passwd").is_err());
        assert!(read(&dir, "../x.conf").is_err());
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink("/etc/hostname", dir.join("link.conf")).unwrap();
            let refusal = read(&dir, "link.conf").unwrap_err();
            assert!(refusal.message.contains("symbolic link"), "{refusal:?}");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn files_in_memory_read_as_the_same_files_on_disk() {
        let texts = [
            ("main.conf", "a\ninclude sub/*.conf\ninclude ../x\nd\n"),
            ("sub/2.conf", "c\n"),
            ("sub/1.conf", "b\ninclude ../main.conf\n"),
        ];
        let dir = temp("memory");
        for (name, text) in texts {
            std::fs::write(dir.join(name), text).unwrap();
        }
        let on_disk = read(&dir, "main.conf").unwrap();
        let files: BTreeMap<String, String> = texts
            .iter()
            .map(|(name, text)| (format!("lab/{name}"), text.to_string()))
            .collect();
        let in_memory =
            with_files_in_memory(files, || read(Path::new("lab"), "main.conf")).unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        let words = |r: &Reading| -> Vec<String> {
            r.statements.iter().map(|s| s[0].text.clone()).collect()
        };
        assert_eq!(words(&in_memory), ["a", "b", "c", "d"]);
        assert_eq!(words(&in_memory), words(&on_disk));
        let names =
            |r: &Reading| -> Vec<String> { r.files.iter().map(|f| f.name.clone()).collect() };
        assert_eq!(
            names(&in_memory),
            ["lab/main.conf", "lab/sub/1.conf", "lab/sub/2.conf"]
        );
        let problems = |r: &Reading| -> Vec<String> {
            r.problems.iter().map(|(_, p)| p.message.clone()).collect()
        };
        let found = problems(&in_memory);
        assert!(found[0].contains("include loop"), "{found:?}");
        assert!(found[1].contains("outside"), "{found:?}");
        assert_eq!(found.len(), problems(&on_disk).len());
        // Outside the call, the disk again.
        assert!(read(Path::new("lab"), "main.conf").is_err());
        let missing = with_files_in_memory(BTreeMap::new(), || read(Path::new(""), "lb.conf"));
        assert!(missing.unwrap_err().message.contains("cannot read"));
    }
}
