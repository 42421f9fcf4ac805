//! The sequence diagram of a case, as inline SVG, and the transcript table
//! that is its text alternative.
//!
//! Lanes, left to right: each of the runner's connections and datagram
//! sockets in the order they first appear, the program, its stdin, and
//! its stdout and stderr. Every transcript entry is a row, in order (the
//! rows are not to scale: a pause of a noticeable length is drawn as a
//! break with its length), with the time since the case started on the
//! left. Sends, receives, connects, FINs, resets and datagrams are
//! arrows from the side that acted; an `idle` observation is a span on
//! the program's lane with the CPU share measured; the step that failed
//! is marked on its lane with expected against received beside it.

use super::{duration, quoted_shown, text};
use crate::engine::show::{hex, is_printable};
use crate::engine::{CaseOutcome, Direction, Entry, Failure};
use maud::{html, Markup};
use std::net::SocketAddr;
use std::time::Duration;

/// Width of the time column at least; wider when a time label needs it.
const LEFT: f64 = 100.0;
/// The time column at most.
const MAX_LEFT: f64 = 180.0;
/// Distance between two lanes at least; wider when a lane's heading
/// needs it, so that `u (127.0.0.1:8090)` is shown whole.
const LANE: f64 = 150.0;
/// Distance between two lanes at most: a heading longer than this fits
/// is cut, with its whole text in the lane's tooltip.
const MAX_LANE: f64 = 320.0;
/// Height of the lane headings.
const HEADER: f64 = 68.0;
/// Width of one character of the diagram's 12px monospace text.
const CHAR: f64 = 7.3;
/// Rows drawn at most; the table lists every entry.
const MAX_DRAWN: usize = 150;
/// A pause at least this long between two rows is drawn as a break.
const PAUSE: Duration = Duration::from_millis(300);
/// Bytes of one entry shown in the table (the transcript itself keeps at
/// most 256 KiB per case).
const MAX_CELL: usize = 64 << 10;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LaneKind {
    Connection,
    Datagram,
    Program,
    Stdin,
    Output,
}

struct Lane {
    key: String,
    kind: LaneKind,
}

impl Lane {
    fn subtitle(&self) -> &'static str {
        match self.kind {
            LaneKind::Connection => "runner's connection",
            LaneKind::Datagram => "runner's UDP socket",
            LaneKind::Program => "under test",
            LaneKind::Stdin => "runner types",
            LaneKind::Output => "program prints",
        }
    }

    fn title(&self) -> &str {
        match self.kind {
            LaneKind::Program => "program",
            LaneKind::Stdin => "stdin",
            LaneKind::Output => "stdout / stderr",
            LaneKind::Datagram if self.peer().is_some() => "client",
            LaneKind::Connection | LaneKind::Datagram => &self.key,
        }
    }

    /// The program's address on the lane of the runner's service socket
    /// (a datagram channel named `client ADDR`).
    fn peer(&self) -> Option<&str> {
        match self.kind {
            LaneKind::Datagram => self.key.strip_prefix("client "),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Data,
    Datagram,
    Connect,
    Fin,
    Rst,
}

impl Kind {
    fn class(self) -> &'static str {
        match self {
            Kind::Data | Kind::Datagram => "data",
            Kind::Connect => "connect",
            Kind::Fin => "fin",
            Kind::Rst => "rst",
        }
    }
}

enum What {
    Arrow {
        from: usize,
        to: usize,
        kind: Kind,
        label: String,
    },
    Note {
        lane: usize,
        label: String,
    },
    Exit {
        label: String,
    },
    /// An observation window that ended at the entry's time.
    Span {
        lane: usize,
        window: Duration,
        label: String,
        measured: String,
    },
}

/// One transcript entry, read for the diagram and the table.
struct Event<'a> {
    /// 1-based, as in the table.
    number: usize,
    entry: &'a Entry,
    what: What,
    /// What happened, in a word or two: `sent`, `FIN (close)`, ...
    word: String,
    /// `runner → program`, `program → runner`, or empty.
    direction: &'static str,
    /// The whole entry as text, for the table and the tooltip.
    data: String,
    /// Hex of bytes that are not printable text.
    hex: Option<String>,
}

