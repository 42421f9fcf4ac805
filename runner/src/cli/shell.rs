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
  runner man --install             as root: /usr/local/share/man/man1; else ~/.local/share/man/man1
  runner man --install --prefix /opt/runner
  runner man > ~/.local/share/man/man1/runner.1
  runner man grade > ~/.local/share/man/man1/runner-grade.1
  man runner")]
pub struct ManArgs {
    /// A command of runner (e.g. grade) to print the page of, instead of
    /// the page of runner itself.
    #[arg(value_name = "COMMAND", conflicts_with = "install")]
    pub command: Option<String>,

    /// Write the pages of runner and of each command (runner.1,
    /// runner-grade.1, ...) where `man` finds them: /usr/local/share/man
    /// as root, ~/.local/share/man otherwise.
    #[arg(long)]
    pub install: bool,

    /// With --install: write into PREFIX/share/man/man1 instead.
    #[arg(long, value_name = "PREFIX", requires = "install")]
    pub prefix: Option<std::path::PathBuf>,
}

pub fn completions(args: &CompletionsArgs) -> Result<u8, UsageError> {
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut Cli::command(), "runner", &mut script);
    print(&script)
}

pub fn man(args: &ManArgs) -> Result<u8, UsageError> {
    if args.install {
        return install_man(args.prefix.as_deref());
    }
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
    print(&roff(page)?)
}

fn roff(page: clap::Command) -> Result<Vec<u8>, UsageError> {
    let mut roff = Vec::new();
    clap_mangen::Man::new(page)
        .source(format!("runner {}", env!("CARGO_PKG_VERSION")))
        .manual("User Commands")
        .render(&mut roff)
        .map_err(|e| UsageError::Other(format!("cannot render the manual page: {e}")))?;
    Ok(roff)
}

/// `runner man --install`: every page into a `man1` folder `man` reads.
/// On Debian, man-db searches /usr/local/share/man, and for every folder
/// `X/bin` on PATH also `X/share/man`: ~/.local/share/man is found when
/// ~/.local/bin is on PATH (else MANPATH must name it).
fn install_man(prefix: Option<&std::path::Path>) -> Result<u8, UsageError> {
    let root = nix::unistd::geteuid().is_root();
    let base = match prefix {
        Some(prefix) => prefix.join("share/man"),
        None if root => std::path::PathBuf::from("/usr/local/share/man"),
        None => match std::env::var_os("HOME").filter(|h| !h.is_empty()) {
            Some(home) => std::path::Path::new(&home).join(".local/share/man"),
            None => {
                return Err(UsageError::Other(String::from(
                    "runner man --install: HOME is not set; give --prefix",
                )))
            }
        },
    };
    let folder = base.join("man1");
    std::fs::create_dir_all(&folder)
        .map_err(|e| UsageError::Other(format!("{}: {e}", folder.display())))?;
    let mut command = Cli::command();
    command.build();
    let mut pages = vec![(String::from("runner"), command.clone())];
    for sub in command.get_subcommands().filter(|s| s.get_name() != "help") {
        pages.push((format!("runner-{}", sub.get_name()), sub.clone()));
    }
    for (name, page) in pages {
        let path = folder.join(format!("{name}.1"));
        std::fs::write(&path, roff(page)?)
            .map_err(|e| UsageError::Other(format!("{}: {e}", path.display())))?;
    }
    println!("manual pages: {}", folder.display());
    let found = std::process::Command::new("manpath")
        .stderr(std::process::Stdio::null())
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
    let listed = found
        .as_deref()
        .is_some_and(|paths| paths.split(':').any(|p| std::path::Path::new(p) == base));
    if !listed {
        println!(
            "`man runner` may not search {0}: add it, e.g. export MANPATH=\"{0}:$(manpath 2>/dev/null)\" in your shell's profile",
            base.display()
        );
    }
    Ok(EXIT_PASSED)
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
