//! The spec file exactly as written in YAML. Unknown keys are rejected here;
//! meaning (which keys go together, which names exist) is checked by the
//! loader when it builds the typed model.

use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

/// A spec: how one program of an assignment must behave on the wire. The
/// reference is specs/README.md. Text values are strings: quote numbers
/// and words such as `yes` meant as text (`text: "42"`).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "runner spec")]
pub struct RawSpec {
    /// Short machine name, not empty, e.g. `tcp-upper-server`. Shown in
    /// reports and used by `--case spec/case`.
    #[schemars(regex(pattern = r"\S"))]
    pub spec: String,
    /// One line shown at the head of the report.
    pub title: String,
    /// What the assignment asks for, for people reading the spec. Not
    /// shown in reports.
    #[serde(default)]
    #[allow(dead_code)]
    pub about: Option<String>,
    /// The program under test.
    pub target: RawTarget,
    /// Settings for every case.
    #[serde(default)]
    pub defaults: RawDefaults,
    /// The cases, at least one.
    #[schemars(length(min = 1))]
    pub cases: Vec<RawCase>,
}

/// The program under test.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawTarget {
    /// The side the program plays: `server` (it listens or waits for
    /// datagrams; the runner is the client) or `client` (the runner
    /// listens; the program comes to it).
    pub role: RawRole,
    /// `tcp` or `udp`: decides which network steps are allowed.
    pub transport: RawTransport,
    /// The bundled program tested when no `--target` is given.
    #[serde(default)]
    #[schemars(with = "Option<ReferenceName>")]
    pub reference: Option<String>,
    /// `per-case` (default): a fresh process for every case. `once`: one
    /// process for all the selected cases, started again only if it exited.
    #[serde(default)]
    pub restart: Option<RawRestart>,
    /// Server role only: how long the program may take to start listening
    /// or bind its socket. Default `5s`.
    #[serde(default)]
    #[schemars(with = "Option<DurationText>")]
    pub start_timeout: Option<String>,
    /// Limits on the program, overriding the runner's defaults; the command
    /// line overrides both.
    #[serde(default)]
    pub limits: Option<RawLimits>,
}

/// Limits on the target, overriding the runner's defaults.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawLimits {
    /// CPU time per process (default `10s`).
    #[serde(default)]
    #[schemars(with = "Option<DurationText>")]
    pub cpu: Option<String>,
    /// Address space per process, e.g. `512MiB` (default `1GiB`).
    #[serde(default)]
    #[schemars(with = "Option<SizeText>")]
    pub memory: Option<String>,
    /// Processes the program's user may have (default 64).
    #[serde(default)]
    #[schemars(range(min = 1))]
    pub processes: Option<u64>,
    /// Wall time for one case, program start included (default `60s`).
    #[serde(default)]
    #[schemars(with = "Option<DurationText>")]
    pub case_time: Option<String>,
    /// Bytes of each output stream kept whole (default `1MiB`).
    #[serde(default)]
    #[schemars(with = "Option<SizeText>")]
    pub output: Option<String>,
}

/// The side the program under test plays.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum RawRole {
    Server,
    Client,
}

#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum RawTransport {
    Tcp,
    Udp,
}

/// When a fresh target process is started.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum RawRestart {
    PerCase,
    Once,
}

/// Whether a case counts: `required` (the default) counts in the verdict
/// and the points; `informational` is run and reported with its evidence
/// but counts in neither, for behaviour the handout does not ask for.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RawLevel {
    Required,
    Informational,
}

/// Who sees a case's result on Gradescope (other reports show every case).
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RawVisibility {
    /// Always shown (the default).
    Visible,
    /// Never shown to students.
    Hidden,
    /// Shown once the assignment's due date (or late due date) has passed.
    AfterDueDate,
    /// Shown once the grades are published.
    AfterPublished,
}

/// Settings for every case.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawDefaults {
    /// The deadline of every waiting step that sets none. Default `2s`.
    #[serde(default)]
    #[schemars(with = "Option<DurationText>")]
    pub timeout: Option<String>,
}

