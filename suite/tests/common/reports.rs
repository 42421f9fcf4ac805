//! One run written in every format at once, for tests that check that a
//! message reads the same wherever a student or a teacher meets it.

use super::{finish, runner};
use serde_json::Value;

/// Every report of one run: the human one from stdout, the others from
/// the files the run wrote.
pub struct EveryReport {
    pub code: i32,
    pub human: String,
    pub json: Value,
    pub junit: String,
    pub tap: String,
    pub gradescope: Value,
    pub html: String,
}

impl EveryReport {
    /// The formats read as people read them, by name: the human report,
    /// the JSON and Gradescope reports as text (JSON escapes decoded by
    /// re-serialising each string value), JUnit, TAP and HTML as written.
    pub fn texts(&self) -> Vec<(&'static str, String)> {
        vec![
            ("human", self.human.clone()),
            ("json", strings(&self.json).join("\n")),
            ("junit", self.junit.clone()),
            ("tap", self.tap.clone()),
            ("gradescope", strings(&self.gradescope).join("\n")),
            ("html", self.html.clone()),
        ]
    }
}

/// Every string value in `value`, depth first.
fn strings(value: &Value) -> Vec<String> {
    match value {
        Value::String(text) => vec![text.clone()],
        Value::Array(items) => items.iter().flat_map(strings).collect(),
        Value::Object(map) => map.values().flat_map(strings).collect(),
        _ => Vec::new(),
    }
}

/// Runs the runner with `args` and every report format, human on stdout
/// without colour.
pub fn every_report(args: &[&str]) -> EveryReport {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = |name: &str| dir.path().join(name).display().to_string();
    let mut all: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    for (flag, name) in [
        ("--report-json", "report.json"),
        ("--report-junit", "report.xml"),
        ("--report-tap", "report.tap"),
        ("--report-gradescope", "results.json"),
        ("--report-html", "report.html"),
    ] {
        all.push(flag.to_string());
        all.push(path(name));
    }
    all.extend(["--color", "never"].map(String::from));
    let refs: Vec<&str> = all.iter().map(String::as_str).collect();
    let finished = finish(runner(), &refs);
    let read = |name: &str| {
        std::fs::read_to_string(dir.path().join(name)).unwrap_or_else(|e| {
            panic!(
                "no {name} ({e}); stdout: {}\nstderr: {}",
                finished.stdout, finished.stderr
            )
        })
    };
    let json = |name: &str| -> Value {
        serde_json::from_str(&read(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
    };
    EveryReport {
        code: finished.code,
        human: finished.stdout.clone(),
        json: json("report.json"),
        junit: read("report.xml"),
        tap: read("report.tap"),
        gradescope: json("results.json"),
        html: read("report.html"),
    }
}
