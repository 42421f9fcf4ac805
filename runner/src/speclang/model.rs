//! The typed model of a spec, as the engine consumes it. It is built from the
//! raw YAML form (`raw.rs`) by the loader, which has already checked every
//! cross-reference, so the engine can trust it.

use regex::bytes::Regex;
use std::time::Duration;

pub use super::raw::spec_schema;

/// One spec file: one program of the assignment family and its cases.
#[derive(Debug, Clone)]
pub struct Spec {
    /// Short machine name, e.g. `tcp-upper-server`.
    pub name: String,
    pub title: String,
    /// Where the spec came from: a path, or `bundled:NAME`.
    pub source: String,
    /// The text it was loaded from: what `runner show` prints, a grading
    /// fingerprints and a bundle carries (never read again from `source`,
    /// which may have changed since).
    pub text: String,
    pub target: TargetSpec,
    pub cases: Vec<Case>,
}

/// The side the program under test plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The target listens; the runner connects (or sends datagrams) to it.
    Server,
    /// The runner listens; the target connects (or sends datagrams) to it.
    Client,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    Tcp,
    Udp,
}

/// When a fresh target process is started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Restart {
    /// A new process for every case: cases cannot disturb each other.
    PerCase,
    /// One process for the whole spec (restarted only if it died).
    Once,
}

#[derive(Debug, Clone)]
pub struct TargetSpec {
    pub role: Role,
    pub transport: Transport,
    /// Name of the bundled reference program used when no `--target` is given.
    pub reference: Option<String>,
    pub restart: Restart,
    /// How long a server may take to start listening.
    pub start_timeout: Duration,
    /// Limits the spec sets; the command line can override each.
    pub limits: LimitSettings,
}

/// Limits given by a spec or on the command line; unset ones fall back.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LimitSettings {
    pub cpu: Option<Duration>,
    pub memory: Option<u64>,
    pub processes: Option<u64>,
    /// Wall time for one case, target start included.
    pub case_time: Option<Duration>,
    /// Bytes of each output stream kept whole.
    pub output: Option<u64>,
}

impl LimitSettings {
    /// Each setting of `self`, or of `fallback` where `self` has none.
    pub fn or(self, fallback: LimitSettings) -> LimitSettings {
        LimitSettings {
            cpu: self.cpu.or(fallback.cpu),
            memory: self.memory.or(fallback.memory),
            processes: self.processes.or(fallback.processes),
            case_time: self.case_time.or(fallback.case_time),
            output: self.output.or(fallback.output),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Case {
    pub id: String,
    pub points: u32,
    /// The requirement the case checks, in the assignment's words.
    pub about: String,
    /// Advice shown to the student when the case fails.
    pub hints: Hints,
    /// Cases with tags run only when one of their tags is selected.
    pub tags: Vec<String>,
    /// Who sees the case's result on Gradescope.
    pub visibility: Visibility,
    /// Whether the case counts in the verdict and the points.
    pub level: Level,
    pub steps: Vec<Step>,
}

/// Whether a case counts, as Autobahn's strict and informational
/// verdicts: an informational case is run and reported, and counts in
/// neither the run's verdict nor its points.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Level {
    #[default]
    Required,
    Informational,
}

impl Level {
    pub fn name(self) -> &'static str {
        match self {
            Level::Required => "required",
            Level::Informational => "informational",
        }
    }
}

/// A case's advice: one text for every program, texts for programs in
/// given languages, or both.
#[derive(Debug, Clone, Default)]
pub struct Hints {
    /// For programs in a language without a text of its own, and for
    /// programs whose language the runner cannot tell.
    pub default: Option<String>,
    pub by_language: std::collections::BTreeMap<Language, String>,
}

impl Hints {
    /// The advice for a program in `language` (None: unknown): its
    /// language's text, a close language's, or the default.
    pub fn for_language(&self, language: Option<Language>) -> Option<String> {
        let mut wanted = language;
        while let Some(language) = wanted {
            if let Some(text) = self.by_language.get(&language) {
                return Some(text.clone());
            }
            wanted = language.close_to();
        }
        self.default.clone()
    }
}

/// The languages hints are written for, as the runner tells them from
/// the target's file type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Language {
    Python,
    C,
    Cpp,
    Java,
    Go,
    JavaScript,
}

impl Language {
    /// The language whose hint fits when this one has none: a C++
    /// program uses the same socket calls as a C one.
    pub fn close_to(self) -> Option<Language> {
        match self {
            Language::Cpp => Some(Language::C),
            _ => None,
        }
    }
}

/// Who sees a case's result on Gradescope, in Gradescope's terms. Other
/// reports show every case.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Visibility {
    /// Always shown.
    #[default]
    Visible,
    /// Never shown to students.
    Hidden,
    /// Shown once the assignment's due date has passed.
    AfterDueDate,
    /// Shown once the grades are published.
    AfterPublished,
}