/// One case: a requirement and the steps that check it.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawCase {
    /// Letters, digits, `-` and `_`; unique within the spec.
    #[schemars(regex(pattern = r"^[A-Za-z0-9_-]+$"))]
    pub id: String,
    /// Awarded only when the case passes. Default 1.
    #[serde(default)]
    pub points: Option<u32>,
    /// The requirement the case checks, in the assignment's words. Shown
    /// as `requirement:` when the case fails.
    pub about: String,
    /// Advice for the student, shown with a failure: one text for every
    /// program, or a mapping with a text per language (`python`, `c`,
    /// `cpp`, `java`, `go`, `javascript`) and a `default` for the rest.
    #[serde(default)]
    pub hint: Option<ShortForm<RawHint>>,
    /// A tagged case runs only when one of its tags is turned on with
    /// `--tag`.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Who sees the case's result on Gradescope: `visible` (default),
    /// `hidden`, `after_due_date` or `after_published`. Other reports
    /// ignore it.
    #[serde(default)]
    pub visibility: Option<RawVisibility>,
    /// `required` (the default): counts in the verdict and the points;
    /// `informational`: run and reported with its evidence, counted in
    /// neither (behaviour the handout does not ask for). Its points must
    /// then be 0 or left out.
    #[serde(default)]
    pub level: Option<RawLevel>,
    /// The steps, run in order; the first that fails ends the case.
    /// Steps are written `- send: {...}`, a single-key mapping, rather than
    /// serde_yaml's default `!send {...}` tag form.
    #[serde(with = "serde_yaml::with::singleton_map_recursive")]
    #[schemars(with = "Vec<RawStep>", length(min = 1))]
    pub steps: Vec<RawStep>,
}

/// One step: a mapping with a single key naming the action (`- send:
/// {...}`), or the bare name for `close-stdin` and `alive`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum RawStep {
    /// TCP, server role: open a connection to the program, named by `on`.
    Connect(ShortForm<RawConn>),
    /// TCP, client role: wait for the program to connect; names the
    /// connection.
    Accept(ShortForm<RawConn>),
    /// TCP: write bytes on a connection.
    Send(RawSend),
    /// TCP: read from a connection until the bytes match.
    Recv(RawMatch),
    /// TCP: the program has closed its side, with nothing unread before.
    Eof(ShortForm<RawConn>),
    /// TCP: no byte arrives on the connection for the window.
    Quiet(RawQuiet),
    /// TCP: half-close the runner's side (the program reads 0 bytes).
    Shutdown(ShortForm<RawConn>),
    /// TCP: close the connection gracefully (FIN).
    Close(ShortForm<RawConn>),
    /// TCP: close the connection abortively (RST).
    Reset(ShortForm<RawConn>),
    /// UDP: send one datagram.
    Sendto(RawSend),
    /// UDP: receive one datagram; it must match as a whole.
    Recvfrom(RawMatch),
    /// Write to the program's stdin: a line (a newline is added) or a
    /// mapping with `line` or `text`.
    Stdin(ShortForm<RawStdin>),
    /// Close the program's stdin.
    CloseStdin,
    /// Read the program's stdout until the bytes match.
    Stdout(RawMatch),
    /// Read the program's stderr until the bytes match.
    Stderr(RawMatch),
    /// Read stdout or stderr until the bytes match.
    Output(RawMatch),
    /// The program exits, with `code` if given, within `within`.
    Exit(RawExit),
    /// The program is still running.
    Alive,
    /// The program uses at most `max-cpu` of one core over the window.
    Idle(RawIdle),
}

