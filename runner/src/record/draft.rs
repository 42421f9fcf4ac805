//! A recording turned into a draft spec: YAML written by hand (to keep
//! its comments), one case per connection or group of connections open
//! at the same time, with comments where a teacher should generalise.

use super::log::{Event, NetWhat, Side, What};
use crate::speclang::{Role, Transport};
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::time::Duration;

/// What the draft says about how it was made.
pub struct About<'a> {
    pub name: &'a str,
    pub role: Role,
    pub transport: Transport,
    /// `--target` as given.
    pub target: &'a str,
    /// The bundled reference the target is, if it is one.
    pub reference: Option<&'a str>,
    /// `--addr`, when the program hard-codes its address.
    pub addr: Option<SocketAddr>,
    /// Where the program served or was told to connect.
    pub program_addr: SocketAddr,
    /// The file the draft goes to, for the command lines it shows.
    pub file: &'a str,
}

/// A waiting step that took longer than this gets a deadline of its own.
const SLOW: Duration = Duration::from_millis(1500);

/// Pieces of one direction closer together than this count as one write.
const SPLIT: Duration = Duration::from_millis(50);

/// The header comments that `runner record --check` reads back.
pub const TARGET_COMMENT: &str = "# record-target: ";
pub const ADDR_COMMENT: &str = "# record-addr: ";

pub fn draft(about: &About, events: &[Event]) -> String {
    let mut yaml = String::new();
    let _ = writeln!(
        yaml,
        "# A draft recorded by `runner record`: the exchanges below are what the"
    );
    let _ = writeln!(
        yaml,
        "# reference did once. Edit each case's `about`, and generalise where the"
    );
    let _ = writeln!(
        yaml,
        "# comments say so. Check it again with: runner record --check {}",
        about.file
    );
    let _ = writeln!(yaml, "{TARGET_COMMENT}{}", about.target);
    if let Some(addr) = about.addr {
        let _ = writeln!(yaml, "{ADDR_COMMENT}{addr}");
    }
    let _ = writeln!(yaml, "spec: {}", quote(about.name));
    let _ = writeln!(
        yaml,
        "title: {}",
        quote(&format!("Recorded from {}", about.target))
    );
    let _ = writeln!(yaml, "target:");
    let role = match about.role {
        Role::Server => "server",
        Role::Client => "client",
    };
    let _ = writeln!(yaml, "  role: {role}");
    let transport = match about.transport {
        Transport::Tcp => "tcp",
        Transport::Udp => "udp",
    };
    let _ = writeln!(yaml, "  transport: {transport}");
    match about.reference {
        Some(reference) => {
            let _ = writeln!(yaml, "  reference: {reference}");
        }
        None => {
            let run = match about.addr {
                Some(addr) => format!("--target {} --addr {addr}", shell_quote(about.target)),
                None => format!("--target {}", shell_quote(about.target)),
            };
            let _ = writeln!(yaml, "  # no bundled reference: run it with {run}");
        }
    }
    let _ = writeln!(yaml, "  restart: per-case");
    let _ = writeln!(yaml, "defaults:");
    let _ = writeln!(yaml, "  timeout: 2s");
    let _ = writeln!(yaml, "cases:");
    let cases = group(events);
    for (index, case) in cases.iter().enumerate() {
        let last = index + 1 == cases.len();
        write_case(&mut yaml, about, index + 1, case, last);
    }
    yaml
}

/// The events of one case, in order.
struct Case<'a> {
    events: Vec<&'a Event>,
    conns: Vec<usize>,
}