impl Event<'_> {
    fn starts(&self) -> Duration {
        match &self.what {
            What::Span { window, .. } => self.entry.at.saturating_sub(*window),
            _ => self.entry.at,
        }
    }
}

/// The lanes and events of a case.
struct Model<'a> {
    lanes: Vec<Lane>,
    events: Vec<Event<'a>>,
    /// The lane of the step that failed.
    failed_on: Option<usize>,
    /// Width of the time column: the longest time label fits.
    left: f64,
    /// Distance between two lanes: the longest lane heading fits.
    lane: f64,
}

impl Model<'_> {
    fn lane_x(&self, lane: usize) -> f64 {
        self.left + self.lane / 2.0 + lane as f64 * self.lane
    }
}

/// A channel's lane: its key and kind. A datagram channel names the peer
/// (`client 127.0.0.1:5000`, or `s (127.0.0.1:8090)` for the runner's
/// socket `s`): one lane per runner socket.
fn lane_of(channel: &str) -> (String, LaneKind) {
    match channel {
        "stdin" => return (String::from("stdin"), LaneKind::Stdin),
        "stdout" | "stderr" => return (String::from("output"), LaneKind::Output),
        "target" => return (String::from("program"), LaneKind::Program),
        _ => {}
    }
    if let Some(peer) = channel.strip_prefix("client ") {
        if peer.parse::<SocketAddr>().is_ok() {
            return (channel.to_string(), LaneKind::Datagram);
        }
    }
    if let Some((name, rest)) = channel.split_once(" (") {
        if rest
            .strip_suffix(')')
            .is_some_and(|peer| peer.parse::<SocketAddr>().is_ok())
        {
            return (name.to_string(), LaneKind::Datagram);
        }
    }
    (channel.to_string(), LaneKind::Connection)
}

/// The runner's lane a failed step was about, from its short description
/// (`recv on a (text)`, `stdout (line)`, `idle for 500ms`, ...).
fn failed_lane(action: &str) -> (String, LaneKind) {
    let first = |rest: &str| rest.split(' ').next().unwrap_or_default().to_string();
    for lead in [
        "connect ",
        "accept ",
        "send on ",
        "recv on ",
        "shutdown ",
        "close ",
        "reset ",
        "quiet on ",
        "wait for ",
    ] {
        if let Some(rest) = action.strip_prefix(lead) {
            return (first(rest), LaneKind::Connection);
        }
    }
    for lead in ["sendto from ", "recvfrom on "] {
        if let Some(rest) = action.strip_prefix(lead) {
            return (first(rest), LaneKind::Datagram);
        }
    }
    if action.starts_with("sendto the client") || action.starts_with("recvfrom the client") {
        return (String::from("client"), LaneKind::Datagram);
    }
    if action == "stdin" || action == "close-stdin" {
        return (String::from("stdin"), LaneKind::Stdin);
    }
    if ["stdout", "stderr", "output"]
        .iter()
        .any(|s| action.starts_with(&format!("{s} (")))
    {
        return (String::from("output"), LaneKind::Output);
    }
    (String::from("program"), LaneKind::Program)
}