impl Visibility {
    /// The value as the spec and Gradescope's `results.json` write it.
    pub fn as_str(self) -> &'static str {
        match self {
            Visibility::Visible => "visible",
            Visibility::Hidden => "hidden",
            Visibility::AfterDueDate => "after_due_date",
            Visibility::AfterPublished => "after_published",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Step {
    pub action: Action,
    /// The deadline for whatever the step waits for.
    pub timeout: Duration,
    /// 1-based line of the step in its spec file, for reports.
    pub line: usize,
}

/// Which of the runner's datagram sockets a UDP step uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatagramSocket {
    /// Client role: the runner's one socket, where the target sends to.
    Service,
    /// Server role: a socket of the runner's, by name, bound on first use.
    Named(String),
}

/// Which of the target's output streams a step reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
    /// Either stream: for messages a program may print to stdout or stderr.
    Output,
}

impl Stream {
    pub fn name(self) -> &'static str {
        match self {
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
            Stream::Output => "stdout or stderr",
        }
    }
}

#[derive(Debug, Clone)]
pub enum Action {
    /// Open TCP connection `conn` to the target.
    Connect {
        conn: String,
    },
    /// Wait for the target to connect to the runner's listener.
    Accept {
        conn: String,
    },
    /// Write bytes, optionally in chunks with a pause between them.
    Send {
        conn: String,
        payload: Payload,
        chunks: Vec<usize>,
        pause: Duration,
    },
    /// Read from the stream until `matcher` is satisfied.
    Recv {
        conn: String,
        matcher: Matcher,
        capture: Option<String>,
    },
    /// The target closed its side (FIN, not a reset): a read returns 0
    /// with nothing before it, or, `after_any`, with anything before it.
    Eof {
        conn: String,
        after_any: bool,
    },
    /// No data arrives for `window`.
    Quiet {
        conn: String,
        window: Duration,
    },
    /// No datagram arrives on `socket` for `window`.
    QuietDatagrams {
        socket: DatagramSocket,
        window: Duration,
    },
    /// Half-close: the runner stops writing (the target reads 0 bytes).
    Shutdown {
        conn: String,
    },
    /// Graceful close (FIN), after draining what is unread.
    Close {
        conn: String,
    },
    /// Abortive close (RST).
    Reset {
        conn: String,
    },
    /// Send one datagram to the target (server role) or to the last sender
    /// (client role).
    SendTo {
        socket: DatagramSocket,
        payload: Payload,
    },
    /// Receive one datagram; its content must match as a whole.
    RecvFrom {
        socket: DatagramSocket,
        matcher: Matcher,
        capture: Option<String>,
    },
    /// Write to the target's standard input.
    WriteStdin {
        payload: Payload,
    },
    CloseStdin,
    /// Read the target's output until `matcher` is satisfied.
    Expect {
        stream: Stream,
        matcher: Matcher,
        capture: Option<String>,
    },
    /// The target exits within the step's timeout, with `code` if given.
    Exit {
        code: Option<i32>,
    },
    /// The target is still running.
    Alive,
    /// Over `window`, the target's process tree uses at most `max_cpu`
    /// (a fraction of one core).
    Idle {
        window: Duration,
        max_cpu: f64,
    },
}

/// Bytes to send, possibly built from earlier captures.
#[derive(Debug, Clone)]
pub struct Payload {
    pub parts: Vec<Part>,
    /// The parts are repeated this many times (at least once).
    pub repeat: usize,
}

#[derive(Debug, Clone)]
pub enum Part {
    Literal(Vec<u8>),
    /// `{name}` or `{name|transform}`: what an earlier step captured.
    Capture {
        name: String,
        transform: Transform,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transform {
    None,
    /// ASCII letters upper-cased, every other byte unchanged.
    Upper,
    Lower,
    /// Surrounding whitespace removed.
    Trim,
}

impl Transform {
    pub fn apply(self, bytes: &[u8]) -> Vec<u8> {
        match self {
            Transform::None => bytes.to_vec(),
            Transform::Upper => bytes.to_ascii_uppercase(),
            Transform::Lower => bytes.to_ascii_lowercase(),
            Transform::Trim => bytes.trim_ascii().to_vec(),
        }
    }
}

/// How received bytes are judged.
#[derive(Debug, Clone)]
pub enum Matcher {
    /// The next bytes are exactly these.
    Exact(Payload),
    /// A line: these bytes, with a line end after them allowed (and one
    /// left before them by an earlier line skipped).
    Line(Payload),
    /// The next bytes start with these; the step takes all that has arrived.
    Prefix(Payload),
    /// The bytes up to and including the first occurrence.
    Contains(Payload),
    /// The bytes up to and including the first match.
    Regex(Regex),
    /// A reply of any content: at least one byte, and what follows until
    /// the connection is quiet for a moment; with `text_only`, text.
    Any { text_only: bool },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hint_for_the_program_s_language_wins_then_a_close_one_then_the_default() {
        let hints = Hints {
            default: Some(String::from("any")),
            by_language: [
                (Language::Python, String::from("py")),
                (Language::C, String::from("c")),
            ]
            .into_iter()
            .collect(),
        };
        let pick = |language| hints.for_language(language);
        assert_eq!(pick(Some(Language::Python)).as_deref(), Some("py"));
        assert_eq!(pick(Some(Language::Cpp)).as_deref(), Some("c"));
        assert_eq!(pick(Some(Language::Go)).as_deref(), Some("any"));
        assert_eq!(pick(None).as_deref(), Some("any"));
        let without_default = Hints {
            default: None,
            ..hints.clone()
        };
        assert_eq!(without_default.for_language(Some(Language::Java)), None);
    }
}
