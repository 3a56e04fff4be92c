//! *Output folders*: where netlab may write its results, and how it replaces old results
//! without ever touching a student's own files.
//!
//! A student's folder is sacred. So netlab writes only into folders it created itself, and it
//! marks each of them with a small file, [`MARKER`], that lists the files netlab wrote there.
//! The rules, in the order [`OutputDir::prepare`] applies them:
//!
//! 1. **Never these places**: the current folder, the scenario's own folder, the home folder,
//!    or any folder that contains one of them (`..`, `/`). Nor a file, or a symbolic link.
//! 2. **Only netlab's folders**: the target may be missing (it is created, and so are its
//!    missing parents, each marked), empty, or marked. A marked folder may hold only the
//!    files its marker lists and folders that are themselves marked (the `compare/` results
//!    inside a run's folder). Anything else in it, and the run is refused before it starts.
//! 3. **Atomic replacement**: the new results are written into a staging folder beside the
//!    target, `.NAME.netlab-new`, marked first. Then the old folder is renamed aside to
//!    `.NAME.netlab-old`, the new one is renamed in, marked folders nested in the old one are
//!    moved across, and the old one is deleted. A kill at any point leaves the old results or
//!    the new ones, plus at most one of those two clearly named leftovers.
//! 4. **Leftovers are cleaned by the next run**, and only if they carry the marker: a staging
//!    folder is deleted; an old folder is restored if the target is missing (the kill came
//!    between the two renames), and otherwise finished off as in step 3.
//!
//! If anything fails after the staging folder exists, it is deleted (`Drop`), so an error
//! never leaks a half-written folder.
//!
//! The marker of a run's folder also says where the results came from (an [`Origin`]: the
//! scenario file and a fingerprint of it), so `netlab explain DIR` can tell that run again.
//! That line is in the marker, not in a result file, so the results stay the same bytes.
//!
//! # Simplifications
//! - Two netlab processes writing the same folder at the same time may make one of them fail
//!   with an I/O error; neither touches a file netlab did not write.
//! - Files are not `fsync`ed: a kill cannot tear a rename, but a power cut may lose the newest
//!   results.

use std::fs;
use std::io;
use std::path::{Component, Path, PathBuf};

use thiserror::Error;

/// The file that marks a folder as netlab's. Its first line is [`SIGNATURE`]; each further
/// line names one file netlab wrote into the folder.
pub const MARKER: &str = ".netlab-output";

/// The first line of every marker file.
const SIGNATURE: &str = "netlab output folder: netlab replaces it on the next run.";

/// A marker is a short list of file names; anything bigger is not one of ours.
const MARKER_MAX_BYTES: u64 = 64 * 1024;

/// How the marker line holding the [`Origin`] begins. The line always holds an absolute path,
/// so it is never a plain file name, and a netlab that does not know it ignores it.
const ORIGIN_LINE: &str = "origin ";

/// Where a run's results came from, as its marker records it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Origin {
    /// The netlab version that made the run.
    pub version: String,
    /// A fingerprint of the checked scenario (`explain::folder::fingerprint`), to notice an
    /// edit since the run.
    pub fingerprint: String,
    /// The scenario file, absolute.
    pub scenario: PathBuf,
}

impl Origin {
    /// The marker line, or `None` when it cannot be one line (a path that is relative, not
    /// UTF-8 or holds a line break; a version or fingerprint with a space).
    fn line(&self) -> Option<String> {
        let path = self.scenario.to_str()?;
        let one_word = |w: &str| !w.is_empty() && !w.contains(char::is_whitespace);
        (self.scenario.is_absolute()
            && !path.contains(['\n', '\r'])
            && one_word(&self.version)
            && one_word(&self.fingerprint))
        .then(|| format!("{ORIGIN_LINE}{} {} {path}", self.version, self.fingerprint))
    }

    /// Reads a marker line written by [`Origin::line`].
    fn parse(line: &str) -> Option<Origin> {
        let mut words = line.strip_prefix(ORIGIN_LINE)?.splitn(3, ' ');
        let (version, fingerprint, path) = (words.next()?, words.next()?, words.next()?);
        let scenario = PathBuf::from(path);
        scenario.is_absolute().then(|| Origin {
            version: version.to_string(),
            fingerprint: fingerprint.to_string(),
            scenario,
        })
    }
}