impl RawStep {
    /// The action's name as written in the spec.
    pub fn name(&self) -> &'static str {
        match self {
            RawStep::Connect(_) => "connect",
            RawStep::Accept(_) => "accept",
            RawStep::Send(_) => "send",
            RawStep::Recv(_) => "recv",
            RawStep::Eof(_) => "eof",
            RawStep::Quiet(_) => "quiet",
            RawStep::Shutdown(_) => "shutdown",
            RawStep::Close(_) => "close",
            RawStep::Reset(_) => "reset",
            RawStep::Sendto(_) => "sendto",
            RawStep::Recvfrom(_) => "recvfrom",
            RawStep::Stdin(_) => "stdin",
            RawStep::CloseStdin => "close-stdin",
            RawStep::Stdout(_) => "stdout",
            RawStep::Stderr(_) => "stderr",
            RawStep::Output(_) => "output",
            RawStep::Exit(_) => "exit",
            RawStep::Alive => "alive",
            RawStep::Idle(_) => "idle",
        }
    }
}

/// A step that names a connection: `eof: a` or `eof: { on: a, timeout: 1s }`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawConn {
    /// The connection's name, e.g. `a`.
    pub on: String,
    /// The step's deadline; default `defaults.timeout`.
    #[serde(default)]
    #[schemars(with = "Option<DurationText>")]
    pub timeout: Option<String>,
    /// `eof` only: `any` lets a reply of any content (at least one byte)
    /// come before the close, for a case about the close and not about
    /// the reply's bytes.
    #[serde(default)]
    pub after: Option<RawAfter>,
}

/// `any: true`, or `any: text`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum RawAny {
    Flag(bool),
    Kind(RawAnyKind),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RawAnyKind {
    /// Any text.
    Text,
}

/// What an `eof` lets arrive before the close.
#[derive(Debug, Clone, Copy, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RawAfter {
    /// Anything: the bytes are recorded and not judged.
    Any,
}

impl From<String> for RawConn {
    fn from(on: String) -> Self {
        RawConn {
            on,
            timeout: None,
            after: None,
        }
    }
}

/// Bytes to write: `text` or `hex`, optionally repeated and split.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawSend {
    /// The connection (`send`), or the runner's socket by name (`sendto`,
    /// UDP server role only).
    #[serde(default)]
    pub on: Option<String>,
    /// The bytes as UTF-8 text; `{name}` and `{name|upper}` insert a
    /// capture, `{{` and `}}` are literal braces.
    #[serde(default)]
    pub text: Option<String>,
    /// The bytes as pairs of hex digits, spaces allowed: `"68 65 6c"`.
    #[serde(default)]
    #[schemars(with = "Option<HexText>")]
    pub hex: Option<String>,
    /// The bytes are repeated this many times.
    #[serde(default)]
    #[schemars(range(min = 1))]
    pub repeat: Option<usize>,
    /// Sizes of the pieces to write separately; the rest goes last.
    #[serde(default)]
    #[schemars(with = "Option<Vec<ChunkSize>>")]
    pub chunks: Option<Vec<usize>>,
    /// Pause between chunks (default `0s`).
    #[serde(default)]
    #[schemars(with = "Option<DurationText>")]
    pub pause: Option<String>,
}

/// Expected bytes, on a connection, a datagram socket or an output stream.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawMatch {
    /// The connection (`recv`), or the runner's socket by name
    /// (`recvfrom`, UDP server role only).
    #[serde(default)]
    pub on: Option<String>,
    /// Exactly these bytes next (a template).
    #[serde(default)]
    pub text: Option<String>,
    /// A line of text (a template): these bytes, and a line end (`\n` or
    /// `\r\n`) after them if the program sends one, as C's `fgets` and
    /// Java's `println` do. A line end left before them by an earlier line
    /// is skipped too.
    #[serde(default)]
    pub line: Option<String>,
    /// Exactly these bytes next, as pairs of hex digits.
    #[serde(default)]
    #[schemars(with = "Option<HexText>")]
    pub hex: Option<String>,
    /// `text` or `hex` repeated this many times.
    #[serde(default)]
    #[schemars(range(min = 1))]
    pub repeat: Option<usize>,
    /// The next bytes start with these (a template).
    #[serde(default)]
    pub prefix: Option<String>,
    /// The bytes up to and including the first occurrence of these (a
    /// template).
    #[serde(default)]
    pub contains: Option<String>,
    /// The bytes up to and including the first match of this regex (Rust
    /// `regex` syntax, not anchored).
    #[serde(default)]
    pub regex: Option<String>,
    /// `any: true`: a reply of any content, for a case about something
    /// else than the reply's bytes (a close, a next client): at least one
    /// byte, and what follows it until the connection is quiet for a
    /// moment (a whole datagram on UDP). `any: text`: the same, and it
    /// must be text (UTF-8, no NUL or other control byte but whitespace).
    #[serde(default)]
    pub any: Option<RawAny>,
    /// Keeps the bytes the step consumed under this name, for `{name}` in
    /// later steps of the case.
    #[serde(default)]
    pub capture: Option<String>,
    /// The step's deadline; default `defaults.timeout`.
    #[serde(default)]
    #[schemars(with = "Option<DurationText>")]
    pub timeout: Option<String>,
}

