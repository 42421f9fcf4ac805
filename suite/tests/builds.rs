//! Source-file targets laid out as real submissions are: a Java program
//! in a package (as every IDE writes it), C over several files or with a
//! Makefile, Go over several files or as a module. Each is built in the
//! build sandbox and passes the greeting case of tcp-upper-server; and a
//! class exported from Moodle with one student of each kind gets its
//! grades, the broken and the missing ones with their status and why.

mod common;

use common::*;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// Sets `path`'s mode: the runner, as root, runs targets as another user,
/// who must be able to read the submission.
fn chmod(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

/// Writes `files` (path, text) into a fresh folder any user can read,
/// with the folders the paths name.
fn submission(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    chmod(dir.path(), 0o755);
    for (name, text) in files {
        let path = dir.path().join(name);
        let mut folder = path.parent().expect("a folder");
        std::fs::create_dir_all(folder).expect("mkdir");
        while folder != dir.path() {
            chmod(folder, 0o755);
            folder = folder.parent().expect("a folder");
        }
        std::fs::write(&path, text).expect("write");
        chmod(&path, 0o644);
    }
    dir
}

fn fixture(relative: &str) -> String {
    std::fs::read_to_string(root().join("fixtures").join(relative)).expect("fixture")
}

/// The greeting case's result for `target`.
fn greeting(target: &Path) -> serde_json::Value {
    let run = finish(
        runner(),
        &[
            &spec("tcp-upper-server"),
            "--target",
            &target.display().to_string(),
            "--addr",
            "127.1.1.1:8900",
            "--case",
            "greeting",
            "--format",
            "json",
        ],
    );
    let report = run.report();
    report["results"][0].clone()
}

fn assert_passes(target: &Path) {
    let result = greeting(target);
    assert_eq!(result["verdict"], "pass", "{result:#}");
}

/// The Java fixture with its upper-casing moved to a class `Upper`, and
/// that class's source.
fn java_split() -> (String, String) {
    let original = fixture("java/Server.java");
    let start = original
        .find("        for (int i = 0; i < n; i++) {")
        .expect("the loop");
    let end = original.find("        out.write(").expect("the write");
    let server = format!(
        "{}        Upper.bytes(data, n);\n{}",
        &original[..start],
        &original[end..]
    );
    let upper = "public class Upper {\n    static void bytes(byte[] data, int n) {\n        for (int i = 0; i < n; i++) {\n            if (data[i] >= 'a' && data[i] <= 'z') data[i] -= 32;\n        }\n    }\n}\n";
    (server, upper.to_string())
}

#[test]
fn a_java_program_in_a_package_runs_its_qualified_class() {
    let server = format!("package lab1;\n\n{}", fixture("java/Server.java"));
    let dir = submission(&[("src/lab1/Server.java", &server)]);
    assert_passes(&dir.path().join("src/lab1/Server.java"));
}

#[test]
fn a_java_program_of_two_files_in_a_package_is_compiled_together() {
    let (server, upper) = java_split();
    let server = format!("package edu.lab1;\n{server}");
    let upper = format!("package edu.lab1;\n\n{upper}");
    let dir = submission(&[
        ("src/edu/lab1/Server.java", &server),
        ("src/edu/lab1/Upper.java", &upper),
    ]);
    assert_passes(&dir.path().join("src/edu/lab1/Server.java"));
}

#[test]
fn a_java_package_in_a_flat_folder_is_compiled_from_its_folder() {
    let (server, upper) = java_split();
    let server = format!("package lab1;\n{server}");
    let upper = format!("package lab1;\n\n{upper}");
    let dir = submission(&[("Server.java", &server), ("Upper.java", &upper)]);
    assert_passes(&dir.path().join("Server.java"));
}

/// The C fixture with its upper-casing in `upper()` of util.c, declared
/// in util.h; the helper file's text is `util`.
fn c_split(util: &str) -> tempfile::TempDir {
    c_split_from(&fixture("c/upper_server.c"), util)
}

/// The same, its port the macro `PORT`: only a build that defines it
/// (a Makefile's) compiles.
fn c_split_with_port_macro() -> tempfile::TempDir {
    let original = fixture("c/upper_server.c");
    assert!(original.contains("htons(8900)"), "the port");
    c_split_from(&original.replace("htons(8900)", "htons(PORT)"), UTIL_C)
}

fn c_split_from(original: &str, util: &str) -> tempfile::TempDir {
    let files = c_split_files(original, util);
    let files: Vec<(&str, &str)> = files.iter().map(|(n, t)| (*n, t.as_str())).collect();
    submission(&files)
}

/// The files of a C program split over server.c, util.h and util.c.
fn c_split_files(original: &str, util: &str) -> Vec<(&'static str, String)> {
    let loop_ =
        "    for (ssize_t i = 0; i < n; i++)\n        data[i] = toupper((unsigned char)data[i]);\n";
    assert!(original.contains(loop_), "the loop");
    let server = original.replace(loop_, "    upper(data, n);\n").replace(
        "#include <unistd.h>\n",
        "#include <unistd.h>\n#include \"util.h\"\n",
    );
    vec![
        ("server.c", server),
        (
            "util.h",
            String::from("#include <stddef.h>\nvoid upper(char *data, size_t n);\n"),
        ),
        ("util.c", util.to_string()),
    ]
}

const UTIL_C: &str = "#include <ctype.h>\n#include \"util.h\"\n\nvoid upper(char *data, size_t n)\n{\n    for (size_t i = 0; i < n; i++)\n        data[i] = toupper((unsigned char)data[i]);\n}\n";

#[test]
fn a_c_program_over_two_files_is_linked_with_its_helper() {
    let dir = c_split(UTIL_C);
    // Another program of the folder, with a `main` of its own, is left out.
    let client = "int main(void) { return 0; }\n";
    std::fs::write(dir.path().join("client.c"), client).expect("write");
    chmod(&dir.path().join("client.c"), 0o644);
    assert_passes(&dir.path().join("server.c"));
}

#[test]
fn a_c_helper_that_does_not_compile_fails_with_the_compilers_message() {
    let dir = c_split(&UTIL_C.replace("toupper((unsigned char)data[i]);", "toupper(data[i])"));
    let result = greeting(&dir.path().join("server.c"));
    assert_eq!(result["verdict"], "fail", "{result:#}");
    let message = result["message"].as_str().expect("message");
    assert!(
        message.starts_with("server.c does not build: cc exited with code 1"),
        "{message}"
    );
    assert!(message.contains("util.c"), "{message}");
}

/// A Makefile whose default target is not the program: only `make
/// server` builds it.
const NAMED_TARGET_MAKEFILE: &str = "all:\n\tfalse\n\nserver: server.o util.o\n\t$(CC) -o $@ server.o util.o\n\n%.o: %.c util.h\n\t$(CC) -DPORT=8900 -c -o $@ $<\n";

#[test]
fn a_c_program_with_a_makefile_is_built_by_its_named_target() {
    let dir = c_split_with_port_macro();
    let makefile = NAMED_TARGET_MAKEFILE;
    std::fs::write(dir.path().join("Makefile"), makefile).expect("write");
    chmod(&dir.path().join("Makefile"), 0o644);
    assert_passes(&dir.path().join("server.c"));
}

#[test]
fn a_c_program_with_a_makefile_of_a_default_target_is_built_by_it() {
    let dir = c_split_with_port_macro();
    // The program comes out under another name: the one new executable.
    let makefile = "CFLAGS = -Wall -DPORT=8900\n\nupper_server: server.c util.c util.h\n\t$(CC) $(CFLAGS) -o $@ server.c util.c\n";
    std::fs::write(dir.path().join("makefile"), makefile).expect("write");
    chmod(&dir.path().join("makefile"), 0o644);
    assert_passes(&dir.path().join("server.c"));
}

/// The Go fixture with its upper-casing in `upper()` of upper.go.
fn go_split() -> (String, String) {
    let original = fixture("go/server.go");
    let start = original
        .find("\tfor i, b := range data {")
        .expect("the loop");
    let end = original
        .find("\tif _, err := conn.Write")
        .expect("the write");
    let server = format!("{}\tupper(data)\n{}", &original[..start], &original[end..]);
    let upper = "package main\n\nfunc upper(data []byte) {\n\tfor i, b := range data {\n\t\tif b >= 'a' && b <= 'z' {\n\t\t\tdata[i] = b - 'a' + 'A'\n\t\t}\n\t}\n}\n";
    (server, upper.to_string())
}

#[test]
fn a_go_program_over_two_files_is_built_together() {
    let (server, upper) = go_split();
    let client = "package main\n\nfunc main() {}\n";
    let dir = submission(&[
        ("server.go", &server),
        ("upper.go", &upper),
        ("client.go", client),
    ]);
    assert_passes(&dir.path().join("server.go"));
}

#[test]
fn a_go_module_is_built_as_a_module() {
    let (server, upper) = go_split();
    // The upper-casing in a package of the module.
    let server = server
        .replace("\"os\"\n", "\"os\"\n\n\t\"example.com/lab1/text\"\n")
        .replace("\tupper(data)\n", "\ttext.Upper(data)\n");
    let upper = upper
        .replace("package main", "package text")
        .replace("func upper", "func Upper");
    let dir = submission(&[
        ("go.mod", "module example.com/lab1\n\ngo 1.18\n"),
        ("main.go", &server),
        ("text/upper.go", &upper),
    ]);
    assert_passes(&dir.path().join("main.go"));
}

/// A Moodle export of one student per kind of build, graded with
/// `server.*` on every case of tcp-upper-server: each correct program gets
/// full points whatever its build; the broken build and the missing
/// program get 0 with their status and a note that says why.
#[test]
fn a_moodle_class_of_every_build_gets_its_grades() {
    let class = tempfile::tempdir().expect("temp dir");
    chmod(class.path(), 0o755);
    let folder = |name: &str, id: u32| format!("{name}_{id}_assignsubmission_file_");
    let mut files: Vec<(String, String)> = Vec::new();
    let mut add = |student: String, path: &str, text: String| {
        files.push((format!("{student}/{path}"), text));
    };
    // An IDE's project: a package under src/, two classes.
    let (server, upper) = java_split();
    let zoe = folder("Zoë Dubois", 1001);
    add(
        zoe.clone(),
        "lab1/src/lab1/Server.java",
        format!("package lab1;\n{server}"),
    );
    add(
        zoe,
        "lab1/src/lab1/Upper.java",
        format!("package lab1;\n\n{upper}"),
    );
    let original_c = fixture("c/upper_server.c");
    for (path, text) in c_split_files(&original_c, UTIL_C) {
        add(folder("Jean Luc", 1002), path, text);
    }
    let with_macro = original_c.replace("htons(8900)", "htons(PORT)");
    for (path, text) in c_split_files(&with_macro, UTIL_C) {
        add(folder("Ana Bell", 1003), path, text);
    }
    add(
        folder("Ana Bell", 1003),
        "Makefile",
        NAMED_TARGET_MAKEFILE.to_string(),
    );
    let (server, upper) = go_split();
    add(folder("Bo Chen", 1004), "server.go", server);
    add(folder("Bo Chen", 1004), "upper.go", upper);
    let broken = UTIL_C.replace("toupper((unsigned char)data[i]);", "toupper(data[i])");
    for (path, text) in c_split_files(&original_c, &broken) {
        add(folder("Cy Doe", 1005), path, text);
    }
    add(
        folder("Dee Eng", 1006),
        "README.md",
        String::from("did not finish"),
    );
    let files: Vec<(&str, &str)> = files
        .iter()
        .map(|(p, t)| (p.as_str(), t.as_str()))
        .collect();
    let class = submission(&files);
    let out = tempfile::tempdir().expect("temp dir");
    let finished = finish(
        runner(),
        &[
            "grade",
            &spec("tcp-upper-server"),
            "--submissions",
            &class.path().display().to_string(),
            "--file",
            "server.*",
            "--addr",
            "127.1.1.1:8900",
            "--out",
            &out.path().display().to_string(),
        ],
    );
    assert_eq!(finished.code, 0, "{}", finished.everything());
    assert!(
        finished.stderr.contains("moodle layout"),
        "{}",
        finished.stderr
    );
    let text = std::fs::read_to_string(out.path().join("grades.csv")).expect("grades.csv");
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header = reader.headers().expect("header").clone();
    let at = |name: &str| header.iter().position(|h| h == name).expect(name);
    let rows: Vec<(String, String, String, String, String)> = reader
        .records()
        .map(|r| {
            let r = r.expect("row");
            (
                r[at("student")].to_string(),
                r[at("lms_id")].to_string(),
                r[at("points")].to_string(),
                r[at("status")].to_string(),
                r[at("note")].replace(['‘', '’'], "'"),
            )
        })
        .collect();
    let full = |student: &str, id: &str| {
        (
            student.into(),
            id.into(),
            String::from("8"),
            String::from("graded"),
            String::new(),
        )
    };
    assert_eq!(rows[0], full("Ana Bell", "1003"), "{text}");
    assert_eq!(rows[1], full("Bo Chen", "1004"), "{text}");
    assert_eq!(rows[2].3, "build-failed", "{text}");
    assert_eq!(rows[2].2, "0", "{text}");
    assert!(rows[2].4.starts_with("server.c: does not build:"), "{text}");
    assert!(rows[2].4.contains("util.c"), "{text}");
    assert_eq!(
        rows[3],
        (
            "Dee Eng".into(),
            "1006".into(),
            "0".into(),
            "no-program".into(),
            "no file matches `server.*` (the folder holds README.md)".into()
        ),
        "{text}"
    );
    assert_eq!(rows[4], full("Jean Luc", "1002"), "{text}");
    assert_eq!(rows[5], full("Zoë Dubois", "1001"), "{text}");
}
