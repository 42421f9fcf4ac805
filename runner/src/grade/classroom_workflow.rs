//! `runner classroom-workflow`: the GitHub Actions workflow
//! (`.github/workflows/classroom.yml`) of a GitHub Classroom assignment's
//! template repository. Every student's repository runs it on each push:
//! it installs the runner and the toolchains, grades the repository once
//! per program of the assignment (a step per program, each writing
//! GitHub Classroom's autograding result), and hands the base64 results
//! to `classroom-resources/autograding-grading-reporter@v1` as
//! `<ID>_RESULTS` variables, one runner id per program. The reporter
//! prints each case and reports `Points N/M` to GitHub Classroom.
//!
//! The specs travel inside the workflow, so a student's repository needs
//! nothing else; the program steps are plain bash, run as they are by
//! the tests with the runner on PATH.

use crate::speclang::assignment::Assignment;
use serde::Serialize;
use std::collections::BTreeMap;

/// Where the runner comes from on GitHub's machines.
#[derive(Debug, Clone)]
pub enum Install {
    /// `cargo install --git URL runner`.
    Git(String),
    /// A release binary (Linux x86-64) downloaded with curl.
    Binary(String),
}

/// The placeholder for the repository of the runner, to be replaced.
pub const GIT_PLACEHOLDER: &str = "https://github.com/YOUR-ORG/socket-conformance";

#[derive(Serialize)]
struct Workflow {
    name: &'static str,
    #[serde(rename = "on")]
    on: Vec<&'static str>,
    permissions: BTreeMap<&'static str, &'static str>,
    jobs: BTreeMap<&'static str, Job>,
}

#[derive(Serialize)]
struct Job {
    #[serde(rename = "runs-on")]
    runs_on: &'static str,
    #[serde(rename = "if")]
    condition: &'static str,
    #[serde(rename = "timeout-minutes")]
    timeout_minutes: u32,
    steps: Vec<Step>,
}

#[derive(Serialize, Default)]
struct Step {
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    uses: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    env: BTreeMap<String, String>,
    #[serde(rename = "with", skip_serializing_if = "BTreeMap::is_empty")]
    with: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    run: Option<String>,
}

/// The step id (and runner id) of a program: its spec's name in letters
/// and digits only. The reporter reads `<ID>_RESULTS` for each id of its
/// `runners` input, and refuses an input that is not a comma-separated
/// list of letters and digits (`^([a-zA-Z0-9]+,)*[a-zA-Z0-9]+$` in
/// autograding-grading-reporter's `src/main.js`).
pub fn runner_id(spec_name: &str) -> String {
    let mut id: String = spec_name
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    if !id.starts_with(|c: char| c.is_ascii_alphabetic()) {
        id.insert(0, 'p');
    }
    id
}

/// A heredoc delimiter that is no line of `text`.
fn delimiter(base: &str, text: &str) -> String {
    let mut delimiter = base.to_string();
    while text.lines().any(|line| line == delimiter) {
        delimiter.push('_');
    }
    delimiter
}

