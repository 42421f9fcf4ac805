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

/// `runner __reference NAME HOST PORT`, given what follows the
/// subcommand: runs the bundled reference program NAME and returns the
/// process's exit code (0 done, 1 failed, 2 misused or refused), having
/// said why on stderr. The bundled references ship inside the runner, so
/// they work after `cargo install`. Run by `main` when the runner is
/// exec'd so, and by a reference's sandbox in the process it forked for
/// the program (which is already the runner: see `sandbox::init`).
pub fn run_reference(args: &[String]) -> u8 {
    let [name, host, port] = args else {
        eprintln!("usage: runner {REFERENCE_SUBCOMMAND} NAME HOST PORT");
        return 2;
    };
    if !sandbox::may_run_reference() {
        // A student's program that found a copy of the runner must not
        // pass with the runner's own answer.
        eprintln!("the bundled references do not run inside a submission's sandbox");
        return 2;
    }
    let Ok(port) = port.parse::<u16>() else {
        eprintln!("invalid port `{port}`");
        return 2;
    };
    match fixtures::run_reference(name, host, port) {
        None => {
            eprintln!(
                "unknown reference `{name}`: {}",
                fixtures::REFERENCES.join(", ")
            );
            2
        }
        Some(Ok(())) => 0,
        Some(Err(error)) => {
            eprintln!("Error: {error}");
            1
        }
    }
}