fn model(outcome: &CaseOutcome) -> Model<'_> {
    let mut lanes: Vec<Lane> = Vec::new();
    let add = |lanes: &mut Vec<Lane>, key: String, kind: LaneKind| {
        if matches!(kind, LaneKind::Connection | LaneKind::Datagram)
            && !lanes.iter().any(|l| l.key == key)
        {
            lanes.push(Lane { key, kind });
        }
    };
    for entry in &outcome.transcript {
        let (key, mut kind) = lane_of(&entry.channel);
        if entry.direction == Direction::Note && entry.bytes.starts_with(b"runner socket bound") {
            kind = LaneKind::Datagram;
        }
        add(&mut lanes, key, kind);
    }
    let failed = outcome.failure.as_ref().map(|f| failed_lane(&f.action));
    if let Some((key, kind)) = &failed {
        // A reply to "the client" is on the lane of the last client heard.
        let client_seen = lanes.iter().any(|l| l.key.starts_with("client "));
        if !(key == "client" && client_seen) {
            add(&mut lanes, key.clone(), *kind);
        }
    }
    for (key, kind) in [
        ("program", LaneKind::Program),
        ("stdin", LaneKind::Stdin),
        ("output", LaneKind::Output),
    ] {
        lanes.push(Lane {
            key: key.to_string(),
            kind,
        });
    }
    let index = |key: &str| lanes.iter().position(|l| l.key == key).unwrap_or(0);
    let program = index("program");
    let failed_on = failed.map(|(key, _)| {
        if key == "client" {
            lanes
                .iter()
                .rposition(|l| l.key.starts_with("client "))
                .unwrap_or(program)
        } else {
            index(&key)
        }
    });
    let events = outcome
        .transcript
        .iter()
        .enumerate()
        .map(|(position, entry)| {
            let (key, kind) = lane_of(&entry.channel);
            read_entry(position + 1, entry, index(&key), program, kind)
        })
        .collect::<Vec<_>>();
    // Lanes as wide as their longest heading needs, within bounds.
    let heading = lanes
        .iter()
        .map(|lane| {
            let title = text(lane.title()).chars().count();
            let peer = lane.peer().map_or(0, |peer| text(peer).chars().count() + 2);
            title.max(peer).max(lane.subtitle().chars().count())
        })
        .max()
        .unwrap_or(0);
    let lane = (heading as f64 * CHAR + 24.0).clamp(LANE, MAX_LANE);
    // The time column as wide as its longest label (`#12 525.0 ms`, the
    // failure's `by 2.060 s`).
    let times = events
        .iter()
        .map(|event: &Event| time_text(event.number, event.entry.at).chars().count())
        .chain(std::iter::once(
            format!("by {}", seconds(outcome.duration)).chars().count(),
        ))
        .max()
        .unwrap_or(0);
    let left = (times as f64 * CHAR + 16.0).clamp(LEFT, MAX_LEFT);
    Model {
        lanes,
        events,
        failed_on,
        left,
        lane,
    }
}

const TO_PROGRAM: &str = "runner → program";
const FROM_PROGRAM: &str = "program → runner";

