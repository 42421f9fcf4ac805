//! The specs shipped inside the binary (embedded from `specs/` at build time).

use super::{parse, Spec, SpecError};

include!(concat!(env!("OUT_DIR"), "/bundled_specs.rs"));

/// Every bundled spec, checked. A bundled spec that does not load is a bug
/// in the product, reported like any other spec error.
pub fn bundled() -> Result<Vec<Spec>, SpecError> {
    BUNDLED
        .iter()
        .map(|(file, text)| parse(&format!("bundled:{file}"), text))
        .collect()
}

/// The bundled spec called `name` (with or without `.yaml`), if any.
pub fn bundled_named(name: &str) -> Option<Result<Spec, SpecError>> {
    let file = if name.ends_with(".yaml") {
        name.to_string()
    } else {
        format!("{name}.yaml")
    };
    BUNDLED
        .iter()
        .find(|(bundled, _)| *bundled == file)
        .map(|(file, text)| parse(&format!("bundled:{file}"), text))
}

/// Names of the bundled specs, for messages.
pub fn bundled_names() -> Vec<&'static str> {
    BUNDLED
        .iter()
        .map(|(file, _)| file.trim_end_matches(".yaml"))
        .collect()
}
