//! `runner mutate`: a spec's strength measured with mutants of its
//! reference, the bundled one or a teacher's program given with --target.

mod common;

use common::{private_loopback_ip, runner, spec, student_program};
use serde_json::Value;
use std::collections::BTreeMap;

/// Runs `runner mutate ARGS --format json`: the exit code and the report.
fn mutate_json(args: &[&str]) -> (i32, Value) {
    let output = runner()
        .arg("mutate")
        .args(args)
        .args(["--format", "json"])
        .output()
        .expect("runner runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let report = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "no JSON report ({e}); stdout: {stdout}\nstderr: {}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    (output.status.code().expect("exits normally"), report)
}

/// mutant id -> the mutant's entry.
fn mutants(report: &Value) -> BTreeMap<String, Value> {
    report["mutants"]
        .as_array()
        .expect("mutants is an array")
        .iter()
        .map(|m| (m["id"].as_str().expect("id").to_string(), m.clone()))
        .collect()
}

fn ids(value: &Value) -> Vec<String> {
    value
        .as_array()
        .expect("a list of case ids")
        .iter()
        .map(|id| id.as_str().expect("a case id").to_string())
        .collect()
}

/// mutant id -> the cases that kill it.
fn kills(report: &Value) -> BTreeMap<String, Vec<String>> {
    mutants(report)
        .into_iter()
        .map(|(id, m)| (id, ids(&m["killed_by"])))
        .collect()
}

#[test]
fn the_upper_server_spec_kills_faults_and_passes_harmless_variations() {
    let (_, report) = mutate_json(&["tcp-upper-server"]);
    assert_eq!(report["spec"], "tcp-upper-server");
    let all = mutants(&report);
    for mutant in all.values() {
        let kind = mutant["kind"].as_str().expect("kind");
        assert!(kind == "fault" || kind == "harmless", "{mutant}");
        assert!(!mutant["about"].as_str().expect("about").is_empty());
        // A cascade is a kill that came before the case's own check.
        let killed = ids(&mutant["killed_by"]);
        assert!(ids(&mutant["cascade"]).iter().all(|c| killed.contains(c)));
    }
    let kills = kills(&report);
    // One bug, the cases about it: the echo fails the cases on the
    // reply's bytes, and not the close or the fresh start.
    assert_eq!(
        kills["echo"],
        ["greeting", "mixed-text", "utf8-text", "full-buffer"],
        "{kills:?}"
    );
    assert_eq!(kills["never-closes"], ["closes-after-reply"], "{kills:?}");
    assert_eq!(
        kills["reset-not-close"],
        ["closes-after-reply"],
        "{kills:?}"
    );
    assert!(ids(&all["echo"]["cascade"]).is_empty());
    assert!(ids(&all["never-closes"]["cascade"]).is_empty());
    assert_eq!(all["never-replies"]["breaks_exchange"], true);
    assert_eq!(all["echo"]["breaks_exchange"], false);
    for harmless in ["byte-by-byte", "delayed"] {
        assert_eq!(all[harmless]["kind"], "harmless");
        assert_eq!(all[harmless]["applied"], true, "{harmless} changed nothing");
        assert!(kills[harmless].is_empty(), "{harmless}: {kills:?}");
    }
    // A mutant for an interactive client is not run against a server.
    assert!(!all.contains_key("stdin-not-sent"));
    let faults_applied = all
        .values()
        .filter(|m| m["kind"] == "fault" && m["applied"] == true)
        .count();
    let faults_killed = all
        .values()
        .filter(|m| m["kind"] == "fault" && m["applied"] == true)
        .filter(|m| !ids(&m["killed_by"]).is_empty())
        .count();
    assert_eq!(report["total"], faults_applied);
    assert_eq!(report["killed"], faults_killed);
}

const GREETING_ONLY: &str = r#"
spec: greeting-only
title: TCP upper-case server, its greeting only
target:
  role: server
  transport: tcp
  reference: upper-server
  restart: per-case
defaults:
  timeout: 2s
cases:
  - id: greeting
    about: replies to "hello" with "HELLO"
    steps:
      - connect: a
      - send: { on: a, text: "hello" }
      - recv: { on: a, text: "HELLO" }
"#;

#[test]
fn a_spec_cut_to_its_greeting_lets_faults_survive() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("greeting-only.yaml");
    std::fs::write(&path, GREETING_ONLY).expect("temp dir is writable");
    let (code, report) = mutate_json(&[&path.display().to_string()]);
    assert_eq!(code, 1, "{report:#}");
    let all = mutants(&report);
    let survives = |id: &str| all[id]["applied"] == true && ids(&all[id]["killed_by"]).is_empty();
    assert!(survives("never-closes"), "{report:#}");
    assert!(survives("reply-twice"), "{report:#}");
    assert_eq!(ids(&all["echo"]["killed_by"]), ["greeting"]);
    assert!(report["killed"].as_u64() < report["total"].as_u64());

    let human = runner()
        .args(["mutate", &path.display().to_string()])
        .output()
        .expect("runner runs");
    let text = String::from_utf8_lossy(&human.stdout);
    assert_eq!(human.status.code(), Some(1));
    // Surviving faults come first, each with what it does.
    let first_row = text
        .lines()
        .find(|l| l.starts_with("SURVIVES") || l.starts_with("killed"))
        .expect("a row per mutant");
    assert!(first_row.starts_with("SURVIVES"), "{text}");
    assert!(
        text.lines().any(|l| l.starts_with("SURVIVES")
            && l.contains("never-closes")
            && l.contains("never closes a connection")),
        "{text}"
    );
}

