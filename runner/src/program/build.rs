//! Targets given as source files of compiled languages (`server.c`,
//! `server.cpp`, `server.go`, a Java program of several files) are built
//! once per run before their first case: in a sandbox like any target (a
//! compiler reading `#include "/etc/shadow"` must find nothing), with no
//! network, its output the built program on stdout and the compiler's
//! messages on stderr. A build failure fails every case with the
//! compiler's messages as the evidence.

use super::{Confinement, Limits, Process};
use crate::speclang::Language;
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

/// Runs a build's script (`argv`, a `/bin/sh -c` line) in a sandbox of
/// its own with no network, and returns what it wrote on stdout: the
/// built program, or an archive of a built folder. `tools` are the
/// programs it runs by name (their toolchains are shown), `folder` the
/// one it starts in and sees (else that of the first file it names);
/// `name` is the source file said in messages and `tool` what is blamed
/// when it fails (`cc`, or `the build command`, whose messages are
/// then quoted as the command's).
pub(super) fn run_script(
    argv: &[String],
    tools: &[&str],
    folder: Option<&Path>,
    confinement: &Confinement,
    name: &str,
    tool: &str,
) -> Result<Vec<u8>, BuildFailure> {
    let harness = |what: &str, error: std::io::Error| BuildFailure {
        message: format!("the runner could not {what}: {error}"),
        by_harness: true,
    };
    let limits = build_limits(confinement.limits);
    let build_confinement = Confinement {
        limits,
        identity: confinement.identity,
        env: confinement.env,
        tools,
        folder,
    };
    let network = crate::sandbox::Network::for_target()
        .map_err(|e| harness("make the build's sandbox", e))?;
    let mut process = Process::spawn(argv, &build_confinement, &network)
        .map_err(|e| harness("start the compiler", e))?;
    // The build's cap is the built program's, on stdout; the
    // compiler's messages on stderr deserve far less (a macro can
    // make one error line of 128 MiB).
    process.stderr.limit_head(MESSAGES_KEPT);
    let deadline = Instant::now() + BUILD_TIME;
    let status = process.wait_exit(deadline);
    // The compiler's last words and the whole program, to the end.
    let drained = Instant::now() + Duration::from_secs(5);
    process.stdout.wait_closed(drained);
    process.stderr.wait_closed(drained);
    let stdout = process.stdout.snapshot();
    let stderr = process.stderr.snapshot();
    let failed = |why: String| BuildFailure {
        message: format!(
            "{name} does not build: {why}{}",
            first_lines(&stderr, says(tool), 20, MESSAGES_SHOWN)
        ),
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
    // Past the head, a capture keeps only a tail: the program is whole
    // only when it fits the head.
    if !stdout.tail.is_empty() || stdout.head.is_empty() {
        return Err(failed(String::from(
            "the build produced no program, or one over 256 MiB",
        )));
    }
    Ok(stdout.head)
}

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
        let folder = super::scratch::folder("build")
            .map_err(|e| harness("make a folder for the build", e))?;
        set_mode(folder.path(), 0o755).map_err(|e| harness("prepare the build folder", e))?;
        let (argv, artifact, tool) = self
            .command(folder.path())
            .map_err(|e| harness("prepare the build", e))?;
        // The compiler is run by name from the build's script: its
        // toolchain is shown even where the system folders do not hold it.
        let (compiler, _) = self.language.toolchain();
        let stdout = run_script(
            &argv,
            &[compiler],
            None,
            confinement,
            &self.source_name(),
            tool,
        )?;
        let program = folder.path().join(artifact);
        std::fs::write(&program, &stdout)
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
    /// program to stdout), the name to save the program under, and the
    /// tool named when the build fails.
    fn command(&self, folder: &Path) -> std::io::Result<(Vec<String>, &'static str, &'static str)> {
        let source = self.source.display().to_string();
        let stem = self
            .source
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let source_folder = self
            .source
            .parent()
            .unwrap_or(Path::new("."))
            .display()
            .to_string();
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
        let (compiler, _) = self.language.toolchain();
        Ok(match self.language {
            Compiled::C | Compiled::Cpp if self.uses_make() => (
                // The student's Makefile, run in a copy of the folder (the
                // submission is read-only): the program's own target when
                // the Makefile names one, else its default target.
                sh(
                    MAKE_SCRIPT,
                    vec![source, source_folder, stem.clone(), shell_pattern(&stem)],
                ),
                "program",
                "make",
            ),
            Compiled::C | Compiled::Cpp => {
                let helper = folder.join("unbuffered_stdio.c");
                std::fs::write(&helper, UNBUFFERED_STDIO)?;
                set_mode(&helper, 0o644)?;
                let sources = if self.language == Compiled::C {
                    "\"$dir\"/*.c"
                } else {
                    "\"$dir\"/*.cpp \"$dir\"/*.cc \"$dir\"/*.cxx \"$dir\"/*.C \"$dir\"/*.c++"
                };
                (
                    sh(
                        &C_SCRIPT
                            .replace("@CC@", compiler)
                            .replace("@SOURCES@", sources),
                        vec![source, helper.display().to_string(), source_folder],
                    ),
                    "program",
                    compiler,
                )
            }
            Compiled::Go if self.source.with_file_name("go.mod").is_file() => (
                // A module: the folder, copied where go may write. The
                // toolchain installed, never one a go.mod asks to fetch,
                // and no module proxy (there is no network anyway).
                sh(
                    "cp -R \"$2\" /tmp/src; cd /tmp/src; \
                     GOTOOLCHAIN=local GOPROXY=off go build -o /tmp/program . >&2; \
                     exec cat /tmp/program",
                    vec![source, source_folder],
                ),
                "program",
                compiler,
            ),
            Compiled::Go => (
                // The file named and the other files of `package main` of
                // its folder that define no `main` (another program's).
                sh(GO_SCRIPT, vec![source, source_folder]),
                "program",
                compiler,
            ),
            Compiled::JavaFiles => {
                // The named file, and whatever classes it uses from its
                // package (javac finds them on the source path, rooted
                // where the package's folders start): another program of
                // the same folder that does not compile is no concern of
                // this one. No annotation processing, and a class path of
                // the build's own output only: javac would otherwise run
                // any processor it finds on the class path (by default the
                // submission's folder, with a META-INF/services entry),
                // which is the student's code running as part of the build.
                (
                    sh(JAVA_SCRIPT, vec![stem, source_folder, source]),
                    "program.jar",
                    compiler,
                )
            }
        })
    }

    /// Whether the program is built by its folder's Makefile.
    pub fn uses_make(&self) -> bool {
        matches!(self.language, Compiled::C | Compiled::Cpp) && self.makefile().is_some()
    }

    /// The Makefile of the program's folder, if it has one.
    fn makefile(&self) -> Option<PathBuf> {
        ["Makefile", "makefile"]
            .iter()
            .map(|name| self.source.with_file_name(name))
            .find(|path| path.is_file())
    }
}