/// No byte arrives on a connection, or no datagram on a socket, for a
/// while (a close ends the wait early: nothing more can come).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawQuiet {
    /// The connection (TCP); on UDP the runner's socket by name (server
    /// role, default `u`), or left out (client role).
    #[serde(default)]
    pub on: Option<String>,
    /// How long nothing may arrive.
    #[serde(rename = "for")]
    #[schemars(with = "DurationText")]
    pub window: String,
}

/// `stdin: "a line"` (a newline is added) or `stdin: { text: "no newline" }`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawStdin {
    /// A line; a newline is added (a template).
    #[serde(default)]
    pub line: Option<String>,
    /// Text written as is, without a newline (a template).
    #[serde(default)]
    pub text: Option<String>,
}

impl From<String> for RawStdin {
    fn from(line: String) -> Self {
        RawStdin {
            line: Some(line),
            text: None,
        }
    }
}

/// The program exits.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawExit {
    /// The exit code it must have; any if not given.
    #[serde(default)]
    pub code: Option<i32>,
    /// How long it may take to exit; default `defaults.timeout`.
    #[serde(default)]
    #[schemars(with = "Option<DurationText>")]
    pub within: Option<String>,
}

/// The program stays (nearly) idle for a while.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawIdle {
    /// How long to watch.
    #[serde(rename = "for")]
    #[schemars(with = "DurationText")]
    pub window: String,
    /// Percent of one core, e.g. `10%` or `10`.
    #[serde(default)]
    #[schemars(with = "Option<Percent>")]
    pub max_cpu: Option<serde_yaml::Value>,
}

/// The JSON Schema of the spec language, for editors and CI: generated
/// from the types above, so it accepts the shapes the loader accepts.
/// Checks that need the whole spec (names opened before use, captures,
/// which steps fit the target, ranges) stay with `runner check`.
pub fn spec_schema() -> Schema {
    schemars::generate::SchemaSettings::draft07()
        .into_generator()
        .into_root_schema_for::<RawSpec>()
}

/// A case's hint per language. The runner tells a program's language
/// from its file type (`.py`, `.c`, `.cpp`, `.java`, `.go`, `.js`); a C++
/// program without a `cpp` text gets the `c` one.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RawHint {
    /// For programs in other languages, or whose language is unknown.
    #[serde(default)]
    pub default: Option<String>,
    #[serde(default)]
    pub python: Option<String>,
    #[serde(default)]
    pub c: Option<String>,
    #[serde(default)]
    pub cpp: Option<String>,
    #[serde(default)]
    pub java: Option<String>,
    #[serde(default)]
    pub go: Option<String>,
    #[serde(default)]
    pub javascript: Option<String>,
}

impl From<String> for RawHint {
    fn from(text: String) -> RawHint {
        RawHint {
            default: Some(text),
            ..RawHint::default()
        }
    }
}

/// A value written either as a plain string (the short form) or as a full
/// mapping.
#[derive(Debug)]
pub struct ShortForm<T>(pub T);

