//! The target's standard input, typed as a person types at a terminal.
//!
//! Students run these programs at a terminal, and some correct programs
//! behave differently when stdin is a pipe: a Node.js client that closes
//! its readline interface exits at a terminal but waits forever on a pipe
//! that stays open, and a C client reading with `read(2)` gets one line per
//! read at a terminal but may get two from a pipe. So stdin is the slave
//! side of a pseudo-terminal in line mode (canonical mode, no echo, no
//! signals, no flow control, no character translation): a read returns at
//! most one typed line, and `close-stdin` is Ctrl-D, as at a keyboard.
//! Where no pseudo-terminal can be opened, stdin is a pipe (with a note).

use nix::sys::termios::{self, LocalFlags, SetArg, SpecialCharacterIndices};
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::time::Instant;

/// Ctrl-D: at the start of a line it ends the input, as at a keyboard.
pub const END_OF_INPUT: u8 = 0x04;
/// The terminal's erase and kill characters: a byte that never occurs in
/// UTF-8 text, so nothing a spec types is taken for line editing.
const LINE_EDITING: u8 = 0xff;
/// The longest line a terminal in line mode passes on, newline included
/// (the kernel's line buffer is 4096 bytes); longer lines are cut.
pub const MAX_LINE: usize = 4095;

/// What the runner types into and what it asks how much is still unread.
pub struct Keyboard {
    /// The master side of the terminal, or the pipe's write end (None
    /// once a pipe was closed to end the input).
    writer: Option<File>,
    /// The slave side (the runner keeps a copy to ask what the program has
    /// not read yet), or None for a pipe, whose write end answers that.
    slave: Option<OwnedFd>,
    /// Set after a write that did not end with a newline: the terminal
    /// holds that partial line until the line is ended.
    partial_line: bool,
    /// Set once input was ended (Ctrl-D typed or the pipe closed).
    ended: bool,
}

impl Keyboard {
    /// Opens a keyboard, and gives the program's end of it as its stdin.
    pub fn open() -> io::Result<(Keyboard, OwnedFd)> {
        match Self::terminal() {
            Ok(opened) => Ok(opened),
            Err(error) => {
                warn_no_terminal(&error);
                Self::pipe()
            }
        }
    }

    fn terminal() -> io::Result<(Keyboard, OwnedFd)> {
        let pty = open_pty()?;
        let mut mode = termios::tcgetattr(&pty.slave)?;
        // Line mode and nothing else: bytes pass as typed, a read returns
        // one line, Ctrl-D ends the input.
        mode.input_flags = termios::InputFlags::empty();
        mode.output_flags = termios::OutputFlags::empty();
        mode.local_flags = LocalFlags::ICANON;
        mode.control_chars[SpecialCharacterIndices::VEOF as usize] = END_OF_INPUT;
        mode.control_chars[SpecialCharacterIndices::VEOL as usize] = b'\n';
        mode.control_chars[SpecialCharacterIndices::VEOL2 as usize] = b'\n';
        mode.control_chars[SpecialCharacterIndices::VERASE as usize] = LINE_EDITING;
        mode.control_chars[SpecialCharacterIndices::VKILL as usize] = LINE_EDITING;
        termios::tcsetattr(&pty.slave, SetArg::TCSANOW, &mode)?;
        super::set_nonblocking(&pty.master)?;
        let program_end = pty.slave.try_clone()?;
        let keyboard = Keyboard {
            writer: Some(File::from(pty.master)),
            slave: Some(pty.slave),
            partial_line: false,
            ended: false,
        };
        Ok((keyboard, program_end))
    }

