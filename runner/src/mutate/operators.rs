//! The catalogue of mutation operators: what each one does to the
//! program's behaviour, and to which specs it applies.
//!
//! An operator never touches the program: it changes what the runner sees
//! of it (and what the program sees of the runner), so the same operators
//! work for the bundled references and for a teacher's own program.

use crate::speclang::{Action, Matcher, Role, Spec, Transport};

/// Whether a good spec must fail the mutant or pass it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A classic student bug: some case of a good spec fails it.
    Fault,
    /// Behaviour a correct program may show: a good spec passes it.
    Harmless,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Fault => "fault",
            Kind::Harmless => "harmless",
        }
    }
}

/// What an operator does; the relay in `relay.rs` carries it out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Echo,
    FirstWordOnly,
    AddedNewline,
    DroppedNewline,
    LastByteDropped,
    PaddedToBuffer,
    OneNul,
    OneReplyPerConnection,
    ReplyTwice,
    NeverReplies,
    ClosesBeforeReply,
    NeverCloses,
    ResetsInsteadOfClosing,
    OneClientThenExits,
    SpinsAfterDisconnect,
    SwallowsInput,
    ByteByByte,
    Delayed,
    StdoutLate,
}

/// The size of the receive buffer of the handout's programs: a C program
/// that sends its whole buffer sends this many bytes.
pub const BUFFER_SIZE: usize = 1024;

/// How late the `delayed` and `stdout-late` variations deliver: well
/// inside the bundled specs' 2 s step timeout.
pub const DELAY: std::time::Duration = std::time::Duration::from_millis(250);

/// Which specs an operator makes sense for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Needs {
    /// Nothing beyond the role and the transport.
    Nothing,
    /// A step that receives exact bytes: where every reply is judged as a
    /// line, a line end more or less is what a correct program may send.
    ExactBytes,
    /// A step that receives given bytes (exact, a line, a prefix): where
    /// the program may send any words (a client's greeting of its own), a
    /// byte less, or the words twice, is still a message.
    LiteralBytes,
    /// A case that talks to several clients (a connection loop): more
    /// than one `connect` (TCP) or `sendto` (UDP) in one case.
    Loop,
    /// The spec types on the program's stdin.
    Stdin,
    /// The spec measures the program's CPU use (`idle`).
    Idle,
    /// The spec reads the program's output and receives on a socket.
    StdoutAndSocket,
}

pub struct Operator {
    /// Short name, as in the report: `echo`, `never-closes`.
    pub id: &'static str,
    pub kind: Kind,
    /// One line: what the mutant does.
    pub about: &'static str,
    pub op: Op,
    pub roles: &'static [Role],
    pub transports: &'static [Transport],
    pub needs: Needs,
}

const BOTH: &[Role] = &[Role::Server, Role::Client];
const SERVER: &[Role] = &[Role::Server];
const CLIENT: &[Role] = &[Role::Client];
const ANY: &[Transport] = &[Transport::Tcp, Transport::Udp];
const TCP: &[Transport] = &[Transport::Tcp];

const fn operator(
    id: &'static str,
    kind: Kind,
    about: &'static str,
    op: Op,
    roles: &'static [Role],
    transports: &'static [Transport],
    needs: Needs,
) -> Operator {
    Operator {
        id,
        kind,
        about,
        op,
        roles,
        transports,
        needs,
    }
}

/// Every operator, faults first. A "reply" is what one read of the
/// runner returns (on loopback, what one send of the program wrote), or
/// one datagram.
#[rustfmt::skip]
pub const OPERATORS: &[Operator] = &[
    operator("echo", Kind::Fault, "no upper-casing: replies with the bytes it received, unchanged", Op::Echo, SERVER, ANY, Needs::Nothing),
    operator("first-word", Kind::Fault, "upper-cases only the first word of a reply", Op::FirstWordOnly, SERVER, ANY, Needs::Nothing),
    operator("added-newline", Kind::Fault, "adds a newline after every message it sends", Op::AddedNewline, BOTH, ANY, Needs::ExactBytes),
    operator("dropped-newline", Kind::Fault, "drops the newline at the end of a message it sends", Op::DroppedNewline, BOTH, ANY, Needs::ExactBytes),
    operator("last-byte-dropped", Kind::Fault, "drops the last byte of every message it sends", Op::LastByteDropped, BOTH, ANY, Needs::LiteralBytes),
    operator("padded-1024", Kind::Fault, "pads every message it sends with NULs to the buffer size (1024 bytes)", Op::PaddedToBuffer, BOTH, ANY, Needs::Nothing),
    operator("one-nul", Kind::Fault, "sends a NUL (a C string's terminator) after every message", Op::OneNul, BOTH, ANY, Needs::Nothing),
    operator("one-reply-per-connection", Kind::Fault, "sends one message per connection only, the later ones never", Op::OneReplyPerConnection, BOTH, TCP, Needs::Nothing),
    operator("reply-twice", Kind::Fault, "sends every message twice", Op::ReplyTwice, BOTH, ANY, Needs::LiteralBytes),
    operator("never-replies", Kind::Fault, "reads the request but never replies", Op::NeverReplies, SERVER, ANY, Needs::Nothing),
    operator("closes-before-reply", Kind::Fault, "closes the connection where it should send", Op::ClosesBeforeReply, BOTH, TCP, Needs::Nothing),
    operator("never-closes", Kind::Fault, "never closes a connection (the runner never sees end of file)", Op::NeverCloses, BOTH, TCP, Needs::Nothing),
    operator("reset-not-close", Kind::Fault, "resets connections (RST) instead of closing them", Op::ResetsInsteadOfClosing, BOTH, TCP, Needs::Nothing),
    operator("one-client", Kind::Fault, "serves one client, then exits: no connection loop (later connections are refused, later datagrams unanswered)", Op::OneClientThenExits, SERVER, ANY, Needs::Loop),
    operator("spins-after-disconnect", Kind::Fault, "after a client disconnects, reads the closed socket again and again (no check for an empty read): busy on a CPU", Op::SpinsAfterDisconnect, SERVER, TCP, Needs::Idle),
    operator("stdin-not-sent", Kind::Fault, "reads the typed line from stdin but never sends it", Op::SwallowsInput, CLIENT, ANY, Needs::Stdin),
    operator("byte-by-byte", Kind::Harmless, "sends a message one byte at a time (each byte arrives on its own)", Op::ByteByByte, BOTH, TCP, Needs::Nothing),
    operator("delayed", Kind::Harmless, "sends everything (data, close, reset) 250 ms late, well inside the timeout", Op::Delayed, BOTH, ANY, Needs::Nothing),
    operator("stdout-late", Kind::Harmless, "prints after it sends instead of before: its stdout reaches the runner 250 ms late", Op::StdoutLate, BOTH, ANY, Needs::StdoutAndSocket),
];

