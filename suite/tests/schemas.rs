//! The JSON Schemas: the shipped files in schemas/ are what `runner schema`
//! prints; the reports a run writes validate against the report schema and
//! against Gradescope's documented format; every bundled spec and every
//! example of specs/README.md validates against the spec schema, which
//! agrees with the loader on what a spec may look like; a case's
//! `visibility` reaches Gradescope.

mod common;

use common::{fixture_target, root, runner, spec};
use serde_json::Value;
use std::path::Path;

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

fn shipped(name: &str) -> Value {
    read_json(&root().join("schemas").join(format!("{name}.schema.json")))
}

fn validator(schema: &Value) -> jsonschema::Validator {
    jsonschema::meta::validate(schema).expect("a valid JSON Schema");
    jsonschema::validator_for(schema).expect("the schema compiles")
}

/// Every way `instance` breaks `schema`, one a line; empty if none.
fn problems(validator: &jsonschema::Validator, instance: &Value) -> String {
    validator
        .iter_errors(instance)
        .map(|error| format!("{}: {error}", error.instance_path()))
        .collect::<Vec<_>>()
        .join("\n")
}

fn assert_valid(validator: &jsonschema::Validator, instance: &Value, what: &str) {
    let problems = problems(validator, instance);
    assert!(problems.is_empty(), "{what}:\n{problems}\n{instance:#}");
}

fn yaml_to_json(text: &str) -> Value {
    let yaml: serde_yaml::Value = serde_yaml::from_str(text).expect("YAML");
    serde_json::to_value(yaml).expect("YAML of a spec is JSON too")
}

#[test]
fn the_shipped_schemas_are_what_runner_schema_prints() {
    for name in ["report", "spec", "assignment"] {
        let path = root().join("schemas").join(format!("{name}.schema.json"));
        let output = runner()
            .args(["schema", name])
            .output()
            .expect("runner runs");
        assert!(output.status.success(), "runner schema {name} failed");
        let printed = String::from_utf8(output.stdout).expect("UTF-8");
        let file = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            printed == file,
            "schemas/{name}.schema.json differs from what `runner schema {name}` prints; \
             regenerate it with `cargo run -q -p runner -- schema {name} > schemas/{name}.schema.json`"
        );
    }
}

#[test]
fn reports_of_a_passing_and_a_failing_run_validate() {
    let report_schema = validator(&shipped("report"));
    let gradescope_schema = validator(&read_json(
        &root().join("suite/data/gradescope-results.schema.json"),
    ));
    let dir = tempfile::tempdir().expect("temp dir");
    for (name, target, code) in [
        ("pass", fixture_target("upper-server"), 0),
        ("fail", fixture_target("upper-server-no-upper"), 1),
        ("crash", fixture_target("upper-server-crash-on-connect"), 1),
    ] {
        let json = dir.path().join(format!("{name}.json"));
        let gradescope = dir.path().join(format!("{name}-results.json"));
        let output = runner()
            .args([&spec("tcp-upper-server"), "--target", &target])
            .arg("--report-json")
            .arg(&json)
            .arg("--report-gradescope")
            .arg(&gradescope)
            .output()
            .expect("runner runs");
        assert_eq!(output.status.code(), Some(code), "{name}");
        let report = read_json(&json);
        assert_valid(&report_schema, &report, name);
        let results = read_json(&gradescope);
        assert_valid(&gradescope_schema, &results, name);
        assert_eq!(report["summary"]["points"], results["score"], "{name}");
        if name == "fail" {
            let failed = report["results"]
                .as_array()
                .expect("results")
                .iter()
                .find(|r| r["verdict"] == "fail")
                .expect("a failed case");
            assert!(
                failed["failure"]["actual"]["text"].is_string(),
                "{failed:#}"
            );
            let test = &results["tests"]
                .as_array()
                .expect("tests")
                .iter()
                .find(|t| t["status"] == "failed")
                .expect("a failed test");
            let output = test["output"].as_str().expect("output");
            assert!(output.contains("**expected**"), "{output}");
            assert!(output.contains("**received**"), "{output}");
            assert!(output.contains("**transcript**"), "{output}");
            assert_eq!(test["output_format"], "md");
        }
    }
}

