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
