//! The spec language: the YAML files teachers write (specs, and the
//! assignment files that name a spec per program), loaded into a checked
//! model, and the rules they share with the command line (which specs an
//! argument names, which addresses a target may use). Below `cli` and
//! `grade`, which both load through it.

pub mod address;
pub mod assignment;
mod bundled;
mod check;
mod load;
pub(crate) mod locate;
mod model;
pub mod pattern;
mod raw;
pub mod select;
mod suggest;

pub use bundled::{bundled, bundled_named, bundled_names};
pub(crate) use load::check_shape;
pub(crate) use load::deserialize;
pub use load::{load_file, parse, read_text, SpecError};
pub use model::*;
pub use select::{load_specs, STDIN_ARG, STDIN_NAME};
pub use suggest::unknown_spec;
