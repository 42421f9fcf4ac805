//! What a class is graded on: one program per spec, found in each
//! student's folder by a file name (or glob), and where it serves.
//!
//! Either an assignment file:
//!
//! ```yaml
//! assignment: socket-lab-1
//! programs:
//!   - { spec: tcp-upper-server, file: server.py, addr: 127.1.1.1:8900 }
//!   - { spec: tcp-upper-client, file: client.py, addr: 127.1.1.1:8900 }
//! ```
//!
//! or one spec with `--file` and `--addr` on the command line.
//!
//! A program may say how it is built and started, where the way its
//! language is detected does not fit (a C server built with `-DUPPER`, a
//! Java program run from its classes):
//!
//! ```yaml
//! packages: [libssl-dev]     # Debian packages the Gradescope bundle installs
//! programs:
//!   - spec: tcp-upper-server
//!     file: main.c
//!     build: cc -o server main.c net.c -DUPPER
//!     run: "{dir}/server {port}"
//! ```
//!
//! `build` runs in the build sandbox in a writable copy of the folder of
//! the program's file (`{dir}`; `{file}` the file in it), and `run` in
//! what it made (see `program::recipe`). `run` alone runs in the
//! student's own folder; `build` alone is refused, since nothing says
//! what of the built folder to start.

use super::locate::{child_index, child_key, Locator};
use super::pattern::FilePattern;
use super::{Spec, SpecError};
use crate::speclang as spec;
use schemars::JsonSchema;
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::Path;

/// One program every student hands in, and the spec it is graded on.
#[derive(Debug)]
pub struct Program {
    pub spec: Spec,
    /// File name or glob (`*server*.py`) in the student's folder.
    pub file: FilePattern,
    /// Where the program serves or connects, when it hard-codes it.
    pub addr: Option<SocketAddr>,
    /// The assignment's own build command, when the detected one does
    /// not fit (always with `run`).
    pub build: Option<String>,
    /// The assignment's own command that starts the program.
    pub run: Option<String>,
}

#[derive(Debug)]
pub struct Assignment {
    pub name: String,
    pub programs: Vec<Program>,
    /// Debian packages the programs need besides their toolchains (the
    /// Gradescope bundle installs them).
    pub packages: Vec<String>,
}

/// An assignment file: the programs every student hands in.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "runner assignment")]
pub(crate) struct RawAssignment {
    /// The assignment's name, e.g. `socket-lab-1`.
    #[schemars(regex(pattern = r"\S"))]
    assignment: String,
    /// One entry per program of the assignment, each spec at most once.
    #[schemars(length(min = 1))]
    programs: Vec<RawProgram>,
    /// Debian packages the programs need besides their languages'
    /// toolchains (a library's `-dev` package), installed by the
    /// Gradescope bundle's `setup.sh`: `[libssl-dev]`.
    #[serde(default)]
    packages: Vec<DebianPackage>,
}

/// A Debian package name: lower-case letters, digits and `+-.`, starting
/// with a letter or digit, at least two characters.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(transparent)]
struct DebianPackage(#[schemars(regex(pattern = r"^[a-z0-9][a-z0-9+.-]+$"))] String);

/// One program every student hands in, and the spec it is graded on.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawProgram {
    /// A bundled spec's name, or a spec file's path relative to the
    /// assignment file.
    spec: String,
    /// The program's file name or glob in a student's folder, matched in
    /// any letter case: `server.py`, `*server*.py`, `[Cc]hat[Ss]erver.*`,
    /// `{server,srv}.py`, `**/server.py`; never leading out of the folder.
    #[schemars(regex(pattern = r"^(?!/)(?!(.*/)?\.\.(/|$)).*\S"))]
    file: String,
    /// Where the program serves or connects, when it hard-codes it: a
    /// loopback `HOST:PORT`.
    #[serde(default)]
    addr: Option<String>,
    /// A shell command that builds the program, run in the build sandbox
    /// in a writable copy of the folder of the program's file: `{dir}`
    /// is that copy, `{file}` the file in it. What the folder holds
    /// afterwards is what `run` starts. Needs `run`.
    #[serde(default)]
    #[schemars(regex(pattern = r"\S"))]
    build: Option<String>,
    /// The command that starts the program, instead of the one its file
    /// type gives: `{dir}` is the built folder (or without `build`, the
    /// student's folder holding the file), `{file}` the program's file
    /// in it, `{host}` and `{port}` where to serve or connect. It starts
    /// in `{dir}`: `./server {port}` is `{dir}/server {port}`.
    #[serde(default)]
    #[schemars(regex(pattern = r"\S"))]
    run: Option<String>,
}

