//! `runner list`, `runner show` and `runner check`: looking at specs
//! without running anything.

use super::options::{load_specs, parse_partition, selection, SelectArgs, UsageError};
use super::{EXIT_PASSED, EXIT_USAGE};
use crate::engine::Selection;
use crate::spec::{self, Spec};
use std::path::Path;

#[derive(Debug, clap::Args)]
pub struct ListArgs {
    /// Spec files, folders of specs, or names of bundled specs [default: all bundled].
    #[arg(value_name = "SPEC")]
    pub specs: Vec<String>,

    #[command(flatten)]
    pub select: SelectArgs,

    /// Only part K of N of the selected cases, as a run with --partition.
    #[arg(long, value_name = "K/N", value_parser = parse_partition)]
    pub partition: Option<crate::partition::Partition>,
}

#[derive(Debug, clap::Args)]
pub struct ShowArgs {
    /// Spec files or names of bundled specs [default: all bundled].
    #[arg(value_name = "SPEC")]
    pub specs: Vec<String>,
}

#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// Spec files, folders of specs, bundled names, or assignment files.
    #[arg(value_name = "FILE", required = true)]
    pub files: Vec<String>,
}

pub fn list(args: &ListArgs) -> Result<u8, UsageError> {
    let specs = load_specs(&args.specs)?;
    let spec_refs: Vec<&Spec> = specs.iter().collect();
    let mut selection = selection(&spec_refs, &args.select)?;
    selection.partition = args.partition;
    print_list(&specs, &selection);
    Ok(EXIT_PASSED)
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
    let specs = load_specs(names)?;
    let several = specs.len() > 1;
    for spec in &specs {
        if several {
            println!("# {}", spec.source);
        }
        print!("{}", spec::source_text(&spec.source).unwrap_or_default());
    }
    Ok(EXIT_PASSED)
}

/// Loads every file and says what is wrong with each, all of them at once.
pub fn check(args: &CheckArgs) -> Result<u8, UsageError> {
    let mut failed = false;
    for file in &args.files {
        let path = Path::new(file);
        let result = if path.is_file() && crate::grade::assignment::is_assignment_file(path) {
            crate::grade::assignment::load(path)
                .map(|a| {
                    let cases: usize = a.programs.iter().map(|p| p.spec.cases.len()).sum();
                    vec![format!(
                        "{file}: assignment {}, {} programs, {cases} cases",
                        a.name,
                        a.programs.len()
                    )]
                })
                .map_err(UsageError::from)
        } else {
            load_specs(std::slice::from_ref(file)).map(|specs| {
                specs
                    .iter()
                    .map(|s| {
                        let points: u32 = s.cases.iter().map(|c| c.points).sum();
                        format!(
                            "{}: spec {}, {} cases, {points} points",
                            s.source,
                            s.name,
                            s.cases.len()
                        )
                    })
                    .collect()
            })
        };
        match result {
            Ok(lines) => lines.iter().for_each(|line| println!("ok  {line}")),
            Err(error) => {
                failed = true;
                eprintln!("error: {error}");
            }
        }
    }
    Ok(if failed { EXIT_USAGE } else { EXIT_PASSED })
}
