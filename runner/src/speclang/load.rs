//! Loads spec files: YAML -> raw form -> checked, typed model. Every error
//! names the file, line and column, in one sentence.

use super::check::Checker;
use super::locate::{child_index, child_key, Locator, Position};
use super::model::*;
use super::raw::*;
use super::suggest::did_you_mean;
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    #[error("{file}: cannot read the spec: {source}")]
    Read {
        file: String,
        source: std::io::Error,
    },
    #[error("{file}:{line}:{column}: {message}")]
    Invalid {
        file: String,
        line: usize,
        column: usize,
        message: String,
    },
    /// A spec argument that names nothing loadable: the message says
    /// which, and why.
    #[error("{0}")]
    Named(String),
    /// Every error the checker found in one file, in file order, one per
    /// line (as a compiler reports them), each at its file:line:col.
    #[error("{}", several(.0))]
    Several(Vec<SpecError>),
}

fn several(errors: &[SpecError]) -> String {
    let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
    lines.join("\nerror: ")
}

impl SpecError {
    /// One error as it is, several as `Several`; None for none.
    pub(crate) fn gathered(mut errors: Vec<SpecError>) -> Option<SpecError> {
        match errors.len() {
            0 => None,
            1 => errors.pop(),
            _ => Some(SpecError::Several(errors)),
        }
    }
}

/// Reads and checks the spec file at `path`.
pub fn load_file(path: &Path) -> Result<Spec, SpecError> {
    let (file, text) = read_text(path)?;
    parse(&file, &text)
}

/// The file's name as messages give it, and its text.
pub fn read_text(path: &Path) -> Result<(String, String), SpecError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| SpecError::Read {
        file: file.clone(),
        source,
    })?;
    Ok((file, text))
}

/// Largest spec file accepted: real specs are a few KiB.
const MAX_SPEC_BYTES: usize = 1 << 20;
/// Deepest `[` / `{` nesting accepted: YAML scanners slow down badly on
/// thousands of levels, and no spec needs more than a handful.
const MAX_FLOW_DEPTH: usize = 64;

/// Checks `text`, the content of the spec called `file` in messages.
pub fn parse(file: &str, text: &str) -> Result<Spec, SpecError> {
    let (raw, locator): (RawSpec, Locator) = match deserialize(file, text) {
        Ok(parsed) => parsed,
        Err(first) => return Err(with_each_cases_errors(file, text, first)),
    };
    Checker {
        file,
        text,
        locator: &locator,
    }
    .spec(raw)
}

/// Parses the YAML `text` of `file` into `T`, every error placed at its
/// file:line:col; also returns where each node is, for later checks.
pub(crate) fn deserialize<T: serde::de::DeserializeOwned>(
    file: &str,
    text: &str,
) -> Result<(T, Locator), SpecError> {
    check_shape(file, text)?;
    let locator = Locator::new(text);
    let deserializer = serde_yaml::Deserializer::from_str(text);
    let raw = serde_path_to_error::deserialize(deserializer)
        .map_err(|error| serde_error(file, text, &locator, error))?;
    Ok((raw, locator))
}

/// Once a spec file failed to load, each case is read on its own: an
/// unknown key or a misspelt step in one case hides none in another. The
/// errors come in file order, the first one the loader met among them.
fn with_each_cases_errors(file: &str, text: &str, first: SpecError) -> SpecError {
    let SpecError::Invalid { .. } = first else {
        return first;
    };
    let Ok(value) = serde_yaml::from_str::<serde_yaml::Value>(text) else {
        return first;
    };
    let Some(cases) = value.get("cases").and_then(serde_yaml::Value::as_sequence) else {
        return first;
    };
    let locator = Locator::new(text);
    // The first error stands when it is outside the cases (before the
    // first one), or when reading the cases alone finds nothing; inside
    // them, each case's own reading says it, placed by its path.
    let cases_start = locator
        .value("cases")
        .map_or(usize::MAX, |position| position.line);
    let first_outside = place(&first).0 < cases_start;
    let mut errors = Vec::new();
    for (index, case) in cases.iter().enumerate() {
        let read: Result<super::raw::RawCase, _> = serde_path_to_error::deserialize(case.clone());
        if let Err(error) = read {
            let prefix = child_index("cases", index);
            let error = serde_error_under(file, text, &locator, &prefix, error);
            errors.push(error);
        }
    }
    // A case read alone places an error by its path; the whole file's
    // reading placed the same mistake more exactly: it takes its place.
    let same = errors
        .iter()
        .enumerate()
        .filter(|(_, error)| message(error) == message(&first))
        .min_by_key(|(_, error)| place(error).0.abs_diff(place(&first).0))
        .map(|(index, _)| index);
    match same {
        Some(index) if !first_outside => errors[index] = first,
        _ => errors.push(first),
    }
    errors.sort_by_key(place);
    SpecError::gathered(errors).expect("the first error at least")
}