impl<'de, T> Deserialize<'de> for ShortForm<T>
where
    T: Deserialize<'de> + From<String>,
{
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ShortFormVisitor<T>(PhantomData<T>);

        impl<'de, T> Visitor<'de> for ShortFormVisitor<T>
        where
            T: Deserialize<'de> + From<String>,
        {
            type Value = ShortForm<T>;

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a name or a mapping")
            }

            fn visit_str<E: de::Error>(self, value: &str) -> Result<Self::Value, E> {
                Ok(ShortForm(T::from(value.to_string())))
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                T::deserialize(de::value::MapAccessDeserializer::new(map)).map(ShortForm)
            }
        }

        deserializer.deserialize_any(ShortFormVisitor(PhantomData))
    }
}

impl<T: JsonSchema> JsonSchema for ShortForm<T> {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        format!("ShortForm_{}", T::schema_name()).into()
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "anyOf": [
                { "type": "string", "description": "The short form: the connection's name alone (for `stdin`, the line; for `hint`, the text for every language)." },
                generator.subschema_for::<T>(),
            ]
        })
    }
}

/// The schemas of values the loader reads as strings and parses itself.
/// Each pattern is the parser's grammar, so an editor flags what the
/// loader would refuse.
macro_rules! text_schema {
    ($(#[$doc:meta])* $name:ident, $title:literal, $schema:tt) => {
        $(#[$doc])*
        pub struct $name;

        impl JsonSchema for $name {
            fn schema_name() -> Cow<'static, str> {
                $title.into()
            }

            fn json_schema(_: &mut SchemaGenerator) -> Schema {
                json_schema!($schema)
            }
        }
    };
}

text_schema!(
    /// A humantime duration: `500ms`, `2s`, `1.5s`, `1m 30s`.
    DurationText,
    "Duration",
    {
        "type": "string",
        "description": "A duration: a number and a unit, e.g. 500ms, 2s, 1.5s, 1m 30s (units ns, us, ms, s, m, h, d and their long names).",
        "pattern": "^\\s*(\\d[\\d\\s]*(\\.\\s*\\d[\\d\\s]*)?(nanos|nsec|ns|usec|us|µs|millis|msec|ms|seconds|second|secs|sec|s|minutes|minute|mins|min|m|hours|hour|hrs|hr|h|days|day|d|weeks|week|wks|wk|w|months|month|M|years|year|yrs|yr|y)\\s*)+$"
    }
);

text_schema!(
    /// A size in bytes: `4096`, `512MiB`, `1G`.
    SizeText,
    "Size",
    {
        "type": "string",
        "description": "A size: a whole number of bytes, optionally with a unit (k, KB, KiB, M, MB, MiB, G, GB, GiB), e.g. 512MiB.",
        "pattern": "^\\s*\\d+\\s*([kKmMgG]([iI]?[bB])?|[bB])?\\s*$"
    }
);

text_schema!(
    /// Bytes as hex digit pairs.
    HexText,
    "Hex",
    {
        "type": "string",
        "description": "Bytes as pairs of hex digits, upper or lower case, spaces allowed: \"68 65 6c 6c 6f\".",
        "pattern": "^[ \\t\\n\\r\\f]*([0-9a-fA-F][ \\t\\n\\r\\f]*[0-9a-fA-F][ \\t\\n\\r\\f]*)*$"
    }
);

text_schema!(
    /// A percentage of one core.
    Percent,
    "Percent",
    {
        "description": "A percentage of one core, from 0 to 100: 10, 0.5 or \"10%\".",
        "anyOf": [
            { "type": "number", "minimum": 0, "maximum": 100 },
            { "type": "string", "pattern": "^\\s*\\+?(\\d+(\\.\\d*)?|\\.\\d+)([eE][+-]?\\d+)?\\s*%*\\s*$" }
        ]
    }
);

text_schema!(
    /// The size of one chunk of a `send`.
    ChunkSize,
    "ChunkSize",
    { "type": "integer", "minimum": 1 }
);

/// The name of a bundled reference program.
pub struct ReferenceName;

impl JsonSchema for ReferenceName {
    fn schema_name() -> Cow<'static, str> {
        "Reference".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "description": "A bundled reference program.",
            "enum": fixtures::REFERENCES,
        })
    }
}
