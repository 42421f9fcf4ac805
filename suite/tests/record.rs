//! `runner record`: a session with each bundled reference, driven from
//! here with std sockets and stopped with SIGINT, becomes a draft spec
//! that `runner check` accepts, that the reference passes, and that kills
//! at least one mutant.

mod common;

use common::runner;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::time::{Duration, Instant};

fn runner_binary() -> PathBuf {
    assert_cmd::cargo::cargo_bin("runner")
}

/// A bundled reference as a `--target`.
fn reference(name: &str) -> String {
    format!(
        "{} __reference {name} {{host}} {{port}}",
        runner_binary().display()
    )
}

/// A loopback port free right now.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A running `runner record`, its stdin, and its stderr line by line.
struct Recorder {
    child: Child,
    stdin: Option<ChildStdin>,
    said: Receiver<String>,
    heard: Vec<String>,
}

impl Recorder {
    fn start(args: &[&str]) -> Recorder {
        let mut child = Command::new(runner_binary())
            .arg("record")
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("runner record starts");
        let stderr = child.stderr.take().expect("piped");
        let (sender, said) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = sender.send(line);
            }
        });
        let stdin = child.stdin.take();
        Recorder {
            child,
            stdin,
            said,
            heard: Vec::new(),
        }
    }

    /// Waits until the recorder says `words` (it is then relaying).
    fn wait_for(&mut self, words: &str) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while !self.heard.iter().any(|line| line.contains(words)) {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.said.recv_timeout(left) {
                Ok(line) => self.heard.push(line),
                Err(_) => panic!(
                    "the recorder never said {words:?}; it said {:?}",
                    self.heard
                ),
            }
        }
    }

    fn type_line(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        writeln!(stdin, "{line}").expect("the recorder takes typed lines");
    }

    /// Ctrl-C, unless it already ended; then its exit code and what it said.
    fn stop(mut self) -> (i32, String) {
        if self.child.try_wait().expect("wait").is_none() {
            let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
            let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT);
        }
        self.finish()
    }

    fn finish(mut self) -> (i32, String) {
        drop(self.stdin.take());
        let status = self.child.wait().expect("the recorder ends");
        let mut rest = self.heard;
        rest.extend(self.said.iter());
        (status.code().unwrap_or(-1), rest.join("\n"))
    }
}

/// The three checks every recorded draft must pass.
fn assert_good_draft(file: &Path) {
    let file = file.to_str().expect("a UTF-8 path");
    let yaml = std::fs::read_to_string(file).expect("the draft was written");
    let checked = runner().args(["check", file]).output().expect("runs");
    assert!(
        checked.status.success(),
        "runner check refuses the draft:\n{}\n{yaml}",
        String::from_utf8_lossy(&checked.stderr)
    );
    let ran = runner().args([file]).output().expect("runs");
    assert!(
        ran.status.success(),
        "the reference fails its own draft:\n{}\n{yaml}",
        String::from_utf8_lossy(&ran.stdout)
    );
    let again = runner()
        .args(["record", "--check", file])
        .output()
        .expect("runs");
    assert!(again.status.success(), "record --check fails:\n{yaml}");
    let mutated = runner()
        .args(["mutate", file, "--format", "json"])
        .output()
        .expect("runs");
    let report: serde_json::Value =
        serde_json::from_slice(&mutated.stdout).expect("a JSON mutation report");
    assert!(
        report["killed"].as_u64().unwrap_or(0) >= 1,
        "no mutant is killed by the draft:\n{yaml}\n{report:#}"
    );
}

/// Connects to the recorder, which listens before it says it serves.
fn connect(addr: SocketAddr) -> TcpStream {
    TcpStream::connect(addr)
        .unwrap_or_else(|e| panic!("cannot connect to the recorder at {addr}: {e}"))
}

/// The teacher's server, standing in on the host for the looping
/// reference: listening before the recorder starts (nothing to wait
/// for), it upper-cases what each client sends until the client closes.
fn upper_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
    let addr = listener.local_addr().expect("its address");
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let mut buffer = [0u8; 1024];
            while let Ok(n @ 1..) = stream.read(&mut buffer) {
                if stream.write_all(&buffer[..n].to_ascii_uppercase()).is_err() {
                    break;
                }
            }
        }
    });
    addr
}

/// Reads until `want` has arrived (or the end), with a deadline.
fn read_until(stream: &mut TcpStream, want: &[u8]) -> Vec<u8> {
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let mut got = Vec::new();
    let mut buffer = [0u8; 1024];
    while !got.windows(want.len()).any(|w| w == want) {
        match stream.read(&mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(n) => got.extend_from_slice(&buffer[..n]),
        }
    }
    got
}

fn read_to_end(stream: &mut TcpStream) -> Vec<u8> {
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let mut got = Vec::new();
    let _ = stream.read_to_end(&mut got);
    got
}

