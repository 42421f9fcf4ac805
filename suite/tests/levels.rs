//! A case's `level`: an informational case runs and is reported with its
//! evidence in every format, and counts in neither the verdict (the exit
//! code, JUnit failures, TAP) nor the points.

mod common;

use common::*;

/// The loop fixture, decoding the bytes as UTF-8 text as a reasonable
/// program in a text-minded language does: bytes that are not UTF-8 come
/// back as U+FFFD, which only the informational `any-bytes` case sends.
fn text_minded_server(dir: &std::path::Path) -> String {
    let original = std::fs::read_to_string(root().join("fixtures/python/upper_server_loop.py"))
        .expect("fixture");
    let changed = original.replace(
        "conn.sendall(data.upper())",
        "conn.sendall(data.decode('utf-8', 'replace').upper().encode())",
    );
    assert_ne!(changed, original, "the fixture's reply line");
    let path = dir.join("server.py");
    std::fs::write(&path, changed).expect("write");
    path.display().to_string()
}

#[test]
fn an_informational_case_is_reported_and_counts_in_neither_verdict_nor_points() {
    let dir = world_readable_tempdir();
    let server = text_minded_server(dir.path());
    let args = |format: &str| {
        let mut run = runner();
        run.args([
            &spec("tcp-upper-server-loop"),
            "--target",
            &server,
            "--addr",
            "127.1.1.1:8900",
            "--format",
            format,
        ]);
        run
    };
    let json = finish(args("json"), &[]);
    assert_eq!(json.code, 0, "{}", json.everything());
    let report = json.report();
    let any_bytes = report["results"]
        .as_array()
        .expect("results")
        .iter()
        .find(|r| r["case"] == "any-bytes")
        .expect("the any-bytes case")
        .clone();
    assert_eq!(any_bytes["verdict"], "fail", "{any_bytes:#}");
    assert_eq!(any_bytes["level"], "informational");
    assert_eq!(any_bytes["max_points"], 0);
    assert!(
        any_bytes["failure"].is_object(),
        "evidence kept: {any_bytes:#}"
    );
    assert_eq!(report["summary"]["failed"], 0, "{:#}", report["summary"]);
    assert_eq!(report["summary"]["points"], report["summary"]["max_points"]);

    let human = finish(args("human"), &[]);
    assert_eq!(human.code, 0, "{}", human.everything());
    assert!(
        human.stdout.contains("1 informational (1 not passed)"),
        "{}",
        human.stdout
    );
    assert!(human
        .stdout
        .contains("counts in neither the verdict nor the points"));

    let junit = finish(args("junit"), &[]);
    assert_eq!(junit.code, 0);
    assert!(junit
        .stdout
        .contains("<skipped message=\"informational, not counted: "));
    assert!(!junit.stdout.contains("<failure"), "{}", junit.stdout);

    let tap = finish(args("tap"), &[]);
    assert_eq!(tap.code, 0);
    assert!(
        tap.stdout
            .contains("- tcp-upper-server-loop/any-bytes # TODO informational"),
        "{}",
        tap.stdout
    );
}

#[test]
fn an_informational_case_with_points_is_refused() {
    let dir = world_readable_tempdir();
    let path = dir.path().join("spec.yaml");
    let text = std::fs::read_to_string(root().join("specs/tcp-upper-server-loop.yaml"))
        .expect("spec")
        .replace(
            "    level: informational\n",
            "    level: informational\n    points: 2\n",
        );
    std::fs::write(&path, text).expect("write");
    let checked = finish(runner(), &["check", &path.display().to_string()]);
    assert_eq!(checked.code, 2, "{}", checked.everything());
    assert!(
        checked
            .stderr
            .contains("an informational case counts in no points: leave `points` out"),
        "{}",
        checked.stderr
    );
}
