//! The socket conformance runner: loads YAML specs, drives a program under
//! test over real loopback sockets and its stdio, and reports per case.
//!
//! Data flows one way: `spec` -> `target` -> `net` -> `engine` -> `report`,
//! with `cli` on top.

pub mod bounded;
pub mod cli;
pub mod engine;
pub mod grade;
pub mod mutate;
pub mod net;
pub mod partition;
pub mod program;
pub mod report;
pub mod sandbox;
pub mod signals;
pub mod spec;
pub mod stop;
pub mod text;
pub mod unpack;

/// The hidden first argument with which the runner starts one of its
/// bundled reference programs as a target: `runner __reference NAME HOST PORT`.
pub const REFERENCE_SUBCOMMAND: &str = "__reference";
