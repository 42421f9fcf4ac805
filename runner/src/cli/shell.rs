//! `runner completions SHELL` and `runner man`: the shell completion script
//! and the manual page, both generated from the command line's definition.

use super::options::UsageError;
use super::{Cli, EXIT_PASSED};
use clap::CommandFactory;
use std::io::Write;

#[derive(Debug, clap::Args)]
#[command(after_help = "Install:
  runner completions bash > ~/.local/share/bash-completion/completions/runner
  runner completions zsh > ~/.zfunc/_runner      (with fpath+=(~/.zfunc) before compinit in ~/.zshrc)
  runner completions fish > ~/.config/fish/completions/runner.fish")]
pub struct CompletionsArgs {
    /// The shell to complete `runner` in.
    #[arg(value_name = "SHELL", value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, clap::Args)]
#[command(after_help = "Install:
  runner man > ~/.local/share/man/man1/runner.1
  runner man grade > ~/.local/share/man/man1/runner-grade.1
  man runner")]
pub struct ManArgs {
    /// A command of runner (e.g. grade) to print the page of, instead of
    /// the page of runner itself.
    #[arg(value_name = "COMMAND")]
    pub command: Option<String>,
}

pub fn completions(args: &CompletionsArgs) -> Result<u8, UsageError> {
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut Cli::command(), "runner", &mut script);
    print(&script)
}

pub fn man(args: &ManArgs) -> Result<u8, UsageError> {
    let mut command = Cli::command();
    // Built, the commands know their full names (`runner-grade`, and
    // `runner grade` in the synopsis).
    command.build();
    let page = match &args.command {
        None => command,
        Some(name) => {
            let found = command
                .get_subcommands()
                .find(|sub| sub.get_name() == name && sub.get_name() != "help")
                .cloned();
            found.ok_or_else(|| {
                let names: Vec<&str> = command
                    .get_subcommands()
                    .map(|sub| sub.get_name())
                    .filter(|sub| *sub != "help")
                    .collect();
                UsageError::Other(format!(
                    "runner man {name}: no such command (commands: {})",
                    names.join(", ")
                ))
            })?
        }
    };
    let mut roff = Vec::new();
    clap_mangen::Man::new(page)
        .source(format!("runner {}", env!("CARGO_PKG_VERSION")))
        .manual("User Commands")
        .render(&mut roff)
        .map_err(|e| UsageError::Other(format!("cannot render the manual page: {e}")))?;
    print(&roff)
}

/// Writes `bytes` to stdout; a reader that went away (`| head`) is not an
/// error.
fn print(bytes: &[u8]) -> Result<u8, UsageError> {
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(bytes).and_then(|()| stdout.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(UsageError::Other(format!("cannot write to stdout: {e}")))
        }
        _ => Ok(EXIT_PASSED),
    }
}