fn message(error: &SpecError) -> Option<&str> {
    match error {
        SpecError::Invalid { message, .. } => Some(message),
        _ => None,
    }
}

/// Where an error is, to order them.
fn place(error: &SpecError) -> (usize, usize) {
    match error {
        SpecError::Invalid { line, column, .. } => (*line, *column),
        _ => (0, 0),
    }
}

/// Refuses inputs no spec can be, before a YAML parser spends long on them.
pub(crate) fn check_shape(file: &str, text: &str) -> Result<(), SpecError> {
    let refuse = |line: usize, column: usize, message: String| SpecError::Invalid {
        file: file.to_string(),
        line,
        column,
        message,
    };
    if text.len() > MAX_SPEC_BYTES {
        return Err(refuse(
            1,
            1,
            format!(
                "the file has {} bytes; a spec may have at most {MAX_SPEC_BYTES}",
                text.len()
            ),
        ));
    }
    let mut depth = 0usize;
    for (index, line) in text.lines().enumerate() {
        let mut quote: Option<char> = None;
        for (column, c) in line.chars().enumerate() {
            match (quote, c) {
                (None, '#') => break,
                (None, '"' | '\'') => quote = Some(c),
                (Some(q), c) if c == q => quote = None,
                (None, '[' | '{') => {
                    depth += 1;
                    if depth > MAX_FLOW_DEPTH {
                        return Err(refuse(
                            index + 1,
                            column + 1,
                            format!("brackets nest deeper than {MAX_FLOW_DEPTH} levels"),
                        ));
                    }
                }
                (None, ']' | '}') => depth = depth.saturating_sub(1),
                _ => {}
            }
        }
    }
    Ok(())
}

/// A message quoting spec text keeps to one line: control characters in
/// keys and values are shown escaped.
pub(super) fn one_line(message: &str) -> String {
    crate::text::escape_controls(message, |_| false)
}

/// Keeps a position inside the file: parsers report the end of input as
/// the line after the last one.
pub(super) fn clamp(text: &str, position: Position) -> Position {
    let lines: Vec<&str> = text.lines().collect();
    let last = lines.len().max(1);
    if position.line <= last {
        return position;
    }
    Position {
        line: last,
        column: lines.last().map_or(0, |l| l.chars().count()) + 1,
    }
}

fn serde_error(
    file: &str,
    text: &str,
    locator: &Locator,
    error: serde_path_to_error::Error<serde_yaml::Error>,
) -> SpecError {
    serde_error_under(file, text, locator, "", error)
}

