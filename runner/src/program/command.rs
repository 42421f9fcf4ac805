//! What to start as the target: a bundled reference, or a submission given
//! as a path, a `.py` file or a command line with `{host}` / `{port}`.

use super::build::{compiled_language, Build, BuildFailure};
use super::recipe::FolderBuild;
use super::Confinement;
use crate::speclang::Language;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

/// The program under test, before an address is chosen.
#[derive(Debug, Clone)]
pub struct TargetCommand {
    /// Program and arguments; arguments may hold `{host}` and `{port}`.
    /// For a program built from source, the source file and arguments.
    argv: Vec<String>,
    /// How the target is named in reports.
    pub label: String,
    /// Set when the program is a source file to build first.
    build: Option<Arc<Build>>,
    /// Set when an assignment's `build:` makes the program's folder
    /// first; `argv` then holds `{dir}` and `{file}` for what it made.
    folder_build: Option<Arc<FolderBuild>>,
    /// The folder the program starts in and sees, when it is not that of
    /// a file its command names (an assignment's `run:`).
    folder: Option<PathBuf>,
    /// The language the program is written in, when the runner can tell:
    /// it picks the cases' hints.
    language: Option<Language>,
    /// A prebuilt statically linked executable (see
    /// `static_binary_warning`), found out once when the command is parsed.
    static_binary: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error("the target command is empty")]
    Empty,
    #[error("cannot parse the target command `{0}`: {1}")]
    Syntax(String, String),
    #[error("target `{0}` not found: no such file, and no program of that name on PATH")]
    NotFound(String),
    #[error("target `{0}` is not executable: run `chmod +x {0}`, or give the interpreter, e.g. --target 'python3 {0}'")]
    NotExecutable(String),
    #[error("target `{0}` is a directory, not a program")]
    Directory(String),
    #[error("`{0}` is a symbolic link to a file other users cannot read: give the submission's own file")]
    PrivateLink(String),
    #[error("cannot find python3 to run `{0}`")]
    NoPython(String),
    #[error(
        "cannot run `{file}`: it needs `{tool}`, which is not installed (Debian package {package})"
    )]
    NoToolchain {
        file: String,
        tool: &'static str,
        package: &'static str,
    },
}