#[test]
fn a_teachers_program_gives_the_same_kills_as_the_reference() {
    let (_, reference) = mutate_json(&["tcp-upper-server"]);
    let dir = tempfile::tempdir().expect("temp dir");
    let ip = private_loopback_ip();
    let program = student_program("python/upper_server.py", dir.path(), "127.1.1.1", &ip);
    let addr = format!("{ip}:8900");
    let (_, teachers) = mutate_json(&[
        &spec("tcp-upper-server"),
        "--target",
        &program.display().to_string(),
        "--addr",
        &addr,
    ]);
    assert_eq!(kills(&teachers), kills(&reference), "{teachers:#}");
    assert_eq!(teachers["killed"], reference["killed"]);
}

/// Every bundled spec against its reference: every fault that applies is
/// killed, none by a case whose requirement is not about it (a cascade;
/// faults that break every exchange aside, as no spec can reach a check
/// without one), and no harmless variation is; `runner mutate` then
/// exits 0.
#[test]
fn every_bundled_spec_kills_its_faults_without_cascade_and_passes_harmless_variations() {
    let mut names: Vec<String> = std::fs::read_dir(common::root().join("specs"))
        .expect("specs/")
        .filter_map(|e| {
            let name = e.expect("entry").file_name().to_string_lossy().into_owned();
            name.strip_suffix(".yaml").map(String::from)
        })
        .collect();
    names.sort();
    assert_eq!(names.len(), 9, "{names:?}");
    for name in names {
        let (code, report) = mutate_json(&[&name]);
        assert_eq!(
            report["baseline_failures"].as_array().map(Vec::len),
            Some(0),
            "{name}: the reference passes its spec: {report:#}"
        );
        for (id, mutant) in mutants(&report) {
            let killed = ids(&mutant["killed_by"]);
            match mutant["kind"].as_str() {
                Some("fault") if mutant["applied"] == true => {
                    assert!(!killed.is_empty(), "{name}: fault {id} survives");
                    if mutant["breaks_exchange"] == false {
                        assert!(
                            ids(&mutant["cascade"]).is_empty(),
                            "{name}: fault {id} cascades into {}",
                            mutant["cascade"]
                        );
                    }
                }
                Some("harmless") => {
                    assert!(killed.is_empty(), "{name}: harmless {id} fails {killed:?}");
                }
                _ => {}
            }
        }
        assert_eq!(report["strong"], true, "{name}: {report:#}");
        assert_eq!(code, 0, "{name}");
    }
}

/// A server that spins after a disconnect is killed by the case that
/// measures its CPU then, and the page shows the same matrix.
#[test]
fn spinning_after_a_disconnect_is_killed_by_the_idle_case_and_the_page_shows_it() {
    let args = [
        "tcp-upper-server-loop",
        "--case",
        "no-spin-after-disconnect",
        "--case",
        "greeting",
    ];
    let (code, report) = mutate_json(&args);
    assert_eq!(code, 0, "{report:#}");
    let all = mutants(&report);
    assert_eq!(
        ids(&all["spins-after-disconnect"]["killed_by"]),
        ["no-spin-after-disconnect"],
        "{report:#}"
    );
    assert!(ids(&all["spins-after-disconnect"]["cascade"]).is_empty());

    let page = runner()
        .arg("mutate")
        .args(args)
        .args(["--format", "html"])
        .output()
        .expect("runner runs");
    assert_eq!(page.status.code(), Some(0));
    let html = String::from_utf8_lossy(&page.stdout);
    assert!(html.starts_with("<!DOCTYPE html>"), "{html}");
    assert!(html.contains("<table class=\"mutants\">"), "{html}");
    let row = html
        .split("<tr")
        .find(|r| r.contains("spins-after-disconnect"))
        .expect("a row for the spinning mutant");
    // Cases in spec order: the greeting passes it, the idle case kills it.
    assert!(
        row.contains("<td class=\"cell\">.</td><td class=\"cell\">K</td>"),
        "{row}"
    );
}
