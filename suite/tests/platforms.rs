//! Teaching platforms beyond Gradescope: GitHub Classroom's autograding
//! result and workflow, PrairieLearn's external grading results and
//! question, each read as its consumer documents it.

mod common;

use common::{private_loopback_ip, root, runner, student_program};
use serde_json::Value;
use std::path::Path;

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{} is not JSON: {e}\n{text}", path.display()))
}

fn assert_valid(schema: &str, instance: &Value) {
    let schema = read_json(&root().join("suite/data").join(schema));
    let validator = jsonschema::validator_for(&schema).expect("the schema compiles");
    let problems: Vec<String> = validator
        .iter_errors(instance)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect();
    assert!(problems.is_empty(), "{problems:#?}\n{instance:#}");
}

/// What autograding-grading-reporter shows as `Points N/M`: the sum of
/// every runner's tests' scores over the sum of their max_scores (a
/// runner without max_score counts for nothing).
pub fn reporter_points(results: &[&Value]) -> (u64, u64) {
    results
        .iter()
        .filter(|r| r["max_score"].as_u64().unwrap_or(0) > 0)
        .fold((0, 0), |(points, max), r| {
            let scores: u64 = r["tests"]
                .as_array()
                .expect("tests")
                .iter()
                .map(|t| t["score"].as_u64().expect("an integer score"))
                .sum();
            (
                points + scores,
                max + r["max_score"].as_u64().expect("max_score"),
            )
        })
}