impl TargetCommand {
    /// The bundled reference program `name`, run by this very binary.
    pub fn reference(name: &str) -> TargetCommand {
        let exe = std::env::current_exe()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|_| String::from("runner"));
        TargetCommand {
            argv: vec![
                exe,
                String::from(crate::REFERENCE_SUBCOMMAND),
                name.to_string(),
                String::from("{host}"),
                String::from("{port}"),
            ],
            label: format!("reference {name}"),
            build: None,
            folder_build: None,
            folder: None,
            language: None,
            static_binary: false,
        }
    }

    /// Parses what the user gave to `--target`.
    pub fn parse(text: &str) -> Result<TargetCommand, CommandError> {
        let words = if Path::new(text).exists() {
            vec![text.to_string()]
        } else {
            shell_words::split(text)
                .map_err(|e| CommandError::Syntax(text.to_string(), e.to_string()))?
        };
        TargetCommand::from_words(&words, text)
    }

    /// The command of `words` (a program and its arguments), labelled
    /// `text` in reports.
    pub(super) fn from_words(words: &[String], text: &str) -> Result<TargetCommand, CommandError> {
        let Some((program, args)) = words.split_first() else {
            return Err(CommandError::Empty);
        };
        if let Some(link) = words.iter().find(|word| is_private_link(word)) {
            return Err(CommandError::PrivateLink(link.clone()));
        }
        let mut argv = Vec::with_capacity(words.len() + 1);
        let mut build = None;
        let source = Path::new(program);
        if let (true, Some(language)) = (source.is_file(), compiled_language(source)) {
            let (tool, package) = language.toolchain();
            if find_on_path(tool).is_none() {
                return Err(CommandError::NoToolchain {
                    file: program.clone(),
                    tool,
                    package,
                });
            }
            let absolute = std::fs::canonicalize(source).unwrap_or_else(|_| source.to_path_buf());
            let program_build = Build::new(language, absolute.clone());
            // A Makefile's program is built by make.
            if program_build.uses_make() && find_on_path("make").is_none() {
                return Err(CommandError::NoToolchain {
                    file: program.clone(),
                    tool: "make",
                    package: "make",
                });
            }
            argv.push(absolute.display().to_string());
            build = Some(program_build);
        } else if let (true, Some(runtime)) = (source.is_file(), interpreted_by(program)) {
            if find_on_path(runtime.0).is_none() {
                return Err(CommandError::NoToolchain {
                    file: program.clone(),
                    tool: runtime.0,
                    package: runtime.1,
                });
            }
            argv.push(runtime.0.to_string());
            argv.push(program.clone());
        } else if program.ends_with(".py") && Path::new(program).is_file() {
            argv.push(python(program)?);
            argv.push(program.clone());
        } else if is_python(program) {
            argv.push(python(program)?);
        } else {
            argv.push(resolve_program(program)?);
        }
        let static_binary = build.is_none() && is_static_executable(Path::new(&argv[0]));
        argv.extend(args.iter().cloned());
        Ok(TargetCommand {
            argv,
            label: text.to_string(),
            build,
            folder_build: None,
            folder: None,
            language: language_of(words),
            static_binary,
        })
    }

    /// This command started in `folder`, the folder of the program's
    /// `file`, whose type picks the hints whatever runs it.
    pub(super) fn run_in(mut self, folder: PathBuf, file: &Path) -> TargetCommand {
        self.folder = Some(folder);
        if let Some(language) = language_of(&[file.display().to_string()]) {
            self.language = Some(language);
        }
        self
    }

    /// The command `words` (with `{dir}` and `{file}` still in them), to
    /// run once `build` has made the program's folder.
    pub(super) fn built_by(
        build: Arc<FolderBuild>,
        words: Vec<String>,
        text: &str,
        file: &Path,
    ) -> TargetCommand {
        let language = language_of(&[file.display().to_string()]).or_else(|| language_of(&words));
        TargetCommand {
            argv: words,
            label: text.to_string(),
            build: None,
            folder_build: Some(build),
            folder: None,
            language,
            static_binary: false,
        }
    }

    /// The folder the program starts in and sees, when its command says.
    pub fn folder(&self) -> Option<&Path> {
        self.folder.as_deref()
    }

    /// The command ready to start: for a source file, the program built
    /// from it (built on first use, once per run).
    pub fn prepared(&self, confinement: &Confinement) -> Result<TargetCommand, BuildFailure> {
        if let Some(build) = &self.folder_build {
            return self.run_built(build, confinement);
        }
        let Some(build) = &self.build else {
            return Ok(self.clone());
        };
        let built = build.get(confinement).as_ref().map_err(Clone::clone)?;
        let mut argv = built.argv.clone();
        argv.extend(self.argv.iter().skip(1).cloned());
        Ok(TargetCommand {
            argv,
            label: self.label.clone(),
            build: None,
            folder_build: None,
            folder: self.folder.clone(),
            language: self.language,
            static_binary: self.static_binary,
        })
    }

    /// The command that runs what an assignment's `build:` made: `{dir}`
    /// and `{file}` are the built folder and the program's file in it. A
    /// run command that cannot start what was built (no `{dir}/server`)
    /// is the build's failure.
    fn run_built(
        &self,
        build: &FolderBuild,
        confinement: &Confinement,
    ) -> Result<TargetCommand, BuildFailure> {
        let built = build.get(confinement).as_ref().map_err(Clone::clone)?;
        let file = built.dir.join(build.source_name());
        let words = super::recipe::fill(&self.argv, &built.dir, &file);
        let command = TargetCommand::from_words(&words, &self.label).map_err(|e| BuildFailure {
            message: format!(
                "{} does not build: the run command cannot start what the build made: {e}",
                build.source_name()
            ),
            by_harness: false,
        })?;
        let command = TargetCommand {
            label: self.label.clone(),
            language: self.language,
            ..command.run_in(built.dir.clone(), &file)
        };
        // `run: {file}` of a source file: built the detected way too.
        command.prepared(confinement)
    }

    /// A warning when the program is a statically linked executable: C's
    /// stdio in it buffers what it prints to a pipe, and the library that
    /// makes it unbuffered for dynamically linked programs (libstdbuf, as
    /// `stdbuf -o0`) cannot be loaded into it.
    pub fn static_binary_warning(&self) -> Option<String> {
        let program = self.argv.first()?;
        if !self.is_static_binary() {
            return None;
        }
        Some(format!(
            "{program} is statically linked: output it prints without flushing (printf without fflush in C) reaches the runner only when its buffer fills or it exits, so cases that check its output may fail; hand in the source file (the runner builds it with unbuffered output) or link it dynamically"
        ))
    }

    /// Whether the program is a prebuilt statically linked executable
    /// (see `static_binary_warning`).
    pub fn is_static_binary(&self) -> bool {
        self.static_binary
    }

    /// The language the program is written in, if the runner can tell.
    pub fn language(&self) -> Option<Language> {
        self.language
    }

    /// Whether the command says where to serve or connect (`{port}`).
    pub fn has_placeholders(&self) -> bool {
        self.argv.iter().any(|arg| arg.contains("{port}"))
    }

    /// The argument vector for a target serving or reaching `addr`.
    pub fn argv_for(&self, addr: Option<SocketAddr>) -> Vec<String> {
        self.argv
            .iter()
            .map(|arg| match addr {
                Some(addr) => arg
                    .replace("{host}", &addr.ip().to_string())
                    .replace("{port}", &addr.port().to_string()),
                None => arg.clone(),
            })
            .collect()
    }
}