fn read_entry(
    number: usize,
    entry: &Entry,
    lane: usize,
    program: usize,
    kind: LaneKind,
) -> Event<'_> {
    // Bytes that are not text by their runs (`1024 bytes: "HELLO" + 1019
    // NUL bytes`), not hundreds of escapes; their hex is beside them.
    let quoted = if is_printable(&entry.bytes) {
        quoted_shown(&entry.bytes, MAX_CELL)
    } else {
        crate::engine::show::brief(&entry.bytes, MAX_CELL)
    };
    let hex = (!is_printable(&entry.bytes)).then(|| hex(&entry.bytes, 256));
    let event = |what: What, word: &str, direction: &'static str, data: String| Event {
        number,
        entry,
        what,
        word: word.to_string(),
        direction,
        data,
        hex: None,
    };
    let arrow = |from: usize, to: usize, kind: Kind, label: String| What::Arrow {
        from,
        to,
        kind,
        label,
    };
    match entry.direction {
        Direction::Sent | Direction::Received => {
            let sent = entry.direction == Direction::Sent;
            let (from, to) = if sent {
                (lane, program)
            } else {
                (program, lane)
            };
            let shown = if is_printable(&entry.bytes) {
                super::quoted_shown(&entry.bytes, 400)
            } else {
                crate::engine::show::brief(&entry.bytes, 400)
            };
            let label = match entry.channel.as_str() {
                "stderr" => format!("stderr: {shown}"),
                _ => shown,
            };
            let (arrow_kind, word) = match (kind, sent) {
                (LaneKind::Datagram, true) => (Kind::Datagram, "datagram sent"),
                (LaneKind::Datagram, false) => (Kind::Datagram, "datagram received"),
                (LaneKind::Stdin, _) => (Kind::Data, "typed on stdin"),
                (LaneKind::Output, _) if entry.channel == "stderr" => {
                    (Kind::Data, "printed on stderr")
                }
                (LaneKind::Output, _) => (Kind::Data, "printed on stdout"),
                (_, true) => (Kind::Data, "sent"),
                (_, false) => (Kind::Data, "received"),
            };
            let direction = if sent { TO_PROGRAM } else { FROM_PROGRAM };
            Event {
                hex,
                ..event(arrow(from, to, arrow_kind, label), word, direction, quoted)
            }
        }
        Direction::Note => {
            let note = text(&String::from_utf8_lossy(&entry.bytes));
            let to_program = |kind: Kind, label: &str, word: &str| {
                event(
                    arrow(lane, program, kind, label.to_string()),
                    word,
                    TO_PROGRAM,
                    note.clone(),
                )
            };
            let from_program = |kind: Kind, label: &str, word: &str| {
                event(
                    arrow(program, lane, kind, label.to_string()),
                    word,
                    FROM_PROGRAM,
                    note.clone(),
                )
            };
            match kind {
                LaneKind::Connection => {
                    if note.starts_with("connected to ") {
                        to_program(Kind::Connect, "connect", "connect")
                    } else if note.starts_with("accepted a connection") {
                        from_program(Kind::Connect, "connect", "connect")
                    } else if note.starts_with("runner shut down its sending side") {
                        to_program(Kind::Fin, "FIN (shutdown)", "FIN (shutdown)")
                    } else if note.starts_with("closed by the runner") {
                        to_program(Kind::Fin, "FIN (close)", "FIN (close)")
                    } else if note.starts_with("reset by the runner") {
                        to_program(Kind::Rst, "RST (reset)", "RST (reset)")
                    } else if note.starts_with("closed by the ") {
                        from_program(Kind::Fin, "FIN", "FIN")
                    } else if note.starts_with("reset by the ") {
                        from_program(Kind::Rst, "RST", "RST")
                    } else {
                        let label = note.clone();
                        event(What::Note { lane, label }, "note", "", note.clone())
                    }
                }
                LaneKind::Stdin if note.starts_with("closed by the runner") => {
                    to_program(Kind::Fin, "EOF (stdin closed)", "stdin closed")
                }
                LaneKind::Stdin if note.starts_with("ended by the runner") => {
                    to_program(Kind::Fin, "EOF (Ctrl-D)", "end of input typed")
                }
                LaneKind::Program => match idle_window(&note) {
                    Some((window, measured)) => event(
                        What::Span {
                            lane,
                            window,
                            label: format!("idle {}", humantime::format_duration(window)),
                            measured,
                        },
                        "idle window",
                        "",
                        note.clone(),
                    ),
                    None if is_exit(&note) => {
                        let label = note.clone();
                        event(What::Exit { label }, "program ended", "", note.clone())
                    }
                    None => {
                        let label = note.clone();
                        event(What::Note { lane, label }, "program", "", note.clone())
                    }
                },
                _ => {
                    let label = note.clone();
                    event(What::Note { lane, label }, "note", "", note.clone())
                }
            }
        }
    }
}

/// Whether a note on the program says how it ended (see
/// `describe_status`), rather than that it started or is still running.
fn is_exit(note: &str) -> bool {
    note.starts_with("exited with code") || note.starts_with("was killed by") || note == "ended"
}

/// The window and the measurement of an `idle` note: `used 3% CPU over
/// 500ms, its busiest thread runnable 4% of it`.
fn idle_window(note: &str) -> Option<(Duration, String)> {
    let rest = note.strip_prefix("used ")?;
    let (cpu, rest) = rest.split_once(" CPU over ")?;
    let (window, busiest) = rest.split_once(", its busiest thread runnable ")?;
    let window = humantime::parse_duration(window).ok()?;
    let busiest = busiest.strip_suffix(" of it").unwrap_or(busiest);
    Some((
        window,
        format!("CPU {cpu}, busiest thread runnable {busiest}"),
    ))
}

/// A row of the drawing.
enum Row<'m, 'a> {
    Event(&'m Event<'a>),
    Pause(Duration),
    Failure,
    More(usize),
}

impl Row<'_, '_> {
    fn height(&self) -> f64 {
        match self {
            Row::Event(event) => match event.what {
                What::Arrow { .. } => 40.0,
                What::Note { .. } | What::Exit { .. } => 32.0,
                What::Span { .. } => 60.0,
            },
            Row::Pause(_) => 26.0,
            Row::Failure => 100.0,
            Row::More(_) => 30.0,
        }
    }
}

