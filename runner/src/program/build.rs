//! Targets given as source files of compiled languages (`server.c`,
//! `server.cpp`, `server.go`, a Java program of several files) are built
//! once per run before their first case: in a sandbox like any target (a
//! compiler reading `#include "/etc/shadow"` must find nothing), with no
//! network, its output the built program on stdout and the compiler's
//! messages on stderr. A build failure fails every case with the
//! compiler's messages as the evidence.

use super::{Confinement, Limits, Process};
use crate::spec::Language;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

/// The languages built from source.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compiled {
    C,
    Cpp,
    Go,
    /// A Java program: the file named, with the other `.java` files of its
    /// folder when there are any, compiled once into a jar. (The JDK's
    /// source launcher, `java File.java`, would compile it again at every
    /// start, a second of CPU per case: on a machine grading a class that
    /// is what makes a correct server late.)
    JavaFiles,
}

impl Compiled {
    /// The language hints are picked by.
    pub fn language(self) -> Language {
        match self {
            Compiled::C => Language::C,
            Compiled::Cpp => Language::Cpp,
            Compiled::Go => Language::Go,
            Compiled::JavaFiles => Language::Java,
        }
    }

    /// The tool a build needs, and the Debian package that has it.
    pub fn toolchain(self) -> (&'static str, &'static str) {
        match self {
            Compiled::C => ("cc", "gcc"),
            Compiled::Cpp => ("c++", "g++"),
            Compiled::Go => ("go", "golang"),
            Compiled::JavaFiles => ("javac", "default-jdk-headless"),
        }
    }
}

/// How to build one program, and the result once built (shared by every
/// spec the program is checked against).
#[derive(Debug)]
pub struct Build {
    pub language: Compiled,
    /// The source file named on the command line.
    pub source: PathBuf,
    built: OnceLock<Result<Built, BuildFailure>>,
}

/// A built program: what to run, in a folder that lives as long as the
/// run.
#[derive(Debug)]
pub struct Built {
    pub argv: Vec<String>,
    _folder: tempfile::TempDir,
}

#[derive(Debug, Clone)]
pub struct BuildFailure {
    /// One sentence, then the compiler's first lines.
    pub message: String,
    /// The runner failed, not the program's source.
    pub by_harness: bool,
}

/// Limits of a build: compilers are bigger than the programs they build.
fn build_limits(target: Limits) -> Limits {
    Limits {
        cpu: target.cpu.max(Duration::from_secs(60)),
        memory: target.memory.max(2 << 30),
        processes: target.processes.max(256),
        file_size: target.file_size,
        output: 256 << 20,
    }
}

/// Longest a build may take, wall time.
const BUILD_TIME: Duration = Duration::from_secs(120);

/// Makes stdout and stderr unbuffered before `main`, as `stdbuf -o0` does
/// for a dynamically linked program: a reply `printf`ed without a flush
/// then reaches the runner when it is printed, as at a terminal.
const UNBUFFERED_STDIO: &str = "#include <stdio.h>\n\
__attribute__((constructor)) static void runner_unbuffered_stdio(void) {\n\
    setvbuf(stdout, NULL, _IONBF, 0);\n\
    setvbuf(stderr, NULL, _IONBF, 0);\n\
}\n";

impl Build {
    pub fn new(language: Compiled, source: PathBuf) -> Arc<Build> {
        Arc::new(Build {
            language,
            source,
            built: OnceLock::new(),
        })
    }

    /// The built program, building it on first use.
    pub fn get(&self, confinement: &Confinement) -> &Result<Built, BuildFailure> {
        self.built.get_or_init(|| self.run(confinement))
    }