/// A symbolic link to a file that not everyone may read. Followed by the
/// runner (often root) to stage a copy, it would hand a submission any
/// file of the machine (`server.py -> /etc/shadow`).
fn is_private_link(word: &str) -> bool {
    let path = Path::new(word);
    std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink())
        && !super::reachable_by_others(path)
}

/// Source files run by an interpreter other than Python (JavaScript, by
/// Node): the runtime and its Debian package.
fn interpreted_by(program: &str) -> Option<(&'static str, &'static str)> {
    let extension = Path::new(program).extension()?.to_str()?;
    match extension {
        "js" | "mjs" | "cjs" => Some(("node", "nodejs")),
        _ => None,
    }
}

/// The file types the runner builds or runs by their type.
pub const PROGRAM_EXTENSIONS: &[&str] = &[
    "py", "c", "cpp", "cc", "cxx", "c++", "go", "java", "jar", "js", "mjs", "cjs",
];

/// The Debian packages that build and run a program file of type
/// `extension` (in any letter case, as files are matched), the same ones
/// the missing-toolchain message names: `make` with C and C++ (a
/// Makefile builds them when there is one). None for a type the runner
/// does not know.
pub fn packages_for_extension(extension: &str) -> Option<Vec<&'static str>> {
    let lower = extension.to_ascii_lowercase();
    let file = format!("program.{lower}");
    if let Some(language) = compiled_language(Path::new(&file)) {
        let (_, package) = language.toolchain();
        return Some(match language.language() {
            Language::C | Language::Cpp => vec![package, "make"],
            _ => vec![package],
        });
    }
    if let Some((_, package)) = interpreted_by(&file) {
        return Some(vec![package]);
    }
    match lower.as_str() {
        "py" => Some(vec!["python3"]),
        "jar" => Some(vec!["default-jdk-headless"]),
        _ => None,
    }
}

/// Whether `path` is a 64-bit ELF executable with no program interpreter
/// (no `PT_INTERP` header): statically linked.
fn is_static_executable(path: &Path) -> bool {
    use std::io::{Read, Seek, SeekFrom};
    const PT_INTERP: u32 = 3;
    let Ok(mut file) = std::fs::File::open(path) else {
        return false;
    };
    let mut header = [0u8; 64];
    if file.read_exact(&mut header).is_err()
        || &header[..4] != b"\x7fELF"
        || header[4] != 2
        || header[5] != 1
    {
        return false;
    }
    let u16_at = |at: usize| u16::from_le_bytes([header[at], header[at + 1]]);
    let mut offset_bytes = [0u8; 8];
    offset_bytes.copy_from_slice(&header[32..40]);
    let table = u64::from_le_bytes(offset_bytes);
    let (size, count) = (u64::from(u16_at(54)), u16_at(56));
    for index in 0..u64::from(count) {
        let mut kind = [0u8; 4];
        if file.seek(SeekFrom::Start(table + index * size)).is_err()
            || file.read_exact(&mut kind).is_err()
        {
            return false;
        }
        if u32::from_le_bytes(kind) == PT_INTERP {
            return false;
        }
    }
    true
}