/// `text` cut to `chars` characters, with an ellipsis when cut.
fn fit(text: &str, chars: f64) -> String {
    let chars = chars.max(4.0) as usize;
    if text.chars().count() <= chars {
        return text.to_string();
    }
    let mut out: String = text.chars().take(chars - 1).collect();
    out.push('…');
    out
}

/// A time since the case started: `0.4 ms`, `525.0 ms`, `2.060 s`.
fn seconds(at: Duration) -> String {
    if at < Duration::from_secs(1) {
        format!("{:.1} ms", at.as_secs_f64() * 1000.0)
    } else {
        format!("{:.3} s", at.as_secs_f64())
    }
}

fn px(value: f64) -> String {
    format!("{value:.1}")
}

/// The diagram and the transcript table of case `number`.
pub(super) fn figure(number: usize, outcome: &CaseOutcome) -> Markup {
    let model = model(outcome);
    let id = format!("case-{number}");
    html! {
        figure.diagram {
            div.scroll tabindex="0" role="region" aria-label=(format!("Sequence diagram of {}", text(&outcome.case))) {
                (svg(&id, outcome, &model))
            }
            figcaption {
                "Sequence diagram of " (text(&outcome.case)) ": time since the case started on the left; "
                "arrows run from the side that acted (→ sent by the runner, ← by the program); "
                "hover over an arrow for its bytes in full. "
                a href=(format!("#{id}-transcript")) { "The transcript table" }
                " lists the same entries as text."
            }
        }
        (table(&id, outcome, &model))
    }
}

fn svg(id: &str, outcome: &CaseOutcome, model: &Model) -> Markup {
    let mut rows: Vec<Row> = Vec::new();
    let mut last = Duration::ZERO;
    for event in model.events.iter().take(MAX_DRAWN) {
        let starts = event.starts();
        if starts.saturating_sub(last) >= PAUSE {
            rows.push(Row::Pause(starts - last));
        }
        last = last.max(event.entry.at);
        rows.push(Row::Event(event));
    }
    if model.events.len() > MAX_DRAWN {
        rows.push(Row::More(model.events.len() - MAX_DRAWN));
    } else if outcome.failure.is_some() && outcome.duration.saturating_sub(last) >= PAUSE {
        rows.push(Row::Pause(outcome.duration - last));
    }
    if outcome.failure.is_some() {
        rows.push(Row::Failure);
    }
    let width = (model.left + model.lanes.len() as f64 * model.lane + 8.0).max(640.0);
    let mut y = HEADER + 8.0;
    let mut placed = Vec::new();
    for row in rows {
        let height = row.height();
        placed.push((y, row));
        y += height;
    }
    let height = y + 12.0;
    // Where each lane is in use: from its first row to its last.
    let mut used: Vec<Option<(f64, f64)>> = vec![None; model.lanes.len()];
    let mut touch = |lane: usize, top: f64, bottom: f64| {
        if let Some(slot) = used.get_mut(lane) {
            *slot = Some(slot.map_or((top, bottom), |(a, b)| (a.min(top), b.max(bottom))));
        }
    };
    for (y, row) in &placed {
        match row {
            Row::Event(event) => match &event.what {
                What::Arrow { from, to, .. } => {
                    touch(*from, y + 14.0, y + 34.0);
                    touch(*to, y + 14.0, y + 34.0);
                }
                What::Note { lane, .. } | What::Span { lane, .. } => {
                    touch(*lane, *y, y + row.height())
                }
                What::Exit { .. } => {}
            },
            Row::Failure => {
                if let Some(lane) = model.failed_on {
                    touch(lane, *y, y + 26.0);
                }
            }
            Row::Pause(_) | Row::More(_) => {}
        }
    }
    let title_id = format!("{id}-diagram-title");
    let desc_id = format!("{id}-diagram-desc");
    let drawn = model.events.len().min(MAX_DRAWN);
    html! {
        svg.seq xmlns="http://www.w3.org/2000/svg" role="img"
            aria-labelledby=(format!("{title_id} {desc_id}"))
            width=(px(width)) height=(px(height)) viewBox=(format!("0 0 {} {}", px(width), px(height))) {
            title id=(title_id) { "Sequence diagram of case " (text(&outcome.case)) }
            desc id=(desc_id) {
                (drawn) " of " (model.events.len()) " transcript entries between the runner and the program"
                @if outcome.failure.is_some() { ", and the step that failed" }
                "; the transcript table after the diagram lists them as text."
            }
            text.col x="8" y="38" { "# / time" }
            @for (index, lane) in model.lanes.iter().enumerate() {
                (lane_heading(index, lane, model))
                @let x = model.lane_x(index);
                line.lifeline x1=(px(x)) y1=(px(HEADER)) x2=(px(x)) y2=(px(height - 8.0)) {}
                @if let Some((top, bottom)) = used[index] {
                    @if matches!(lane.kind, LaneKind::Connection | LaneKind::Datagram) {
                        rect.active x=(px(x - 4.0)) y=(px(top)) width="8" height=(px(bottom - top)) {}
                    }
                }
            }
            @for (y, row) in &placed {
                @match row {
                    Row::Event(event) => (draw_event(*y, event, model)),
                    Row::Pause(pause) => (draw_pause(*y, *pause, width, model.left)),
                    Row::More(count) => {
                        text.more x=(px(model.left)) y=(px(y + 20.0)) {
                            "… " (count) " more entries: all are in the transcript table below"
                        }
                    }
                    Row::Failure => (draw_failure(*y, outcome, model, width)),
                }
            }
        }
    }
}