/// What a folder's marker says.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Marker {
    /// The files netlab wrote there.
    pub files: Vec<String>,
    /// Where they came from, for a run's folder written by a netlab that records it.
    pub origin: Option<Origin>,
}

/// Why results could not be written.
#[derive(Debug, Error)]
pub enum OutputError {
    /// The target is not a folder netlab may write to. Nothing was touched.
    #[error("refusing to write results to {}: {reason}", path.display())]
    Refused {
        /// The folder, as the user named it.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
        /// What to do instead.
        help: String,
    },
    /// The file system said no (no space, no permission, a folder vanished).
    #[error("cannot write results to {}: {source}", path.display())]
    Io {
        /// The file or folder netlab was working on.
        path: PathBuf,
        /// The operating system's reason.
        source: io::Error,
    },
}

impl OutputError {
    /// The `= help:` line, if there is one.
    pub fn help(&self) -> Option<&str> {
        match self {
            OutputError::Refused { help, .. } => Some(help),
            OutputError::Io { .. } => None,
        }
    }
}

/// Wraps an I/O error with the path it happened on.
fn io_at(path: &Path) -> impl FnOnce(io::Error) -> OutputError + '_ {
    move |source| OutputError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// A refusal of `path`.
fn refuse(path: &Path, reason: impl Into<String>, help: impl Into<String>) -> OutputError {
    OutputError::Refused {
        path: path.to_path_buf(),
        reason: reason.into(),
        help: help.into(),
    }
}

/// The usual advice after a refusal.
const CHOOSE_ANOTHER: &str = "netlab writes only into folders it created; name a new folder \
                              with --out, such as --out output/my-run";

/// New results being written: a marked staging folder beside the target, swapped into place
/// by [`OutputDir::commit`], deleted if dropped before that.
#[derive(Debug)]
pub struct OutputDir {
    /// Where the results go, as the user named it.
    target: PathBuf,
    /// `.NAME.netlab-new`, beside the target.
    staging: PathBuf,
    /// `.NAME.netlab-old`, beside the target.
    old: PathBuf,
    /// The files written so far, for the marker.
    written: Vec<String>,
    /// Where the results come from, for the marker.
    origin: Option<Origin>,
    /// Set once the staging folder has become the target.
    committed: bool,
}

impl OutputDir {
    /// Checks that `target` may receive results (rules 1 and 2 of the module doc), cleans
    /// leftovers of a killed run (rule 4) and creates the staging folder. `scenario` is the
    /// scenario file the results come from: its folder is protected.
    pub fn prepare(target: &Path, scenario: &Path) -> Result<OutputDir, OutputError> {
        let resolved = resolve(target)?;
        let Some(name) = resolved
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
        else {
            return Err(refuse(
                target,
                "it is the root of the file system",
                CHOOSE_ANOTHER,
            ));
        };
        refuse_protected(target, &resolved, scenario)?;
        let parent = resolved
            .parent()
            .expect("a resolved path with a file name has a parent")
            .to_path_buf();
        create_marked_parents(&parent)?;
        let dir = OutputDir {
            target: resolved,
            staging: parent.join(format!(".{name}.netlab-new")),
            old: parent.join(format!(".{name}.netlab-old")),
            written: Vec::new(),
            origin: None,
            committed: false,
        };
        dir.clean_leftovers(target)?;
        check_replaceable(target, &dir.target)?;
        fs::create_dir(&dir.staging).map_err(io_at(&dir.staging))?;
        write_marker(&dir.staging, &[], None)?;
        Ok(dir)
    }

    /// Records in the marker where the results come from (see [`Origin`]).
    pub fn set_origin(&mut self, origin: Origin) {
        self.origin = Some(origin);
    }

    /// Writes one file of the results. `name` must be a plain file name.
    pub fn write(&mut self, name: &str, bytes: &[u8]) -> Result<(), OutputError> {
        let (mut file, path) = self.create(name)?;
        io::Write::write_all(&mut file, bytes).map_err(io_at(&path))
    }