/// Where `name` is found on the runner's PATH.
fn find_on_path(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
        .map(|dir| dir.join(name))
        .find(|candidate| check_executable(candidate).is_ok())
}

/// The language of the program `words` start, told from the file type of
/// the program or of the script an interpreter is given, or from the
/// first line of an executable script (`#!/usr/bin/env python3`).
fn language_of(words: &[String]) -> Option<Language> {
    let by_file = |word: &String| -> Option<Language> {
        let path = Path::new(word);
        if let Some(compiled) = compiled_language(path) {
            return Some(compiled.language());
        }
        if interpreted_by(word).is_some() {
            return Some(Language::JavaScript);
        }
        match path.extension()?.to_str()? {
            "py" => Some(Language::Python),
            "jar" => Some(Language::Java),
            _ => None,
        }
    };
    let program = words.first()?;
    let name = Path::new(program).file_name()?.to_str()?;
    let by_interpreter = if name.starts_with("python") {
        Some(Language::Python)
    } else if name == "node" || name == "nodejs" {
        Some(Language::JavaScript)
    } else if name == "java" {
        Some(Language::Java)
    } else {
        None
    };
    by_file(program)
        .or(by_interpreter)
        .or_else(|| words.iter().skip(1).find_map(by_file))
        .or_else(|| by_first_line(Path::new(program)))
}

/// The language named by a script's `#!` line.
fn by_first_line(path: &Path) -> Option<Language> {
    use std::io::Read;
    let mut head = [0u8; 128];
    let read = std::fs::File::open(path).ok()?.read(&mut head).ok()?;
    let line = head[..read].split(|b| *b == b'\n').next()?;
    let line = std::str::from_utf8(line.strip_prefix(b"#!")?).ok()?;
    if line.contains("python") {
        Some(Language::Python)
    } else if line.contains("node") {
        Some(Language::JavaScript)
    } else {
        None
    }
}

fn is_python(program: &str) -> bool {
    matches!(program, "python" | "python3")
}

/// A program path that exists and is executable, or a name found on PATH.
fn resolve_program(program: &str) -> Result<String, CommandError> {
    let path = Path::new(program);
    if program.contains('/') {
        return check_executable(path).map(|_| program.to_string());
    }
    match find_on_path(program) {
        Some(_) => Ok(program.to_string()),
        None if path.exists() => check_executable(path).map(|_| format!("./{program}")),
        None => Err(CommandError::NotFound(program.to_string())),
    }
}

fn check_executable(path: &Path) -> Result<(), CommandError> {
    use std::os::unix::fs::PermissionsExt;
    let shown = path.display().to_string();
    let metadata = std::fs::metadata(path).map_err(|_| CommandError::NotFound(shown.clone()))?;
    if metadata.is_dir() {
        return Err(CommandError::Directory(shown));
    }
    if metadata.permissions().mode() & 0o111 == 0 {
        return Err(CommandError::NotExecutable(shown));
    }
    Ok(())
}

