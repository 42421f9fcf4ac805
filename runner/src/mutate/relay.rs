//! The mutating layer: sits in the runner's own transport objects (a TCP
//! connection, a datagram socket, the wait on stdout) and reshapes what
//! the runner receives from the program as the mutant would have sent it.
//! It is a relay without extra sockets, so it works inside each target's
//! network namespace and for any program.

use super::operators::{Op, Operator, BUFFER_SIZE, DELAY};
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// One mutant's run: its operator, and how often it changed anything (a
/// mutant that never did is equivalent to the program for this spec).
pub struct Mutation {
    pub operator: &'static Operator,
    fired: AtomicUsize,
}

impl Mutation {
    pub fn new(operator: &'static Operator) -> Arc<Mutation> {
        Arc::new(Mutation {
            operator,
            fired: AtomicUsize::new(0),
        })
    }

    /// How many times the mutant behaved differently from the program.
    pub fn fired(&self) -> usize {
        self.fired.load(Ordering::Relaxed)
    }

    fn fire(&self) {
        self.fired.fetch_add(1, Ordering::Relaxed);
    }

    fn op(&self) -> Op {
        self.operator.op
    }

    /// The state one case's relays share: a mutant program is started
    /// afresh per case, as the program is.
    pub fn for_case(self: &Arc<Self>) -> Arc<CaseScope> {
        Arc::new(CaseScope {
            mutation: Arc::clone(self),
            connections: AtomicUsize::new(0),
            streams: AtomicUsize::new(0),
            first_ended: std::sync::atomic::AtomicBool::new(false),
            datagram_replies: AtomicUsize::new(0),
        })
    }
}

/// What the relays of one case share.
pub struct CaseScope {
    mutation: Arc<Mutation>,
    connections: AtomicUsize,
    /// Relays made, in order: the first is the first client's.
    streams: AtomicUsize,
    /// The first client's connection has ended: a server without a
    /// connection loop has exited by now.
    first_ended: std::sync::atomic::AtomicBool,
    datagram_replies: AtomicUsize,
}

impl CaseScope {
    /// Counts a connection the runner opens; true when the mutant, a
    /// server that exited after its first client, would refuse it: once
    /// that client's connection has ended. (One made while the first is
    /// served waits in the backlog and is never served.)
    pub fn refuses_connection(&self) -> bool {
        let earlier = self.connections.fetch_add(1, Ordering::Relaxed);
        let refused = self.mutation.op() == Op::OneClientThenExits
            && earlier > 0
            && self.first_ended.load(Ordering::Relaxed);
        if refused {
            self.mutation.fire();
        }
        refused
    }

    /// Whether the mutant is spinning now: once a client has left, a
    /// program that reads its closed socket in a loop is busy on a CPU,
    /// which is what `idle` then measures. The CPU use the runner sees
    /// is the mutant's, as the bytes are.
    pub fn spinning(&self) -> bool {
        let spinning = self.mutation.op() == Op::SpinsAfterDisconnect
            && self.first_ended.load(Ordering::Relaxed);
        if spinning {
            self.mutation.fire();
        }
        spinning
    }

    /// How much later than the program the mutant's stdout is seen.
    pub fn stdout_lag(&self) -> Option<Duration> {
        (self.mutation.op() == Op::StdoutLate).then(|| {
            self.mutation.fire();
            DELAY
        })
    }

    /// How long after the program's exit what it sent last may still be
    /// on its way to the runner: a program that sends late also ends late.
    pub fn exit_lag(&self) -> Duration {
        if self.mutation.op() == Op::Delayed {
            DELAY
        } else {
            Duration::ZERO
        }
    }

    pub fn stream(self: &Arc<Self>) -> StreamRelay {
        let first = self.streams.fetch_add(1, Ordering::Relaxed) == 0;
        StreamRelay {
            scope: Arc::clone(self),
            queue: VecDeque::new(),
            unanswered: Vec::new(),
            replies: 0,
            muted: false,
            first,
        }
    }

    pub fn datagrams(self: &Arc<Self>) -> DatagramRelay {
        DatagramRelay {
            scope: Arc::clone(self),
            queue: VecDeque::new(),
            unanswered: VecDeque::new(),
        }
    }

    /// When something that arrives now reaches the runner.
    fn due(&self) -> Instant {
        if self.mutation.op() == Op::Delayed {
            self.mutation.fire();
            Instant::now() + DELAY
        } else {
            Instant::now()
        }
    }
}

/// What a connection delivers.
#[derive(Debug, PartialEq, Eq)]
pub enum Piece {
    Data(Vec<u8>),
    Closed,
    Reset,
}

/// One TCP connection's relay.
pub struct StreamRelay {
    scope: Arc<CaseScope>,
    /// What the runner will read, each piece with the time it is due.
    queue: VecDeque<(Instant, Piece)>,
    /// What the runner sent since the program last sent something.
    unanswered: Vec<u8>,
    /// Replies (reads with data) that came from the program.
    replies: usize,
    /// Nothing more from the program reaches the runner.
    muted: bool,
    /// The first connection of the case (the one client a server without
    /// a connection loop serves).
    first: bool,
}