    /// Creates one file of the results in the staging folder, for a writer that fills it while
    /// the run goes (the capture); it becomes visible with the others at [`OutputDir::commit`],
    /// and goes with the staging folder on an error. `name` must be a plain file name.
    pub fn create(&mut self, name: &str) -> Result<(fs::File, PathBuf), OutputError> {
        if !is_plain_name(name) || name == MARKER {
            return Err(OutputError::Io {
                path: self.staging.join(name),
                source: io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "an output file name must be a plain name",
                ),
            });
        }
        let path = self.staging.join(name);
        // `create_new`: a name written twice is a bug, and must not overwrite silently.
        let file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(io_at(&path))?;
        self.written.push(name.to_string());
        Ok((file, path))
    }

    /// Swaps the new results into place (rule 3). Returns the paths of leftovers that could
    /// not be removed because they hold files netlab did not write (normally none).
    pub fn commit(mut self) -> Result<Vec<PathBuf>, OutputError> {
        write_marker(&self.staging, &self.written, self.origin.as_ref())?;
        // The target was checked in `prepare`, but a run takes time: check again.
        check_replaceable(&self.target, &self.target)?;
        let had_old = self.target.symlink_metadata().is_ok();
        if had_old {
            fs::rename(&self.target, &self.old).map_err(io_at(&self.target))?;
        }
        fs::rename(&self.staging, &self.target).map_err(io_at(&self.staging))?;
        self.committed = true;
        let mut kept = Vec::new();
        if had_old && !finish_old(&self.old, &self.target)? {
            kept.push(self.old.clone());
        }
        Ok(kept)
    }

    /// Rule 4: leftovers of a run killed half-way.
    fn clean_leftovers(&self, shown: &Path) -> Result<(), OutputError> {
        for leftover in [&self.staging, &self.old] {
            if leftover.symlink_metadata().is_err() {
                continue;
            }
            if !(is_real_dir(leftover) && is_marked(leftover)) {
                return Err(refuse(
                    shown,
                    format!(
                        "{} is in the way, and netlab did not create it",
                        leftover.display()
                    ),
                    "move that folder away, or choose another --out",
                ));
            }
        }
        if is_real_dir(&self.staging) {
            fs::remove_dir_all(&self.staging).map_err(io_at(&self.staging))?;
        }
        if is_real_dir(&self.old) {
            if self.target.symlink_metadata().is_err() {
                // Killed between the two renames: the old results come back.
                fs::rename(&self.old, &self.target).map_err(io_at(&self.old))?;
            } else if !finish_old(&self.old, &self.target)? {
                return Err(refuse(
                    shown,
                    format!("{} holds files netlab did not write", self.old.display()),
                    "move your files out of that folder, then delete it",
                ));
            }
        }
        Ok(())
    }
}

impl Drop for OutputDir {
    /// An error before `commit`: the staging folder goes, so nothing half-written is left.
    fn drop(&mut self) {
        if !self.committed && is_marked(&self.staging) {
            // Best effort: there is already an error to report.
            let _ = fs::remove_dir_all(&self.staging);
        }
    }
}

/// Moves the marked folders nested in `old` into `target`, then deletes `old` if it holds
/// nothing but netlab's files. Returns whether it was deleted.
fn finish_old(old: &Path, target: &Path) -> Result<bool, OutputError> {
    let owned = marker_files(old).unwrap_or_default();
    let mut foreign = false;
    for entry in fs::read_dir(old).map_err(io_at(old))? {
        let entry = entry.map_err(io_at(old))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        if is_real_dir(&path) && is_marked(&path) {
            let moved = target.join(&name);
            if moved.symlink_metadata().is_err() {
                fs::rename(&path, &moved).map_err(io_at(&path))?;
            }
        } else if name != MARKER && !owned.contains(&name) {
            foreign = true;
        }
    }
    if foreign {
        return Ok(false);
    }
    fs::remove_dir_all(old).map_err(io_at(old))?;
    Ok(true)
}

