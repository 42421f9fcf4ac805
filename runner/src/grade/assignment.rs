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

use super::pattern::FilePattern;
use crate::spec::locate::{child_index, child_key, Locator};
use crate::spec::{self, Spec, SpecError};
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
}

#[derive(Debug)]
pub struct Assignment {
    pub name: String,
    pub programs: Vec<Program>,
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
}

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
            Some(text) => Some(crate::cli::loopback_addr(text).map_err(|e| {
                let message = e.to_string();
                invalid(
                    &child_key(&at, "addr"),
                    message.trim_start_matches("--addr ").to_string(),
                )
            })?),
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
        programs.push(Program { spec, file, addr });
    }
    Ok(Assignment {
        name: raw.assignment,
        programs,
    })
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
            programs: vec![Program { spec, file, addr }],
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