/// Cases: connections open at the same time share a case; the program's
/// output goes with the case it came during or after (what it printed
/// before the first case, a banner, is left out), typed input with the
/// case it came during or before, the exit with the last case.
fn group(events: &[Event]) -> Vec<Case<'_>> {
    // Each connection's span: its first and last event.
    let mut spans: Vec<(usize, Duration, Duration)> = Vec::new();
    for event in events {
        if let What::Net { conn, .. } = &event.what {
            match spans.iter_mut().find(|(c, _, _)| c == conn) {
                Some(span) => span.2 = event.at,
                None => spans.push((*conn, event.at, event.at)),
            }
        }
    }
    spans.sort_by_key(|span| span.1);
    // Windows of cases: overlapping spans merged.
    let mut windows: Vec<(Duration, Duration, Vec<usize>)> = Vec::new();
    for (conn, first, last) in spans {
        match windows.last_mut() {
            Some(window) if first <= window.1 => {
                window.1 = window.1.max(last);
                window.2.push(conn);
            }
            _ => windows.push((first, last, vec![conn])),
        }
    }
    let mut cases: Vec<Case> = windows
        .iter()
        .map(|(_, _, conns)| Case {
            events: Vec::new(),
            conns: conns.clone(),
        })
        .collect();
    if cases.is_empty() {
        return cases;
    }
    let during = |at: Duration| windows.iter().position(|w| w.0 <= at && at <= w.1);
    for event in events {
        let index = match &event.what {
            What::Net { conn, .. } => cases.iter().position(|c| c.conns.contains(conn)),
            What::Stdin(_) => during(event.at)
                .or_else(|| windows.iter().position(|w| w.0 >= event.at))
                .or(Some(cases.len() - 1)),
            What::Stdout(_) | What::Stderr(_) => {
                during(event.at).or_else(|| windows.iter().rposition(|w| w.1 <= event.at))
            }
            What::Exit(_) => None,
        };
        if let Some(index) = index {
            cases[index].events.push(event);
        }
    }
    if let Some(exit) = events.iter().find(|e| matches!(e.what, What::Exit(_))) {
        if let Some(last) = cases.last_mut() {
            last.events.push(exit);
        }
    }
    cases
}

