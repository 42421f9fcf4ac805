//! The socket conformance runner: loads YAML specs, drives a program under
//! test over real loopback sockets and its stdio, and reports per case.
//!
//! Data flows one way: `speclang` (specs and assignment files, loaded and
//! checked) -> `program` (the target started in its `sandbox`) -> `net`
//! -> `engine` (the cases run, through `mutate`'s layer when a spec is
//! measured) -> `report`; `grade` runs a class through the same engine,
//! and `cli` is on top.

pub mod bounded;
pub mod cli;
pub mod engine;
pub mod grade;
pub mod mutate;
pub mod net;
pub mod partition;
pub mod program;
pub mod record;
pub mod report;
pub mod sandbox;
pub mod signals;
pub mod speclang;
pub mod stop;
pub mod text;
pub mod unpack;

/// The hidden first argument with which the runner starts one of its
/// bundled reference programs as a target: `runner __reference NAME HOST PORT`.
pub const REFERENCE_SUBCOMMAND: &str = "__reference";