/// Rule 2: `resolved` (shown to the user as `shown`) is missing, empty, or holds only
/// netlab's files.
fn check_replaceable(shown: &Path, resolved: &Path) -> Result<(), OutputError> {
    let meta = match resolved.symlink_metadata() {
        Ok(meta) => meta,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io_at(resolved)(e)),
    };
    if meta.file_type().is_symlink() {
        return Err(refuse(
            shown,
            "it is a symbolic link",
            "netlab writes only into real folders it created; name a new folder with --out",
        ));
    }
    if !meta.is_dir() {
        return Err(refuse(
            shown,
            "it is a file, not a folder",
            "name a new folder with --out, such as --out output/my-run",
        ));
    }
    let marked = is_marked(resolved);
    let owned = if marked {
        marker_files(resolved).unwrap_or_default()
    } else {
        Vec::new()
    };
    let mut foreign = Vec::new();
    for entry in fs::read_dir(resolved).map_err(io_at(resolved))? {
        let entry = entry.map_err(io_at(resolved))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        let ours = marked
            && (name == MARKER
                || (owned.contains(&name) && !is_real_dir(&path))
                || (is_real_dir(&path) && is_marked(&path)));
        if !ours {
            foreign.push(name);
        }
    }
    if foreign.is_empty() {
        return Ok(());
    }
    foreign.sort();
    let shown_names: Vec<String> = foreign.iter().take(3).map(|n| format!("\"{n}\"")).collect();
    let more = if foreign.len() > 3 {
        format!(" and {} more", foreign.len() - 3)
    } else {
        String::new()
    };
    let reason = if marked {
        format!(
            "it holds {}{more}, which netlab did not write",
            shown_names.join(", ")
        )
    } else {
        format!(
            "it is not empty ({}{more}) and netlab did not create it",
            shown_names.join(", ")
        )
    };
    Err(refuse(
        shown,
        reason,
        "netlab replaces only folders it created (they hold a .netlab-output file); move your \
         files elsewhere, or name a new folder with --out",
    ))
}

/// Rule 1: the target must not be, or contain, the current folder, the scenario's folder or
/// the home folder.
fn refuse_protected(shown: &Path, resolved: &Path, scenario: &Path) -> Result<(), OutputError> {
    let mut protected: Vec<(PathBuf, &str)> = Vec::new();
    if let Ok(cwd) = std::env::current_dir().and_then(|d| d.canonicalize()) {
        protected.push((cwd, "the current folder"));
    }
    if let Some(folder) = scenario
        .parent()
        .map(|p| {
            if p.as_os_str().is_empty() {
                Path::new(".")
            } else {
                p
            }
        })
        .and_then(|p| p.canonicalize().ok())
    {
        protected.push((folder, "the folder of the scenario file"));
    }
    if let Some(home) = std::env::var_os("HOME")
        .map(PathBuf::from)
        .and_then(|h| h.canonicalize().ok())
    {
        protected.push((home, "your home folder"));
    }
    for (place, what) in protected {
        if place == resolved {
            return Err(refuse(shown, format!("it is {what}"), CHOOSE_ANOTHER));
        }
        if place.starts_with(resolved) {
            return Err(refuse(shown, format!("it contains {what}"), CHOOSE_ANOTHER));
        }
    }
    Ok(())
}

/// `path` made absolute with every symbolic link and `..` resolved, even where the folders
/// do not exist yet. A symbolic link that leads nowhere is refused.
fn resolve(path: &Path) -> Result<PathBuf, OutputError> {
    let absolute = std::path::absolute(path).map_err(io_at(path))?;
    let mut resolved = PathBuf::new();
    for component in absolute.components() {
        match component {
            Component::Prefix(_) | Component::RootDir => resolved.push(component.as_os_str()),
            Component::CurDir => {}
            Component::ParentDir => {
                resolved.pop();
            }
            Component::Normal(name) => {
                resolved.push(name);
                match resolved.symlink_metadata() {
                    Ok(meta) if meta.file_type().is_symlink() => {
                        resolved = resolved.canonicalize().map_err(|_| {
                            refuse(
                                path,
                                format!("{} is a symbolic link to nowhere", resolved.display()),
                                CHOOSE_ANOTHER,
                            )
                        })?;
                    }
                    _ => {}
                }
            }
        }
    }
    Ok(resolved)
}

