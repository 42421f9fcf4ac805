//! `runner mutate`: how strong a spec is, measured by running it against
//! mutants of its reference program. The mutants come from a layer in
//! the runner's own sockets and stdout wait (`relay`), so they work for
//! any program; `operators` is their catalogue, `score` runs them and
//! finds which cases kill each, `output` writes the report.

pub mod operators;
mod relay;

pub use operators::{Kind, Operator, OPERATORS};
pub use relay::{CaseScope, DatagramRelay, Mutation, Piece, StreamRelay};
pub mod output;
pub mod score;

pub use score::{score, MutantResult, Scores};
