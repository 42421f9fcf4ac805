//! Which specs a command line names: files, folders (every `*.yaml`
//! inside), bundled names, and `-` for one spec on stdin; none at all
//! names every bundled spec.

use super::{bundled, bundled_named, load_file, parse, unknown_spec, Spec, SpecError};
use std::path::{Path, PathBuf};

/// The spec argument that reads one spec from stdin.
pub const STDIN_ARG: &str = "-";
/// What a spec read from stdin is called in messages: `<stdin>:3:5: ...`.
pub const STDIN_NAME: &str = "<stdin>";

/// Refuses arguments that would read stdin twice.
pub fn stdin_at_most_once<'a>(args: impl IntoIterator<Item = &'a String>) -> Result<(), SpecError> {
    if args.into_iter().filter(|a| *a == STDIN_ARG).count() > 1 {
        return Err(SpecError::Named(format!(
            "`{STDIN_ARG}` (a spec read from stdin) may be given once; save the other specs to files"
        )));
    }
    Ok(())
}

/// Reads one spec from stdin, called `<stdin>` in messages.
fn load_stdin_spec() -> Result<Spec, SpecError> {
    use std::io::Read;
    // A little more than any spec may be, so that the loader's own size
    // check has the last word, without reading an endless stream.
    const LIMIT: u64 = 2 << 20;
    let mut text = String::new();
    std::io::stdin()
        .lock()
        .take(LIMIT)
        .read_to_string(&mut text)
        .map_err(|source| SpecError::Read {
            file: String::from(STDIN_NAME),
            source,
        })?;
    parse(STDIN_NAME, &text)
}

/// The specs `args` name, in order.
pub fn load_specs(args: &[String]) -> Result<Vec<Spec>, SpecError> {
    if args.is_empty() {
        return bundled();
    }
    stdin_at_most_once(args)?;
    let mut specs = Vec::new();
    for arg in args {
        let path = Path::new(arg);
        if arg == STDIN_ARG {
            specs.push(load_stdin_spec()?);
        } else if path.is_dir() {
            let mut files: Vec<PathBuf> = std::fs::read_dir(path)
                .map_err(|e| SpecError::Named(format!("{arg}: cannot read the folder: {e}")))?
                .filter_map(|entry| entry.ok().map(|e| e.path()))
                .filter(|p| {
                    p.extension()
                        .is_some_and(|ext| ext == "yaml" || ext == "yml")
                })
                .collect();
            files.sort();
            if files.is_empty() {
                return Err(SpecError::Named(format!(
                    "{arg}: the folder holds no .yaml specs"
                )));
            }
            for file in files {
                specs.push(load_file(&file)?);
            }
        } else if path.exists() {
            specs.push(load_file(path)?);
        } else if let Some(bundled) = bundled_named(arg) {
            specs.push(bundled?);
        } else {
            return Err(SpecError::Named(format!(
                "{arg}: no such spec file, and no bundled spec of that name; {}",
                unknown_spec(arg)
            )));
        }
    }
    Ok(specs)
}
