//! When nothing arrives on a connection after the runner has sent
//! something, the program is almost always blocked in a read that wants
//! more than it got: a line end the runner never sent, or more bytes than
//! were sent. "Nothing arrived" alone leaves a student guessing; these are
//! the likely causes, named by symptom with the calls of the student's own
//! language (told from the target's file type).

use crate::speclang::Language;

/// What the runner sent on the silent connection: its bytes in all, and
/// whether the last of them was a line end.
pub struct Sent {
    pub bytes: usize,
    pub ends_with_newline: bool,
}

/// The likely causes, as a clause to append to "nothing arrived": empty
/// when the runner sent nothing on the connection (the program then waits
/// for something else than the runner's data).
pub fn likely_causes(language: Option<Language>, noun: &str, sent: &Sent) -> String {
    if sent.bytes == 0 {
        return String::new();
    }
    let mut causes = Vec::new();
    if !sent.ends_with_newline {
        causes.push(format!(
            "the {noun} waits for a line end, which the runner never sent: {}",
            line_read(language)
        ));
    }
    causes.push(format!(
        "the {noun} waits for more than the {} that were sent: {}",
        crate::text::count(sent.bytes as u64, "byte"),
        full_read(language)
    ));
    format!("; likely causes: {}", causes.join("; or "))
}

/// The line-reading calls of `language` that block without a line end,
/// and what to use instead.
fn line_read(language: Option<Language>) -> &'static str {
    match language.map(|l| l.close_to().unwrap_or(l)) {
        Some(Language::Python) => {
            "reading the socket by lines (conn.makefile().readline(), input() on a socket file) waits for '\\n'; use conn.recv(1024)"
        }
        Some(Language::C | Language::Cpp) => {
            "fgets() or getline() on the socket (through fdopen) waits for '\\n'; use recv(conn, buf, sizeof buf, 0)"
        }
        Some(Language::Java) => {
            "BufferedReader.readLine() on the socket waits for '\\n'; read with getInputStream().read(buf)"
        }
        Some(Language::Go) => {
            "bufio.Reader.ReadString('\\n') or a bufio.Scanner on the connection waits for '\\n'; use conn.Read(buf)"
        }
        Some(Language::JavaScript) => {
            "a readline interface on the socket waits for '\\n'; answer in the socket's 'data' handler"
        }
        None => "a read by lines (readLine, fgets, input() on a socket) waits for '\\n'; read what has arrived instead",
    }
}

/// The reads of `language` that block until a count of bytes (or the end
/// of the connection), and what to use instead.
fn full_read(language: Option<Language>) -> &'static str {
    match language.map(|l| l.close_to().unwrap_or(l)) {
        Some(Language::Python) => {
            "a loop calling recv() until it has some number of bytes, or until recv() returns b'', never ends while the runner waits for the reply; answer what one recv(1024) returns"
        }
        Some(Language::C | Language::Cpp) => {
            "recv() with MSG_WAITALL, or a loop reading until the buffer is full or read() returns 0, never ends while the runner waits for the reply; answer what one recv() returns"
        }
        Some(Language::Java) => {
            "readFully(), readNBytes(1024) or readAllBytes() waits for that many bytes or the end of the connection; use read(buf), and flush() what you write"
        }
        Some(Language::Go) => {
            "io.ReadFull() or io.ReadAll() waits for a full buffer or the end of the connection; use conn.Read(buf), and Flush() a bufio.Writer"
        }
        Some(Language::JavaScript) => {
            "waiting for the socket's 'end' event, or collecting data until some length, waits for more than arrives; answer each 'data' event"
        }
        None => "a read of a fixed count of bytes, or until the connection ends, waits for more than arrives; answer what one read returns",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_text_without_a_line_end_names_both_causes_in_the_language() {
        let sent = Sent {
            bytes: 5,
            ends_with_newline: false,
        };
        let causes = likely_causes(Some(Language::Java), "server", &sent);
        assert!(
            causes.contains("the server waits for a line end"),
            "{causes}"
        );
        assert!(causes.contains("BufferedReader.readLine()"), "{causes}");
        assert!(
            causes.contains("more than the 5 bytes that were sent"),
            "{causes}"
        );
        let c_plus_plus = likely_causes(Some(Language::Cpp), "server", &sent);
        assert!(c_plus_plus.contains("fgets()"), "{c_plus_plus}");
    }

    #[test]
    fn a_line_sent_whole_leaves_only_the_count_and_nothing_sent_says_nothing() {
        let line = Sent {
            bytes: 6,
            ends_with_newline: true,
        };
        let causes = likely_causes(Some(Language::Python), "server", &line);
        assert!(!causes.contains("line end"), "{causes}");
        assert!(causes.contains("recv(1024)"), "{causes}");
        let nothing = Sent {
            bytes: 0,
            ends_with_newline: false,
        };
        assert_eq!(likely_causes(None, "client", &nothing), "");
    }
}