fn write_case(yaml: &mut String, about: &About, number: usize, case: &Case, last: bool) {
    let tcp = about.transport == Transport::Tcp;
    let (id, what) = match (tcp, case.conns.len()) {
        (true, 1) => (format!("connection-{number}"), "a connection"),
        (true, _) => (format!("connections-{number}"), "connections open together"),
        (false, _) => (format!("exchange-{number}"), "datagrams"),
    };
    if number > 1 {
        let _ = writeln!(yaml);
    }
    let _ = writeln!(yaml, "  - id: {id}");
    let _ = writeln!(
        yaml,
        "    about: {}",
        quote(&format!(
            "EDIT ME: the requirement this case checks (recorded: {what}, #{number})"
        ))
    );
    let _ = writeln!(yaml, "    steps:");
    let name = |conn: usize| -> String {
        let index = case.conns.iter().position(|c| *c == conn).unwrap_or(0);
        let letters = if tcp {
            "abcdefghijklmnopqrstuvwxyz"
        } else {
            "uvwxyzabcdefghijklmnopqrst"
        };
        match letters.chars().nth(index) {
            Some(letter) => letter.to_string(),
            None => format!("c{index}"),
        }
    };
    // UDP sockets are named only when a case has several.
    let udp_on = |conn: usize| -> String {
        if about.role == Role::Server && case.conns.len() > 1 {
            format!("on: {}, ", name(conn))
        } else {
            String::new()
        }
    };
    let mut last_action = Duration::ZERO;
    // What the runner's side last sent per connection, and what the
    // program last sent: to spot replies that repeat them.
    let mut sent: Vec<(usize, Vec<u8>)> = Vec::new();
    let mut i = 0;
    let events = &case.events;
    let wait = |at: Duration, last_action: Duration, key: &str| -> String {
        let waited = at.saturating_sub(last_action);
        if waited > SLOW {
            let seconds = (waited.as_secs_f64() * 2.0).ceil() as u64;
            format!(", {key}: {seconds}s")
        } else {
            String::new()
        }
    };
    while i < events.len() {
        let event = events[i];
        i += 1;
        match &event.what {
            What::Net { conn, side, what } => {
                let conn = *conn;
                let later_on_conn = events[i..]
                    .iter()
                    .any(|e| matches!(&e.what, What::Net { conn: c, .. } if *c == conn));
                match (what, side) {
                    (NetWhat::Open, _) => {
                        if !tcp {
                            continue;
                        }
                        if about.role == Role::Server {
                            last_action = event.at;
                            let _ = writeln!(yaml, "      - connect: {}", name(conn));
                        } else {
                            let extra = wait(event.at, last_action, "timeout");
                            if extra.is_empty() {
                                let _ = writeln!(yaml, "      - accept: {}", name(conn));
                            } else {
                                let _ = writeln!(
                                    yaml,
                                    "      - accept: {{ on: {}{extra} }}",
                                    name(conn)
                                );
                            }
                        }
                    }
                    (NetWhat::Data(first), side) => {
                        // Pieces of the same direction in a row are one
                        // step; the program's printed lines in between
                        // come after it.
                        let mut bytes = first.clone();
                        let mut pieces = vec![first.len()];
                        let mut end = event.at;
                        let mut moved: Vec<&Event> = Vec::new();
                        while let Some(next) = events.get(i) {
                            match &next.what {
                                What::Net {
                                    conn: c,
                                    side: s,
                                    what: NetWhat::Data(more),
                                } if *c == conn && s == side && tcp => {
                                    bytes.extend_from_slice(more);
                                    pieces.push(more.len());
                                    end = next.at;
                                }
                                What::Stdout(_) | What::Stderr(_) if tcp => moved.push(next),
                                _ => break,
                            }
                            i += 1;
                        }
                        let payload = payload(&bytes);
                        if pieces.len() > 1 {
                            let spread = end.saturating_sub(event.at);
                            let timing = if spread > SPLIT {
                                format!(" over {}ms", spread.as_millis())
                            } else {
                                String::new()
                            };
                            let _ = writeln!(
                                yaml,
                                "      # came in {} pieces{timing} ({}), merged: how a stream is cut depends on timing",
                                pieces.len(),
                                pieces.iter().map(|p| p.to_string()).collect::<Vec<_>>().join(" + ")
                            );
                        }
                        let runner_sends = *side == Side::Runner;
                        // A reply to what the other side last sent on
                        // this connection: the runner's as a client's
                        // server, the program's as a server.
                        if runner_sends == (about.role == Role::Client) {
                            let asked = sent
                                .iter()
                                .rev()
                                .find(|(c, _)| *c == conn)
                                .map(|(_, b)| b.as_slice());
                            echo_comment(yaml, &bytes, asked, runner_sends);
                        }
                        if runner_sends {
                            last_action = end;
                            if tcp {
                                let _ = writeln!(
                                    yaml,
                                    "      - send: {{ on: {}, {payload} }}",
                                    name(conn)
                                );
                            } else {
                                let _ = writeln!(
                                    yaml,
                                    "      - sendto: {{ {}{payload} }}",
                                    udp_on(conn)
                                );
                            }
                        } else {
                            let extra = wait(event.at, last_action, "timeout");
                            if tcp {
                                let _ = writeln!(
                                    yaml,
                                    "      - recv: {{ on: {}, {payload}{extra} }}",
                                    name(conn)
                                );
                            } else {
                                let _ = writeln!(
                                    yaml,
                                    "      - recvfrom: {{ {}{payload}{extra} }}",
                                    udp_on(conn)
                                );
                            }
                        }
                        let keep_sent = (about.role == Role::Server) == runner_sends;
                        if keep_sent {
                            sent.push((conn, bytes));
                        }
                        for event in moved {
                            write_output(yaml, about, event, &mut last_action);
                        }
                    }
                    (NetWhat::Fin, Side::Runner) => {
                        last_action = event.at;
                        let step = if later_on_conn { "shutdown" } else { "close" };
                        let _ = writeln!(yaml, "      - {step}: {}", name(conn));
                    }
                    (NetWhat::Reset, Side::Runner) => {
                        last_action = event.at;
                        let _ = writeln!(yaml, "      - reset: {}", name(conn));
                    }
                    (NetWhat::Fin, Side::Program) => {
                        let extra = wait(event.at, last_action, "timeout");
                        if extra.is_empty() {
                            let _ = writeln!(yaml, "      - eof: {}", name(conn));
                        } else {
                            let _ = writeln!(yaml, "      - eof: {{ on: {}{extra} }}", name(conn));
                        }
                    }
                    (NetWhat::Reset, Side::Program) => {
                        let _ = writeln!(
                            yaml,
                            "      # here the program reset connection {} (no step checks a reset)",
                            name(conn)
                        );
                    }
                }
            }
            What::Exit(code) => {
                let extra = wait(event.at, last_action, "within");
                match code {
                    Some(code) => {
                        let _ = writeln!(yaml, "      - exit: {{ code: {code}{extra} }}");
                    }
                    None => {
                        let _ = writeln!(yaml, "      # here the program was ended by a signal");
                    }
                }
            }
            _ => write_output(yaml, about, event, &mut last_action),
        }
    }
    if last && !events.iter().any(|e| matches!(e.what, What::Exit(_))) {
        let _ = writeln!(
            yaml,
            "      # the recording was stopped here, with the program still running"
        );
    }
}