/// Loads the file at `path` if it is an assignment file rather than a
/// spec (its top level has an `assignment` key); None for anything else,
/// which the spec loader then reads and reports on.
pub fn load_if_assignment(path: &Path) -> Option<Result<Assignment, SpecError>> {
    if !path.is_file() {
        return None;
    }
    let (file, text) = spec::read_text(path).ok()?;
    // The size and nesting guard comes before any YAML parser sees it.
    spec::check_shape(&file, &text).ok()?;
    let top: serde_yaml::Mapping = serde_yaml::from_str(&text).ok()?;
    top.contains_key("assignment")
        .then(|| load_text(path, &file, &text))
}

/// Loads an assignment file. Specs are bundled names or paths relative to
/// the assignment file.
pub fn load(path: &Path) -> Result<Assignment, SpecError> {
    let (file, text) = spec::read_text(path)?;
    load_text(path, &file, &text)
}

fn load_text(path: &Path, file: &str, text: &str) -> Result<Assignment, SpecError> {
    let file = file.to_string();
    let (raw, locator): (RawAssignment, Locator) = spec::deserialize(&file, text)?;
    let invalid = |at: &str, message: String| {
        let position = locator
            .value(at)
            .unwrap_or(spec::locate::Position { line: 1, column: 1 });
        SpecError::Invalid {
            file: file.clone(),
            line: position.line,
            column: position.column,
            message,
        }
    };
    if raw.assignment.trim().is_empty() {
        return Err(invalid(
            "assignment",
            String::from("the assignment needs a name"),
        ));
    }
    if raw.programs.is_empty() {
        return Err(invalid(
            "programs",
            String::from("the assignment lists no programs"),
        ));
    }
    let folder = path.parent().unwrap_or(Path::new("."));
    let mut programs = Vec::new();
    for (index, raw_program) in raw.programs.into_iter().enumerate() {
        let at = child_index("programs", index);
        let spec = find_spec(&raw_program.spec, folder)
            .map_err(|message| invalid(&child_key(&at, "spec"), message))??;
        let file = FilePattern::new(&raw_program.file)
            .map_err(|message| invalid(&child_key(&at, "file"), message))?;
        let addr = match &raw_program.addr {
            Some(text) => Some(
                super::address::loopback_addr(text)
                    .map_err(|why| invalid(&child_key(&at, "addr"), format!("{text}: {why}")))?,
            ),
            None => None,
        };
        if let Some(earlier) = programs
            .iter()
            .position(|p: &Program| p.spec.name == spec.name)
        {
            return Err(invalid(
                &child_key(&at, "spec"),
                format!(
                    "spec `{}` is already graded by programs[{earlier}]; each spec may appear once",
                    spec.name
                ),
            ));
        }
        let (build, run) = commands(&raw_program, &at).map_err(|(at, why)| invalid(&at, why))?;
        programs.push(Program {
            spec,
            file,
            addr,
            build,
            run,
        });
    }
    for (index, package) in raw.packages.iter().enumerate() {
        if !is_debian_package(&package.0) {
            return Err(invalid(
                &child_index("packages", index),
                format!(
                    "`{}` is not a Debian package name (lower-case letters, digits and + - ., e.g. libssl-dev)",
                    crate::text::escape_controls(&package.0, |_| false)
                ),
            ));
        }
    }
    Ok(Assignment {
        name: raw.assignment,
        programs,
        packages: raw.packages.into_iter().map(|p| p.0).collect(),
    })
}

/// A program's `build` and `run`, checked: neither empty, `run` a
/// command line, and `build` only with `run`. The error is placed at
/// the key it is about.
type Commands = (Option<String>, Option<String>);
fn commands(raw: &RawProgram, at: &str) -> Result<Commands, (String, String)> {
    for (key, value) in [("build", &raw.build), ("run", &raw.run)] {
        if value.as_ref().is_some_and(|v| v.trim().is_empty()) {
            return Err((child_key(at, key), format!("`{key}` is empty")));
        }
    }
    if let Some(run) = &raw.run {
        if let Err(e) = shell_words::split(run) {
            return Err((
                child_key(at, "run"),
                format!("`run` is not a command line: {e}"),
            ));
        }
    }
    if raw.build.is_some() && raw.run.is_none() {
        return Err((
            child_key(at, "build"),
            String::from(
                "`build` needs `run` too, to say what of the built folder to start, e.g. run: \"{dir}/server {port}\"",
            ),
        ));
    }
    Ok((raw.build.clone(), raw.run.clone()))
}

/// Whether `name` is a valid Debian package name (Debian Policy 5.6.1):
/// it goes on an `apt-get install` line.
fn is_debian_package(name: &str) -> bool {
    let mut chars = name.chars();
    name.len() >= 2
        && chars
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "+-.".contains(c))
}