/// A deserializing error of the node at `prefix` (a case read on its
/// own), placed in the whole file.
fn serde_error_under(
    file: &str,
    text: &str,
    locator: &Locator,
    prefix: &str,
    error: serde_path_to_error::Error<serde_yaml::Error>,
) -> SpecError {
    let path = yaml_path(prefix, error.path());
    let inner = error.into_inner();
    let mut message = strip_location(&inner.to_string())
        .replace(
            "expected struct RawSpec",
            "expected a mapping of spec keys (spec, title, target, cases)",
        )
        .replace(
            "expected struct RawTarget",
            "expected a mapping such as `{ role: server, transport: tcp }`",
        )
        .replace(
            "expected struct RawLimits",
            "expected a mapping such as `{ memory: 512MiB, cpu: 5s }`",
        )
        .replace(
            "expected struct RawDefaults",
            "expected a mapping such as `{ timeout: 2s }`",
        )
        .replace(
            "expected struct RawCase",
            "expected a case: a mapping with `id`, `about` and `steps`",
        )
        .replace(
            "expected struct RawConn",
            "expected a connection name, or a mapping such as `{ on: a, timeout: 5s }`",
        )
        .replace(
            "expected struct RawSend",
            "expected a mapping such as `{ on: a, text: \"hello\" }`",
        )
        .replace(
            "expected struct RawMatch",
            "expected a mapping such as `{ on: a, text: \"HELLO\" }`",
        )
        .replace(
            "expected struct RawQuiet",
            "expected a mapping such as `{ on: a, for: 500ms }`",
        )
        .replace(
            "expected struct RawStdin",
            "expected a line of text, or a mapping such as `{ text: \"no newline\" }`",
        )
        .replace(
            "expected struct RawExit",
            "expected a mapping such as `{ code: 0 }`",
        )
        .replace(
            "expected struct RawIdle",
            "expected a mapping such as `{ for: 500ms, max-cpu: 20% }`",
        )
        .replace("expected u32", "expected a whole number")
        .replace("expected u64", "expected a whole number")
        .replace("expected usize", "expected a whole number")
        .replace("expected i32", "expected a whole number")
        .replace("expected f64", "expected a number")
        .replace(
            "invalid value: map, expected map with a single key",
            "a step is a mapping with a single key, the step's name (write `- connect: a` and `- send: { on: a, text: x }` as two steps)",
        )
        .replace(
            "expected struct RawAssignment",
            "expected a mapping with `assignment` and `programs`",
        )
        .replace(
            "expected struct RawProgram",
            "expected a mapping with `spec`, `file` and optionally `addr`",
        )
        .replace(
            "expected unit variant",
            "expected the step name alone (write it as `- alive` or `- close-stdin`)",
        )
        .replace(
            "expected a name or a mapping",
            "expected a string or a mapping",
        );
    if message.starts_with("found character that cannot start any token") {
        if let Some(location) = inner.location() {
            let line = text
                .lines()
                .nth(location.line().saturating_sub(1))
                .unwrap_or("");
            if line.chars().nth(location.column().saturating_sub(1)) == Some('\t') {
                message = String::from(
                    "a tab character: YAML indents with spaces only; replace the tab with spaces",
                );
            }
        }
    }
    if let Some(suggestion) = did_you_mean(&message) {
        message = format!("{message} (did you mean `{suggestion}`?)");
    }
    if let Some(rest) = message.strip_prefix("unknown variant") {
        let is_step = rest.contains("`connect`, `accept`");
        let what = if is_step {
            "unknown step"
        } else {
            "unknown value"
        };
        message = format!("{what}{rest}");
    }
    if message.starts_with("missing field") {
        message = format!(
            "{message} in `{}`",
            if path.is_empty() { "the file" } else { &path }
        );
    }
    // serde_yaml marks a missing field (and a few others) at 1:1; trust its
    // location only when it says something more precise.
    let duplicate = message
        .strip_prefix("duplicate field `")
        .and_then(|rest| rest.split('`').next())
        .map(|field| child_key(&path, field));
    let position = match inner.location() {
        _ if duplicate.is_some() => duplicate
            .and_then(|key| locator.key(&key, 1))
            .unwrap_or(Position { line: 1, column: 1 }),
        // serde_yaml says 1:1 for errors it cannot place, except for an
        // unknown key, which it places exactly (possibly at 1:1 itself).
        Some(location)
            if !(location.line() == 1 && location.column() == 1)
                || message.starts_with("unknown field") =>
        {
            Position {
                line: location.line(),
                column: location.column(),
            }
        }
        _ => locator
            .value(&path)
            .unwrap_or(Position { line: 1, column: 1 }),
    };
    let position = clamp(text, position);
    SpecError::Invalid {
        file: file.to_string(),
        line: position.line,
        column: position.column,
        message: one_line(&message),
    }
}

/// serde_path_to_error's path in the locator's notation, under `prefix`.
fn yaml_path(prefix: &str, path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut out = prefix.to_string();
    for segment in path.iter() {
        out = match segment {
            Segment::Seq { index } => child_index(&out, *index),
            Segment::Map { key } => child_key(&out, key),
            Segment::Enum { variant } => child_key(&out, variant),
            Segment::Unknown => out,
        };
    }
    out
}

/// serde_yaml appends "at line L column C"; the caller prints its own.
fn strip_location(message: &str) -> String {
    let cut = message.find(" at line ").unwrap_or(message.len());
    let message = &message[..cut];
    // Messages may also start with the path ("cases[0]: ..."), which the
    // position already tells.
    match message.split_once(": ") {
        Some((head, rest)) if !head.contains(' ') && !rest.is_empty() => rest.to_string(),
        _ => message.to_string(),
    }
}
