//! `runner schema report|spec|assignment`: the JSON Schemas of the JSON
//! report, the spec language and the assignment file, generated from the
//! types that write or read them. The repository ships them in `schemas/`.

use super::{UsageError, EXIT_PASSED};
use clap::{Args, ValueEnum};
use std::io::Write as _;

#[derive(Debug, Args)]
pub struct SchemaArgs {
    /// Which schema to print
    #[arg(value_enum)]
    pub which: Which,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Which {
    /// The JSON report (`--format json`, `--report-json`)
    Report,
    /// A spec file (YAML), for editors that complete and check specs
    Spec,
    /// An assignment file (YAML) of `runner grade`
    Assignment,
}

/// The schema as pretty JSON, ending with a newline.
pub fn text(which: Which) -> String {
    let schema = match which {
        Which::Report => crate::report::json::schema(),
        Which::Spec => crate::speclang::spec_schema(),
        Which::Assignment => schemars::generate::SchemaSettings::draft07()
            .into_generator()
            .into_root_schema_for::<crate::speclang::assignment::RawAssignment>(),
    };
    // A schema is a JSON value: serialising it cannot fail.
    let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
    text.push('\n');
    text
}

pub fn run(args: &SchemaArgs) -> Result<u8, UsageError> {
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(text(args.which).as_bytes())
        .and_then(|()| stdout.flush())
        .map_err(|error| UsageError::Other(format!("cannot write the schema: {error}")))?;
    Ok(EXIT_PASSED)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_schema_is_a_draft_07_schema_with_a_title() {
        for which in [Which::Report, Which::Spec, Which::Assignment] {
            let schema: serde_json::Value =
                serde_json::from_str(&text(which)).expect("the schema is JSON");
            assert_eq!(
                schema["$schema"], "http://json-schema.org/draft-07/schema#",
                "{which:?}"
            );
            assert!(schema["title"].is_string(), "{which:?}");
        }
    }
}
