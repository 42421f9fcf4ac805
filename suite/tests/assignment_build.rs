//! Programs an assignment file says how to build and run (`build:` and
//! `run:`): a C server whose build needs a flag and a second file, a
//! Java program compiled into classes and run from them, a Python
//! program run with an argument. Each correct one gets full points; a
//! build that fails gets `build-failed` and the compiler's first error;
//! and a build that leaves a link to a file of the machine in its folder
//! is refused, the link neither followed nor copied.

mod common;

use common::*;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

fn fixture(relative: &str) -> String {
    std::fs::read_to_string(root().join("fixtures").join(relative)).expect("fixture")
}

/// A class folder any user can read: `(student, file, text)` each.
fn class(files: &[(&str, &str, String)]) -> tempfile::TempDir {
    let dir = world_readable_tempdir();
    for (student, name, text) in files {
        let folder = dir.path().join(student);
        std::fs::create_dir_all(&folder).expect("mkdir");
        chmod(&folder, 0o755);
        std::fs::write(folder.join(name), text).expect("write");
        chmod(&folder.join(name), 0o644);
    }
    dir
}

/// Writes an assignment of tcp-upper-server on the handout's address
/// whose program is `file`, built and run by `commands` (YAML lines).
fn assignment(dir: &Path, file: &str, commands: &str) -> String {
    let path = dir.join("lab.yaml");
    std::fs::write(
        &path,
        format!(
            "assignment: lab\nprograms:\n  - spec: tcp-upper-server\n    file: {file}\n    addr: 127.1.1.1:8900\n{commands}"
        ),
    )
    .expect("write the assignment");
    path.display().to_string()
}

/// Grades `class` on the assignment file; the rows of grades.csv as
/// (student, points, status, note).
fn grade(assignment: &str, class: &Path) -> (Vec<(String, String, String, String)>, String) {
    let out = tempfile::tempdir().expect("temp dir");
    let finished = finish(
        runner(),
        &[
            "grade",
            assignment,
            "--submissions",
            &class.display().to_string(),
            "--out",
            &out.path().display().to_string(),
        ],
    );
    assert_eq!(finished.code, 0, "{}", finished.everything());
    let text = std::fs::read_to_string(out.path().join("grades.csv")).expect("grades.csv");
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header = reader.headers().expect("header").clone();
    let at = |name: &str| header.iter().position(|h| h == name).expect(name);
    let rows = reader
        .records()
        .map(|r| {
            let r = r.expect("row");
            (
                r[at("student")].to_string(),
                r[at("points")].to_string(),
                r[at("status")].to_string(),
                r[at("note")].replace(['‘', '’'], "'"),
            )
        })
        .collect();
    // Everything the grading wrote, to look for what must not be there.
    let mut written = String::new();
    for entry in walk(out.path()) {
        written.push_str(&String::from_utf8_lossy(
            &std::fs::read(entry).unwrap_or_default(),
        ));
    }
    (rows, written)
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read_dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}

/// The C fixture, which builds only with `-DUPPER`, and a helper file.
fn c_needing_a_flag() -> (String, String) {
    let main = format!(
        "#ifndef UPPER\n#error build with -DUPPER\n#endif\nint net_ready(void);\n{}",
        fixture("c/upper_server.c")
    );
    (main, String::from("int net_ready(void) { return 1; }\n"))
}

#[test]
fn a_c_server_built_by_the_assignments_command_gets_full_points_and_a_broken_one_its_error() {
    let (main, net) = c_needing_a_flag();
    let broken = String::from("int net_ready(void) { return nope; }\n");
    let class = class(&[
        ("alice", "main.c", main.clone()),
        ("alice", "net.c", net),
        ("bob", "main.c", main),
        ("bob", "net.c", broken),
    ]);
    let dir = world_readable_tempdir();
    let assignment = assignment(
        dir.path(),
        "main.c",
        "    build: cc -o server {file} net.c -DUPPER\n    run: ./server\n",
    );
    let (rows, _) = grade(&assignment, class.path());
    assert_eq!(
        rows[0],
        ("alice".into(), "8".into(), "graded".into(), String::new()),
        "{rows:?}"
    );
    assert_eq!(
        (rows[1].1.as_str(), rows[1].2.as_str()),
        ("0", "build-failed"),
        "{rows:?}"
    );
    assert_eq!(
        rows[1].3, "main.c: does not build: net.c line 1: 'nope' undeclared",
        "{rows:?}"
    );
}