/// Builds a C or C++ program without a Makefile: the other sources of
/// its folder that define no `main` (a helper file, not another program)
/// are compiled and linked with it. `$1` the source, `$2` the unbuffered
/// stdio helper, `$3` the folder.
const C_SCRIPT: &str = "src=\"$1\"; helper=\"$2\"; dir=\"$3\"; objects=; n=0; mkdir /tmp/objects; \
    for f in @SOURCES@; do \
    [ -f \"$f\" ] && [ \"$f\" != \"$src\" ] || continue; \
    if grep -Eq '(^|[^A-Za-z0-9_])main[[:space:]]*\\(' \"$f\"; then continue; fi; \
    n=$((n+1)); @CC@ -O2 -c -o /tmp/objects/$n.o \"$f\" >&2; \
    if nm /tmp/objects/$n.o | grep -Eq ' T _?main$'; then continue; fi; \
    objects=\"$objects /tmp/objects/$n.o\"; done; \
    @CC@ -O2 -o /tmp/program \"$src\" $objects \"$helper\" -lm >&2; exec cat /tmp/program";

/// Builds a C or C++ program with its folder's Makefile. `$1` the
/// source, `$2` the folder, `$3` the program's name, `$4` that name as a
/// pattern. The program is the file of that name, or else the one
/// executable the build made.
const MAKE_SCRIPT: &str = "command -v make >/dev/null || { echo 'make is not installed' >&2; exit 127; }; \
    cp -R \"$2\" /tmp/src; cd /tmp/src; \
    find . -type f -perm -u+x | sort >/tmp/before; \
    makefile=Makefile; [ -f Makefile ] || makefile=makefile; \
    if grep -Eq \"^([^:#=[:space:]][^:#=]*[[:space:]])?$4([[:space:]][^:#=]*)?::?([^=]|\\$)\" \"$makefile\"; \
    then make \"$3\" >&2; else make >&2; fi; \
    if [ -f \"$3\" ] && [ -x \"$3\" ]; then exec cat \"$3\"; fi; \
    find . -type f -perm -u+x | sort >/tmp/after; \
    comm -13 /tmp/before /tmp/after | grep -v '\\.o$' >/tmp/new || true; \
    if [ \"$(wc -l </tmp/new)\" -eq 1 ]; then exec cat \"$(cat /tmp/new)\"; fi; \
    echo \"make built no program named $3, and not one new executable but $(wc -l </tmp/new)\" >&2; exit 1";