#[test]
fn reports_of_a_run_cut_by_its_deadline_validate_and_say_what_did_not_run() {
    let report_schema = validator(&shipped("report"));
    let gradescope_schema = validator(&read_json(
        &root().join("suite/data/gradescope-results.schema.json"),
    ));
    let dir = tempfile::tempdir().expect("temp dir");
    let json = dir.path().join("report.json");
    let gradescope = dir.path().join("results.json");
    runner()
        .args(["--deadline", "300ms", "--report-json"])
        .arg(&json)
        .arg("--report-gradescope")
        .arg(&gradescope)
        .output()
        .expect("runner runs");
    let report = read_json(&json);
    assert_valid(&report_schema, &report, "report.json");
    let results = read_json(&gradescope);
    assert_valid(&gradescope_schema, &results, "results.json");
    let not_run = report["summary"]["not_run"].as_u64().expect("not_run");
    assert!(not_run > 0, "300ms is too short for every bundled spec");
    let skipped: Vec<&Value> = results["tests"]
        .as_array()
        .expect("tests")
        .iter()
        .filter(|t| {
            t["output"]
                .as_str()
                .is_some_and(|o| o.contains("**not run:**"))
        })
        .collect();
    assert_eq!(skipped.len() as u64, not_run, "{results:#}");
    for test in skipped {
        assert_eq!(test["score"], 0);
        assert_eq!(test["status"], "failed");
        assert!(
            test["output"]
                .as_str()
                .unwrap_or("")
                .contains("the time for the whole run ran out"),
            "says why: {test:#}"
        );
    }
    assert!(results["execution_time"].is_f64());
}

#[test]
fn every_bundled_spec_validates_against_the_spec_schema() {
    let schema = validator(&shipped("spec"));
    let mut count = 0;
    for entry in std::fs::read_dir(root().join("specs")).expect("specs/") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "yaml") {
            let text = std::fs::read_to_string(&path).expect("spec");
            assert_valid(&schema, &yaml_to_json(&text), &path.display().to_string());
            count += 1;
        }
    }
    assert!(count >= 8, "the bundled specs are in specs/");
}

/// The YAML blocks of specs/README.md: whole specs validate as specs, the
/// others are lists of steps (or one step) and validate as steps.
#[test]
fn the_examples_of_the_spec_reference_validate() {
    let spec_schema = shipped("spec");
    let whole = validator(&spec_schema);
    let step = validator(&serde_json::json!({
        "$schema": spec_schema["$schema"],
        "definitions": spec_schema["definitions"],
        "allOf": [{ "$ref": "#/definitions/RawStep" }],
    }));
    let readme = std::fs::read_to_string(root().join("specs/README.md")).expect("README");
    let mut blocks = 0;
    for block in readme.split("```yaml\n").skip(1) {
        let text = block.split("```").next().expect("a closed block");
        let value = yaml_to_json(text);
        match &value {
            Value::Object(map) if map.contains_key("spec") => {
                assert_valid(&whole, &value, text);
            }
            Value::Array(steps) => {
                for item in steps {
                    assert_valid(&step, item, text);
                }
            }
            other => panic!("an example that is neither a spec nor steps: {other:#}"),
        }
        blocks += 1;
    }
    assert!(blocks > 10, "the reference has its examples");
}