impl Drop for StreamRelay {
    fn drop(&mut self) {
        if self.first {
            self.scope.first_ended.store(true, Ordering::Relaxed);
        }
    }
}

impl StreamRelay {
    pub fn sent(&mut self, bytes: &[u8]) {
        self.unanswered.extend_from_slice(bytes);
    }

    /// Takes what one read brought from the program.
    pub fn arrived(&mut self, piece: Piece) {
        if self.first && matches!(piece, Piece::Closed | Piece::Reset) {
            self.scope.first_ended.store(true, Ordering::Relaxed);
        }
        if self.muted {
            return;
        }
        let mutation = &self.scope.mutation;
        if mutation.op() == Op::OneClientThenExits && !self.first {
            // A later client of a server that serves one: never answered.
            mutation.fire();
            self.muted = true;
            return;
        }
        let due = self.scope.due();
        match piece {
            Piece::Data(reply) => {
                self.replies += 1;
                let answered = std::mem::take(&mut self.unanswered);
                match mutation.op() {
                    Op::OneReplyPerConnection if self.replies > 1 => mutation.fire(),
                    Op::ClosesBeforeReply => {
                        mutation.fire();
                        self.muted = true;
                        self.queue.push_back((due, Piece::Closed));
                    }
                    _ => {
                        for data in reshape(mutation, reply, &answered) {
                            self.queue.push_back((due, Piece::Data(data)));
                        }
                    }
                }
            }
            Piece::Closed => match mutation.op() {
                Op::NeverCloses => {
                    mutation.fire();
                    self.muted = true;
                }
                Op::ResetsInsteadOfClosing => {
                    mutation.fire();
                    self.queue.push_back((due, Piece::Reset));
                }
                _ => self.queue.push_back((due, Piece::Closed)),
            },
            Piece::Reset => self.queue.push_back((due, Piece::Reset)),
        }
    }

    /// When the next piece is due, if there is one.
    pub fn next_due(&self) -> Option<Instant> {
        self.queue.front().map(|(due, _)| *due)
    }

    pub fn pop(&mut self) -> Option<Piece> {
        self.queue.pop_front().map(|(_, piece)| piece)
    }

    /// The program, as mutated, sends nothing more: a read waits until
    /// its deadline.
    pub fn muted(&self) -> bool {
        self.muted && self.queue.is_empty()
    }
}

/// One datagram socket's relay.
pub struct DatagramRelay {
    scope: Arc<CaseScope>,
    queue: VecDeque<(Instant, Vec<u8>, SocketAddr)>,
    /// Datagrams the runner sent that no reply answered yet, oldest first.
    unanswered: VecDeque<Vec<u8>>,
}

impl DatagramRelay {
    pub fn sent(&mut self, bytes: &[u8]) {
        self.unanswered.push_back(bytes.to_vec());
    }

    pub fn arrived(&mut self, reply: Vec<u8>, from: SocketAddr) {
        let mutation = &self.scope.mutation;
        let due = self.scope.due();
        let answered = self.unanswered.pop_front().unwrap_or_default();
        if mutation.op() == Op::OneClientThenExits
            && self.scope.datagram_replies.fetch_add(1, Ordering::Relaxed) > 0
        {
            mutation.fire();
            return;
        }
        for data in reshape(mutation, reply, &answered) {
            self.queue.push_back((due, data, from));
        }
    }

    pub fn next_due(&self) -> Option<Instant> {
        self.queue.front().map(|(due, _, _)| *due)
    }

    pub fn pop(&mut self) -> Option<(Vec<u8>, SocketAddr)> {
        self.queue.pop_front().map(|(_, data, from)| (data, from))
    }
}

/// One reply of the program as the mutant sends it: none, one or several
/// messages. `answered` is what the runner sent that the reply answers.
fn reshape(mutation: &Mutation, reply: Vec<u8>, answered: &[u8]) -> Vec<Vec<u8>> {
    let mut one = reply.clone();
    let out = match mutation.op() {
        Op::Echo if answered.is_empty() => Vec::new(),
        Op::Echo => vec![answered.to_vec()],
        Op::FirstWordOnly => vec![first_word_only(&reply, answered)],
        Op::AddedNewline => {
            one.push(b'\n');
            vec![one]
        }
        Op::DroppedNewline => {
            if one.ends_with(b"\n") {
                one.pop();
                if one.ends_with(b"\r") {
                    one.pop();
                }
            }
            vec![one]
        }
        Op::LastByteDropped => {
            one.pop();
            if one.is_empty() {
                Vec::new()
            } else {
                vec![one]
            }
        }
        Op::PaddedToBuffer => {
            if one.len() < BUFFER_SIZE {
                one.resize(BUFFER_SIZE, 0);
            }
            vec![one]
        }
        Op::OneNul => {
            one.push(0);
            vec![one]
        }
        Op::ReplyTwice => vec![one.clone(), one],
        Op::NeverReplies | Op::SwallowsInput => Vec::new(),
        Op::ByteByByte => reply.iter().map(|b| vec![*b]).collect(),
        _ => vec![one],
    };
    if out.len() != 1 || out[0] != reply {
        mutation.fire();
    }
    out
}

