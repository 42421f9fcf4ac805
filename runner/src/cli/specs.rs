//! `runner list`, `runner show` and `runner check`: looking at specs
//! without running anything.

use super::options::{
    load_specs, parse_partition, selection, stdin_at_most_once, SelectArgs, UsageError, STDIN_ARG,
};
use super::{EXIT_PASSED, EXIT_USAGE};
use crate::engine::Selection;
use crate::speclang::Spec;
use crate::text::count;
use std::path::Path;

#[derive(Debug, clap::Args)]
pub struct ListArgs {
    /// Spec files, folders of specs, or names of bundled specs [default: all bundled].
    #[arg(value_name = "SPEC", value_hint = clap::ValueHint::AnyPath)]
    pub specs: Vec<String>,

    #[command(flatten)]
    pub select: SelectArgs,

    /// Only part K of N of the selected cases, as a run with --partition.
    #[arg(long, value_name = "K/N", value_parser = parse_partition)]
    pub partition: Option<crate::partition::Partition>,

    /// `human`: the selected cases, one per line; `json`: every case, with
    /// `selected` true or false, for scripts.
    #[arg(long, value_enum, default_value_t = ListFormat::Human)]
    pub format: ListFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ListFormat {
    Human,
    Json,
}

#[derive(Debug, clap::Args)]
pub struct ShowArgs {
    /// Spec files or names of bundled specs [default: all bundled].
    #[arg(value_name = "SPEC", value_hint = clap::ValueHint::AnyPath)]
    pub specs: Vec<String>,
}

#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// Spec files, folders of specs, bundled names, or assignment files.
    #[arg(value_name = "FILE", required = true, value_hint = clap::ValueHint::AnyPath)]
    pub files: Vec<String>,
}

pub fn list(args: &ListArgs) -> Result<u8, UsageError> {
    let specs = load_specs(&args.specs)?;
    let spec_refs: Vec<&Spec> = specs.iter().collect();
    let mut selection = selection(&spec_refs, &args.select)?;
    selection.partition = args.partition;
    match args.format {
        ListFormat::Human => print_list(&specs, &selection),
        ListFormat::Json => println!("{}", list_json(&specs, &selection)),
    }
    Ok(EXIT_PASSED)
}

/// The specs and all their cases as JSON, each case marked selected or not:
/// `{"version": 1, "specs": [{"name", "source", "title", "cases": [{"id",
/// "points", "about", "tags", "selected"}]}]}`.
pub fn list_json(specs: &[Spec], selection: &Selection) -> String {
    let selected = selection.select(specs);
    let specs: Vec<serde_json::Value> = specs
        .iter()
        .map(|spec| {
            let chosen = selected
                .iter()
                .find(|(s, _)| std::ptr::eq(*s, spec))
                .map(|(_, cases)| cases.as_slice())
                .unwrap_or_default();
            let cases: Vec<serde_json::Value> = spec
                .cases
                .iter()
                .map(|case| {
                    serde_json::json!({
                        "id": case.id,
                        "points": case.points,
                        "about": case.about,
                        "tags": case.tags,
                        "selected": chosen.iter().any(|c| std::ptr::eq(*c, case)),
                    })
                })
                .collect();
            serde_json::json!({
                "name": spec.name,
                "source": spec.source,
                "title": spec.title,
                "cases": cases,
            })
        })
        .collect();
    let list = serde_json::json!({ "version": 1, "specs": specs });
    serde_json::to_string_pretty(&list).unwrap_or_default()
}

pub fn print_list(specs: &[Spec], selection: &Selection) {
    let selected = selection.select(specs);
    for spec in specs {
        println!("{} ({}): {}", spec.name, spec.source, spec.title);
        let cases = selected
            .iter()
            .find(|(s, _)| std::ptr::eq(*s, spec))
            .map(|(_, cases)| cases.as_slice())
            .unwrap_or_default();
        for case in cases {
            let tags = if case.tags.is_empty() {
                String::new()
            } else {
                format!(" [{}]", case.tags.join(", "))
            };
            println!("  {:<28} {} pt  {}{tags}", case.id, case.points, case.about);
        }
    }
}

/// Prints the YAML of each spec, with no header line: the `file:line` of a
/// failed step is the line of this output.
pub fn show(names: &[String]) -> Result<u8, UsageError> {
    if names.iter().any(|name| name == STDIN_ARG) {
        return Err(UsageError::Other(format!(
            "runner show {STDIN_ARG}: a spec on stdin is already in front of you; `runner check {STDIN_ARG}` checks it"
        )));
    }
    let specs = load_specs(names)?;
    let several = specs.len() > 1;
    for spec in &specs {
        if several {
            println!("# {}", spec.source);
        }
        print!("{}", spec.text);
    }
    Ok(EXIT_PASSED)
}

/// Loads every file and says what is wrong with each, all of them at once.
pub fn check(args: &CheckArgs) -> Result<u8, UsageError> {
    stdin_at_most_once(&args.files)?;
    let mut failed = false;
    for file in &args.files {
        let path = Path::new(file);
        let result = if let Some(loaded) = crate::speclang::assignment::load_if_assignment(path) {
            loaded
                .map(|a| {
                    let cases: usize = a.programs.iter().map(|p| p.spec.cases.len()).sum();
                    let mut lines = vec![format!(
                        "{file}: assignment {}, {}, {}",
                        a.name,
                        count(a.programs.len() as u64, "program"),
                        count(cases as u64, "case")
                    )];
                    // What each program's pattern finds in a student's folder.
                    for p in &a.programs {
                        lines.push(format!("    {}: {}", p.spec.name, p.file.describe()));
                        // The assignment's own commands, as they will run.
                        for (key, command) in [("build", &p.build), ("run", &p.run)] {
                            if let Some(command) = command {
                                lines.push(format!("      {key}: {command}"));
                            }
                        }
                    }
                    if !a.packages.is_empty() {
                        lines.push(format!("    packages: {}", a.packages.join(" ")));
                    }
                    lines
                })
                .map_err(UsageError::from)
        } else {
            load_specs(std::slice::from_ref(file)).map(|specs| {
                specs
                    .iter()
                    .map(|s| {
                        let points: u32 = s.cases.iter().map(|c| c.points).sum();
                        format!(
                            "{}: spec {}, {}, {}",
                            s.source,
                            s.name,
                            count(s.cases.len() as u64, "case"),
                            count(points, "point")
                        )
                    })
                    .collect()
            })
        };
        match result {
            Ok(lines) => lines.iter().for_each(|line| {
                if line.starts_with(' ') {
                    println!("{line}");
                } else {
                    println!("ok  {line}");
                }
            }),
            Err(error) => {
                failed = true;
                eprintln!("error: {error}");
            }
        }
    }
    Ok(if failed { EXIT_USAGE } else { EXIT_PASSED })
}