/// A small spec valid in every respect, and variants that each change one
/// thing: the schema and `runner check` say the same of each.
#[test]
fn the_spec_schema_and_the_loader_agree() {
    const BASE: &str = "spec: sample
title: Sample
target: { role: server, transport: tcp, reference: upper-server }
cases:
  - id: one
    steps:
      - connect: a
      - send: { on: a, text: \"hi\" }
      - recv: { on: a, text: \"HI\" }
";
    let with = |from: &str, to: &str| {
        assert!(BASE.contains(from), "{from}");
        BASE.replacen(from, to, 1)
    };
    let variants: Vec<(&str, String)> = vec![
        ("base", BASE.to_string()),
        ("unknown top-level key", format!("{BASE}color: red\n")),
        ("unknown step key", with("text: \"hi\"", "txt: \"hi\"")),
        ("unknown step", with("- send:", "- sedn:")),
        (
            "unknown case key",
            with("- id: one", "- id: one\n    colour: red"),
        ),
        (
            "long-form connect",
            with("connect: a", "connect: { on: a, timeout: 1s 500ms }"),
        ),
        (
            "bare alive",
            with(
                "      - connect: a\n",
                "      - connect: a\n      - alive\n",
            ),
        ),
        ("connect: number", with("connect: a", "connect: 1")),
        (
            "stdin: number",
            with(
                "      - connect: a\n",
                "      - connect: a\n      - stdin: 42\n",
            ),
        ),
        (
            "stdin line",
            with(
                "      - connect: a\n",
                "      - connect: a\n      - stdin: \"x\"\n",
            ),
        ),
        ("hex", with("text: \"hi\" }", "hex: \"68 69\" }")),
        ("odd hex", with("text: \"hi\" }", "hex: \"686\" }")),
        ("not hex", with("text: \"hi\" }", "hex: \"zz\" }")),
        (
            "duration",
            with("on: a, text: \"HI\"", "on: a, text: \"HI\", timeout: 1.5s"),
        ),
        (
            "bare number duration",
            with("on: a, text: \"HI\"", "on: a, text: \"HI\", timeout: 2"),
        ),
        (
            "duration without unit",
            with("on: a, text: \"HI\"", "on: a, text: \"HI\", timeout: \"2\""),
        ),
        (
            "negative duration",
            with("on: a, text: \"HI\"", "on: a, text: \"HI\", timeout: -1s"),
        ),
        (
            "unknown unit",
            with(
                "on: a, text: \"HI\"",
                "on: a, text: \"HI\", timeout: 2 parsecs",
            ),
        ),
        ("bad role", with("role: server", "role: daemon")),
        (
            "bad reference",
            with("reference: upper-server", "reference: nobody"),
        ),
        ("bad case id", with("id: one", "id: \"one two\"")),
        ("points", with("- id: one", "- id: one\n    points: 3")),
        (
            "negative points",
            with("- id: one", "- id: one\n    points: -1"),
        ),
        ("no about", with("    steps:", "    steps:")),
        (
            "hidden",
            with("- id: one", "- id: one\n    visibility: hidden"),
        ),
        (
            "after_due_date",
            with("- id: one", "- id: one\n    visibility: after_due_date"),
        ),
        (
            "bad visibility",
            with("- id: one", "- id: one\n    visibility: secret"),
        ),
        (
            "memory",
            with(
                "reference: upper-server",
                "reference: upper-server, limits: { memory: 512MiB }",
            ),
        ),
        (
            "bad memory",
            with(
                "reference: upper-server",
                "reference: upper-server, limits: { memory: lots }",
            ),
        ),
        (
            "no cases",
            "spec: sample\ntitle: Sample\ntarget: { role: server, transport: tcp }\ncases: []\n"
                .to_string(),
        ),
        (
            "repeat 0",
            with("text: \"hi\" }", "text: \"hi\", repeat: 0 }"),
        ),
    ];
    // Every variant needs `about` except the one that drops it.
    let variants: Vec<(&str, String)> = variants
        .into_iter()
        .map(|(name, text)| {
            let text = if name == "no about" {
                text
            } else {
                text.replacen("    steps:", "    about: says hi\n    steps:", 1)
            };
            (name, text)
        })
        .collect();
    let schema = validator(&shipped("spec"));
    let dir = tempfile::tempdir().expect("temp dir");
    let mut files = Vec::new();
    for (index, (_, text)) in variants.iter().enumerate() {
        let path = dir.path().join(format!("variant-{index}.yaml"));
        std::fs::write(&path, text).expect("write");
        files.push(path);
    }
    let output = runner()
        .arg("check")
        .args(&files)
        .output()
        .expect("runner runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    for ((name, text), path) in variants.iter().zip(&files) {
        let loads = stdout.contains(&format!("ok  {}:", path.display()));
        let problems = problems(&schema, &yaml_to_json(text));
        assert_eq!(
            problems.is_empty(),
            loads,
            "{name}: the loader says {}, the schema {}\n{text}\nloader: {stderr}\nschema: {problems}",
            if loads { "ok" } else { "no" },
            if problems.is_empty() { "ok" } else { "no" },
        );
    }
    assert!(stderr.contains("unknown value `secret`, expected one of `visible`, `hidden`, `after_due_date`, `after_published`"), "{stderr}");
}

#[test]
fn a_bad_visibility_is_an_error_at_its_place() {
    let dir = tempfile::tempdir().expect("temp dir");
    let text = std::fs::read_to_string(spec("tcp-upper-server")).expect("spec");
    let bad = text.replacen(
        "  - id: greeting\n",
        "  - id: greeting\n    visibility: private\n",
        1,
    );
    assert_ne!(bad, text, "the spec has a greeting case");
    let path = dir.path().join("bad.yaml");
    std::fs::write(&path, &bad).expect("write");
    let line = bad
        .lines()
        .position(|l| l.contains("visibility: private"))
        .expect("the line")
        + 1;
    let output = runner()
        .arg("check")
        .arg(&path)
        .output()
        .expect("runner runs");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!("bad.yaml:{line}:17: unknown value `private`")),
        "{stderr}"
    );
}