    fn pipe() -> io::Result<(Keyboard, OwnedFd)> {
        let (read, write) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)?;
        super::set_nonblocking(&write)?;
        let keyboard = Keyboard {
            writer: Some(File::from(write)),
            slave: None,
            partial_line: false,
            ended: false,
        };
        Ok((keyboard, read))
    }

    /// Whether the program's stdin is a terminal.
    pub fn is_terminal(&self) -> bool {
        self.slave.is_some()
    }

    /// Types `bytes`, failing with TimedOut when the program does not read
    /// and its input stays full until `deadline`.
    pub fn type_bytes(&mut self, bytes: &[u8], deadline: Instant) -> io::Result<()> {
        if self.ended {
            return Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "stdin was closed",
            ));
        }
        self.write_all(bytes, deadline)?;
        if let Some(last) = bytes.last() {
            self.partial_line = *last != b'\n';
        }
        Ok(())
    }

    /// How many typed bytes the program has not read yet (at a terminal,
    /// in whole lines: a partial line cannot be read before it is ended).
    pub fn unread(&self) -> io::Result<usize> {
        let asked = match (&self.slave, &self.writer) {
            (Some(slave), _) => slave.as_raw_fd(),
            (None, Some(writer)) => writer.as_raw_fd(),
            (None, None) => return Ok(0),
        };
        let mut unread: nix::libc::c_int = 0;
        // SAFETY: FIONREAD (TIOCINQ) stores a byte count in an int.
        let result = unsafe { nix::libc::ioctl(asked, nix::libc::FIONREAD, &mut unread) };
        if result != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(usize::try_from(unread).unwrap_or(0))
    }

    /// Ends the input: Ctrl-D at a terminal (twice after a partial line,
    /// whose first Ctrl-D only hands the line over), or closing the pipe.
    /// The terminal itself stays open until the program is stopped, so
    /// what was typed before is never lost.
    pub fn end_input(&mut self, deadline: Instant) {
        if self.ended {
            return;
        }
        self.ended = true;
        if self.is_terminal() {
            let presses: &[u8] = if self.partial_line {
                &[END_OF_INPUT, END_OF_INPUT]
            } else {
                &[END_OF_INPUT]
            };
            // A program that stopped reading never sees the end: nothing
            // else to do about it.
            let _ = self.write_all(presses, deadline);
        } else {
            self.writer = None;
        }
    }

    fn write_all(&mut self, bytes: &[u8], deadline: Instant) -> io::Result<()> {
        let Some(writer) = &mut self.writer else {
            return Err(io::Error::from(io::ErrorKind::BrokenPipe));
        };
        crate::stop::write_all_until(writer, bytes, deadline).map_err(|e| {
            // The program's side of the terminal is gone: as a pipe whose
            // reader closed it.
            if e.raw_os_error() == Some(nix::libc::EIO) {
                io::Error::from(io::ErrorKind::BrokenPipe)
            } else {
                e
            }
        })
    }
}

/// Both sides of a new pseudo-terminal.
struct Pty {
    master: OwnedFd,
    slave: OwnedFd,
}

/// Opens a pseudo-terminal whose both sides are close-on-exec from the
/// start (`openpty` opens them inheritable, and a target started by
/// another worker at that moment would inherit them), and which is not
/// the runner's controlling terminal.
fn open_pty() -> io::Result<Pty> {
    use nix::fcntl::OFlag;
    use std::os::fd::{FromRawFd, IntoRawFd};
    let flags = OFlag::O_RDWR | OFlag::O_NOCTTY | OFlag::O_CLOEXEC;
    let master = nix::pty::posix_openpt(flags)?;
    nix::pty::grantpt(&master)?;
    nix::pty::unlockpt(&master)?;
    // SAFETY: TIOCGPTPEER opens the slave of the master it is called on
    // and returns its new descriptor, which is then owned here.
    let slave =
        unsafe { nix::libc::ioctl(master.as_raw_fd(), nix::libc::TIOCGPTPEER, flags.bits()) };
    if slave < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: a fresh descriptor nothing else owns.
    let slave = unsafe { OwnedFd::from_raw_fd(slave) };
    // SAFETY: posix_openpt's descriptor is owned by the PtyMaster, which
    // gives it up here.
    let master = unsafe { OwnedFd::from_raw_fd(master.into_raw_fd()) };
    Ok(Pty { master, slave })
}

/// Why `bytes` cannot be typed at the terminal, if they cannot: Ctrl-D
/// would end the input, 0xff would erase, and a line longer than the
/// terminal's line buffer would be cut.
pub fn untypable(bytes: &[u8]) -> Option<String> {
    if bytes.contains(&END_OF_INPUT) {
        return Some(String::from(
            "it holds Ctrl-D (\\x04), which ends the input at a terminal (use close-stdin to end it)",
        ));
    }
    if bytes.contains(&LINE_EDITING) {
        return Some(String::from(
            "it holds the byte 0xff, which a terminal takes for erasing (it is never part of UTF-8 text)",
        ));
    }
    if let Some(line) = bytes
        .split_inclusive(|b| *b == b'\n')
        .find(|line| line.len() > MAX_LINE)
    {
        return Some(format!(
            "it holds a line of {} bytes, and a terminal passes on at most {MAX_LINE} bytes per line",
            line.len()
        ));
    }
    None
}