/// A stdin, stdout or stderr event as a step or a comment.
fn write_output(yaml: &mut String, about: &About, event: &Event, last_action: &mut Duration) {
    match &event.what {
        What::Stdin(line) => {
            *last_action = event.at;
            if line.chars().any(|c| c.is_control()) {
                let _ = writeln!(
                    yaml,
                    "      # typed a line with control characters, left out: {}",
                    quote(line)
                );
            } else {
                let _ = writeln!(yaml, "      - stdin: {}", quote(&template(line)));
            }
        }
        What::Stdout(line) => {
            let (kept, cut) = without_addresses(line, about.program_addr);
            if kept.trim().is_empty() {
                if !line.trim().is_empty() {
                    let _ = writeln!(
                        yaml,
                        "      # printed (left out, it shows an address): {}",
                        quote(line)
                    );
                }
                return;
            }
            if cut {
                let _ = writeln!(yaml, "      # printed {}: the rest of the line shows an address, which changes from run to run", quote(line));
            }
            let waited = event.at.saturating_sub(*last_action);
            let extra = if waited > SLOW {
                format!(", timeout: {}s", (waited.as_secs_f64() * 2.0).ceil() as u64)
            } else {
                String::new()
            };
            let _ = writeln!(
                yaml,
                "      - stdout: {{ contains: {}{extra} }}",
                quote(&template(&kept))
            );
        }
        What::Stderr(line) if !line.trim().is_empty() => {
            let _ = writeln!(yaml, "      # stderr: {}", quote(line));
        }
        _ => {}
    }
}

/// Says when bytes repeat what went the other way: the place to
/// generalise with more cases, or with a capture.
fn echo_comment(yaml: &mut String, reply: &[u8], asked: Option<&[u8]>, client_role: bool) {
    let Some(asked) = asked else { return };
    let how = if reply == asked {
        "repeats"
    } else if reply == asked.to_ascii_uppercase() && reply != asked {
        "upper-cases"
    } else {
        return;
    };
    if client_role {
        let _ = writeln!(
            yaml,
            "      # generalise: this reply {how} what the program sent; `capture: msg` on that recv and `text: \"{{msg{}}}\"` here answer any message",
            if how == "upper-cases" { "|upper" } else { "" }
        );
    } else {
        let _ = writeln!(
            yaml,
            "      # generalise: the reply {how} what was sent; add cases with other messages (mixed case, UTF-8, a full buffer) to pin the rule down"
        );
    }
}

/// `text: "..."` for UTF-8 without NUL, else `hex: "..."`.
fn payload(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(text) if !text.contains('\0') => format!("text: {}", quote(&template(text))),
        _ => format!(
            "hex: \"{}\"",
            bytes
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<Vec<_>>()
                .join(" ")
        ),
    }
}

/// Text as a template: braces doubled, so they stand for themselves.
fn template(text: &str) -> String {
    text.replace('{', "{{").replace('}', "}}")
}

/// A YAML double-quoted scalar (JSON's string syntax is YAML's).
fn quote(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_else(|_| String::from("\"\""))
}

fn shell_quote(text: &str) -> String {
    if text
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_./:=@".contains(c))
    {
        text.to_string()
    } else {
        format!("'{}'", text.replace('\'', "'\\''"))
    }
}

/// The line up to the first address (`127.0.0.1:5000`, `[::1]:80`) or
/// the program's port in it, and whether it was cut.
fn without_addresses(line: &str, program: SocketAddr) -> (String, bool) {
    let pattern = regex::Regex::new(r"\d{1,3}(\.\d{1,3}){3}(:\d+)?|\[[0-9A-Fa-f:.]*\](:\d+)?|::1")
        .expect("a valid pattern");
    let port = program.port().to_string();
    let mut cut = pattern.find(line).map(|m| m.start());
    let port_at = regex::Regex::new(&format!(r"\b{port}\b"))
        .ok()
        .and_then(|r| r.find(line).map(|m| m.start()));
    if let Some(at) = port_at {
        cut = Some(cut.map_or(at, |c| c.min(at)));
    }
    match cut {
        Some(at) => (line[..at].to_string(), true),
        None => (line.to_string(), false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_cut_from_printed_lines() {
        let program: SocketAddr = "127.0.0.1:40123".parse().unwrap();
        assert_eq!(
            without_addresses("connected: 127.0.0.1:5555", program),
            (String::from("connected: "), true)
        );
        assert_eq!(
            without_addresses("listening on port 40123", program),
            (String::from("listening on port "), true)
        );
        assert_eq!(
            without_addresses("received: hi", program),
            (String::from("received: hi"), false)
        );
    }

    #[test]
    fn payloads_are_text_or_hex_and_braces_stand_for_themselves() {
        assert_eq!(payload(b"a{b}"), "text: \"a{{b}}\"");
        assert_eq!(payload(&[0xff, 0x00]), "hex: \"ff 00\"");
    }
}