/// Creates the missing folders of `dir`, marking each one it creates, so that netlab may
/// later replace them (`compare` writes `output/<stem>/compare/` before `run` has written
/// `output/<stem>/`).
fn create_marked_parents(dir: &Path) -> Result<(), OutputError> {
    if dir.symlink_metadata().is_ok() {
        if !dir.is_dir() {
            return Err(refuse(
                dir,
                "it is a file, not a folder",
                "name a new folder with --out",
            ));
        }
        return Ok(());
    }
    if let Some(parent) = dir.parent() {
        create_marked_parents(parent)?;
    }
    match fs::create_dir(dir) {
        Ok(()) => write_marker(dir, &[], None),
        // Another process made it in between: it is not ours to mark.
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(io_at(dir)(e)),
    }
}

/// Writes the marker of `dir`, listing `files`, then the origin if it fits on one line.
fn write_marker(dir: &Path, files: &[String], origin: Option<&Origin>) -> Result<(), OutputError> {
    let mut text = format!("{SIGNATURE}\n");
    for line in files.iter().cloned().chain(origin.and_then(Origin::line)) {
        text.push_str(&line);
        text.push('\n');
    }
    let path = dir.join(MARKER);
    fs::write(&path, text).map_err(io_at(&path))
}

/// Whether `dir` holds a netlab marker.
fn is_marked(dir: &Path) -> bool {
    marker_files(dir).is_some()
}

/// The files the marker of `dir` lists, or `None` if `dir` has no valid marker.
fn marker_files(dir: &Path) -> Option<Vec<String>> {
    read_marker(dir).map(|m| m.files)
}

/// What the marker of `dir` says, or `None` if `dir` is not a netlab output folder (no
/// marker, or not a valid one).
pub fn read_marker(dir: &Path) -> Option<Marker> {
    let path = dir.join(MARKER);
    let meta = path.symlink_metadata().ok()?;
    if !meta.is_file() || meta.len() > MARKER_MAX_BYTES {
        return None;
    }
    let text = fs::read_to_string(&path).ok()?;
    let mut lines = text.lines();
    if lines.next()? != SIGNATURE {
        return None;
    }
    let mut marker = Marker::default();
    for line in lines {
        if let Some(origin) = Origin::parse(line) {
            marker.origin = Some(origin);
        } else if is_plain_name(line) {
            marker.files.push(line.to_string());
        }
    }
    Some(marker)
}

/// Whether `path` is a folder (not a link to one).
fn is_real_dir(path: &Path) -> bool {
    path.symlink_metadata().is_ok_and(|m| m.is_dir())
}

/// A plain file name: not empty, not hidden, no folder separators.
pub fn is_plain_name(name: &str) -> bool {
    !name.is_empty() && !name.starts_with('.') && !name.contains(['/', '\\', '\0'])
}

/// Writes one file, `path`, through a temporary file beside it and a rename, so it is either
/// the old file or the new one, never half of each. For the single files a command is asked
/// to write (`netlab test --accept`, `--junit FILE`); the caller has checked the file is new
/// or netlab's own. The temporary file is removed if anything fails.
pub fn write_file_replacing(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let temporary = path.with_file_name(format!(".{name}.netlab-new"));
    let result = fs::write(&temporary, bytes).and_then(|()| fs::rename(&temporary, path));
    if result.is_err() {
        // Best effort: the write already failed, and that error is the one to report.
        let _ = fs::remove_file(&temporary);
    }
    result
}