/// Says once per run that stdin is a pipe for want of a terminal.
fn warn_no_terminal(error: &io::Error) {
    static WARNED: std::sync::Once = std::sync::Once::new();
    WARNED.call_once(|| {
        eprintln!(
            "note: no pseudo-terminal could be opened ({error}); programs get a pipe as their standard input, and a program that behaves differently at a terminal may fail"
        );
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn deadline() -> Instant {
        Instant::now() + Duration::from_secs(2)
    }

    #[test]
    fn a_terminal_hands_over_one_line_per_read_and_ends_with_ctrl_d() {
        let (mut keyboard, _stdin) = Keyboard::terminal().unwrap();
        let reader = keyboard.slave.as_ref().unwrap().try_clone().unwrap();
        keyboard.type_bytes(b"one\ntwo\n", deadline()).unwrap();
        let mut buffer = [0u8; 64];
        assert_eq!(
            nix::unistd::read(reader.as_raw_fd(), &mut buffer).unwrap(),
            4
        );
        assert_eq!(&buffer[..4], b"one\n");
        assert_eq!(keyboard.unread().unwrap(), 4);
        assert_eq!(
            nix::unistd::read(reader.as_raw_fd(), &mut buffer).unwrap(),
            4
        );
        assert_eq!(&buffer[..4], b"two\n");
        keyboard
            .type_bytes("partial 你好\t\r".as_bytes(), deadline())
            .unwrap();
        keyboard.end_input(deadline());
        let n = nix::unistd::read(reader.as_raw_fd(), &mut buffer).unwrap();
        assert_eq!(&buffer[..n], "partial 你好\t\r".as_bytes());
        assert_eq!(
            nix::unistd::read(reader.as_raw_fd(), &mut buffer).unwrap(),
            0
        );
        assert!(keyboard.type_bytes(b"late\n", deadline()).is_err());
    }

    #[test]
    fn neither_side_of_the_terminal_is_inherited_by_other_programs() {
        let pty = open_pty().unwrap();
        for fd in [&pty.master, &pty.slave] {
            let flags = nix::fcntl::fcntl(fd.as_raw_fd(), nix::fcntl::FcntlArg::F_GETFD).unwrap();
            assert_ne!(flags & nix::libc::FD_CLOEXEC, 0);
        }
    }

    #[test]
    fn a_pipe_ends_input_by_closing() {
        let (mut keyboard, _stdin) = Keyboard::pipe().unwrap();
        keyboard.type_bytes(b"x\n", deadline()).unwrap();
        assert_eq!(keyboard.unread().unwrap(), 2);
        keyboard.end_input(deadline());
        assert!(keyboard.type_bytes(b"y\n", deadline()).is_err());
    }

    #[test]
    fn what_a_terminal_would_misread_is_named() {
        assert_eq!(untypable("你好 hello\n".as_bytes()), None);
        assert!(untypable(b"a\x04b").unwrap().contains("Ctrl-D"));
        assert!(untypable(b"\xff").unwrap().contains("0xff"));
        let long = vec![b'a'; MAX_LINE];
        assert_eq!(untypable(&long), None);
        let too_long = [long.as_slice(), b"a\n"].concat();
        assert!(untypable(&too_long).unwrap().contains("4097 bytes"));
    }

    #[test]
    fn the_longest_typable_line_arrives_whole() {
        let (mut keyboard, _stdin) = Keyboard::terminal().unwrap();
        let reader = keyboard.slave.as_ref().unwrap().try_clone().unwrap();
        let line = [vec![b'a'; MAX_LINE - 1], vec![b'\n']].concat();
        keyboard.type_bytes(&line, deadline()).unwrap();
        let mut buffer = vec![0u8; 2 * MAX_LINE];
        let n = nix::unistd::read(reader.as_raw_fd(), &mut buffer).unwrap();
        assert_eq!(&buffer[..n], line.as_slice());
    }
}
