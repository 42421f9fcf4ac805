//! Builds the typed model from the raw YAML form, checking everything the
//! YAML shape cannot say: which keys go together, that names exist before
//! use, that steps fit the target, that values are in range. Each problem
//! is reported at its place in the file.

use super::load::{clamp, one_line, SpecError};
use super::locate::{child_index, child_key, Locator, Position};
use super::model::*;
use super::raw::*;
use regex::bytes::Regex;

mod values;
use std::collections::HashSet;
use std::time::Duration;

const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);
const DEFAULT_START_TIMEOUT: Duration = Duration::from_secs(5);
/// The longest duration a spec may give.
pub(super) const MAX_DURATION: Duration = Duration::from_secs(24 * 3600);
/// The most bytes one `send`, `sendto` or expected text may stand for.
pub(super) const MAX_PAYLOAD: usize = 16 << 20;

pub(super) struct Checker<'a> {
    pub(super) file: &'a str,
    pub(super) text: &'a str,
    pub(super) locator: &'a Locator,
}

/// Names introduced so far within one case.
#[derive(Default)]
pub(super) struct Scope {
    connections: HashSet<String>,
    /// Connections a `close` or `reset` step ended.
    ended: HashSet<String>,
    captures: HashSet<String>,
    /// Client role, UDP: a datagram has come in, so there is an address
    /// to reply to.
    heard_from_client: bool,
}

