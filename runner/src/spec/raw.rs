//! The spec file exactly as written in YAML. Unknown keys are rejected here;
//! meaning (which keys go together, which names exist) is checked by the
//! loader when it builds the typed model.

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use std::fmt;
use std::marker::PhantomData;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSpec {
    pub spec: String,
    pub title: String,
    /// What the assignment asks for, for teachers reading the spec.
    #[serde(default)]
    #[allow(dead_code)]
    pub about: Option<String>,
    pub target: RawTarget,
    #[serde(default)]
    pub defaults: RawDefaults,
    pub cases: Vec<RawCase>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawTarget {
    pub role: RawRole,
    pub transport: RawTransport,
    #[serde(default)]
    pub reference: Option<String>,
    #[serde(default)]
    pub restart: Option<RawRestart>,
    #[serde(default)]
    pub start_timeout: Option<String>,
    #[serde(default)]
    pub limits: Option<RawLimits>,
}

/// Limits on the target, overriding the runner's defaults.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawLimits {
    #[serde(default)]
    pub cpu: Option<String>,
    #[serde(default)]
    pub memory: Option<String>,
    #[serde(default)]
    pub processes: Option<u64>,
    #[serde(default)]
    pub case_time: Option<String>,
    #[serde(default)]
    pub output: Option<String>,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RawRole {
    Server,
    Client,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RawTransport {
    Tcp,
    Udp,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RawRestart {
    PerCase,
    Once,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDefaults {
    #[serde(default)]
    pub timeout: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCase {
    pub id: String,
    #[serde(default)]
    pub points: Option<u32>,
    pub about: String,
    #[serde(default)]
    pub hint: Option<String>,
    #[serde(default)]
    pub tags: Vec<String>,
    /// Steps are written `- send: {...}`, a single-key mapping, rather than
    /// serde_yaml's default `!send {...}` tag form.
    #[serde(with = "serde_yaml::with::singleton_map_recursive")]
    pub steps: Vec<RawStep>,
}

/// One step: a mapping with a single key naming the action.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RawStep {
    Connect(ShortForm<RawConn>),
    Accept(ShortForm<RawConn>),
    Send(RawSend),
    Recv(RawMatch),
    Eof(ShortForm<RawConn>),
    Quiet(RawQuiet),
    Shutdown(ShortForm<RawConn>),
    Close(ShortForm<RawConn>),
    Reset(ShortForm<RawConn>),
    Sendto(RawSend),
    Recvfrom(RawMatch),
    Stdin(ShortForm<RawStdin>),
    CloseStdin,
    Stdout(RawMatch),
    Stderr(RawMatch),
    Output(RawMatch),
    Exit(RawExit),
    Alive,
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
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConn {
    pub on: String,
    #[serde(default)]
    pub timeout: Option<String>,
}

impl From<String> for RawConn {
    fn from(on: String) -> Self {
        RawConn { on, timeout: None }
    }
}

/// Bytes to write: `text` or `hex`, optionally repeated and split.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSend {
    #[serde(default)]
    pub on: Option<String>,
    #[serde(default)]
    pub text: Option<String>,
    #[serde(default)]
    pub hex: Option<String>,
    #[serde(default)]
    pub repeat: Option<usize>,
    /// Sizes of the pieces to write separately; the rest goes last.
    #[serde(default)]
    pub chunks: Option<Vec<usize>>,
    /// Pause between chunks.
    #[serde(default)]
    pub pause: Option<String>,
}

/// Expected bytes, on a connection, a datagram socket or an output stream.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMatch {
    #[serde(default)]
    pub on: Option<String>,
    #[serde(default)]
    pub text: Option<String>,
    #[serde(default)]
    pub hex: Option<String>,
    #[serde(default)]
    pub repeat: Option<usize>,
    #[serde(default)]
    pub prefix: Option<String>,
    #[serde(default)]
    pub contains: Option<String>,
    #[serde(default)]
    pub regex: Option<String>,
    #[serde(default)]
    pub capture: Option<String>,
    #[serde(default)]
    pub timeout: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawQuiet {
    pub on: String,
    #[serde(rename = "for")]
    pub window: String,
}

/// `stdin: "a line"` (a newline is added) or `stdin: { text: "no newline" }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawStdin {
    #[serde(default)]
    pub line: Option<String>,
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

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawExit {
    #[serde(default)]
    pub code: Option<i32>,
    #[serde(default)]
    pub within: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RawIdle {
    #[serde(rename = "for")]
    pub window: String,
    /// Percent of one core, e.g. `10%` or `10`.
    #[serde(default)]
    pub max_cpu: Option<serde_yaml::Value>,
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
