//! Loads spec files: YAML -> raw form -> checked, typed model. Every error
//! names the file, line and column, in one sentence.

use super::locate::{child_index, child_key, Locator, Position};
use super::model::*;
use super::raw::*;
use super::suggest::did_you_mean;
use regex::bytes::Regex;
use std::collections::HashSet;
use std::path::Path;
use std::time::Duration;

const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);
const DEFAULT_START_TIMEOUT: Duration = Duration::from_secs(5);
/// The longest duration a spec may give.
const MAX_DURATION: Duration = Duration::from_secs(24 * 3600);
/// The most bytes one `send`, `sendto` or expected text may stand for.
const MAX_PAYLOAD: usize = 16 << 20;

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
}

/// Reads and checks the spec file at `path`.
pub fn load_file(path: &Path) -> Result<Spec, SpecError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| SpecError::Read {
        file: file.clone(),
        source,
    })?;
    parse(&file, &text)
}

/// Largest spec file accepted: real specs are a few KiB.
const MAX_SPEC_BYTES: usize = 1 << 20;
/// Deepest `[` / `{` nesting accepted: YAML scanners slow down badly on
/// thousands of levels, and no spec needs more than a handful.
const MAX_FLOW_DEPTH: usize = 64;

/// Checks `text`, the content of the spec called `file` in messages.
pub fn parse(file: &str, text: &str) -> Result<Spec, SpecError> {
    check_shape(file, text)?;
    let locator = Locator::new(text);
    let deserializer = serde_yaml::Deserializer::from_str(text);
    let raw: RawSpec = serde_path_to_error::deserialize(deserializer)
        .map_err(|error| serde_error(file, text, &locator, error))?;
    Checker {
        file,
        text,
        locator: &locator,
    }
    .spec(raw)
}