#[rstest::rstest]
#[case::correct("python/upper_server.py", 0, "pass")]
#[case::buggy("python/upper_server_wrong.py", 1, "fail")]
fn the_classroom_and_prairielearn_results_carry_the_runners_points(
    #[case] program: &str,
    #[case] code: i32,
    #[case] status: &str,
) {
    let dir = tempfile::tempdir().expect("tempdir");
    let ip = private_loopback_ip();
    let target = student_program(program, dir.path(), "127.1.1.1", &ip);
    let json = dir.path().join("report.json");
    let prairielearn = dir.path().join("pl.json");
    let output = runner()
        .arg("tcp-upper-server")
        .arg("--target")
        .arg(&target)
        .args(["--addr", &format!("{ip}:8900"), "--format", "classroom"])
        .arg("--report-json")
        .arg(&json)
        .arg("--report-prairielearn")
        .arg(&prairielearn)
        .output()
        .expect("runner runs");
    assert_eq!(output.status.code(), Some(code), "{output:?}");
    if code == 0 {
        // The command grader takes anything on stderr for a failure.
        assert!(
            output.stderr.is_empty(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let classroom: Value = serde_json::from_slice(&output.stdout).expect("JSON on stdout");
    assert_valid("classroom-result.schema.json", &classroom);
    let report = read_json(&json);
    assert_eq!(classroom["status"], status);
    assert_eq!(
        reporter_points(&[&classroom]),
        (
            report["summary"]["points"].as_u64().expect("points"),
            report["summary"]["max_points"].as_u64().expect("max")
        )
    );
    let tests = classroom["tests"].as_array().expect("tests");
    assert_eq!(
        tests.len(),
        report["results"].as_array().map_or(0, Vec::len)
    );
    for (test, result) in tests
        .iter()
        .zip(report["results"].as_array().expect("results"))
    {
        assert_eq!(
            test["name"],
            format!(
                "tcp-upper-server/{}",
                result["case"].as_str().expect("case")
            )
        );
        let passed = result["verdict"] == "pass";
        assert_eq!(test["status"] == "pass", passed, "{test:#}");
        if !passed {
            let message = test["message"].as_str().expect("message");
            assert!(
                message.contains(result["message"].as_str().expect("message")),
                "{message}"
            );
            assert!(test["line_no"].as_u64().expect("line") > 0, "{test:#}");
        }
    }

    let pl = read_json(&prairielearn);
    assert_valid("prairielearn-results.schema.json", &pl);
    let (points, max) = (
        report["summary"]["points"].as_f64().expect("points"),
        report["summary"]["max_points"].as_f64().expect("max"),
    );
    assert_eq!(pl["gradable"], true);
    assert!(
        (pl["score"].as_f64().expect("score") - points / max).abs() < 1e-9,
        "{pl:#}"
    );
    let earned: f64 = pl["tests"]
        .as_array()
        .expect("tests")
        .iter()
        .map(|t| t["points"].as_f64().expect("points"))
        .sum();
    assert_eq!(earned, points);
    for (test, result) in pl["tests"]
        .as_array()
        .expect("tests")
        .iter()
        .zip(report["results"].as_array().expect("results"))
    {
        assert_eq!(test["description"], result["about"]);
    }
}

fn fixture(relative: &str) -> String {
    std::fs::read_to_string(root().join("fixtures").join(relative)).expect("fixture exists")
}

/// The folder of the runner binary the tests run, for PATH.
fn runner_dir() -> std::path::PathBuf {
    assert_cmd::cargo::cargo_bin("runner")
        .parent()
        .expect("a folder")
        .to_path_buf()
}

/// `runner classroom-workflow`'s YAML, parsed; its program steps run
/// with bash as GitHub's runner would (the runner on PATH standing in for
/// the install step, the reporter checked for what it is given), against
/// a student's repository; the reporter's input decoded.
#[rstest::rstest]
#[case::correct("python/upper_server.py", 8)]
#[case::buggy("python/upper_server_wrong.py", 3)]
fn the_classroom_workflow_grades_a_repository_and_feeds_the_reporter(
    #[case] program: &str,
    #[case] points: u64,
) {
    let output = runner()
        .args([
            "classroom-workflow",
            "tcp-upper-server",
            "--file",
            "server.py",
        ])
        .args(["--addr", "127.1.1.1:8900"])
        .output()
        .expect("runner runs");
    assert!(output.status.success(), "{output:?}");
    let workflow: serde_yaml::Value =
        serde_yaml::from_slice(&output.stdout).expect("the workflow is YAML");
    assert_eq!(
        workflow["on"],
        serde_yaml::from_str::<serde_yaml::Value>("[push, repository_dispatch]").expect("yaml")
    );
    assert_eq!(workflow["permissions"]["checks"], "write");
    let job = &workflow["jobs"]["run-autograding-tests"];
    assert_eq!(job["runs-on"], "ubuntu-latest");
    let steps = job["steps"].as_sequence().expect("steps");
    let reporter = steps.last().expect("a reporter step");
    assert_eq!(
        reporter["uses"],
        "classroom-resources/autograding-grading-reporter@v1"
    );
    assert_eq!(reporter["with"]["runners"], "tcpupperserver");
    assert_eq!(
        reporter["env"]["TCPUPPERSERVER_RESULTS"],
        "${{ steps.tcpupperserver.outputs.result }}"
    );

    let dir = tempfile::tempdir().expect("tempdir");
    let repository = dir.path().join("repository");
    std::fs::create_dir_all(repository.join(".git")).expect("repository");
    std::fs::write(repository.join("server.py"), fixture(program)).expect("server.py");
    std::fs::write(repository.join("README.md"), "lab 1\n").expect("readme");
    let temp = dir.path().join("runner-temp");
    std::fs::create_dir_all(&temp).expect("temp");
    let outputs = dir.path().join("github-output");
    let path = format!(
        "{}:{}",
        runner_dir().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut ran = Vec::new();
    for step in steps {
        let id = step["id"].as_str().unwrap_or_default();
        let Some(script) = step["run"].as_str() else {
            continue;
        };
        // Installing stands in: packages and the runner are here.
        if id == "toolchains" || id == "install-runner" {
            continue;
        }
        let finished = std::process::Command::new("bash")
            .args(["-e", "-c", script])
            .current_dir(&repository)
            .env("PATH", &path)
            .env("RUNNER_TEMP", &temp)
            .env("GITHUB_WORKSPACE", &repository)
            .env("GITHUB_OUTPUT", &outputs)
            .output()
            .expect("bash runs");
        assert!(finished.status.success(), "step {id}: {finished:?}");
        ran.push(id.to_string());
    }
    assert_eq!(ran, ["tcpupperserver"]);
    let written = std::fs::read_to_string(&outputs).expect("the step set its output");
    let encoded = written
        .lines()
        .find_map(|line| line.strip_prefix("result="))
        .expect("result=");
    let decoded = std::process::Command::new("base64")
        .arg("-d")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            use std::io::Write;
            child
                .stdin
                .take()
                .expect("stdin")
                .write_all(encoded.as_bytes())?;
            child.wait_with_output()
        })
        .expect("base64 runs");
    let result: Value = serde_json::from_slice(&decoded.stdout).expect("the result is JSON");
    assert_valid("classroom-result.schema.json", &result);
    assert_eq!(reporter_points(&[&result]), (points, 8), "{result:#}");
    assert_eq!(result["status"], if points == 8 { "pass" } else { "fail" });
}

/// `runner prairielearn-question`'s folder: info.json as PrairieLearn
/// reads it, and the entry point run on a temporary root standing in for
/// /grade, with the question's tests/ and a student's files.
#[rstest::rstest]
#[case::correct(Some("python/upper_server.py"), 1.0)]
#[case::buggy(Some("python/upper_server_wrong.py"), 3.0 / 8.0)]
#[case::does_not_start(None, 0.0)]
fn the_prairielearn_question_grades_a_submission_as_prairielearn_runs_it(
    #[case] program: Option<&str>,
    #[case] score: f64,
) {
    let dir = tempfile::tempdir().expect("tempdir");
    let question = dir.path().join("question");
    runner()
        .args([
            "prairielearn-question",
            "tcp-upper-server",
            "--file",
            "server.py",
        ])
        .args(["--addr", "127.1.1.1:8900", "-o"])
        .arg(&question)
        .assert()
        .code(0);
    let info = read_json(&question.join("info.json"));
    assert_eq!(info["gradingMethod"], "External");
    assert_eq!(info["type"], "v3");
    let options = &info["externalGradingOptions"];
    assert_eq!(options["enabled"], true);
    assert!(options["image"].is_string());
    assert_eq!(options["entrypoint"], "/grade/tests/run.sh");
    assert!(options["timeout"].as_u64().is_some_and(|t| t > 0));
    let uuid = info["uuid"].as_str().expect("uuid");
    assert_eq!(uuid.len(), 36, "{uuid}");
    let html = std::fs::read_to_string(question.join("question.html")).expect("question.html");
    assert!(
        html.contains("<pl-file-upload file-names=\"server.py\">"),
        "{html}"
    );
    assert!(html.contains("<pl-external-grader-results>"), "{html}");

    // The grading container: tests/ copied to /grade/tests, the student's
    // files to /grade/student.
    let grade = dir.path().join("grade");
    std::fs::create_dir_all(&grade).expect("grade");
    let copied = std::process::Command::new("cp")
        .arg("-R")
        .arg(question.join("tests"))
        .arg(grade.join("tests"))
        .status();
    assert!(copied.is_ok_and(|s| s.success()));
    std::fs::create_dir_all(grade.join("student")).expect("student");
    let source = match program {
        Some(program) => fixture(program),
        None => String::from("import socket\ndef broken(:\n"),
    };
    std::fs::write(grade.join("student/server.py"), source).expect("server.py");
    let finished = std::process::Command::new(grade.join("tests/run.sh"))
        .env("PRAIRIELEARN_GRADE_ROOT", &grade)
        .output()
        .expect("run.sh runs");
    assert!(finished.status.success(), "{finished:?}");
    let results = read_json(&grade.join("results/results.json"));
    assert_valid("prairielearn-results.schema.json", &results);
    assert_eq!(results["gradable"], true, "{results:#}");
    assert!(
        (results["score"].as_f64().expect("score") - score).abs() < 1e-9,
        "{results:#}"
    );
    let tests = results["tests"].as_array().expect("tests");
    assert_eq!(tests.len(), 6);
    if program.is_none() {
        let message = results["message"].as_str().expect("message");
        assert!(message.contains("did not start"), "{message}");
        assert!(message.contains("SyntaxError"), "{message}");
    }
}

/// `runner man --install`: every page where `man` looks, under a prefix,
/// and for a user who is not root under their HOME, with a MANPATH hint
/// when `manpath` does not list it.
#[test]
fn man_install_writes_every_page_where_man_finds_it() {
    let dir = common::world_readable_tempdir();
    let prefix = dir.path().join("prefix");
    let assert = runner()
        .args(["man", "--install", "--prefix"])
        .arg(&prefix)
        .assert()
        .code(0);
    let said = String::from_utf8_lossy(&assert.get_output().stdout).into_owned();
    let folder = prefix.join("share/man/man1");
    assert!(said.contains(&folder.display().to_string()), "{said}");
    for page in ["runner.1", "runner-grade.1", "runner-classroom-workflow.1"] {
        let text = std::fs::read_to_string(folder.join(page)).expect(page);
        assert!(
            text.starts_with(".ie") || text.contains(".TH"),
            "{page}: {text}"
        );
    }
    // A user who is not root: under their HOME.
    let home = dir.path().join("home");
    std::fs::create_dir(&home).expect("home");
    let owned = std::process::Command::new("chown")
        .arg("nobody")
        .arg(&home)
        .status();
    assert!(owned.is_ok_and(|s| s.success()));
    let finished = common::runner_as_nobody()
        .args(["man", "--install"])
        .env("HOME", &home)
        .output()
        .expect("runs");
    assert!(finished.status.success(), "{finished:?}");
    assert!(home.join(".local/share/man/man1/runner.1").is_file());
    let said = String::from_utf8_lossy(&finished.stdout);
    assert!(said.contains("MANPATH"), "{said}");
}

/// Whether `readelf -l` shows a program interpreter (a dynamic loader).
fn asks_for_loader(binary: &Path) -> bool {
    let shown = std::process::Command::new("readelf")
        .arg("-lW")
        .arg(binary)
        .output()
        .expect("readelf runs (Debian package binutils)");
    assert!(shown.status.success(), "{shown:?}");
    String::from_utf8_lossy(&shown.stdout).contains("INTERP")
}

/// `--runner PATH` puts the given binary in the Gradescope bundle and the
/// PrairieLearn question, as it is: a statically linked one (here a small
/// C program linked with `cc -static` standing in for a static runner)
/// stays without a dynamic loader, and the command says which it is.
#[test]
fn a_static_runner_given_is_carried_without_a_dynamic_loader() {
    let dir = tempfile::tempdir().expect("tempdir");
    let source = dir.path().join("static.c");
    std::fs::write(&source, "int main(void) { return 0; }\n").expect("source");
    let binary = dir.path().join("static-runner");
    let built = std::process::Command::new("cc")
        .arg("-static")
        .arg("-o")
        .arg(&binary)
        .arg(&source)
        .status()
        .expect("cc runs");
    assert!(built.success());
    assert!(!asks_for_loader(&binary));
    let zip = dir.path().join("autograder.zip");
    let assert = runner()
        .args([
            "gradescope-bundle",
            "tcp-upper-server",
            "--file",
            "server.py",
        ])
        .arg("--runner")
        .arg(&binary)
        .arg("-o")
        .arg(&zip)
        .assert()
        .code(0);
    let said = String::from_utf8_lossy(&assert.get_output().stdout).into_owned();
    assert!(said.contains("statically linked"), "{said}");
    let unpacked = dir.path().join("unpacked");
    let status = std::process::Command::new("python3")
        .args(["-m", "zipfile", "-e"])
        .arg(&zip)
        .arg(&unpacked)
        .status()
        .expect("python3 runs");
    assert!(status.success());
    assert!(!asks_for_loader(&unpacked.join("runner")));
    assert_eq!(
        std::fs::read(unpacked.join("runner")).expect("runner"),
        std::fs::read(&binary).expect("binary")
    );

    let question = dir.path().join("question");
    let assert = runner()
        .args([
            "prairielearn-question",
            "tcp-upper-server",
            "--file",
            "server.py",
        ])
        .arg("--runner")
        .arg(&binary)
        .arg("-o")
        .arg(&question)
        .assert()
        .code(0);
    let said = String::from_utf8_lossy(&assert.get_output().stdout).into_owned();
    assert!(said.contains("statically linked"), "{said}");
    assert!(!asks_for_loader(&question.join("tests/runner")));
    // Without --runner, this (dynamically linked) runner, said so.
    let other = dir.path().join("question-default");
    let assert = runner()
        .args([
            "prairielearn-question",
            "tcp-upper-server",
            "--file",
            "server.py",
            "-o",
        ])
        .arg(&other)
        .assert()
        .code(0);
    let said = String::from_utf8_lossy(&assert.get_output().stdout).into_owned();
    assert!(said.contains("dynamically linked"), "{said}");
}