/// Builds a Go program without a go.mod: the named file and the files of
/// `package main` of its folder that define no `main` (not tests). `$1`
/// the source, `$2` the folder.
const GO_SCRIPT: &str = "src=\"$1\"; dir=\"$2\"; shift 2; \
    for f in \"$dir\"/*.go; do \
    [ -f \"$f\" ] && [ \"$f\" != \"$src\" ] || continue; \
    case \"$f\" in *_test.go) continue;; esac; \
    grep -Eq '^package[[:space:]]+main([[:space:]]|$)' \"$f\" || continue; \
    grep -Eq '^func[[:space:]]+main[[:space:]]*\\(' \"$f\" && continue; \
    set -- \"$@\" \"$f\"; done; \
    cd /tmp; GOTOOLCHAIN=local GOPROXY=off go build -o /tmp/program \"$src\" \"$@\" >&2; exec cat /tmp/program";

/// Builds a Java program into a jar. `$1` the class's name, `$2` the
/// folder, `$3` the source. A `package` line puts the source root where
/// the package's folders start (`src/` for `src/lab1/Server.java` of
/// `package lab1;`), and the class run is the qualified one; a package
/// whose folders do not match compiles the files of the folder that
/// declare it. A file whose class is not the file's runs the one class
/// with a `main`.
const JAVA_SCRIPT: &str = "main=\"$1\"; dir=\"$2\"; src=\"$3\"; shift 3; root=\"$dir\"; \
    pkg=$(sed -n 's/^[[:space:]]*package[[:space:]]\\{1,\\}\\([A-Za-z0-9_.$]\\{1,\\}\\)[[:space:]]*;.*$/\\1/p' \"$src\" | head -n 1); \
    mkdir /tmp/classes /tmp/nosource; \
    if [ -n \"$pkg\" ]; then \
    path=$(printf %s \"$pkg\" | tr . /); \
    case \"$dir\" in \
    */\"$path\") root=${dir%/\"$path\"}; [ -n \"$root\" ] || root=/;; \
    *) root=/tmp/nosource; pattern=$(printf %s \"$pkg\" | sed 's/[.$]/\\\\&/g'); \
    for f in \"$dir\"/*.java; do [ -f \"$f\" ] && [ \"$f\" != \"$src\" ] || continue; \
    if grep -Eq \"^[[:space:]]*package[[:space:]]+$pattern[[:space:]]*;\" \"$f\"; then set -- \"$@\" \"$f\"; fi; done;; \
    esac; \
    main=\"$pkg.$main\"; fi; \
    javac -proc:none -implicit:class -classpath /tmp/classes -d /tmp/classes -sourcepath \"$root\" \"$src\" \"$@\" >&2; \
    if [ ! -f \"/tmp/classes/$(printf %s \"$main\" | tr . /).class\" ]; then \
    for class in $(cd /tmp/classes && find . -name '*.class' ! -name '*[$]*' | sort); do \
    name=$(printf %s \"$class\" | sed 's|^\\./||; s|\\.class$||' | tr / .); \
    if javap -cp /tmp/classes \"$name\" | grep -q 'static void main('; then main=$name; break; fi; done; fi; \
    jar --create --file /tmp/program.jar --main-class \"$main\" -C /tmp/classes . >&2; \
    exec cat /tmp/program.jar";

