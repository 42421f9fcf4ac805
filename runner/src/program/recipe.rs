//! A program built and started by an assignment's own commands (`build:`
//! and `run:`) instead of the way its language is detected: a C server
//! that needs `-DUPPER`, a Java program run with `java -cp {dir} Server`.
//!
//! The build runs in a build sandbox like a detected build: the program's
//! folder (read-only there, as all of a submission) is copied to a
//! writable place, the command runs in the copy, and the copy comes back
//! as a tar on stdout. The runner unpacks it with the care it takes with
//! a student's archive (nothing outside the folder, no links, a bounded
//! size and count: the build ran the student's Makefile, or whatever the
//! command runs) into a folder of its own that lives as long as the run.
//! `run` then starts in that folder, with `{dir}` and `{file}` meaning
//! it and the program's file in it; without `build`, in the student's
//! folder.

use super::build::{self, BuildFailure};
use super::command::{CommandError, TargetCommand};
use super::Confinement;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

/// Where the build's copy of the folder is, inside the build sandbox.
const COPY: &str = "/tmp/build";

/// One program's build by an assignment's command, and its result once
/// built (shared by every spec the program is checked against).
#[derive(Debug)]
pub struct FolderBuild {
    /// The command, with `{dir}` and `{file}` made shell variables.
    script: String,
    /// The program's file, and its folder (what is copied).
    pub source: PathBuf,
    folder: PathBuf,
    /// Programs the command runs by name, to show their toolchains.
    tools: Vec<String>,
    built: OnceLock<Result<BuiltFolder, BuildFailure>>,
}

/// The folder a build made, removed with the last command that uses it.
#[derive(Debug)]
pub struct BuiltFolder {
    pub dir: PathBuf,
    _scratch: tempfile::TempDir,
}

/// The command that builds (when `build` is given) and runs the program
/// of `file` as an assignment says. Its arguments keep `{host}` and
/// `{port}` for the runner to fill in.
pub fn command(file: &Path, build: Option<&str>, run: &str) -> Result<TargetCommand, CommandError> {
    let words =
        shell_words::split(run).map_err(|e| CommandError::Syntax(run.into(), e.to_string()))?;
    if words.is_empty() {
        return Err(CommandError::Empty);
    }
    let file = std::fs::canonicalize(file).unwrap_or_else(|_| file.to_path_buf());
    let folder = file.parent().unwrap_or(Path::new("/")).to_path_buf();
    match build {
        None => {
            let filled = fill(&words, &folder, &file);
            TargetCommand::from_words(&filled, run).map(|c| c.run_in(folder, &file))
        }
        Some(script) => Ok(TargetCommand::built_by(
            Arc::new(FolderBuild::new(script, file.clone(), folder)),
            words,
            run,
            &file,
        )),
    }
}

/// `words` with `{dir}` and `{file}` made the folder and the file, in one
/// pass (a file named `{dir}.py` stays itself); a relative program
/// (`./server`) is one of the folder.
pub(super) fn fill(words: &[String], dir: &Path, file: &Path) -> Vec<String> {
    let dir = dir.display().to_string();
    let file = file.display().to_string();
    let mut filled: Vec<String> = words
        .iter()
        .map(|word| {
            let mut out = String::with_capacity(word.len());
            let mut rest = word.as_str();
            while !rest.is_empty() {
                if let Some(after) = rest.strip_prefix("{dir}") {
                    out.push_str(&dir);
                    rest = after;
                } else if let Some(after) = rest.strip_prefix("{file}") {
                    out.push_str(&file);
                    rest = after;
                } else {
                    let c = rest.chars().next().unwrap_or_default();
                    out.push(c);
                    rest = &rest[c.len_utf8()..];
                }
            }
            out
        })
        .collect();
    if let Some(program) = filled.first_mut() {
        if program.contains('/') && !program.starts_with('/') {
            *program = Path::new(&dir).join(&*program).display().to_string();
        }
    }
    filled
}

