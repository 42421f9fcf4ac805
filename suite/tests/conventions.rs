//! The command-line conventions users bring from other tools: shell
//! completions and a man page, machine-readable listings, repeatable
//! --case and --skip, `-` for stdin, NO_COLOR and CLICOLOR_FORCE, a
//! distinct exit code for a run in which nothing ran, and a status line
//! only on a terminal.

mod common;

use common::*;
use predicates::prelude::*;
use serde_json::Value;
use std::collections::BTreeSet;

fn stdout_of(args: &[&str]) -> String {
    let assert = runner().args(args).assert().code(0);
    String::from_utf8_lossy(&assert.get_output().stdout).into_owned()
}

#[test]
fn completions_for_bash_zsh_and_fish_know_the_commands_and_flags() {
    for shell in ["bash", "zsh", "fish"] {
        let script = stdout_of(&["completions", shell]);
        for word in ["grade", "list", "completions", "man", "skip", "deadline"] {
            assert!(
                script.contains(word),
                "{shell} completions do not mention {word}:\n{script}"
            );
        }
    }
    runner()
        .args(["completions", "tcsh"])
        .assert()
        .code(2)
        .stdout(predicate::str::is_empty());
}

#[test]
fn man_prints_a_roff_page_for_runner_and_for_each_command() {
    let page = stdout_of(&["man"]);
    assert!(
        page.lines().any(|l| l.starts_with(".TH runner 1 ")),
        "{page}"
    );
    for section in [".SH NAME", ".SH SYNOPSIS", ".SH OPTIONS", ".SH SUBCOMMANDS"] {
        assert!(page.contains(section), "no {section}:\n{page}");
    }
    assert!(page.contains("Exit codes"), "{page}");
    let grade = stdout_of(&["man", "grade"]);
    assert!(
        grade.lines().any(|l| l.starts_with(".TH runner\\-grade 1 ")
            || l.starts_with(".TH runner-grade 1 ")),
        "{grade}"
    );
    assert!(grade.contains("submissions"), "{grade}");
    runner()
        .args(["man", "no-such-command"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("commands: grade"));
}

#[test]
fn list_as_json_has_every_case_marked_selected_or_not() {
    let text = stdout_of(&[
        "list",
        "tcp-upper-server",
        "--format",
        "json",
        "--case",
        "greeting",
        "--case",
        "*-text",
        "--skip",
        "utf8-*",
    ]);
    let list: Value = serde_json::from_str(&text).expect("list --format json is JSON");
    assert_eq!(list["version"], 1);
    let specs = list["specs"].as_array().expect("specs");
    assert_eq!(specs.len(), 1);
    let spec = &specs[0];
    assert_eq!(spec["name"], "tcp-upper-server");
    assert_eq!(spec["source"], "bundled:tcp-upper-server.yaml");
    assert!(!spec["title"].as_str().expect("title").is_empty());
    let cases = spec["cases"].as_array().expect("cases");
    assert_eq!(cases.len(), 7, "every case, selected or not");
    let mut selected = Vec::new();
    for case in cases {
        assert!(case["points"].as_u64().is_some(), "{case}");
        assert!(case["about"].as_str().is_some(), "{case}");
        assert!(case["tags"].as_array().is_some(), "{case}");
        if case["selected"].as_bool().expect("selected is a boolean") {
            selected.push(case["id"].as_str().expect("id"));
        }
    }
    assert_eq!(selected, ["greeting", "mixed-text"]);
}

fn cases_run(args: &[&str]) -> BTreeSet<String> {
    let (code, report) = run_json(args);
    assert_eq!(code, 0, "{report:#}");
    verdicts(&report).into_keys().collect()
}

#[test]
fn several_case_patterns_run_each_match_and_skip_leaves_out() {
    assert_eq!(
        cases_run(&["tcp-upper-server", "--case", "greeting", "--case", "full-*"]),
        BTreeSet::from(["greeting".to_string(), "full-buffer".to_string()])
    );
    assert_eq!(
        cases_run(&[
            "tcp-upper-server",
            "--case",
            "greeting",
            "--case",
            "full-*",
            "--skip",
            "tcp-upper-server/greeting",
        ]),
        BTreeSet::from(["full-buffer".to_string()])
    );
    let all = cases_run(&["tcp-upper-server"]);
    let without = cases_run(&["tcp-upper-server", "--skip", "*-text", "--skip", "fresh-*"]);
    assert_eq!(without.len(), all.len() - 3, "{without:?}");
    assert!(!without.iter().any(|c| c.ends_with("-text")), "{without:?}");
    // Skipping everything is a typo, not an empty run.
    runner()
        .args(["tcp-upper-server", "--skip", "*"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no case matches"));
    // runner grade takes the same flags.
    runner()
        .args(["grade", "--help"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("--skip <PATTERN>"));
}

#[test]
fn a_dash_reads_one_spec_from_stdin() {
    let spec = stdout_of(&["show", "tcp-upper-server"]);
    let output = runner()
        .args(["-", "--case", "greeting", "--format", "json"])
        .write_stdin(spec.clone())
        .output()
        .expect("runner runs");
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let report: Value = serde_json::from_slice(&output.stdout).expect("JSON report");
    let results = report["results"].as_array().expect("results");
    assert_eq!(results.len(), 1, "{report:#}");
    assert_eq!(results[0]["case"], "greeting");
    assert_eq!(results[0]["spec_file"], "<stdin>");

    runner()
        .args(["list", "-"])
        .write_stdin(spec.clone())
        .assert()
        .code(0)
        .stdout(predicate::str::contains("tcp-upper-server (<stdin>)"));
    runner()
        .args(["check", "-"])
        .write_stdin(spec.clone())
        .assert()
        .code(0)
        .stdout(predicate::str::contains(
            "ok  <stdin>: spec tcp-upper-server",
        ));

    // A broken spec on stdin is placed at <stdin>:line:column.
    let broken = "spec: broken\ntitle: a spec with a typo\nbogus: 1\n";
    for command in [&["-"][..], &["check", "-"], &["list", "-"]] {
        runner()
            .args(command)
            .write_stdin(broken)
            .assert()
            .code(2)
            .stdout(predicate::str::is_empty())
            .stderr(predicate::str::contains(
                "<stdin>:3:1: unknown field `bogus`",
            ));
    }
    // stdin can be read once.
    runner()
        .args(["check", "-", "-"])
        .write_stdin(spec)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("may be given once"));
}

/// The human report of one quick case, with stdout a pipe and the colour
/// variables as given (the runner's own environment cleared of them).
fn report_colored(vars: &[(&str, &str)], flags: &[&str]) -> bool {
    let mut command = runner();
    command
        .args(["tcp-upper-server", "--case", "greeting"])
        .args(flags)
        .env_remove("NO_COLOR")
        .env_remove("CLICOLOR_FORCE");
    for (name, value) in vars {
        command.env(name, value);
    }
    let output = command.output().expect("runner runs");
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("PASS"), "{stdout}");
    stdout.contains('\u{1b}')
}

#[test]
fn colour_follows_no_color_clicolor_force_and_the_flag_wins() {
    assert!(!report_colored(&[], &[]), "a pipe gets no colour");
    assert!(report_colored(&[("CLICOLOR_FORCE", "1")], &[]));
    assert!(!report_colored(&[("CLICOLOR_FORCE", "0")], &[]));
    assert!(!report_colored(&[("CLICOLOR_FORCE", "")], &[]));
    // NO_COLOR counts only when set and not empty.
    assert!(report_colored(
        &[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "")],
        &[]
    ));
    assert!(!report_colored(
        &[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")],
        &[]
    ));
    assert!(report_colored(&[("NO_COLOR", "1")], &["--color", "always"]));
    assert!(!report_colored(
        &[("CLICOLOR_FORCE", "1")],
        &["--color", "never"]
    ));
}

#[test]
fn a_valid_run_in_which_no_case_ran_exits_4() {
    // The deadline passes before the first case can start.
    let (code, report) = run_json(&["tcp-upper-server", "--deadline", "1ns"]);
    assert_eq!(code, 4, "{report:#}");
    let verdicts = verdicts(&report);
    assert!(!verdicts.is_empty());
    assert!(
        verdicts.values().all(|(verdict, _)| verdict == "not_run"),
        "{verdicts:?}"
    );
    runner()
        .args(["tcp-upper-server", "--deadline", "1ns"])
        .assert()
        .code(4)
        .stdout(predicate::str::contains("nothing ran"));
    // A part of a partition that gets no case is a valid run of nothing...
    runner()
        .args([
            "tcp-upper-server",
            "--case",
            "greeting",
            "--partition",
            "2/2",
        ])
        .assert()
        .code(4)
        .stderr(predicate::str::contains("nothing to run"));
    // ...while a selection that matches nothing stays a usage error.
    runner()
        .args(["tcp-upper-server", "--case", "no-such-case"])
        .assert()
        .code(2);
    // Every exit code is documented, in --help and in the README.
    let help = stdout_of(&["--help"]);
    let readme = std::fs::read_to_string(root().join("README.md")).expect("README.md");
    for code in ["0", "1", "2", "4", "130"] {
        assert!(
            help.lines()
                .any(|l| l.trim_start().starts_with(&format!("{code} "))),
            "exit code {code} is not in --help:\n{help}"
        );
        assert!(
            readme.contains(&format!("`{code}`")),
            "exit code {code} is not in the README"
        );
    }
    assert!(readme.contains("`4` no case ran"), "README: exit code 4");
}

#[test]
fn no_status_line_on_stderr_when_it_is_not_a_terminal() {
    let output = runner()
        .args(["tcp-upper-server", "--format", "json"])
        .output()
        .expect("runner runs");
    assert_eq!(output.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("running "), "{stderr}");
    assert!(!stderr.contains('\r'), "{stderr}");
}

#[test]
fn a_status_line_shows_the_running_case_when_stderr_is_a_terminal() {
    // `script` (bsdutils, installed by scripts/test) gives the runner a
    // terminal; stdout still goes to a file, as when a report is redirected.
    let script = which("script").expect("`script` is installed (Debian package bsdutils)");
    let dir = tempfile::tempdir().expect("temp dir");
    let report = dir.path().join("report.tap");
    let runner = assert_cmd::cargo::cargo_bin("runner");
    let command = format!(
        "'{}' tcp-upper-server --format tap > '{}'",
        runner.display(),
        report.display()
    );
    let output = std::process::Command::new(script)
        .args(["-qec", &command, "/dev/null"])
        .output()
        .expect("script runs");
    assert!(output.status.success(), "{output:?}");
    let terminal = String::from_utf8_lossy(&output.stdout);
    assert!(
        terminal.contains("running tcp-upper-server/greeting (1/6)"),
        "{terminal:?}"
    );
    // Cleared at the end: the last thing on the terminal erases the line.
    assert!(terminal.trim_end().ends_with("\u{1b}[2K"), "{terminal:?}");
    let tap = std::fs::read_to_string(&report).expect("report");
    assert!(tap.starts_with("TAP version"), "{tap}");
    assert!(!tap.contains("running "), "{tap}");
}

fn which(name: &str) -> Result<std::path::PathBuf, ()> {
    let path = std::env::var_os("PATH").ok_or(())?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
        .ok_or(())
}