impl Operator {
    /// Whether the fault breaks the one exchange every case is built on
    /// (no reply at all, a close instead of it, a typed line never sent):
    /// a case that needs a reply before its own check cannot reach it,
    /// whatever the spec does, so its failure there is no cascade of the
    /// spec's making.
    pub fn breaks_exchange(&self) -> bool {
        matches!(
            self.op,
            Op::NeverReplies | Op::ClosesBeforeReply | Op::SwallowsInput
        )
    }

    /// Whether the operator can change anything `spec` looks at.
    pub fn applies_to(&self, spec: &Spec) -> bool {
        self.roles.contains(&spec.target.role)
            && self.transports.contains(&spec.target.transport)
            && match self.needs {
                Needs::Nothing => true,
                Needs::LiteralBytes => any_step(spec, |a| {
                    matches!(
                        a,
                        Action::Recv {
                            matcher: Matcher::Exact(_) | Matcher::Line(_) | Matcher::Prefix(_),
                            ..
                        } | Action::RecvFrom {
                            matcher: Matcher::Exact(_) | Matcher::Line(_) | Matcher::Prefix(_),
                            ..
                        }
                    )
                }),
                Needs::ExactBytes => any_step(spec, |a| {
                    matches!(
                        a,
                        Action::Recv {
                            matcher: Matcher::Exact(_),
                            ..
                        } | Action::RecvFrom {
                            matcher: Matcher::Exact(_),
                            ..
                        }
                    )
                }),
                Needs::Loop => asks_for_loop(spec),
                Needs::Idle => any_step(spec, |a| matches!(a, Action::Idle { .. })),
                Needs::Stdin => any_step(spec, |a| matches!(a, Action::WriteStdin { .. })),
                Needs::StdoutAndSocket => {
                    any_step(spec, |a| matches!(a, Action::Expect { .. }))
                        && any_step(spec, |a| {
                            matches!(a, Action::Recv { .. } | Action::RecvFrom { .. })
                        })
                }
            }
    }
}

fn any_step(spec: &Spec, found: impl Fn(&Action) -> bool) -> bool {
    spec.cases
        .iter()
        .any(|case| case.steps.iter().any(|step| found(&step.action)))
}

/// A case that opens more than one connection, or sends more than one
/// datagram: the program is to serve more than one client (or request).
fn asks_for_loop(spec: &Spec) -> bool {
    spec.cases.iter().any(|case| {
        let count = |f: fn(&Action) -> bool| case.steps.iter().filter(|s| f(&s.action)).count();
        count(|a| matches!(a, Action::Connect { .. })) > 1
            || count(|a| matches!(a, Action::SendTo { .. })) > 1
    })
}

/// Steps that check something the program did: a case that fails before
/// its last such step failed on the way to its requirement.
pub fn is_checking(action: &Action) -> bool {
    matches!(
        action,
        Action::Recv { .. }
            | Action::RecvFrom { .. }
            | Action::Eof { .. }
            | Action::Quiet { .. }
            | Action::QuietDatagrams { .. }
            | Action::Expect { .. }
            | Action::Exit { .. }
            | Action::Alive
            | Action::Idle { .. }
    )
}

#[cfg(test)]
mod tests {
    use super::{Kind, OPERATORS};

    #[test]
    fn ids_are_unique_and_faults_come_first() {
        let mut ids: Vec<&str> = OPERATORS.iter().map(|o| o.id).collect();
        let first_harmless = OPERATORS
            .iter()
            .position(|o| o.kind == Kind::Harmless)
            .expect("some harmless variation");
        assert!(OPERATORS[first_harmless..]
            .iter()
            .all(|o| o.kind == Kind::Harmless));
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), OPERATORS.len());
    }

    #[test]
    fn applicability_follows_role_transport_and_spec() {
        let spec = |name| {
            crate::speclang::bundled_named(name)
                .expect("bundled")
                .expect("loads")
        };
        let applies = |name, id| {
            OPERATORS
                .iter()
                .find(|o| o.id == id)
                .expect("operator")
                .applies_to(&spec(name))
        };
        assert!(applies("tcp-upper-server", "echo"));
        assert!(!applies("tcp-upper-client", "echo"));
        assert!(!applies("udp-upper-server", "never-closes"));
        assert!(!applies("tcp-upper-server", "one-client"));
        assert!(applies("tcp-upper-server-loop", "one-client"));
        assert!(applies("tcp-chat-client", "stdin-not-sent"));
        assert!(!applies("tcp-upper-client", "stdin-not-sent"));
        assert!(!applies("udp-upper-server", "byte-by-byte"));
    }
}