impl FolderBuild {
    fn new(script: &str, source: PathBuf, folder: PathBuf) -> FolderBuild {
        // The build's shell variables, quoted: a student's file name is
        // never read as shell syntax.
        let script = script
            .replace("{dir}", "\"$dir\"")
            .replace("{file}", "\"$file\"");
        let mut tools: Vec<String> = shell_words::split(&script)
            .ok()
            .and_then(|words| words.into_iter().next())
            .filter(|word| !word.contains(['/', '$', '=']))
            .into_iter()
            .collect();
        if let Some(language) = build::compiled_language(&source) {
            tools.push(language.toolchain().0.to_string());
        }
        FolderBuild {
            script,
            source,
            folder,
            tools,
            built: OnceLock::new(),
        }
    }

    /// The built folder, building it on first use.
    pub fn get(&self, confinement: &Confinement) -> &Result<BuiltFolder, BuildFailure> {
        self.built.get_or_init(|| self.run(confinement))
    }

    /// The program's file name, said in messages.
    pub fn source_name(&self) -> String {
        self.source
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned())
    }

    fn run(&self, confinement: &Confinement) -> Result<BuiltFolder, BuildFailure> {
        let harness = |what: &str, error: String| BuildFailure {
            message: format!("the runner could not {what}: {error}"),
            by_harness: true,
        };
        let scratch = super::scratch::folder("build")
            .map_err(|e| harness("make a folder for the build", e.to_string()))?;
        // The command's own output goes to stderr with the compiler's:
        // stdout carries the tar alone.
        let script = format!(
            "set -e; dir={COPY}; file=\"$dir/$2\"; mkdir \"$dir\"; cp -R \"$1/.\" \"$dir\"; cd \"$dir\"; (\n{}\n) >&2; exec tar -cf - -C \"$dir\" .",
            self.script
        );
        let argv = [
            String::from("/bin/sh"),
            String::from("-c"),
            script,
            String::from("build"),
            self.folder.display().to_string(),
            self.source_name(),
        ];
        let tools: Vec<&str> = self.tools.iter().map(String::as_str).collect();
        let name = self.source_name();
        let tar = build::run_script(
            &argv,
            &tools,
            Some(&self.folder),
            confinement,
            &name,
            build::COMMAND,
        )?;
        let archive = scratch.path().join("built.tar");
        let dir = scratch.path().join("built");
        std::fs::write(&archive, tar).map_err(|e| harness("save the build", e.to_string()))?;
        let unpacked = crate::unpack::unpack(&archive, &dir, &crate::unpack::BUILT);
        let _ = std::fs::remove_file(&archive);
        unpacked.map_err(|why| BuildFailure {
            message: format!("{name} does not build: what the build made was refused: {why}"),
            by_harness: false,
        })?;
        // The program runs as another user, who must reach its folder.
        for path in [scratch.path(), dir.as_path()] {
            build::set_mode(path, 0o755)
                .map_err(|e| harness("prepare the built folder", e.to_string()))?;
        }
        Ok(BuiltFolder {
            dir,
            _scratch: scratch,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_filled_once_and_a_relative_program_is_the_folders() {
        let words: Vec<String> = ["./server", "{dir}/x", "-f={file}", "{port}"]
            .map(String::from)
            .to_vec();
        let filled = fill(
            &words,
            Path::new("/s/{file}"),
            Path::new("/s/{file}/{dir}.c"),
        );
        assert_eq!(
            filled,
            [
                "/s/{file}/./server",
                "/s/{file}/x",
                "-f=/s/{file}/{dir}.c",
                "{port}"
            ]
        );
    }

    #[test]
    fn a_build_command_quotes_the_students_names() {
        let build = FolderBuild::new(
            "cc -o server {file} net.c",
            PathBuf::from("/s/main.c"),
            PathBuf::from("/s"),
        );
        assert_eq!(build.script, "cc -o server \"$file\" net.c");
        assert_eq!(build.tools, ["cc", "cc"]);
    }
}
