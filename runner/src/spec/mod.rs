//! Specs: the YAML language teachers write, loaded into a checked model.

mod bundled;
mod check;
mod load;
pub(crate) mod locate;
mod model;
mod raw;
mod suggest;

pub use bundled::{bundled, bundled_named, bundled_names};
pub(crate) use load::check_shape;
pub(crate) use load::deserialize;
pub use load::{load_file, parse, read_text, SpecError};
pub use model::*;
pub use suggest::unknown_spec;