/// A spec named in an assignment file: a path relative to that file, or a
/// bundled name. The outer error is about the name, the inner one about
/// the spec's own content.
fn find_spec(name: &str, folder: &Path) -> Result<Result<Spec, SpecError>, String> {
    let path = folder.join(name);
    if path.is_file() {
        return Ok(spec::load_file(&path));
    }
    spec::bundled_named(name).ok_or_else(|| {
        format!(
            "`{name}`: no such spec file next to the assignment, and no bundled spec of that name; {}",
            spec::unknown_spec(name)
        )
    })
}

impl Assignment {
    /// The assignment made of one spec, as `runner grade SPEC --file NAME`.
    pub fn single(spec: Spec, file: FilePattern, addr: Option<SocketAddr>) -> Assignment {
        Assignment {
            name: spec.name.clone(),
            programs: vec![Program {
                spec,
                file,
                addr,
                build: None,
                run: None,
            }],
            packages: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_text(text: &str) -> Result<Assignment, SpecError> {
        let folder = tempfile::tempdir().expect("tempdir");
        let path = folder.path().join("assignment.yaml");
        std::fs::write(&path, text).expect("write");
        load(&path)
    }

    #[test]
    fn loads_bundled_specs_with_files_and_addresses() {
        let assignment = load_text(
            "assignment: lab\nprograms:\n  - { spec: tcp-upper-server, file: server.py, addr: 127.1.1.1:8900 }\n  - { spec: tcp-upper-client, file: '*client*.py' }\n",
        )
        .expect("loads");
        assert_eq!(assignment.name, "lab");
        assert_eq!(assignment.programs.len(), 2);
        assert_eq!(
            assignment.programs[0].addr,
            Some("127.1.1.1:8900".parse().expect("addr"))
        );
        assert_eq!(assignment.programs[1].file.as_str(), "*client*.py");
    }

    #[test]
    fn unknown_keys_and_specs_are_placed() {
        let error = load_text(
            "assignment: lab\nprograms:\n  - { spec: tcp-upper-server, fiel: server.py }\n",
        )
        .expect_err("unknown key");
        let text = error.to_string();
        assert!(text.contains(":3:"), "{text}");
        assert!(text.contains("fiel"), "{text}");

        let error =
            load_text("assignment: lab\nprograms:\n  - spec: no-such-spec\n    file: a.py\n")
                .expect_err("unknown spec");
        let text = error.to_string();
        assert!(text.contains(":3:11: `no-such-spec`"), "{text}");
    }

    #[test]
    fn build_and_run_commands_and_packages_are_loaded_and_checked() {
        let assignment = load_text(
            "assignment: lab\npackages: [libssl-dev, g++]\nprograms:\n  - spec: tcp-upper-server\n    file: main.c\n    build: cc -o server main.c\n    run: '{dir}/server {port}'\n",
        )
        .expect("loads");
        assert_eq!(assignment.packages, ["libssl-dev", "g++"]);
        let program = &assignment.programs[0];
        assert_eq!(program.build.as_deref(), Some("cc -o server main.c"));
        assert_eq!(program.run.as_deref(), Some("{dir}/server {port}"));

        let error = load_text(
            "assignment: lab\nprograms:\n  - spec: tcp-upper-server\n    file: main.c\n    build: make\n",
        )
        .expect_err("build without run");
        let text = error.to_string();
        assert!(text.contains(":5:12: `build` needs `run`"), "{text}");
        let error = load_text(
            "assignment: lab\nprograms:\n  - { spec: tcp-upper-server, file: s.py, run: \"python3 '{file}\" }\n",
        )
        .expect_err("unclosed quote");
        assert!(
            error.to_string().contains("`run` is not a command line"),
            "{error}"
        );
        let error = load_text(
            "assignment: lab\npackages: [ok, 'x; rm -rf /']\nprograms:\n  - { spec: tcp-upper-server, file: s.py }\n",
        )
        .expect_err("not a package");
        let text = error.to_string();
        assert!(
            text.contains(":2:") && text.contains("not a Debian package"),
            "{text}"
        );
    }

    #[test]
    fn addresses_must_be_loopback_and_files_plain_names() {
        let error = load_text(
            "assignment: lab\nprograms:\n  - { spec: tcp-upper-server, file: s.py, addr: 8.8.8.8:53 }\n",
        )
        .expect_err("not loopback");
        assert!(error.to_string().contains("loopback"), "{error}");
        let error = load_text(
            "assignment: lab\nprograms:\n  - { spec: tcp-upper-server, file: ../s.py }\n",
        )
        .expect_err("a path");
        assert!(error.to_string().contains("leads out of"), "{error}");
    }
}