#[test]
fn a_session_with_the_tcp_upper_server_becomes_a_passing_draft() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("upper.yaml");
    let listen: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let mut recorder = Recorder::start(&[
        "--role",
        "server",
        "--target",
        &reference("upper-server"),
        "--listen",
        &listen.to_string(),
        "-o",
        file.to_str().unwrap(),
    ]);
    recorder.wait_for("serves on");
    let mut stream = connect(listen);
    stream.write_all(b"Hello, World").expect("send");
    assert_eq!(read_to_end(&mut stream), b"HELLO, WORLD");
    drop(stream);
    let (code, said) = recorder.stop();
    assert_eq!(code, 0, "{said}");
    let yaml = std::fs::read_to_string(&file).expect("written");
    assert!(yaml.contains("reference: upper-server"), "{yaml}");
    assert!(
        yaml.contains(r#"- recv: { on: a, text: "HELLO, WORLD" }"#),
        "{yaml}"
    );
    assert!(yaml.contains("- eof: a"), "{yaml}");
    assert!(yaml.contains("generalise"), "{yaml}");
    assert_good_draft(&file);
}

#[test]
fn a_session_with_the_chat_server_records_typed_lines_and_prints() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("chat.yaml");
    let listen: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let mut recorder = Recorder::start(&[
        "--role",
        "server",
        "--target",
        &reference("chat-server"),
        "--listen",
        &listen.to_string(),
        "-o",
        file.to_str().unwrap(),
    ]);
    recorder.wait_for("serves on");
    let mut stream = connect(listen);
    stream.write_all(b"hi server").expect("send");
    recorder.type_line("hello client");
    assert_eq!(read_until(&mut stream, b"hello client"), b"hello client");
    stream.shutdown(Shutdown::Write).expect("half-close");
    assert_eq!(read_to_end(&mut stream), b"");
    drop(stream);
    // The chat server loops forever: Ctrl-C ends the recording.
    let (code, said) = recorder.stop();
    assert_eq!(code, 0, "{said}");
    let yaml = std::fs::read_to_string(&file).expect("written");
    assert!(yaml.contains(r#"- stdin: "hello client""#), "{yaml}");
    assert!(
        yaml.contains(r#"- stdout: { contains: "received: hi server" }"#),
        "{yaml}"
    );
    assert!(yaml.contains("- shutdown: a"), "{yaml}");
    assert_good_draft(&file);
}

#[test]
fn a_session_with_the_udp_server_becomes_a_passing_draft() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("udp.yaml");
    let listen: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().unwrap();
    let mut recorder = Recorder::start(&[
        "--role",
        "server",
        "--transport",
        "udp",
        "--target",
        &reference("udp-upper-server"),
        "--listen",
        &listen.to_string(),
        "-o",
        file.to_str().unwrap(),
    ]);
    recorder.wait_for("serves on");
    let socket = UdpSocket::bind("127.0.0.1:0").expect("bind");
    socket
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    socket.send_to(b"hello udp", listen).expect("send");
    let mut buffer = [0u8; 1024];
    let (n, _) = socket.recv_from(&mut buffer).expect("a reply");
    assert_eq!(&buffer[..n], b"HELLO UDP");
    let (code, said) = recorder.stop();
    assert_eq!(code, 0, "{said}");
    let yaml = std::fs::read_to_string(&file).expect("written");
    assert!(yaml.contains("transport: udp"), "{yaml}");
    assert!(
        yaml.contains(r#"- recvfrom: { text: "HELLO UDP" }"#),
        "{yaml}"
    );
    assert_good_draft(&file);
}

#[test]
fn a_session_of_the_client_with_its_server_becomes_a_client_draft() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("client.yaml");
    let upstream_addr = upper_server();
    let recorder = Recorder::start(&[
        "--role",
        "client",
        "--target",
        &reference("upper-client"),
        "--upstream",
        &upstream_addr.to_string(),
        "-o",
        file.to_str().unwrap(),
    ]);
    // The client exits after its exchange, which ends the recording.
    let (code, said) = recorder.finish();
    assert_eq!(code, 0, "{said}");
    let yaml = std::fs::read_to_string(&file).expect("written");
    assert!(yaml.contains("role: client"), "{yaml}");
    assert!(yaml.contains("- accept: a"), "{yaml}");
    assert!(yaml.contains("- exit: { code: 0"), "{yaml}");
    assert_good_draft(&file);
}

#[test]
fn bad_input_is_refused_and_nothing_is_lost() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("draft.yaml");
    let target = reference("upper-server");
    let file_arg = file.to_str().unwrap();
    // Off loopback.
    let refused = runner()
        .args(["record", "--role", "server", "--target", &target])
        .args(["--listen", "0.0.0.0:9000", "-o", file_arg])
        .output()
        .expect("runs");
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("only loopback"));
    assert!(!file.exists());
    // An existing file is kept.
    std::fs::write(&file, "keep me").expect("write");
    let kept = runner()
        .args(["record", "--role", "server", "--target", &target])
        .args(["--listen", "127.0.0.1:9000", "-o", file_arg])
        .output()
        .expect("runs");
    assert_eq!(kept.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&kept.stderr).contains("--force"));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "keep me");
    std::fs::remove_file(&file).expect("remove");
    // A program that never listens: a message, no file.
    let listen = format!("127.0.0.1:{}", free_port());
    let silent = runner()
        .args(["record", "--role", "server", "--target", "sleep 30"])
        .args(["--listen", &listen, "-o", file_arg, "--start-timeout", "1s"])
        .output()
        .expect("runs");
    assert_eq!(silent.status.code(), Some(1));
    let said = String::from_utf8_lossy(&silent.stderr);
    assert!(said.contains("no file was written"), "{said}");
    assert!(!file.exists());
}
