//! `runner classroom-workflow` and `runner prairielearn-question`: what a
//! GitHub Classroom assignment and a PrairieLearn question need to grade
//! with the runner.

use super::grade::GradedArgs;
use super::options::UsageError;
use super::EXIT_PASSED;
use crate::grade::classroom_workflow::{self, Install};
use crate::grade::prairielearn_question;
use std::path::PathBuf;

#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  runner classroom-workflow lab1.yaml > .github/workflows/classroom.yml
  runner classroom-workflow tcp-upper-server --file server.py --addr 127.1.1.1:8900 \\
      --runner-url https://example.edu/runner-x86_64-linux > .github/workflows/classroom.yml")]
pub struct ClassroomWorkflowArgs {
    #[command(flatten)]
    pub graded: GradedArgs,

    /// Install the runner with `cargo install --git URL runner` [default:
    /// a placeholder to replace with the runner's repository].
    #[arg(long, value_name = "URL", conflicts_with = "runner_url")]
    pub runner_git: Option<String>,

    /// Download the runner from URL instead (a static Linux x86-64 binary,
    /// e.g. a release asset): faster than building it.
    #[arg(long, value_name = "URL")]
    pub runner_url: Option<String>,
}

pub fn classroom_workflow(args: &ClassroomWorkflowArgs) -> Result<u8, UsageError> {
    let assignment = args.graded.assignment()?;
    let install = match (&args.runner_url, &args.runner_git) {
        (Some(url), _) => Install::Binary(url.clone()),
        (None, Some(url)) => Install::Git(url.clone()),
        (None, None) => Install::Git(classroom_workflow::GIT_PLACEHOLDER.to_string()),
    };
    print!("{}", classroom_workflow::render(&assignment, &install));
    Ok(EXIT_PASSED)
}

#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  runner prairielearn-question lab1.yaml -o questions/socketLab1
  runner prairielearn-question tcp-upper-server --file server.py --addr 127.1.1.1:8900 \\
      --runner target/x86_64-unknown-linux-gnu/release/runner -o questions/upperServer")]
pub struct PrairielearnQuestionArgs {
    #[command(flatten)]
    pub graded: GradedArgs,

    /// The question folder to write (new or empty).
    #[arg(short = 'o', long = "output", value_name = "DIR")]
    pub output: PathBuf,

    /// The runner binary the question carries [default: this one]. A
    /// statically linked runner runs on any grading image.
    #[arg(long, value_name = "PATH")]
    pub runner: Option<PathBuf>,

    /// The grading container's image.
    #[arg(long, value_name = "IMAGE", default_value = prairielearn_question::DEFAULT_IMAGE)]
    pub image: String,

    /// Seconds PrairieLearn gives the grading of one submission.
    #[arg(long, value_name = "SECONDS", default_value_t = 120)]
    pub timeout: u32,
}

pub fn prairielearn_question(args: &PrairielearnQuestionArgs) -> Result<u8, UsageError> {
    let assignment = args.graded.assignment()?;
    let runner = match &args.runner {
        Some(path) => path.clone(),
        None => std::env::current_exe()
            .map_err(|e| UsageError::Other(format!("cannot find the runner's own binary: {e}")))?,
    };
    let options = prairielearn_question::Options {
        runner: &runner,
        image: &args.image,
        timeout: args.timeout,
    };
    prairielearn_question::write(&assignment, &args.output, &options).map_err(UsageError::Other)?;
    println!("note: {}", crate::grade::bundle::linkage_note(&runner));
    println!(
        "{}: PrairieLearn question for {} (external grading, image {}); put it in the course's questions/",
        args.output.display(),
        assignment.name,
        args.image
    );
    Ok(EXIT_PASSED)
}