fn lane_heading(index: usize, lane: &Lane, model: &Model) -> Markup {
    let x = model.lane_x(index);
    let title = text(lane.title());
    let room = (model.lane - 24.0) / CHAR;
    html! {
        g.lane {
            title {
                (title) ": " (lane.subtitle())
                @if let Some(peer) = lane.peer() { ", with the program at " (text(peer)) }
            }
            rect x=(px(x - model.lane / 2.0 + 8.0)) y="8" width=(px(model.lane - 16.0)) height="52" rx="6" {}
            text.lane-title x=(px(x)) y="25" { (fit(&title, room)) }
            text.lane-sub x=(px(x)) y="39" { (lane.subtitle()) }
            @if let Some(peer) = lane.peer() {
                text.lane-sub x=(px(x)) y="53" { (fit(&format!("⇄ {}", text(peer)), room)) }
            }
        }
    }
}

/// A labelled box on a lane at `x`: a note, the program's start or end.
fn label_box(
    model: &Model,
    (class, tooltip): (&str, &str),
    event: &Event,
    (x, y): (f64, f64),
    label: &str,
) -> Markup {
    let shown = fit(label, (model.lane * 1.8) / CHAR);
    let box_width = shown.chars().count() as f64 * CHAR + 14.0;
    let left = (x - box_width / 2.0).max(model.left + 2.0);
    html! {
        g class=(class) {
            title { (tooltip) }
            (time_label(y + 21.0, event.number, event.entry.at))
            rect x=(px(left)) y=(px(y + 4.0)) width=(px(box_width)) height="24" rx="4" {}
            text x=(px(left + box_width / 2.0)) y=(px(y + 21.0)) { (shown) }
        }
    }
}

fn time_label(y: f64, number: usize, at: Duration) -> Markup {
    html! {
        text.time x="8" y=(px(y)) { (time_text(number, at)) }
    }
}

/// A row's label in the time column: `#12 525.0 ms`.
fn time_text(number: usize, at: Duration) -> String {
    format!("#{number} {}", seconds(at))
}