/// `output/<stem>/` for a scenario file. A stem that is not a plain name (`...ron` has the
/// stem `..`; `.ron` and `.hidden.ron` are hidden) becomes `scenario`.
pub fn default_output_dir(file: &Path) -> PathBuf {
    let stem = file
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .filter(|s| is_plain_name(s))
        .unwrap_or_else(|| "scenario".to_string());
    Path::new("output").join(stem)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fresh folder under the system's temporary folder, removed at the end of the test.
    struct Scratch(PathBuf);

    impl Scratch {
        fn new(name: &str) -> Scratch {
            let dir =
                std::env::temp_dir().join(format!("netlab-output-{name}-{}", std::process::id()));
            let _ = fs::remove_dir_all(&dir);
            fs::create_dir_all(&dir).unwrap();
            Scratch(dir.canonicalize().unwrap())
        }
    }

    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = fs::remove_dir_all(&self.0);
        }
    }

    /// Writes one run's files into `target`.
    fn write_run(target: &Path, scenario: &Path, body: &str) -> Result<(), OutputError> {
        let mut dir = OutputDir::prepare(target, scenario)?;
        dir.write("summary.json", body.as_bytes())?;
        dir.write("report.md", b"# report\n")?;
        let kept = dir.commit()?;
        assert!(kept.is_empty(), "{kept:?}");
        Ok(())
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn a_new_folder_is_created_marked_and_replaced_next_time() {
        let scratch = Scratch::new("replace");
        let scenario = scratch.0.join("s.ron");
        let target = scratch.0.join("out/run");
        write_run(&target, &scenario, "1").unwrap();
        assert_eq!(names(&target), [MARKER, "report.md", "summary.json"]);
        assert!(
            is_marked(&scratch.0.join("out")),
            "created parents are marked"
        );
        write_run(&target, &scenario, "2").unwrap();
        assert_eq!(
            fs::read_to_string(target.join("summary.json")).unwrap(),
            "2"
        );
        assert_eq!(
            names(&scratch.0.join("out")),
            [MARKER, "run"],
            "no leftovers"
        );
    }

    #[test]
    fn a_folder_of_the_users_is_refused_and_untouched() {
        let scratch = Scratch::new("users");
        let mine = scratch.0.join("mydocs");
        fs::create_dir(&mine).unwrap();
        fs::write(mine.join("thesis.txt"), "years of work").unwrap();
        let error = write_run(&mine, &scratch.0.join("s.ron"), "1").unwrap_err();
        assert!(matches!(error, OutputError::Refused { .. }), "{error}");
        assert!(error.to_string().contains("\"thesis.txt\""), "{error}");
        assert_eq!(names(&mine), ["thesis.txt"]);
        assert_eq!(names(&scratch.0), ["mydocs"], "no staging folder left");
    }

    #[test]
    fn a_file_added_to_a_marked_folder_is_protected() {
        let scratch = Scratch::new("added");
        let scenario = scratch.0.join("s.ron");
        let target = scratch.0.join("run");
        write_run(&target, &scenario, "1").unwrap();
        fs::write(target.join("notes.txt"), "mine").unwrap();
        let error = write_run(&target, &scenario, "2").unwrap_err();
        assert!(
            error.to_string().contains("which netlab did not write"),
            "{error}"
        );
        assert_eq!(
            fs::read_to_string(target.join("notes.txt")).unwrap(),
            "mine"
        );
    }

    #[test]
    fn protected_places_are_refused() {
        let scratch = Scratch::new("protected");
        let project = scratch.0.join("project");
        fs::create_dir(&project).unwrap();
        let scenario = project.join("s.ron");
        fs::write(&scenario, "x").unwrap();
        for target in [
            project.clone(),
            scratch.0.clone(),
            project.join(".."),
            PathBuf::from("/"),
        ] {
            let error = OutputDir::prepare(&target, &scenario).unwrap_err();
            assert!(
                matches!(error, OutputError::Refused { .. }),
                "{}: {error}",
                target.display()
            );
        }
        assert_eq!(names(&project), ["s.ron"]);
    }

    #[test]
    fn files_and_links_are_refused() {
        let scratch = Scratch::new("links");
        let file = scratch.0.join("a.txt");
        fs::write(&file, "x").unwrap();
        let link = scratch.0.join("link");
        std::os::unix::fs::symlink(scratch.0.join("elsewhere"), &link).unwrap();
        for target in [&file, &link] {
            let error = OutputDir::prepare(target, &scratch.0.join("s.ron")).unwrap_err();
            assert!(matches!(error, OutputError::Refused { .. }), "{error}");
        }
        assert_eq!(fs::read_to_string(&file).unwrap(), "x");
    }

    #[test]
    fn an_error_before_commit_leaves_no_staging_folder() {
        let scratch = Scratch::new("dropped");
        let target = scratch.0.join("run");
        {
            let mut dir = OutputDir::prepare(&target, &scratch.0.join("s.ron")).unwrap();
            dir.write("a.csv", b"1").unwrap();
            assert!(dir.write("a.csv", b"2").is_err(), "a name written twice");
            assert!(dir.write("../escape", b"2").is_err(), "not a plain name");
        }
        assert!(names(&scratch.0).is_empty(), "{:?}", names(&scratch.0));
    }

    #[test]
    fn a_kill_between_the_renames_restores_the_old_results() {
        let scratch = Scratch::new("killed");
        let scenario = scratch.0.join("s.ron");
        let target = scratch.0.join("run");
        write_run(&target, &scenario, "old").unwrap();
        // The state a kill after the first rename leaves: the old folder aside, a staging one.
        fs::rename(&target, scratch.0.join(".run.netlab-old")).unwrap();
        fs::create_dir(scratch.0.join(".run.netlab-new")).unwrap();
        write_marker(&scratch.0.join(".run.netlab-new"), &[], None).unwrap();
        let dir = OutputDir::prepare(&target, &scenario).unwrap();
        assert_eq!(
            fs::read_to_string(target.join("summary.json")).unwrap(),
            "old"
        );
        drop(dir);
        assert_eq!(names(&scratch.0), ["run"]);
    }

    #[test]
    fn nested_netlab_folders_survive_a_replacement() {
        let scratch = Scratch::new("nested");
        let scenario = scratch.0.join("s.ron");
        let target = scratch.0.join("run");
        write_run(&target.join("compare"), &scenario, "cmp").unwrap();
        write_run(&target, &scenario, "run").unwrap();
        assert_eq!(
            fs::read_to_string(target.join("compare/summary.json")).unwrap(),
            "cmp"
        );
    }

    #[test]
    fn the_marker_records_the_origin_and_still_lists_the_files() {
        let scratch = Scratch::new("origin");
        let scenario = scratch.0.join("my lab.ron");
        let target = scratch.0.join("run");
        let origin = Origin {
            version: "1.2.3".to_string(),
            fingerprint: "00ff00ff00ff00ff".to_string(),
            scenario: scenario.clone(),
        };
        let mut dir = OutputDir::prepare(&target, &scenario).unwrap();
        dir.set_origin(origin.clone());
        dir.write("summary.json", b"{}").unwrap();
        dir.commit().unwrap();
        let marker = read_marker(&target).unwrap();
        assert_eq!(marker.files, ["summary.json"]);
        assert_eq!(marker.origin, Some(origin));
        // The folder is still netlab's to replace, and a run without an origin forgets it.
        write_run(&target, &scenario, "2").unwrap();
        assert_eq!(read_marker(&target).unwrap().origin, None);
    }

    #[test]
    fn an_origin_that_is_not_one_line_is_not_recorded() {
        let origin = |path: &str, version: &str| Origin {
            version: version.to_string(),
            fingerprint: "ab".to_string(),
            scenario: PathBuf::from(path),
        };
        assert!(origin("/a/b c.ron", "1.0").line().is_some());
        assert!(origin("a/b.ron", "1.0").line().is_none(), "relative");
        assert!(origin("/a/b\nc.ron", "1.0").line().is_none(), "line break");
        assert!(
            origin("/a/b.ron", "1 0").line().is_none(),
            "space in version"
        );
        let line = origin("/a/b c.ron", "1.0").line().unwrap();
        assert!(!is_plain_name(&line), "an older netlab skips it: {line}");
        assert_eq!(Origin::parse(&line), Some(origin("/a/b c.ron", "1.0")));
    }

    #[test]
    fn stems_that_are_not_plain_names_get_a_default() {
        assert_eq!(
            default_output_dir(Path::new("scenarios/00-hello-web.ron")),
            Path::new("output/00-hello-web")
        );
        for odd in ["...ron", ".ron", ".hidden.ron", "dir/..ron"] {
            assert_eq!(
                default_output_dir(Path::new(odd)),
                Path::new("output/scenario"),
                "{odd}"
            );
        }
    }
}
