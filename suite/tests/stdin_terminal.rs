//! The program's stdin is a terminal in line mode, as when a student runs
//! it: a read returns one typed line, `close-stdin` is Ctrl-D after what
//! was typed, and what a program does to its own terminal stays there.

mod common;

use common::*;

/// A spec of one case for a client that talks only through stdin and
/// stdout: the runner's UDP socket is there, unused.
fn stdin_spec(dir: &std::path::Path, steps: &str) -> std::path::PathBuf {
    let text = format!(
        "spec: stdin-terminal\ntitle: typing at a terminal\ntarget: {{ role: client, transport: udp }}\ndefaults: {{ timeout: 3s }}\ncases:\n  - id: typed\n    about: the program gets what was typed\n    steps:\n{steps}"
    );
    let path = dir.join("stdin-terminal.yaml");
    std::fs::write(&path, text).expect("temp dir is writable");
    path
}

/// Runs the one case of `steps` against the Python program `source`.
fn run_typed(source: &str, steps: &str) -> (String, String) {
    let dir = world_readable_tempdir();
    let program = write_program(dir.path(), "typed.py", source);
    let spec = stdin_spec(dir.path(), steps);
    let (_, report) = run_spec_file(&spec, &program);
    verdicts(&report)
        .remove("typed")
        .expect("the case has a verdict")
}

#[test]
fn stdin_is_a_terminal_and_stdout_is_not() {
    let (verdict, message) = run_typed(
        "import os\nprint('stdin', os.isatty(0), 'stdout', os.isatty(1))\n",
        "      - stdout: { contains: \"stdin True stdout False\" }\n",
    );
    assert_eq!(verdict, "pass", "{message}");
}

#[test]
fn a_read_returns_one_typed_line_even_when_two_were_typed_at_once() {
    let (verdict, message) = run_typed(
        "import os\nprint(repr(os.read(0, 4096)), repr(os.read(0, 4096)))\n",
        "      - stdin: { text: \"one\\ntwo\\n\" }\n      - stdout: { contains: \"b'one\\\\n' b'two\\\\n'\" }\n",
    );
    assert_eq!(verdict, "pass", "{message}");
}

/// As at a keyboard, Ctrl-D ends the input once: a program that reads
/// again after the end waits for more, and the runner stops it.
#[test]
fn close_stdin_ends_the_input_after_everything_typed_even_a_partial_line() {
    let (verdict, message) = run_typed(
        "import sys\nprint(repr(sys.stdin.buffer.read()))\n",
        "      - stdin: \"first 你好\"\n      - stdin: { text: \"partial\" }\n      - close-stdin\n      - stdout: { contains: \"b'first \\\\xe4\\\\xbd\\\\xa0\\\\xe5\\\\xa5\\\\xbd\\\\npartial'\" }\n      - exit: { code: 0 }\n",
    );
    assert_eq!(verdict, "pass", "{message}");
}

#[test]
fn a_partial_line_reaches_the_program_when_the_line_is_ended() {
    let program = "import os, select\nready, _, _ = select.select([0], [], [], 0.5)\nprint('nothing yet' if not ready else 'too early', flush=True)\nprint(repr(os.read(0, 4096)))\n";
    let (verdict, message) = run_typed(
        program,
        "      - stdin: { text: \"par\" }\n      - stdout: { contains: \"nothing yet\" }\n      - stdin: \"tial\"\n      - stdout: { contains: \"b'partial\\\\n'\" }\n",
    );
    assert_eq!(verdict, "pass", "{message}");
}

/// What a program does to its own terminal stays there: it turns echo
/// and signal keys on, makes the terminal its controlling terminal, and
/// writes a megabyte into it that nobody reads. The runner still types,
/// reads its output, and ends the run on time.
#[test]
fn a_program_that_meddles_with_its_terminal_hurts_only_itself() {
    let program = r#"
import fcntl, os, sys, termios, threading
mode = termios.tcgetattr(0)
mode[3] |= termios.ECHO | termios.ISIG | termios.IEXTEN
termios.tcsetattr(0, termios.TCSANOW, mode)
try:
    os.setsid()
except OSError:
    pass
try:
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)
except OSError:
    pass
def flood():
    try:
        os.write(0, b"x" * (1 << 20))
    except OSError:
        pass
threading.Thread(target=flood, daemon=True).start()
print("got", sys.stdin.readline().strip(), flush=True)
"#;
    let started = std::time::Instant::now();
    let (verdict, message) = run_typed(
        program,
        "      - stdin: \"hello\"\n      - stdout: { contains: \"got hello\" }\n      - exit: { code: 0 }\n",
    );
    assert_eq!(verdict, "pass", "{message}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );
}

#[test]
fn typing_into_a_program_that_has_ended_fails_at_that_step() {
    let (verdict, message) = run_typed(
        "print('bye')\n",
        "      - stdout: { contains: \"bye\" }\n      - exit: { code: 0 }\n      - stdin: \"anyone there?\"\n",
    );
    assert_eq!(verdict, "fail", "{message}");
    assert!(
        message.contains("could not type into the client")
            && message.contains("exited with code 0"),
        "{message}"
    );
}