fn draw_event(y: f64, event: &Event, model: &Model) -> Markup {
    let tooltip = format!(
        "#{} at {}, {} ({}): {}",
        event.number,
        seconds(event.entry.at),
        event.word,
        text(&event.entry.channel),
        super::shown(event.data.as_bytes(), 2000, false)
    );
    match &event.what {
        What::Arrow {
            from,
            to,
            kind,
            label,
        } => {
            let (x1, x2) = (model.lane_x(*from), model.lane_x(*to));
            let sign = if x2 > x1 { 1.0 } else { -1.0 };
            let line_y = y + 26.0;
            let tip = x2 - sign * 5.0;
            let toward = if model.lanes[*to].kind == LaneKind::Program {
                "to-program"
            } else {
                "from-program"
            };
            let class = format!("ev {toward} {}", kind.class());
            let room = ((x2 - x1).abs() - 12.0) / CHAR;
            let word = match kind {
                Kind::Datagram => "datagram ",
                _ => "",
            };
            let head = format!(
                "{},{} {},{} {},{}",
                px(tip),
                px(line_y),
                px(tip - sign * 10.0),
                px(line_y - 5.0),
                px(tip - sign * 10.0),
                px(line_y + 5.0)
            );
            html! {
                g class=(class) {
                    title { (tooltip) }
                    (time_label(line_y + 4.0, event.number, event.entry.at))
                    text.label x=(px((x1 + x2) / 2.0)) y=(px(y + 16.0)) { (fit(&format!("{word}{label}"), room)) }
                    line x1=(px(x1)) y1=(px(line_y)) x2=(px(tip - sign * 4.0)) y2=(px(line_y)) {}
                    @match kind {
                        Kind::Rst => {
                            path.cross d=(format!("M{} {}l10 10m0 -10l-10 10", px(tip - 5.0), px(line_y - 5.0))) {}
                        }
                        Kind::Fin => {
                            polyline points=(head) {}
                            line x1=(px(tip + sign * 1.0)) y1=(px(line_y - 7.0)) x2=(px(tip + sign * 1.0)) y2=(px(line_y + 7.0)) {}
                        }
                        _ => { polygon points=(head) {} }
                    }
                    @if *kind == Kind::Datagram {
                        circle cx=(px(x1 + sign * 6.0)) cy=(px(line_y)) r="4" {}
                    }
                }
            }
        }
        What::Note { lane, label } => {
            let class = if model.lanes[*lane].kind == LaneKind::Program {
                "ev note program-note"
            } else {
                "ev note"
            };
            let x = model.lane_x(*lane);
            label_box(model, (class, &tooltip), event, (x, y), label)
        }
        What::Exit { label } => {
            let program = model
                .lanes
                .iter()
                .position(|l| l.kind == LaneKind::Program)
                .unwrap_or(0);
            let label = format!("program {label}");
            let x = model.lane_x(program);
            label_box(model, ("ev exit", &tooltip), event, (x, y), &label)
        }
        What::Span {
            lane,
            window,
            label,
            measured,
        } => {
            let x = model.lane_x(*lane);
            let from = event.entry.at.saturating_sub(*window);
            html! {
                g.ev.span {
                    title { (tooltip) }
                    text.time x="8" y=(px(y + 16.0)) { "#" (event.number) " " (seconds(from)) }
                    text.time x="8" y=(px(y + 50.0)) { "to " (seconds(event.entry.at)) }
                    path.bracket d=(format!("M{} {}h-6v44h6", px(model.left - 6.0), px(y + 8.0))) {}
                    rect x=(px(x - 9.0)) y=(px(y + 6.0)) width="18" height="48" rx="3" {}
                    text.span-label x=(px(x + 16.0)) y=(px(y + 25.0)) { (label) }
                    text.span-measure x=(px(x + 16.0)) y=(px(y + 42.0)) { (measured) }
                }
            }
        }
    }
}

fn draw_pause(y: f64, pause: Duration, width: f64, left: f64) -> Markup {
    html! {
        g.pause {
            rect x=(px(left)) y=(px(y + 4.0)) width=(px(width - left - 4.0)) height="18" {}
            text x="8" y=(px(y + 17.0)) { "⋮ " (duration(pause)) }
            text x=(px(left + 8.0)) y=(px(y + 17.0)) { "… " (duration(pause)) " without an entry …" }
        }
    }
}