impl Checker<'_> {
    pub(super) fn error(&self, path: &str, message: impl Into<String>) -> SpecError {
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

    /// A case's hints: each text non-empty, at least one given.
    fn hints(&self, path: &str, raw: Option<ShortForm<RawHint>>) -> Result<Hints, SpecError> {
        let Some(ShortForm(raw)) = raw else {
            return Ok(Hints::default());
        };
        let given = [
            (None, raw.default),
            (Some(Language::Python), raw.python),
            (Some(Language::C), raw.c),
            (Some(Language::Cpp), raw.cpp),
            (Some(Language::Java), raw.java),
            (Some(Language::Go), raw.go),
            (Some(Language::JavaScript), raw.javascript),
        ];
        let mut hints = Hints::default();
        for (language, text) in given {
            let Some(text) = text else { continue };
            if text.trim().is_empty() {
                return Err(self.error(path, "a hint is empty: give advice, or leave the hint out"));
            }
            match language {
                Some(language) => {
                    hints.by_language.insert(language, text);
                }
                None => hints.default = Some(text),
            }
        }
        if hints.default.is_none() && hints.by_language.is_empty() {
            return Err(self.error(
                path,
                "the hint gives no text: write `default:` or a language (`python:`, `c:`, `cpp:`, `java:`, `go:`, `javascript:`)",
            ));
        }
        Ok(hints)
    }

    /// The checked spec, or every error found: a teacher fixing eight
    /// mistakes sees eight lines at once. A case is checked to its first
    /// error (its later steps may depend on what that step meant), and
    /// every case is checked.
    pub(super) fn spec(&self, raw: RawSpec) -> Result<Spec, SpecError> {
        let mut errors = Vec::new();
        if raw.spec.trim().is_empty() {
            errors.push(self.error("spec", "the spec name is empty"));
        }
        // Every case is checked against the target: without one, there
        // is nothing more to say.
        let target = match self.target(&raw.target) {
            Ok(target) => target,
            Err(error) => {
                errors.push(error);
                return Err(SpecError::gathered(errors).expect("an error"));
            }
        };
        let timeout = match &raw.defaults.timeout {
            Some(text) => self
                .positive_duration("defaults.timeout", text)
                .unwrap_or_else(|error| {
                    errors.push(error);
                    DEFAULT_TIMEOUT
                }),
            None => DEFAULT_TIMEOUT,
        };
        if raw.cases.is_empty() {
            errors.push(self.error("cases", "the spec has no cases: add at least one"));
        }
        let mut ids = HashSet::new();
        let mut cases = Vec::with_capacity(raw.cases.len());
        for (index, case) in raw.cases.into_iter().enumerate() {
            let path = child_index("cases", index);
            if !ids.insert(case.id.clone()) {
                errors.push(self.error(
                    &format!("{path}.id"),
                    format!("duplicate case id `{}`: case ids must be unique", case.id),
                ));
                continue;
            }
            match self.case(&path, case, &target, timeout) {
                Ok(case) => cases.push(case),
                Err(error) => errors.push(error),
            }
        }
        if let Some(error) = SpecError::gathered(errors) {
            return Err(error);
        }
        let spec = Spec {
            name: raw.spec,
            title: raw.title,
            source: self.file.to_string(),
            text: self.text.to_string(),
            target,
            cases,
        };
        Ok(spec)
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
                    crate::program::parse_size(text).ok_or_else(|| {
                        self.error(
                            &child_key(path, key),
                            format!("`{text}` is not a size: write it like 512MiB or 1GiB"),
                        )
                    })
                })
                .transpose()
        };
        let memory = size("memory", &raw.memory)?;
        if memory.is_some_and(|m| m < crate::program::MIN_MEMORY) {
            return Err(self.error(
                &child_key(path, "memory"),
                format!(
                    "below {} MiB no program can even start",
                    crate::program::MIN_MEMORY >> 20
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
        let level = match raw.level {
            Some(RawLevel::Required) | None => Level::Required,
            Some(RawLevel::Informational) => Level::Informational,
        };
        if level == Level::Informational && raw.points.is_some_and(|p| p > 0) {
            return Err(self.error(
                &format!("{path}.points"),
                "an informational case counts in no points: leave `points` out",
            ));
        }
        Ok(Case {
            id: raw.id,
            points: match level {
                Level::Informational => 0,
                Level::Required => raw.points.unwrap_or(1),
            },
            level,
            about: raw.about,
            hints: self.hints(&format!("{path}.hint"), raw.hint)?,
            tags: raw.tags,
            visibility: match raw.visibility {
                Some(RawVisibility::Visible) | None => Visibility::Visible,
                Some(RawVisibility::Hidden) => Visibility::Hidden,
                Some(RawVisibility::AfterDueDate) => Visibility::AfterDueDate,
                Some(RawVisibility::AfterPublished) => Visibility::AfterPublished,
            },
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
                if name != "eof" && c.after.is_some() {
                    return Err(self.error(
                        &child_key(&body, "after"),
                        format!("`after` goes with `eof`, not `{name}`"),
                    ));
                }
                let after_any = matches!(c.after, Some(RawAfter::Any));
                timeout = self.timeout_or(&body, &c.timeout, timeout)?;
                let conn = self.known_connection(&body, &Some(c.on), scope)?;
                match name {
                    "eof" => Action::Eof { conn, after_any },
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
                let window = self.positive_duration(&format!("{body}.for"), &quiet.window)?;
                if target.transport == Transport::Udp {
                    let socket = self.datagram_socket(&body, &quiet.on, target)?;
                    Action::QuietDatagrams { socket, window }
                } else {
                    if quiet.on.is_none() {
                        return Err(self.error(&body, "`quiet` needs the connection: `on: a`"));
                    }
                    let conn = self.known_connection(&body, &quiet.on, scope)?;
                    Action::Quiet { conn, window }
                }
            }
            RawStep::Sendto(send) => {
                let socket = self.datagram_socket(&body, &send.on, target)?;
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
                let socket = self.datagram_socket(&body, &raw.on, target)?;
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
                let (key, payload) = match (&stdin.line, &stdin.text) {
                    (Some(line), None) => {
                        let key = child_key(&body, "line");
                        let mut payload = self.template(&key, line, scope)?;
                        payload.parts.push(Part::Literal(b"\n".to_vec()));
                        (key, payload)
                    }
                    (None, Some(text)) => {
                        let key = child_key(&body, "text");
                        (key.clone(), self.template(&key, text, scope)?)
                    }
                    _ => return Err(self.error(&body, "`stdin` takes either `line` or `text`")),
                };
                // The program's stdin is a terminal: what it would take for
                // something else than text is refused here, not mistyped.
                for part in &payload.parts {
                    if let Part::Literal(bytes) = part {
                        if let Some(why) = crate::program::untypable(bytes) {
                            return Err(
                                self.error(&key, format!("this text cannot be typed: {why}"))
                            );
                        }
                    }
                }
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
            ("connect" | "accept" | "send" | "recv" | "eof" | "shutdown" | "close" | "reset", Transport::Udp, _) => {
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
                format!("connection `{on}` was closed by an earlier step: open it again with `connect: {on}` (or `accept: {on}`) first"),
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
    ) -> Result<DatagramSocket, SpecError> {
        match (target.role, on) {
            (Role::Client, Some(_)) => Err(self.error(
                &child_key(path, "on"),
                "a client target talks to the runner's one socket: leave out `on`",
            )),
            (Role::Client, None) => Ok(DatagramSocket::Service),
            (Role::Server, name) => Ok(DatagramSocket::Named(
                name.clone().unwrap_or_else(|| String::from("u")),
            )),
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
            raw.line.is_some(),
            raw.hex.is_some(),
            raw.prefix.is_some(),
            raw.contains.is_some(),
            raw.regex.is_some(),
            raw.any.is_some(),
        ];
        if given.iter().filter(|g| **g).count() != 1 {
            return Err(self.error(
                path,
                "give exactly one of `text`, `line`, `hex`, `prefix`, `contains`, `regex` or `any`",
            ));
        }
        if raw.any == Some(RawAny::Flag(false)) {
            return Err(self.error(
                &child_key(path, "any"),
                "`any: false` checks nothing: write `any: true` for a reply of any content, or give the bytes expected",
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
        let matcher = self.matcher_kind(path, raw, scope, with_repeat)?;
        let checks_nothing = match &matcher {
            Matcher::Exact(p) | Matcher::Line(p) | Matcher::Prefix(p) | Matcher::Contains(p) => p
                .parts
                .iter()
                .all(|part| matches!(part, Part::Literal(bytes) if bytes.is_empty())),
            Matcher::Regex(regex) => regex.as_str().is_empty(),
            Matcher::Any { .. } => false,
        };
        if checks_nothing {
            let key = ["text", "line", "hex", "prefix", "contains", "regex"]
                .into_iter()
                .zip(given)
                .find(|(_, given)| *given)
                .map_or("text", |(key, _)| key);
            return Err(self.error(
                &child_key(path, key),
                format!("an empty `{key}` checks nothing: give the bytes expected (`eof` checks that a connection was closed, `quiet` that nothing arrives)"),
            ));
        }
        Ok(matcher)
    }

    fn matcher_kind(
        &self,
        path: &str,
        raw: &RawMatch,
        scope: &Scope,
        with_repeat: impl Fn(Payload) -> Result<Payload, SpecError>,
    ) -> Result<Matcher, SpecError> {
        Ok(if let Some(text) = &raw.text {
            Matcher::Exact(with_repeat(self.template(
                &child_key(path, "text"),
                text,
                scope,
            )?)?)
        } else if let Some(text) = &raw.line {
            Matcher::Line(self.template(&child_key(path, "line"), text, scope)?)
        } else if let Some(hex) = &raw.hex {
            Matcher::Exact(with_repeat(self.hex(&child_key(path, "hex"), hex)?)?)
        } else if let Some(text) = &raw.prefix {
            Matcher::Prefix(self.template(&child_key(path, "prefix"), text, scope)?)
        } else if let Some(text) = &raw.contains {
            Matcher::Contains(self.template(&child_key(path, "contains"), text, scope)?)
        } else if let Some(any) = raw.any {
            Matcher::Any {
                text_only: any == RawAny::Kind(RawAnyKind::Text),
            }
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
}