/// `text` as an extended regular expression matching itself.
fn shell_pattern(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if ".[]*^$\\+?(){}|".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

pub(super) fn set_mode(path: &Path, mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
}

/// Bytes of the compiler's messages the runner holds while it builds.
const MESSAGES_KEPT: usize = 16 << 10;

/// Bytes of the compiler's messages a build failure quotes: every case
/// of the program quotes them, in every report format.
const MESSAGES_SHOWN: usize = 4 << 10;

/// Who a build's messages are quoted as: the compiler, or the command
/// an assignment gave (which may run anything, not only a compiler).
fn says(tool: &str) -> &'static str {
    if tool == COMMAND {
        COMMAND
    } else {
        "the compiler"
    }
}

/// What a build by an assignment's own command blames when it fails.
pub(super) const COMMAND: &str = "the build command";

/// The first `lines` lines of the compiler's messages, at most `bytes`
/// bytes of them, after a colon, or nothing when it said nothing; what is
/// left out is counted in bytes.
fn first_lines(stderr: &super::OutputSnapshot, who: &str, lines: usize, bytes: usize) -> String {
    let head = stderr.head.as_slice();
    let total = head.len() as u64 + stderr.dropped + stderr.tail.len() as u64;
    let mut end = 0;
    for _ in 0..lines {
        match head[end..].iter().position(|b| *b == b'\n') {
            Some(newline) => end += newline + 1,
            None => {
                end = head.len();
                break;
            }
        }
    }
    let end = crate::bounded::floor_boundary(head, end.min(bytes));
    let shown = String::from_utf8_lossy(&head[..end]);
    let shown = shown.trim_end();
    if shown.is_empty() && total == 0 {
        return String::new();
    }
    let mut out = format!("; {who} says:\n{shown}");
    let dropped = total - end as u64;
    if dropped > 0 {
        out.push('\n');
        out.push_str(&crate::bounded::not_kept(dropped));
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::program::OutputSnapshot;

    #[test]
    fn a_program_name_is_a_pattern_of_itself() {
        assert_eq!(shell_pattern("server"), "server");
        assert_eq!(shell_pattern("my.server+1"), "my\\.server\\+1");
    }

    #[test]
    fn compiler_messages_are_cut_by_lines_and_by_bytes() {
        let messages = OutputSnapshot {
            head: b"a.c:1: error\na.c:2: error\na.c:3: error\n".to_vec(),
            ..OutputSnapshot::default()
        };
        assert_eq!(
            first_lines(&messages, "the compiler", 2, 4096),
            "; the compiler says:\na.c:1: error\na.c:2: error\n… 13 more bytes not kept"
        );
        assert_eq!(
            first_lines(&OutputSnapshot::default(), "the compiler", 2, 4096),
            ""
        );
        // One line of 128 MiB, as a capture holds it: a head, a tail and
        // the count between.
        let messages = OutputSnapshot {
            head: vec![b'x'; MESSAGES_KEPT],
            dropped: (128 << 20) - MESSAGES_KEPT as u64 - 100,
            tail: vec![b'x'; 100],
        };
        let said = first_lines(&messages, "the compiler", 20, MESSAGES_SHOWN);
        assert!(said.len() < MESSAGES_SHOWN + 100, "{}", said.len());
        let dropped = (128u64 << 20) - MESSAGES_SHOWN as u64;
        assert!(said.ends_with(&crate::bounded::not_kept(dropped)), "{said}");
    }
}