#[test]
fn a_java_program_compiled_into_classes_runs_from_them() {
    let server = fixture("java/Server.java").replace("8900, 5", "Integer.parseInt(args[0]), 5");
    let class = class(&[("carol", "Server.java", server)]);
    let dir = world_readable_tempdir();
    let assignment = assignment(
        dir.path(),
        "Server.java",
        "    build: mkdir classes && javac -d classes {file}\n    run: java -cp {dir}/classes Server {port}\n",
    );
    let (rows, _) = grade(&assignment, class.path());
    assert_eq!(
        rows,
        [("carol".into(), "8".into(), "graded".into(), String::new())]
    );
}

#[test]
fn a_python_program_is_run_with_the_argument_the_assignment_gives() {
    let server = fixture("python/upper_server.py").replace("8900)", "int(sys.argv[1]))");
    let class = class(&[("dan", "server.py", format!("import sys\n{server}"))]);
    let dir = world_readable_tempdir();
    let assignment = assignment(dir.path(), "server.py", "    run: python3 {file} {port}\n");
    let (rows, _) = grade(&assignment, class.path());
    assert_eq!(
        rows,
        [("dan".into(), "8".into(), "graded".into(), String::new())]
    );
}

/// The student's Makefile (run by the teacher's `build: make`) leaves a
/// link to /etc/passwd in the folder, hoping the runner copies what it
/// points at out of the build: the built folder is refused whole, the
/// student gets `build-failed` with the reason, and the file's content
/// is nowhere in what the grading wrote.
#[test]
fn a_build_that_leaves_a_link_out_of_its_folder_is_refused() {
    let (main, net) = c_needing_a_flag();
    let makefile =
        "server: main.c net.c\n\tcc -DUPPER -o server main.c net.c\n\tln -s /etc/passwd passwd\n";
    let class = class(&[
        ("mallory", "main.c", main),
        ("mallory", "net.c", net),
        ("mallory", "Makefile", makefile.to_string()),
    ]);
    let dir = world_readable_tempdir();
    let assignment = assignment(dir.path(), "main.c", "    build: make\n    run: ./server\n");
    let (rows, written) = grade(&assignment, class.path());
    assert_eq!(
        (rows[0].1.as_str(), rows[0].2.as_str()),
        ("0", "build-failed"),
        "{rows:?}"
    );
    assert!(
        rows[0].3.contains("refused") && rows[0].3.contains("passwd` is a symbolic link"),
        "{rows:?}"
    );
    assert!(!written.contains("root:x:0:0"), "{written}");
}

#[test]
fn check_shows_the_commands_and_a_build_without_run_is_refused_where_it_is() {
    let dir = world_readable_tempdir();
    let good = assignment(
        dir.path(),
        "main.c",
        "    build: cc -o server {file}\n    run: ./server\n",
    );
    let checked = finish(runner(), &["check", &good]);
    assert_eq!(checked.code, 0, "{}", checked.everything());
    assert!(
        checked
            .stdout
            .contains("      build: cc -o server {file}\n      run: ./server\n"),
        "{}",
        checked.stdout
    );
    let bad = assignment(dir.path(), "main.c", "    build: cc -o server {file}\n");
    let checked = finish(runner(), &["check", &bad]);
    assert_eq!(checked.code, 2, "{}", checked.everything());
    assert!(
        checked
            .stderr
            .contains("lab.yaml:6:12: `build` needs `run` too"),
        "{}",
        checked.stderr
    );
}
