//! The command line: `runner [SPEC...] --target CMD` runs specs against
//! one program; subcommands grade a class, merge partial gradings, build a
//! Gradescope autograder, and list, show or check specs.

mod grade;
mod mutate;
mod options;
mod platforms;
mod record;
mod run;
mod schema;
mod shell;
mod specs;

pub use options::{loopback_addr, LimitArgs, UsageError};

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Exit codes: the contract graders script against.
pub const EXIT_PASSED: u8 = 0;
pub const EXIT_FAILED: u8 = 1;
pub const EXIT_USAGE: u8 = 2;
/// The run was valid but no case ran: the `--deadline` passed before the
/// first, or `--partition` left this part none (cargo-nextest's "no tests
/// to run" code).
pub const EXIT_NO_CASES: u8 = 4;
/// The run was stopped by a signal (Ctrl-C): 128 + SIGINT, as shells do.
pub const EXIT_INTERRUPTED: u8 = 130;

/// Runs socket-programming conformance specs against a program over real
/// loopback sockets, and reports pass/fail per case with evidence.
#[derive(Debug, Parser)]
#[command(
    name = "runner",
    version,
    long_about = LONG_ABOUT,
    after_help = AFTER_HELP,
    args_conflicts_with_subcommands = true,
    subcommand_value_name = "COMMAND"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    #[command(flatten)]
    pub run: run::RunArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Grade every student's folder of a class, in parallel
    Grade(Box<grade::GradeArgs>),
    /// Join the output folders of a grading split with --partition
    Merge(grade::MergeArgs),
    /// Write a Gradescope autograder zip for a spec or an assignment
    GradescopeBundle(grade::BundleArgs),
    /// Print the GitHub Classroom workflow (.github/workflows/classroom.yml) for a spec or an assignment
    ClassroomWorkflow(platforms::ClassroomWorkflowArgs),
    /// Write an externally graded PrairieLearn question for a spec or an assignment
    PrairielearnQuestion(platforms::PrairielearnQuestionArgs),
    /// Measure a spec: run it against mutants of its reference program
    Mutate(mutate::MutateArgs),
    /// Write a draft spec by recording a session with a reference program
    Record(Box<record::RecordArgs>),
    /// List specs and their cases
    List(specs::ListArgs),
    /// Print the YAML of specs, bundled ones too
    Show(specs::ShowArgs),
    /// Load and check specs and assignment files without running anything
    Check(specs::CheckArgs),
    /// Print the JSON Schema of the JSON report, of specs or of assignment files
    Schema(schema::SchemaArgs),
    /// Print the shell completion script for bash, zsh, fish, ...
    Completions(shell::CompletionsArgs),
    /// Print the manual page (roff), of runner or of one of its commands
    Man(shell::ManArgs),
}

const LONG_ABOUT: &str = "Runs socket-programming conformance specs against a program over real \
loopback sockets, and reports pass/fail per case with evidence.

With no SPEC, every bundled spec runs against its bundled reference \
implementation. A SPEC of `-` reads one spec from stdin.

Exit codes:
  0    every case passed (runner grade: every student was graded)
  1    a case failed, or could not be run
  2    a spec or usage error: nothing ran
  4    no case ran: the --deadline passed before the first, or
       --partition left this part none
  130  interrupted (Ctrl-C)";

const AFTER_HELP: &str = "Examples:
  runner                                          all bundled specs against the bundled references
  runner tcp-upper-server --target server.py --addr 127.1.1.1:8900
  runner tcp-chat-server --target './server {host} {port}' --format json
  runner my-spec.yaml --target ./a.out --case 'greet*'
  runner grade tcp-chat-server --submissions class/ --file chat_server.py --addr 127.1.1.1:8900 --out grades/
  runner grade lab1.yaml --submissions class/ --out part1/ --partition 1/2
  runner merge part1/ part2/ --out grades/
  runner gradescope-bundle lab1.yaml -o autograder.zip
  runner classroom-workflow lab1.yaml > .github/workflows/classroom.yml
  runner prairielearn-question lab1.yaml -o questions/socketLab1
  runner mutate tcp-upper-server --format json
  runner record --role server --target ./server.py --addr 127.1.1.1:8900 --listen 127.0.0.1:9000 -o draft.yaml
  runner list tcp-upper-server
  runner show tcp-chat-server
  runner check specs/ lab1.yaml
  runner schema spec > spec.schema.json
  runner completions bash > ~/.local/share/bash-completion/completions/runner
  runner man > runner.1";

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        None => run::run(&cli.run),
        Some(Command::Grade(args)) => grade::grade(args),
        Some(Command::Merge(args)) => grade::merge(args),
        Some(Command::GradescopeBundle(args)) => grade::bundle(args),
        Some(Command::ClassroomWorkflow(args)) => platforms::classroom_workflow(args),
        Some(Command::PrairielearnQuestion(args)) => platforms::prairielearn_question(args),
        Some(Command::Mutate(args)) => mutate::mutate(args),
        Some(Command::Record(args)) => record::record(args),
        Some(Command::List(args)) => specs::list(args),
        Some(Command::Show(args)) => specs::show(&args.specs),
        Some(Command::Check(args)) => specs::check(args),
        Some(Command::Schema(args)) => schema::run(args),
        Some(Command::Completions(args)) => shell::completions(args),
        Some(Command::Man(args)) => shell::man(args),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::from(EXIT_USAGE)
        }
    }
}