fn draw_failure(y: f64, outcome: &CaseOutcome, model: &Model, width: f64) -> Markup {
    let Some(failure) = &outcome.failure else {
        return html! {};
    };
    let lane = model.failed_on.unwrap_or(0);
    let x = model.lane_x(lane);
    let room = (width - 36.0) / CHAR;
    let heading = match failure.step {
        0 => String::from("✗ failed before the first step: the program did not start"),
        step => format!(
            "✗ step {step} failed: {} (spec line {})",
            text(&failure.action),
            failure.line
        ),
    };
    let expected = format!("expected: {}", text(&failure.expected));
    let received = received(failure);
    html! {
        g.failure-mark {
            title {
                (heading) "\n" (expected)
                @if let Some(received) = &received { "\n" (received) }
            }
            text.time x="8" y=(px(y + 18.0)) { "by " (seconds(outcome.duration)) }
            circle cx=(px(x)) cy=(px(y + 14.0)) r="11" {}
            text.cross x=(px(x)) y=(px(y + 19.0)) { "✗" }
            line x1=(px(x)) y1=(px(y + 25.0)) x2=(px(x)) y2=(px(y + 32.0)) {}
            rect x="8" y=(px(y + 32.0)) width=(px(width - 16.0)) height="62" rx="6" {}
            text.failure-heading x="18" y=(px(y + 50.0)) { (fit(&heading, room)) }
            text x="18" y=(px(y + 68.0)) { (fit(&expected, room)) }
            @if let Some(received) = &received {
                text x="18" y=(px(y + 86.0)) { (fit(received, room)) }
            }
        }
    }
}

fn received(failure: &Failure) -> Option<String> {
    if let Some(difference) = &failure.difference {
        return Some(format!("received: {}", difference.headline));
    }
    failure.actual.as_deref().map(|actual| {
        if actual.is_empty() {
            String::from("received: nothing")
        } else {
            format!("received: {}", quoted_shown(actual, 2000))
        }
    })
}

fn table(id: &str, outcome: &CaseOutcome, model: &Model) -> Markup {
    html! {
        div.scroll.transcript-wrap {
            table.transcript id=(format!("{id}-transcript")) {
                caption { "Transcript of " (text(&outcome.case)) ": every entry of the diagram, as text" }
                thead {
                    tr {
                        th scope="col" { "#" }
                        th scope="col" { "time" }
                        th scope="col" { "lane" }
                        th scope="col" { "event" }
                        th scope="col" { "data" }
                    }
                }
                tbody {
                    @for event in &model.events {
                        tr {
                            td.num { (event.number) }
                            td.num { (seconds(event.entry.at)) }
                            td { (text(&event.entry.channel)) }
                            td {
                                (event.word)
                                @if !event.direction.is_empty() { br; span.direction { (event.direction) } }
                            }
                            td.data {
                                code { (event.data) }
                                @if let Some(hex) = &event.hex { br; span.hex { "hex: " (hex) } }
                            }
                        }
                    }
                    @if model.events.is_empty() {
                        tr { td colspan="5" { "Nothing was exchanged." } }
                    }
                    @if let Some(failure) = &outcome.failure {
                        tr.failed-step {
                            td { "✗" }
                            td.num { "by " (seconds(outcome.duration)) }
                            td { (model.failed_on.and_then(|l| model.lanes.get(l)).map(|l| text(l.title())).unwrap_or_default()) }
                            td {
                                @if failure.step == 0 { "did not start" } @else { "step " (failure.step) " failed" }
                            }
                            td.data {
                                (text(&failure.action)) br;
                                "expected: " code { (text(&failure.expected)) }
                                @if let Some(received) = received(failure) { br; code { (received) } }
                            }
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn channels_map_to_lanes() {
        assert_eq!(lane_of("a"), (String::from("a"), LaneKind::Connection));
        assert_eq!(
            lane_of("client 127.0.0.1:5000"),
            (String::from("client 127.0.0.1:5000"), LaneKind::Datagram)
        );
        assert_eq!(
            lane_of("s ([::1]:8090)"),
            (String::from("s"), LaneKind::Datagram)
        );
        assert_eq!(lane_of("stderr").1, LaneKind::Output);
        assert_eq!(
            failed_lane("recv on b (line)"),
            (String::from("b"), LaneKind::Connection)
        );
        assert_eq!(failed_lane("stdout (text)").1, LaneKind::Output);
        assert_eq!(
            failed_lane("idle for 500ms (at most 20% CPU)").1,
            LaneKind::Program
        );
        assert_eq!(
            idle_window("used 3% CPU over 500ms, its busiest thread runnable 4% of it"),
            Some((
                Duration::from_millis(500),
                String::from("CPU 3%, busiest thread runnable 4%")
            ))
        );
    }
}
