use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some(runner::sandbox::SUBCOMMAND) => runner::sandbox::init_main(),
        Some(runner::REFERENCE_SUBCOMMAND) => run_reference(&args[2..]),
        _ => {
            // First, while the runner has a single thread.
            runner::sandbox::set_up_at_start();
            runner::cli::main()
        }
    }
}

/// `runner __reference NAME HOST PORT`: the bundled reference programs
/// ship inside the runner, so it works after `cargo install`.
fn run_reference(args: &[String]) -> ExitCode {
    let [name, host, port] = args else {
        eprintln!(
            "usage: runner {} NAME HOST PORT",
            runner::REFERENCE_SUBCOMMAND
        );
        return ExitCode::from(2);
    };
    if !runner::sandbox::may_run_reference() {
        // A student's program that found a copy of the runner must not
        // pass with the runner's own answer.
        eprintln!("the bundled references do not run inside a submission's sandbox");
        return ExitCode::from(2);
    }
    let Ok(port) = port.parse::<u16>() else {
        eprintln!("invalid port `{port}`");
        return ExitCode::from(2);
    };
    match fixtures::run_reference(name, host, port) {
        None => {
            eprintln!(
                "unknown reference `{name}`: {}",
                fixtures::REFERENCES.join(", ")
            );
            ExitCode::from(2)
        }
        Some(Ok(())) => ExitCode::SUCCESS,
        Some(Err(error)) => {
            eprintln!("Error: {error}");
            ExitCode::from(1)
        }
    }
}