    fn run(&self, confinement: &Confinement) -> Result<Built, BuildFailure> {
        let harness = |what: &str, error: std::io::Error| BuildFailure {
            message: format!("the runner could not {what}: {error}"),
            by_harness: true,
        };
        let folder = tempfile::Builder::new()
            .prefix("runner-build-")
            .tempdir()
            .map_err(|e| harness("make a folder for the build", e))?;
        set_mode(folder.path(), 0o755).map_err(|e| harness("prepare the build folder", e))?;
        let (argv, artifact) = self
            .command(folder.path())
            .map_err(|e| harness("prepare the build", e))?;
        let limits = build_limits(confinement.limits);
        // The compiler is run by name from the build's script: its
        // toolchain is shown even where the system folders do not hold it.
        let (tool, _) = self.language.toolchain();
        let build_confinement = Confinement {
            limits,
            identity: confinement.identity,
            env: confinement.env,
            tools: &[tool],
        };
        let network = crate::sandbox::Network::for_target()
            .map_err(|e| harness("make the build's sandbox", e))?;
        let mut process = Process::spawn(&argv, &build_confinement, &network)
            .map_err(|e| harness("start the compiler", e))?;
        let deadline = Instant::now() + BUILD_TIME;
        let status = process.wait_exit(deadline);
        // The compiler's last words and the whole program, to the end.
        let drained = Instant::now() + Duration::from_secs(5);
        process.stdout.wait_closed(drained);
        process.stderr.wait_closed(drained);
        let stdout = process.stdout.snapshot();
        let stderr = process.stderr.snapshot();
        let name = self.source_name();
        let failed = |why: String| BuildFailure {
            message: format!("{name} does not build: {why}{}", first_lines(&stderr, 20)),
            by_harness: false,
        };
        match status {
            None if crate::stop::requested() => {
                return Err(failed(String::from("the run was stopped during the build")))
            }
            None => {
                return Err(failed(format!(
                    "{tool} was still running after {}s",
                    BUILD_TIME.as_secs()
                )))
            }
            Some(status) if !status.success() => {
                let mut why = format!("{tool} {}", super::describe_status(status));
                for hit in process.limits_hit(&limits) {
                    why = format!("{hit}: {why}");
                }
                return Err(failed(why));
            }
            Some(_) => {}
        }
        if stdout.dropped > 0 || stdout.head.is_empty() {
            return Err(failed(String::from(
                "the build produced no program, or one over 256 MiB",
            )));
        }
        let program = folder.path().join(artifact);
        std::fs::write(&program, &stdout.head)
            .and_then(|()| set_mode(&program, 0o755))
            .map_err(|e| harness("save the built program", e))?;
        let program = program.display().to_string();
        let argv = match self.language {
            // One GC thread and the quick JIT: a program that answers a few
            // messages starts in a third of the time, and stays far below
            // the process limit.
            Compiled::JavaFiles => vec![
                String::from("java"),
                String::from("-XX:+UseSerialGC"),
                String::from("-XX:TieredStopAtLevel=1"),
                String::from("-jar"),
                program,
            ],
            _ => vec![program],
        };
        Ok(Built {
            argv,
            _folder: folder,
        })
    }

    /// The file name shown in messages.
    fn source_name(&self) -> String {
        self.source.file_name().map_or_else(
            || self.source.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        )
    }

    /// The build's command line (a shell script that writes the built
    /// program to stdout) and the name to save the program under.
    fn command(&self, folder: &Path) -> std::io::Result<(Vec<String>, &'static str)> {
        let source = self.source.display().to_string();
        let sh = |script: &str, args: Vec<String>| {
            let mut argv = vec![
                String::from("/bin/sh"),
                String::from("-c"),
                format!("set -e; {script}"),
                String::from("build"),
            ];
            argv.extend(args);
            argv
        };
        Ok(match self.language {
            Compiled::C | Compiled::Cpp => {
                let helper = folder.join("unbuffered_stdio.c");
                std::fs::write(&helper, UNBUFFERED_STDIO)?;
                set_mode(&helper, 0o644)?;
                let (compiler, _) = self.language.toolchain();
                (
                    sh(
                        &format!("{compiler} -O2 -o /tmp/program \"$1\" \"$2\" -lm >&2; exec cat /tmp/program"),
                        vec![source, helper.display().to_string()],
                    ),
                    "program",
                )
            }
            Compiled::Go => (
                sh(
                    "cd /tmp; go build -o /tmp/program \"$1\" >&2; exec cat /tmp/program",
                    vec![source],
                ),
                "program",
            ),
            Compiled::JavaFiles => {
                let main = self
                    .source
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_default();
                // The named file, and whatever classes it uses from its
                // folder (javac finds them on the source path): another
                // program of the same folder that does not compile is no
                // concern of this one.
                let folder = self
                    .source
                    .parent()
                    .unwrap_or(Path::new("."))
                    .display()
                    .to_string();
                let args = vec![main, folder, source];
                (
                    sh(
                        "main=\"$1\"; mkdir /tmp/classes; javac -d /tmp/classes -sourcepath \"$2\" \"$3\" >&2; \
                         if [ ! -f \"/tmp/classes/$main.class\" ]; then \
                         for class in /tmp/classes/*.class; do name=$(basename \"$class\" .class); \
                         if javap -cp /tmp/classes \"$name\" | grep -q 'static void main('; then main=$name; break; fi; done; fi; \
                         jar --create --file /tmp/program.jar --main-class \"$main\" -C /tmp/classes . >&2; \
                         exec cat /tmp/program.jar",
                        args,
                    ),
                    "program.jar",
                )
            }
        })
    }
}

fn set_mode(path: &Path, mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
}

/// The first `lines` lines of the compiler's messages, after a colon, or
/// nothing when it said nothing.
fn first_lines(stderr: &super::OutputSnapshot, lines: usize) -> String {
    let text = String::from_utf8_lossy(&stderr.head);
    let shown: Vec<&str> = text.lines().take(lines).collect();
    if shown.is_empty() {
        return String::new();
    }
    let more = text.lines().count().saturating_sub(lines);
    let mut out = format!("; the compiler says:\n{}", shown.join("\n"));
    if more > 0 {
        out.push_str(&format!("\n[{more} more lines]"));
    }
    out
}

/// Whether `path` is a source file this module builds, and in what
/// language.
pub fn compiled_language(path: &Path) -> Option<Compiled> {
    let extension = path.extension()?.to_str()?;
    match extension {
        "c" => Some(Compiled::C),
        "cpp" | "cc" | "cxx" | "C" | "c++" => Some(Compiled::Cpp),
        "go" => Some(Compiled::Go),
        "java" => Some(Compiled::JavaFiles),
        _ => None,
    }
}