/// The real interpreter behind `python3`, found once per run: on many
/// machines `python3` is a version-manager shim that costs 0.1 s per start.
/// When the runner is root, targets run as an unprivileged user, so the
/// interpreter must be one that user can reach (a shim's interpreter often
/// lives under root's private home).
fn python(for_file: &str) -> Result<String, CommandError> {
    static INTERPRETER: OnceLock<Option<PathBuf>> = OnceLock::new();
    INTERPRETER
        .get_or_init(|| {
            // A PATH entry the runner's user cannot enter is skipped, and
            // the system's interpreters are the fallback.
            let found = std::process::Command::new("python3")
                .args(["-c", "import sys; print(sys.executable)"])
                .output()
                .ok()
                .filter(|output| output.status.success())
                .and_then(|output| String::from_utf8(output.stdout).ok())
                .map(|path| PathBuf::from(path.trim()));
            let root = nix::unistd::geteuid().is_root();
            found
                .into_iter()
                .chain(["/usr/bin/python3", "/usr/local/bin/python3"].map(PathBuf::from))
                .find(|candidate| {
                    candidate.is_file() && (!root || super::reachable_by_others(candidate))
                })
        })
        .as_ref()
        .map(|p| p.display().to_string())
        .ok_or_else(|| CommandError::NoPython(for_file.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tells_the_language_from_the_file_type_the_interpreter_or_the_first_line() {
        let words = |text: &str| -> Vec<String> { text.split(' ').map(String::from).collect() };
        let cases = [
            ("server.py", Some(Language::Python)),
            ("python3 -u server.py", Some(Language::Python)),
            ("/usr/bin/python3.11 server", Some(Language::Python)),
            ("server.c", Some(Language::C)),
            ("server.cpp", Some(Language::Cpp)),
            ("Server.java", Some(Language::Java)),
            ("java -jar server.jar", Some(Language::Java)),
            ("server.go", Some(Language::Go)),
            ("server.js", Some(Language::JavaScript)),
            ("node --no-warnings server.mjs", Some(Language::JavaScript)),
            ("./a.out 8080", None),
        ];
        for (text, language) in cases {
            assert_eq!(language_of(&words(text)), language, "{text}");
        }
        let dir = tempfile::tempdir().expect("temp dir");
        for (first_line, language) in [
            ("#!/usr/bin/env python3", Some(Language::Python)),
            ("#!/usr/bin/node", Some(Language::JavaScript)),
            ("#!/bin/sh", None),
        ] {
            let script = dir.path().join("server");
            std::fs::write(&script, format!("{first_line}\nprint(1)\n")).expect("writable");
            let argv = vec![script.display().to_string()];
            assert_eq!(language_of(&argv), language, "{first_line}");
        }
    }

    #[test]
    fn each_program_type_has_its_debian_packages() {
        assert_eq!(packages_for_extension("c"), Some(vec!["gcc", "make"]));
        assert_eq!(packages_for_extension("CC"), Some(vec!["g++", "make"]));
        assert_eq!(
            packages_for_extension("java"),
            Some(vec!["default-jdk-headless"])
        );
        assert_eq!(packages_for_extension("mjs"), Some(vec!["nodejs"]));
        assert_eq!(packages_for_extension("go"), Some(vec!["golang"]));
        assert_eq!(packages_for_extension("txt"), None);
        for extension in PROGRAM_EXTENSIONS {
            assert!(packages_for_extension(extension).is_some(), "{extension}");
        }
    }

    #[test]
    fn fills_in_host_and_port() {
        let command = TargetCommand::parse("sh -c 'echo {host} {port}'").expect("sh exists");
        assert!(command.has_placeholders());
        let argv = command.argv_for(Some("127.0.0.1:9000".parse().expect("valid")));
        assert_eq!(argv[1..], ["-c", "echo 127.0.0.1 9000"]);
    }

    #[test]
    fn rejects_a_link_to_a_private_file() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("temp dir");
        let secret = dir.path().join("secret");
        std::fs::write(&secret, "x").expect("write");
        std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o600)).expect("chmod");
        let link = dir.path().join("server.py");
        std::os::unix::fs::symlink(&secret, &link).expect("symlink");
        let error = TargetCommand::parse(&format!("python3 {}", link.display())).expect_err("link");
        assert!(matches!(error, CommandError::PrivateLink(_)));
    }

    #[test]
    fn tells_a_statically_linked_executable_from_a_dynamic_one() {
        assert!(!is_static_executable(Path::new("/bin/sh")));
        let dir = tempfile::tempdir().expect("temp dir");
        let source = dir.path().join("hello.c");
        std::fs::write(&source, "int main(void) { return 0; }\n").expect("write");
        let binary = dir.path().join("hello");
        let built = std::process::Command::new("cc")
            .arg("-static")
            .arg("-o")
            .arg(&binary)
            .arg(&source)
            .status()
            .expect("cc runs");
        assert!(built.success(), "a static build (libc6-dev has libc.a)");
        assert!(is_static_executable(&binary));
        let command = TargetCommand::parse(&binary.display().to_string()).expect("executable");
        assert!(command
            .static_binary_warning()
            .is_some_and(|w| w.contains("statically linked")));
    }

    #[test]
    fn rejects_a_missing_program() {
        let error = TargetCommand::parse("./no-such-program").expect_err("missing");
        assert!(matches!(error, CommandError::NotFound(_)));
    }

    #[test]
    fn rejects_a_file_that_is_not_executable() {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("server");
        std::fs::write(&file, "#!/bin/sh\n").expect("write");
        let error = TargetCommand::parse(&file.display().to_string()).expect_err("not executable");
        assert!(matches!(error, CommandError::NotExecutable(_)));
    }
}