#[test]
fn a_hidden_case_is_hidden_in_gradescope_results() {
    let dir = tempfile::tempdir().expect("temp dir");
    let text = std::fs::read_to_string(spec("tcp-upper-server")).expect("spec");
    let hidden = text
        .replacen(
            "  - id: greeting\n",
            "  - id: greeting\n    visibility: hidden\n",
            1,
        )
        .replacen(
            "  - id: split-message\n",
            "  - id: split-message\n    visibility: after_published\n",
            1,
        );
    let path = dir.path().join("hidden.yaml");
    std::fs::write(&path, &hidden).expect("write");
    let output = runner()
        .arg(&path)
        .args(["--tag", "all", "--format", "gradescope"])
        .output()
        .expect("runner runs");
    assert_eq!(
        output.status.code(),
        Some(1),
        "split-message fails the reference"
    );
    let results: Value = serde_json::from_slice(&output.stdout).expect("results.json");
    let visibility = |name: &str| {
        results["tests"]
            .as_array()
            .expect("tests")
            .iter()
            .find(|t| t["name"] == format!("tcp-upper-server/{name}"))
            .unwrap_or_else(|| panic!("{name} in {results:#}"))["visibility"]
            .clone()
    };
    assert_eq!(visibility("greeting"), "hidden");
    assert_eq!(visibility("split-message"), "after_published");
    assert_eq!(visibility("mixed-text"), "visible");
    let split = results["tests"]
        .as_array()
        .expect("tests")
        .iter()
        .find(|t| t["name"] == "tcp-upper-server/split-message")
        .expect("split-message");
    assert_eq!(split["tags"], serde_json::json!(["beyond-handout"]));
}

#[test]
fn a_hidden_case_of_a_spec_read_from_stdin_is_hidden_too() {
    let text = std::fs::read_to_string(spec("tcp-upper-server")).expect("spec");
    let hidden = text.replacen(
        "  - id: greeting\n",
        "  - id: greeting\n    visibility: hidden\n",
        1,
    );
    let output = runner()
        .args(["-", "--case", "greeting", "--format", "gradescope"])
        .write_stdin(hidden)
        .output()
        .expect("runner runs");
    assert_eq!(output.status.code(), Some(0));
    let results: Value = serde_json::from_slice(&output.stdout).expect("results.json");
    assert_eq!(results["tests"][0]["visibility"], "hidden", "{results:#}");
}
