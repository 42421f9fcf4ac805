//! Specs: the YAML language teachers write, loaded into a checked model.

mod bundled;
mod check;
mod load;
mod locate;
mod model;
mod raw;
mod suggest;

pub use bundled::{bundled, bundled_named, bundled_names, source_text};
pub use load::{load_file, parse, SpecError};
pub use model::*;
