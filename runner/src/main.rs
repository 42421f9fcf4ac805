use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some(runner::sandbox::STARTER_SUBCOMMAND) => runner::sandbox::starter_main(),
        // Refused inside a student's sandbox (`sandbox::may_run_reference`).
        Some(runner::REFERENCE_SUBCOMMAND) => ExitCode::from(runner::run_reference(&args[2..])),
        _ => {
            // First, while the runner has a single thread.
            runner::sandbox::set_up_at_start();
            runner::cli::main()
        }
    }
}