/// Refuses inputs no spec can be, before a YAML parser spends long on them.
fn check_shape(file: &str, text: &str) -> Result<(), SpecError> {
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
fn one_line(message: &str) -> String {
    message
        .chars()
        .map(|c| match c {
            '\n' => String::from("\\n"),
            '\r' => String::from("\\r"),
            '\u{2028}' | '\u{2029}' => format!("\\u{{{:x}}}", c as u32),
            c if c.is_control() => format!("\\u{{{:x}}}", c as u32),
            c => c.to_string(),
        })
        .collect()
}

/// Keeps a position inside the file: parsers report the end of input as
/// the line after the last one.
fn clamp(text: &str, position: Position) -> Position {
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
    let path = yaml_path(error.path());
    let inner = error.into_inner();
    let mut message = strip_location(&inner.to_string())
        .replace(
            "expected struct RawSpec",
            "expected a mapping of spec keys (spec, title, target, cases)",
        )
        .replace(
            "expected unit variant",
            "expected the step name alone (write it as `- alive` or `- close-stdin`)",
        )
        .replace(
            "expected a name or a mapping",
            "expected a string or a mapping",
        );
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
            if path.is_empty() { "the spec" } else { &path }
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

/// serde_path_to_error's path in the locator's notation.
fn yaml_path(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut out = String::new();
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

struct Checker<'a> {
    file: &'a str,
    text: &'a str,
    locator: &'a Locator,
}

/// Names introduced so far within one case.
#[derive(Default)]
struct Scope {
    connections: HashSet<String>,
    /// Connections a `close` or `reset` step ended.
    ended: HashSet<String>,
    sockets: HashSet<String>,
    captures: HashSet<String>,
    /// Client role, UDP: a datagram has come in, so there is an address
    /// to reply to.
    heard_from_client: bool,
}

impl Checker<'_> {
    fn error(&self, path: &str, message: impl Into<String>) -> SpecError {
        let position = self
            .locator
            .value(path)
            .unwrap_or(Position { line: 1, column: 1 });
        let position = clamp(self.text, position);
        SpecError::Invalid {
            file: self.file.to_string(),
            line: position.line,
            column: position.column,
            message: one_line(&message.into()),
        }
    }

    fn spec(&self, raw: RawSpec) -> Result<Spec, SpecError> {
        if raw.spec.trim().is_empty() {
            return Err(self.error("spec", "the spec name is empty"));
        }
        let target = self.target(&raw.target)?;
        let timeout = match &raw.defaults.timeout {
            Some(text) => self.positive_duration("defaults.timeout", text)?,
            None => DEFAULT_TIMEOUT,
        };
        if raw.cases.is_empty() {
            return Err(self.error("cases", "the spec has no cases: add at least one"));
        }
        let mut ids = HashSet::new();
        let mut cases = Vec::with_capacity(raw.cases.len());
        for (index, case) in raw.cases.into_iter().enumerate() {
            let path = child_index("cases", index);
            if !ids.insert(case.id.clone()) {
                return Err(self.error(
                    &format!("{path}.id"),
                    format!("duplicate case id `{}`: case ids must be unique", case.id),
                ));
            }
            cases.push(self.case(&path, case, &target, timeout)?);
        }
        Ok(Spec {
            name: raw.spec,
            title: raw.title,
            source: self.file.to_string(),
            target,
            cases,
        })
    }

    fn target(&self, raw: &RawTarget) -> Result<TargetSpec, SpecError> {
        let start_timeout = match &raw.start_timeout {
            Some(text) => self.positive_duration("target.start-timeout", text)?,
            None => DEFAULT_START_TIMEOUT,
        };
        if let Some(reference) = &raw.reference {
            if !fixtures::REFERENCES.contains(&reference.as_str()) {
                return Err(self.error(
                    "target.reference",
                    format!(
                        "unknown reference program `{reference}`; bundled ones are: {}",
                        fixtures::REFERENCES.join(", ")
                    ),
                ));
            }
        }
        Ok(TargetSpec {
            role: match raw.role {
                RawRole::Server => Role::Server,
                RawRole::Client => Role::Client,
            },
            transport: match raw.transport {
                RawTransport::Tcp => Transport::Tcp,
                RawTransport::Udp => Transport::Udp,
            },
            reference: raw.reference.clone(),
            limits: match &raw.limits {
                Some(limits) => self.limits(limits)?,
                None => LimitSettings::default(),
            },
            restart: match raw.restart {
                Some(RawRestart::Once) => Restart::Once,
                Some(RawRestart::PerCase) | None => Restart::PerCase,
            },
            start_timeout,
        })
    }

    fn limits(&self, raw: &RawLimits) -> Result<LimitSettings, SpecError> {
        let path = "target.limits";
        let size = |key: &str, text: &Option<String>| -> Result<Option<u64>, SpecError> {
            text.as_ref()
                .map(|text| {
                    crate::target::parse_size(text).ok_or_else(|| {
                        self.error(
                            &child_key(path, key),
                            format!("`{text}` is not a size: write it like 512MiB or 1GiB"),
                        )
                    })
                })
                .transpose()
        };
        let memory = size("memory", &raw.memory)?;
        if memory.is_some_and(|m| m < crate::target::MIN_MEMORY) {
            return Err(self.error(
                &child_key(path, "memory"),
                format!(
                    "below {} MiB no program can even start",
                    crate::target::MIN_MEMORY >> 20
                ),
            ));
        }
        let output = size("output", &raw.output)?;
        if raw.processes == Some(0) {
            return Err(self.error(
                &child_key(path, "processes"),
                "`processes` must be at least 1",
            ));
        }
        Ok(LimitSettings {
            cpu: raw
                .cpu
                .as_ref()
                .map(|t| self.positive_duration(&child_key(path, "cpu"), t))
                .transpose()?,
            memory,
            processes: raw.processes,
            case_time: raw
                .case_time
                .as_ref()
                .map(|t| self.positive_duration(&child_key(path, "case-time"), t))
                .transpose()?,
            output,
        })
    }

    fn case(
        &self,
        path: &str,
        raw: RawCase,
        target: &TargetSpec,
        timeout: Duration,
    ) -> Result<Case, SpecError> {
        if raw.id.is_empty()
            || !raw
                .id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(self.error(
                &format!("{path}.id"),
                format!("case id `{}` must be letters, digits, `-` or `_`", raw.id),
            ));
        }
        if raw.steps.is_empty() {
            return Err(self.error(&format!("{path}.steps"), "the case has no steps"));
        }
        let mut scope = Scope::default();
        let mut steps = Vec::with_capacity(raw.steps.len());
        for (index, step) in raw.steps.into_iter().enumerate() {
            let step_path = child_index(&format!("{path}.steps"), index);
            steps.push(self.step(&step_path, step, target, timeout, &mut scope)?);
        }
        Ok(Case {
            id: raw.id,
            points: raw.points.unwrap_or(1),
            about: raw.about,
            hint: raw.hint,
            tags: raw.tags,
            steps,
        })
    }

    fn step(
        &self,
        path: &str,
        raw: RawStep,
        target: &TargetSpec,
        default_timeout: Duration,
        scope: &mut Scope,
    ) -> Result<Step, SpecError> {
        let name = raw.name();
        let body = child_key(path, name);
        let line = self.locator.value(path).map_or(1, |p| p.line);
        self.check_fits_target(&body, name, target)?;
        let mut timeout = default_timeout;
        let action = match raw {
            RawStep::Connect(ShortForm(conn)) | RawStep::Accept(ShortForm(conn)) => {
                timeout = self.timeout_or(&body, &conn.timeout, timeout)?;
                if !scope.connections.insert(conn.on.clone()) {
                    return Err(self.error(
                        &body,
                        format!("connection `{}` is already open in this case", conn.on),
                    ));
                }
                scope.ended.remove(&conn.on);
                if name == "connect" {
                    Action::Connect { conn: conn.on }
                } else {
                    Action::Accept { conn: conn.on }
                }
            }
            RawStep::Send(send) => {
                let conn = self.known_connection(&body, &send.on, scope)?;
                let (payload, chunks, pause) = self.send_body(&body, &send, scope)?;
                Action::Send {
                    conn,
                    payload,
                    chunks,
                    pause,
                }
            }
            RawStep::Recv(raw) => {
                let conn = self.known_connection(&body, &raw.on, scope)?;
                timeout = self.timeout_or(&body, &raw.timeout, timeout)?;
                let matcher = self.matcher(&body, &raw, scope)?;
                let capture = self.capture(&raw, scope);
                Action::Recv {
                    conn,
                    matcher,
                    capture,
                }
            }
            RawStep::Eof(ShortForm(c))
            | RawStep::Shutdown(ShortForm(c))
            | RawStep::Close(ShortForm(c))
            | RawStep::Reset(ShortForm(c)) => {
                if name != "eof" && c.timeout.is_some() {
                    return Err(self.error(
                        &child_key(&body, "timeout"),
                        format!("`{name}` does not wait, so it takes no `timeout`"),
                    ));
                }
                timeout = self.timeout_or(&body, &c.timeout, timeout)?;
                let conn = self.known_connection(&body, &Some(c.on), scope)?;
                match name {
                    "eof" => Action::Eof { conn },
                    "shutdown" => Action::Shutdown { conn },
                    "close" => {
                        scope.connections.remove(&conn);
                        scope.ended.insert(conn.clone());
                        Action::Close { conn }
                    }
                    _ => {
                        scope.connections.remove(&conn);
                        scope.ended.insert(conn.clone());
                        Action::Reset { conn }
                    }
                }
            }
            RawStep::Quiet(quiet) => {
                let conn = self.known_connection(&body, &Some(quiet.on), scope)?;
                let window = self.positive_duration(&format!("{body}.for"), &quiet.window)?;
                Action::Quiet { conn, window }
            }
            RawStep::Sendto(send) => {
                let socket = self.datagram_socket(&body, &send.on, target, scope)?;
                if target.role == Role::Client && !scope.heard_from_client {
                    return Err(self.error(
                        &body,
                        "`sendto` replies to the client's last datagram: a `recvfrom` must come first",
                    ));
                }
                if send.chunks.is_some() || send.pause.is_some() {
                    return Err(self.error(
                        &body,
                        "`chunks` and `pause` apply to streams; a datagram is sent whole",
                    ));
                }
                let (payload, _, _) = self.send_body(&body, &send, scope)?;
                Action::SendTo { socket, payload }
            }
            RawStep::Recvfrom(raw) => {
                let socket = self.datagram_socket(&body, &raw.on, target, scope)?;
                scope.heard_from_client = true;
                timeout = self.timeout_or(&body, &raw.timeout, timeout)?;
                let matcher = self.matcher(&body, &raw, scope)?;
                let capture = self.capture(&raw, scope);
                Action::RecvFrom {
                    socket,
                    matcher,
                    capture,
                }
            }
            RawStep::Stdin(ShortForm(stdin)) => {
                let payload = match (&stdin.line, &stdin.text) {
                    (Some(line), None) => {
                        let mut payload = self.template(&child_key(&body, "line"), line, scope)?;
                        payload.parts.push(Part::Literal(b"\n".to_vec()));
                        payload
                    }
                    (None, Some(text)) => self.template(&child_key(&body, "text"), text, scope)?,
                    _ => return Err(self.error(&body, "`stdin` takes either `line` or `text`")),
                };
                Action::WriteStdin { payload }
            }
            RawStep::CloseStdin => Action::CloseStdin,
            RawStep::Stdout(raw) | RawStep::Stderr(raw) | RawStep::Output(raw) => {
                if raw.on.is_some() {
                    return Err(self.error(&body, format!("`{name}` takes no `on`")));
                }
                timeout = self.timeout_or(&body, &raw.timeout, timeout)?;
                let matcher = self.matcher(&body, &raw, scope)?;
                let capture = self.capture(&raw, scope);
                let stream = match name {
                    "stdout" => Stream::Stdout,
                    "stderr" => Stream::Stderr,
                    _ => Stream::Output,
                };
                Action::Expect {
                    stream,
                    matcher,
                    capture,
                }
            }
            RawStep::Exit(exit) => {
                if exit.code.is_some_and(|code| !(0..=255).contains(&code)) {
                    return Err(self.error(
                        &child_key(&body, "code"),
                        "an exit code is between 0 and 255",
                    ));
                }
                timeout = self.timeout_or(&body, &exit.within, timeout)?;
                Action::Exit { code: exit.code }
            }
            RawStep::Alive => Action::Alive,
            RawStep::Idle(idle) => {
                let window = self.positive_duration(&format!("{body}.for"), &idle.window)?;
                let max_cpu = match &idle.max_cpu {
                    None => 0.10,
                    Some(value) => self.percent(&format!("{body}.max-cpu"), value)?,
                };
                Action::Idle { window, max_cpu }
            }
        };
        Ok(Step {
            action,
            timeout,
            line,
        })
    }

    /// Rejects steps that make no sense for the target's role and transport.
    fn check_fits_target(
        &self,
        path: &str,
        name: &str,
        target: &TargetSpec,
    ) -> Result<(), SpecError> {
        let problem = match (name, target.transport, target.role) {
            ("connect", Transport::Tcp, Role::Client) => {
                Some("`connect` is for server targets; a client target connects to the runner: use `accept`")
            }
            ("accept", Transport::Tcp, Role::Server) => {
                Some("`accept` is for client targets; to reach a server target use `connect`")
            }
            ("connect" | "accept" | "send" | "recv" | "eof" | "quiet" | "shutdown" | "close" | "reset", Transport::Udp, _) => {
                Some("this is a TCP step, but the target's transport is udp: use `sendto` and `recvfrom`")
            }
            ("sendto" | "recvfrom", Transport::Tcp, _) => {
                Some("this is a UDP step, but the target's transport is tcp: use `send` and `recv`")
            }
            _ => None,
        };
        match problem {
            Some(message) => Err(self.error(path, message)),
            None => Ok(()),
        }
    }

    fn known_connection(
        &self,
        path: &str,
        on: &Option<String>,
        scope: &Scope,
    ) -> Result<String, SpecError> {
        let Some(on) = on else {
            return Err(self.error(path, "missing `on`: name the connection"));
        };
        if scope.connections.contains(on) {
            return Ok(on.clone());
        }
        if scope.ended.contains(on) {
            return Err(self.error(
                &child_key(path, "on"),
                format!("connection `{on}` was closed by an earlier step: open a new one with another name"),
            ));
        }
        let opened: Vec<&str> = scope.connections.iter().map(String::as_str).collect();
        let mut message =
            format!("unknown connection `{on}`: open it with `connect` or `accept` first");
        if let Some(close) = super::suggest::closest(on, &opened) {
            message.push_str(&format!(" (did you mean `{close}`?)"));
        }
        Err(self.error(&child_key(path, "on"), message))
    }

    /// Server role: any name, a socket the runner creates on first use.
    /// Client role: the runner has one socket, where the target sends to.
    fn datagram_socket(
        &self,
        path: &str,
        on: &Option<String>,
        target: &TargetSpec,
        scope: &mut Scope,
    ) -> Result<String, SpecError> {
        match (target.role, on) {
            (Role::Client, Some(_)) => Err(self.error(
                &child_key(path, "on"),
                "a client target talks to the runner's one socket: leave out `on`",
            )),
            (Role::Client, None) => Ok(String::from(CLIENT_ROLE_SOCKET)),
            (Role::Server, Some(name)) if name == CLIENT_ROLE_SOCKET => Err(self.error(
                &child_key(path, "on"),
                format!("`{CLIENT_ROLE_SOCKET}` names the runner's socket in client role: choose another name"),
            )),
            (Role::Server, name) => {
                let name = name.clone().unwrap_or_else(|| String::from("u"));
                scope.sockets.insert(name.clone());
                Ok(name)
            }
        }
    }

    fn send_body(
        &self,
        path: &str,
        send: &RawSend,
        scope: &Scope,
    ) -> Result<(Payload, Vec<usize>, Duration), SpecError> {
        let mut payload = match (&send.text, &send.hex) {
            (Some(text), None) => self.template(&child_key(path, "text"), text, scope)?,
            (None, Some(hex)) => self.hex(&child_key(path, "hex"), hex)?,
            _ => return Err(self.error(path, "give exactly one of `text` or `hex`")),
        };
        payload.repeat = self.repeat(path, send.repeat)?;
        self.check_size(path, &payload)?;
        let chunks = send.chunks.clone().unwrap_or_default();
        if chunks.contains(&0) {
            return Err(self.error(&child_key(path, "chunks"), "chunk sizes must be at least 1"));
        }
        let pause = match &send.pause {
            Some(text) => self.duration(&child_key(path, "pause"), text)?,
            None => Duration::ZERO,
        };
        Ok((payload, chunks, pause))
    }

    fn matcher(&self, path: &str, raw: &RawMatch, scope: &Scope) -> Result<Matcher, SpecError> {
        let given = [
            raw.text.is_some(),
            raw.hex.is_some(),
            raw.prefix.is_some(),
            raw.contains.is_some(),
            raw.regex.is_some(),
        ];
        if given.iter().filter(|g| **g).count() != 1 {
            return Err(self.error(
                path,
                "give exactly one of `text`, `hex`, `prefix`, `contains` or `regex`",
            ));
        }
        let repeat = self.repeat(path, raw.repeat)?;
        if raw.repeat.is_some() && raw.text.is_none() && raw.hex.is_none() {
            return Err(self.error(path, "`repeat` goes with `text` or `hex`"));
        }
        let with_repeat = |mut payload: Payload| -> Result<Payload, SpecError> {
            payload.repeat = repeat;
            self.check_size(path, &payload)?;
            Ok(payload)
        };
        Ok(if let Some(text) = &raw.text {
            Matcher::Exact(with_repeat(self.template(
                &child_key(path, "text"),
                text,
                scope,
            )?)?)
        } else if let Some(hex) = &raw.hex {
            Matcher::Exact(with_repeat(self.hex(&child_key(path, "hex"), hex)?)?)
        } else if let Some(text) = &raw.prefix {
            Matcher::Prefix(self.template(&child_key(path, "prefix"), text, scope)?)
        } else if let Some(text) = &raw.contains {
            Matcher::Contains(self.template(&child_key(path, "contains"), text, scope)?)
        } else {
            let pattern = raw.regex.as_deref().unwrap_or_default();
            let regex = Regex::new(pattern).map_err(|error| {
                let detail = error.to_string();
                let last = detail
                    .lines()
                    .last()
                    .unwrap_or("invalid")
                    .trim()
                    .to_string();
                self.error(
                    &child_key(path, "regex"),
                    format!("invalid regex `{pattern}`: {last}"),
                )
            })?;
            Matcher::Regex(regex)
        })
    }

    fn capture(&self, raw: &RawMatch, scope: &mut Scope) -> Option<String> {
        let name = raw.capture.clone()?;
        scope.captures.insert(name.clone());
        Some(name)
    }

    fn repeat(&self, path: &str, repeat: Option<usize>) -> Result<usize, SpecError> {
        match repeat {
            Some(0) => Err(self.error(&child_key(path, "repeat"), "`repeat` must be at least 1")),
            Some(n) if n > MAX_PAYLOAD => Err(self.error(
                &child_key(path, "repeat"),
                format!("`repeat` may be at most {MAX_PAYLOAD}"),
            )),
            Some(n) => Ok(n),
            None => Ok(1),
        }
    }

    /// Rejects a payload that would stand for more than MAX_PAYLOAD bytes
    /// (captures not counted: they hold what a target sent, already capped).
    fn check_size(&self, path: &str, payload: &Payload) -> Result<(), SpecError> {
        let once: usize = payload
            .parts
            .iter()
            .map(|part| match part {
                Part::Literal(bytes) => bytes.len(),
                Part::Capture { .. } => 0,
            })
            .sum();
        if once.saturating_mul(payload.repeat) > MAX_PAYLOAD {
            return Err(self.error(
                path,
                format!(
                    "this stands for more than {} MiB of data",
                    MAX_PAYLOAD >> 20
                ),
            ));
        }
        Ok(())
    }

    /// Text with `{capture}` / `{capture|upper}` references; `{{` and `}}`
    /// stand for literal braces.
    fn template(&self, path: &str, text: &str, scope: &Scope) -> Result<Payload, SpecError> {
        let mut parts = Vec::new();
        let mut literal = String::new();
        let mut rest = text;
        while let Some(brace) = rest.find(['{', '}']) {
            literal.push_str(&rest[..brace]);
            let tail = &rest[brace..];
            if tail.starts_with("{{") || tail.starts_with("}}") {
                literal.push_str(&tail[..1]);
                rest = &tail[2..];
                continue;
            }
            if tail.starts_with('}') {
                return Err(self.error(
                    path,
                    "unmatched `}` in text: write `}}` for a literal brace",
                ));
            }
            let Some(end) = tail.find('}') else {
                return Err(
                    self.error(path, "unclosed `{` in text: write `{{` for a literal brace")
                );
            };
            let reference = &tail[1..end];
            let (name, transform) = match reference.split_once('|') {
                Some((name, transform)) => (name.trim(), self.transform(path, transform.trim())?),
                None => (reference.trim(), Transform::None),
            };
            if !scope.captures.contains(name) {
                return Err(self.error(
                    path,
                    format!("`{{{name}}}` refers to no capture: an earlier step needs `capture: {name}`"),
                ));
            }
            if !literal.is_empty() {
                parts.push(Part::Literal(std::mem::take(&mut literal).into_bytes()));
            }
            parts.push(Part::Capture {
                name: name.to_string(),
                transform,
            });
            rest = &tail[end + 1..];
        }
        literal.push_str(rest);
        if !literal.is_empty() {
            parts.push(Part::Literal(literal.into_bytes()));
        }
        Ok(Payload { parts, repeat: 1 })
    }

    fn transform(&self, path: &str, name: &str) -> Result<Transform, SpecError> {
        match name {
            "upper" => Ok(Transform::Upper),
            "lower" => Ok(Transform::Lower),
            "trim" => Ok(Transform::Trim),
            other => Err(self.error(
                path,
                format!("unknown transform `{other}`: use upper, lower or trim"),
            )),
        }
    }

    fn hex(&self, path: &str, hex: &str) -> Result<Payload, SpecError> {
        let digits: Vec<u8> = hex.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
        if !digits.len().is_multiple_of(2) {
            return Err(self.error(path, "hex needs an even number of digits"));
        }
        let bytes = digits
            .chunks(2)
            .map(|pair| {
                std::str::from_utf8(pair)
                    .ok()
                    .and_then(|pair| u8::from_str_radix(pair, 16).ok())
            })
            .collect::<Option<Vec<u8>>>()
            .ok_or_else(|| self.error(path, format!("`{hex}` is not hex (digits 0-9, a-f)")))?;
        Ok(Payload {
            parts: vec![Part::Literal(bytes)],
            repeat: 1,
        })
    }

    fn timeout_or(
        &self,
        path: &str,
        text: &Option<String>,
        default: Duration,
    ) -> Result<Duration, SpecError> {
        match text {
            Some(text) => self.positive_duration(&child_key(path, "timeout"), text),
            None => Ok(default),
        }
    }

    fn duration(&self, path: &str, text: &str) -> Result<Duration, SpecError> {
        let duration = self.any_duration(path, text)?;
        if duration > MAX_DURATION {
            return Err(self.error(
                path,
                format!("`{text}` is longer than a day: no step of a spec waits that long"),
            ));
        }
        Ok(duration)
    }

    fn any_duration(&self, path: &str, text: &str) -> Result<Duration, SpecError> {
        humantime::parse_duration(text.trim()).map_err(|_| {
            self.error(
                path,
                format!("`{text}` is not a duration: write a positive amount with a unit, like 2s or 500ms"),
            )
        })
    }

    fn positive_duration(&self, path: &str, text: &str) -> Result<Duration, SpecError> {
        let duration = self.duration(path, text)?;
        if duration.is_zero() {
            return Err(self.error(path, "the duration must be greater than zero"));
        }
        Ok(duration)
    }

    /// `10%`, `10` or `0.5%` -> a fraction of one core.
    fn percent(&self, path: &str, value: &serde_yaml::Value) -> Result<f64, SpecError> {
        let number = match value {
            serde_yaml::Value::Number(n) => n.as_f64(),
            serde_yaml::Value::String(s) => s.trim().trim_end_matches('%').trim().parse().ok(),
            _ => None,
        };
        match number {
            Some(n) if (0.0..=100.0).contains(&n) => Ok(n / 100.0),
            _ => Err(self.error(
                path,
                "`max-cpu` is a percentage of one core, from 0% to 100%",
            )),
        }
    }
}