/// The workflow's YAML.
pub fn render(assignment: &Assignment, install: &Install) -> String {
    let mut steps = vec![
        Step {
            name: String::from("Checkout code"),
            uses: Some(String::from("actions/checkout@v4")),
            ..Default::default()
        },
        Step {
            name: String::from("Install the toolchains"),
            id: Some(String::from("toolchains")),
            run: Some(format!(
                "sudo apt-get update -q\nsudo apt-get install -y -q --no-install-recommends {}\n",
                super::bundle::packages(assignment).join(" ")
            )),
            ..Default::default()
        },
        install_step(install),
    ];
    let mut ids = Vec::new();
    for program in &assignment.programs {
        let id = runner_id(&program.spec.name);
        let mut single = Assignment {
            name: assignment.name.clone(),
            programs: Vec::new(),
            packages: assignment.packages.clone(),
        };
        single.programs.push(crate::speclang::assignment::Program {
            spec: program.spec.clone(),
            file: program.file.clone(),
            addr: program.addr,
            build: program.build.clone(),
            run: program.run.clone(),
        });
        let assignment_text = super::bundle::assignment_file(&single);
        let spec_text = &program.spec.text;
        let spec_end = delimiter("RUNNER_SPEC_END", spec_text);
        let assignment_end = delimiter("RUNNER_ASSIGNMENT_END", &assignment_text);
        let max: u32 = program
            .spec
            .cases
            .iter()
            .filter(|c| c.level != crate::speclang::Level::Informational && c.tags.is_empty())
            .map(|c| c.points)
            .sum();
        let name = &program.spec.name;
        let script = format!(
            r#"# Grades this repository's {file} against {name}; the result,
# GitHub Classroom's autograding JSON, goes to the reporter in base64.
set -u
work="${{RUNNER_TEMP:-/tmp}}/runner-{id}"
rm -rf "$work"
mkdir -p "$work/specs" "$work/class/student"
cat > "$work/specs/{name}.yaml" <<'{spec_end}'
{spec_text}
{spec_end}
cat > "$work/assignment.yaml" <<'{assignment_end}'
{assignment_text}
{assignment_end}
# The student's files, without .git (hidden files are not graded).
tar -C "${{GITHUB_WORKSPACE:-.}}" --exclude=./.git -cf - . | tar -C "$work/class/student" -xf -
# As root where sudo allows it: the sandbox needs namespaces.
runner=(runner)
if [ "$(id -u)" != 0 ] && sudo -n true 2>/dev/null; then
    runner=(sudo -n "$(command -v runner)")
fi
"${{runner[@]}}" grade "$work/assignment.yaml" --submissions "$work/class" \
    --out "$work/out" --layout plain --jobs 1 > "$work/grade.log" 2>&1
status=$?
result="$work/out/student/classroom.json"
if [ ! -s "$result" ]; then
    cat "$work/grade.log" >&2
    result="$work/error.json"
    printf '{{"version": 1, "status": "error", "max_score": {max}, "tests": [{{"name": "{name}", "status": "error", "score": 0, "message": "the runner could not grade this repository (exit code %s); see the log of this step", "test_code": "runner grade", "filename": "", "line_no": 0, "duration": 0}}]}}\n' "$status" > "$result"
else
    cat "$work/out/student/report.txt"
fi
echo "result=$(base64 -w0 < "$result")" >> "${{GITHUB_OUTPUT:-/dev/null}}"
"#,
            file = program.file.as_str(),
        );
        steps.push(Step {
            name: format!("{name} ({})", program.file.as_str()),
            id: Some(id.clone()),
            run: Some(script),
            ..Default::default()
        });
        ids.push(id);
    }
    let env = ids
        .iter()
        .map(|id| {
            (
                format!("{}_RESULTS", id.to_ascii_uppercase()),
                format!("${{{{ steps.{id}.outputs.result }}}}"),
            )
        })
        .collect();
    steps.push(Step {
        name: String::from("Autograding Reporter"),
        uses: Some(String::from(
            "classroom-resources/autograding-grading-reporter@v1",
        )),
        env,
        with: BTreeMap::from([(String::from("runners"), ids.join(","))]),
        ..Default::default()
    });
    let workflow = Workflow {
        name: "Autograding Tests",
        on: vec!["push", "repository_dispatch"],
        permissions: BTreeMap::from([
            ("checks", "write"),
            ("actions", "read"),
            ("contents", "read"),
        ]),
        jobs: BTreeMap::from([(
            "run-autograding-tests",
            Job {
                runs_on: "ubuntu-latest",
                condition: "github.actor != 'github-classroom[bot]'",
                timeout_minutes: 30,
                steps,
            },
        )]),
    };
    let yaml = serde_yaml::to_string(&workflow).unwrap_or_default();
    format!(
        "# GitHub Classroom autograding for {}, written by `runner classroom-workflow`.\n\
         # Put it in the template repository as .github/workflows/classroom.yml.\n{yaml}",
        assignment.name
    )
}

fn install_step(install: &Install) -> Step {
    let run = match install {
        Install::Git(url) => format!(
            "# The runner, built from its repository ({url}: replace it with yours).\n\
             cargo install --locked --git {} runner\n",
            shell_words::quote(url)
        ),
        Install::Binary(url) => format!(
            "# The runner, a static Linux x86-64 binary ({url}).\n\
             mkdir -p \"$HOME/.local/bin\"\n\
             curl -fsSL -o \"$HOME/.local/bin/runner\" {}\n\
             chmod +x \"$HOME/.local/bin/runner\"\n\
             echo \"$HOME/.local/bin\" >> \"$GITHUB_PATH\"\n",
            shell_words::quote(url)
        ),
    };
    Step {
        name: String::from("Install the runner"),
        id: Some(String::from("install-runner")),
        run: Some(run),
        ..Default::default()
    }
}