/// The reply with only its first word upper-cased: the rest as it was
/// sent when the reply answers it byte for byte, else in lower case.
fn first_word_only(reply: &[u8], answered: &[u8]) -> Vec<u8> {
    let start = reply
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(reply.len());
    let Some(end) = reply[start..]
        .iter()
        .position(|b| b.is_ascii_whitespace())
        .map(|at| start + at)
    else {
        return reply.to_vec();
    };
    let rest = if answered.len() == reply.len() {
        answered[end..].to_vec()
    } else {
        reply[end..].to_ascii_lowercase()
    };
    [&reply[..end], rest.as_slice()].concat()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mutate::operators::OPERATORS;

    fn scope(id: &str) -> Arc<CaseScope> {
        let operator = OPERATORS.iter().find(|o| o.id == id).expect("operator");
        Mutation::new(operator).for_case()
    }

    /// What the runner reads after sending `sent` and receiving `pieces`.
    fn through(id: &str, sent: &[u8], pieces: Vec<Piece>) -> (Vec<Piece>, bool) {
        let scope = scope(id);
        let mut relay = scope.stream();
        relay.sent(sent);
        for piece in pieces {
            relay.arrived(piece);
        }
        let mut out = Vec::new();
        while let Some(piece) = relay.pop() {
            out.push(piece);
        }
        (out, scope.mutation.fired() > 0)
    }

    fn data(text: &str) -> Piece {
        Piece::Data(text.as_bytes().to_vec())
    }

    #[test]
    fn faults_reshape_replies() {
        let reply = || vec![data("HELLO WORLD"), Piece::Closed];
        let sent = b"hello world";
        assert_eq!(
            through("echo", sent, reply()).0,
            [data("hello world"), Piece::Closed]
        );
        assert_eq!(
            through("first-word", sent, reply()).0,
            [data("HELLO world"), Piece::Closed]
        );
        assert_eq!(
            through("padded-1024", sent, reply()).0[0],
            Piece::Data([b"HELLO WORLD".as_slice(), &[0; 1013]].concat())
        );
        assert_eq!(
            through("reply-twice", sent, reply()).0,
            [data("HELLO WORLD"), data("HELLO WORLD"), Piece::Closed]
        );
        assert_eq!(
            through("never-closes", sent, reply()).0,
            [data("HELLO WORLD")]
        );
        assert_eq!(
            through("reset-not-close", sent, reply()).0,
            [data("HELLO WORLD"), Piece::Reset]
        );
        assert_eq!(
            through("closes-before-reply", sent, reply()).0,
            [Piece::Closed]
        );
        let two = vec![data("ONE"), data("TWO")];
        assert_eq!(
            through("one-reply-per-connection", b"one", two).0,
            [data("ONE")]
        );
    }

    #[test]
    fn a_mutant_that_changes_nothing_says_so() {
        let (out, fired) = through("dropped-newline", b"hi", vec![data("HI")]);
        assert_eq!(out, [data("HI")]);
        assert!(!fired);
        let (out, fired) = through("dropped-newline", b"hi", vec![data("HI\r\n")]);
        assert_eq!(out, [data("HI")]);
        assert!(fired);
    }

    #[test]
    fn harmless_variations_keep_the_bytes() {
        let (out, fired) = through("byte-by-byte", b"ab", vec![data("AB")]);
        assert_eq!(out, [data("A"), data("B")]);
        assert!(fired);
        let scope = scope("delayed");
        let mut relay = scope.stream();
        let before = Instant::now();
        relay.arrived(data("AB"));
        assert!(relay.next_due().expect("queued") >= before + DELAY);
    }

    #[test]
    fn one_client_refuses_the_second_connection_and_datagram() {
        let scope = scope("one-client");
        assert!(!scope.refuses_connection());
        let first = scope.stream();
        // While the first client is served, the next one waits in the
        // backlog, never answered.
        assert!(!scope.refuses_connection());
        let mut second = scope.stream();
        second.arrived(Piece::Data(b"HI".to_vec()));
        assert_eq!(second.pop(), None);
        assert!(second.muted());
        // Once the first has left, the server has exited: refused.
        drop(first);
        assert!(scope.refuses_connection());
        let mut relay = scope.datagrams();
        let from = SocketAddr::from(([127, 0, 0, 1], 9));
        relay.arrived(b"ONE".to_vec(), from);
        relay.arrived(b"TWO".to_vec(), from);
        assert_eq!(relay.pop(), Some((b"ONE".to_vec(), from)));
        assert_eq!(relay.pop(), None);
    }
}
