//! `runner [SPEC...] --target CMD`: run specs against one program and
//! report on stdout and in report files.

use super::options::{
    create_report_file, isolation_notes, load_specs, loopback_addr, parse_duration,
    parse_partition, selection, LimitArgs, SelectArgs, UsageError,
};
use super::{EXIT_FAILED, EXIT_INTERRUPTED, EXIT_NO_CASES, EXIT_PASSED};
use crate::engine::{self, RunOptions, Verdict};
use crate::program::TargetCommand;
use crate::report::{self, human::Human, Collected};
use crate::speclang::{Spec, Transport};
use clap::ValueEnum;
use std::io::{IsTerminal, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Spec files, folders of specs, or names of bundled specs
    /// (e.g. tcp-upper-server).
    #[arg(value_name = "SPEC", value_hint = clap::ValueHint::AnyPath)]
    pub specs: Vec<String>,

    /// The program under test: an executable, a .py file, or a command line
    /// with {host} and {port} placeholders.
    #[arg(long, value_name = "CMD", value_hint = clap::ValueHint::CommandString)]
    pub target: Option<String>,

    /// Where a program that hard-codes its address serves or connects
    /// (loopback only), e.g. 127.1.1.1:8900.
    #[arg(long, value_name = "HOST:PORT")]
    pub addr: Option<String>,

    #[command(flatten)]
    pub select: SelectArgs,

    /// Run only part K of N of the selected cases (dealt round-robin), to
    /// spread a run over machines, e.g. 1/2.
    #[arg(long, value_name = "K/N", value_parser = parse_partition)]
    pub partition: Option<crate::partition::Partition>,

    /// Report format on stdout.
    #[arg(long, value_enum, default_value_t = Format::Human)]
    pub format: Format,

    /// Also write the report in --format to this file (the human report
    /// still goes to stdout).
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Also write the JSON report to FILE (repeatable; every --report-*
    /// file comes from the same run).
    #[arg(long, value_name = "FILE", help_heading = "Reports")]
    pub report_json: Vec<PathBuf>,

    /// Also write a JUnit XML report to FILE (repeatable).
    #[arg(long, value_name = "FILE", help_heading = "Reports")]
    pub report_junit: Vec<PathBuf>,

    /// Also write a TAP version 13 report to FILE (repeatable).
    #[arg(long, value_name = "FILE", help_heading = "Reports")]
    pub report_tap: Vec<PathBuf>,

    /// Also write Gradescope's results.json to FILE (repeatable).
    #[arg(long, value_name = "FILE", help_heading = "Reports")]
    pub report_gradescope: Vec<PathBuf>,

    /// Also write GitHub Classroom's autograding result (what
    /// autograding-grading-reporter reads) to FILE (repeatable).
    #[arg(long, value_name = "FILE", help_heading = "Reports")]
    pub report_classroom: Vec<PathBuf>,

    /// Also write PrairieLearn's external grading results.json to FILE
    /// (repeatable).
    #[arg(long, value_name = "FILE", help_heading = "Reports")]
    pub report_prairielearn: Vec<PathBuf>,

    /// Also write a self-contained HTML report to FILE: every case's
    /// evidence and sequence diagram (repeatable).
    #[arg(long, value_name = "FILE", help_heading = "Reports")]
    pub report_html: Vec<PathBuf>,

    /// Same as `runner list`.
    #[arg(long, hide = true)]
    pub list: bool,

    /// Same as `runner show`.
    #[arg(long, hide = true)]
    pub show: bool,

    /// Colour in the human report. `auto`: when stdout is a terminal,
    /// unless NO_COLOR is set (non-empty); CLICOLOR_FORCE (non-empty, not
    /// 0) turns it on even into a pipe. `always` and `never` win over both.
    #[arg(long, value_enum, default_value_t = Color::Auto)]
    pub color: Color,

    /// Wall time for the whole run; cases not reached are not run.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration, help_heading = "Limits")]
    pub deadline: Option<Duration>,

    #[command(flatten)]
    pub limits: LimitArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Human,
    Json,
    Junit,
    Tap,
    /// Gradescope autograder results.json.
    Gradescope,
    /// GitHub Classroom autograding result (autograding-grading-reporter).
    Classroom,
    /// PrairieLearn external grading results.json.
    Prairielearn,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Color {
    Auto,
    Always,
    Never,
}

pub fn run(args: &RunArgs) -> Result<u8, UsageError> {
    // GitHub Classroom's command grader takes anything on stderr for a
    // failure: with its result asked for, the run's notes are said only
    // when it did not pass.
    let classroom = args.format == Format::Classroom || !args.report_classroom.is_empty();
    let mut notes = Notes {
        held: classroom.then(Vec::new),
    };
    let code = run_noting(args, &mut notes)?;
    if code != EXIT_PASSED {
        notes.release();
    }
    Ok(code)
}

/// Warnings and notes for stderr: said at once, or held until the end.
struct Notes {
    held: Option<Vec<String>>,
}

impl Notes {
    fn say(&mut self, line: String) {
        match &mut self.held {
            Some(held) => held.push(line),
            None => eprintln!("{line}"),
        }
    }

    fn release(&mut self) {
        for line in self.held.take().unwrap_or_default() {
            eprintln!("{line}");
        }
    }
}

fn run_noting(args: &RunArgs, notes: &mut Notes) -> Result<u8, UsageError> {
    let specs = load_specs(&args.specs)?;
    let target = match &args.target {
        Some(text) => {
            if args.specs.is_empty() {
                return Err(UsageError::Other(String::from(
                    "--target needs the spec(s) to check it against, e.g. `runner tcp-upper-server --target server.py`",
                )));
            }
            let command = TargetCommand::parse(text)?;
            if let Some(warning) = command.static_binary_warning() {
                notes.say(format!("warning: {warning}"));
            }
            Some(command)
        }
        None => None,
    };
    let addr = args.addr.as_deref().map(loopback_addr).transpose()?;
    let spec_refs: Vec<&Spec> = specs.iter().collect();
    let mut selection = selection(&spec_refs, &args.select)?;
    selection.partition = args.partition;
    if args.list {
        eprintln!("note: `runner --list` is now `runner list`");
        super::specs::print_list(&specs, &selection);
        return Ok(EXIT_PASSED);
    }
    if args.show {
        eprintln!("note: `runner --show` is now `runner show`");
        return super::specs::show(&args.specs);
    }
    if target.is_none() {
        if let Some(spec) = specs.iter().find(|s| s.target.reference.is_none()) {
            return Err(UsageError::Other(format!(
                "{}: the spec names no reference program, so it needs --target",
                spec.source
            )));
        }
    }

    // Cases that match nothing are a typo (a usage error); a part of a
    // `--partition` that gets none of the cases is a valid run of nothing.
    let empty_part = selection.select(&specs).is_empty();
    if empty_part {
        let whole = crate::engine::Selection {
            partition: None,
            ..selection.clone()
        };
        let selected: usize = whole.select(&specs).iter().map(|(_, c)| c.len()).sum();
        match selection.partition {
            Some(part) if selected > 0 => notes.say(format!(
                "note: --partition {part} leaves this part none of the {selected} selected case{}: nothing to run",
                if selected == 1 { "" } else { "s" }
            )),
            _ => {
                return Err(UsageError::Other(String::from(
                    "no case matches --case/--skip/--tag; `runner list` shows the cases",
                )))
            }
        }
    }
    for note in isolation_notes() {
        notes.say(note);
    }
    let isolation = crate::sandbox::isolation();
    if let (Some(addr), false) = (addr, isolation.namespaces()) {
        // In a sandbox the address is the target's own; on the host, a
        // program already holding it would fail every case.
        check_addr_free(addr, &specs)?;
    }
    let identity = crate::program::Identity::for_this_run(&args.limits.user)
        .map_err(|e| UsageError::Other(e.to_string()))?
        .map(std::sync::Arc::new);
    let options = RunOptions {
        target,
        addr,
        selection,
        limits: args.limits.settings(),
        identity,
        env: args.limits.env.clone(),
        deadline: args.deadline.map(crate::stop::deadline_after),
        mutation: None,
        cases_at_once: Some(std::sync::Arc::new(crate::engine::slots::Slots::new(
            crate::grade::default_jobs(),
        ))),
    };
    crate::signals::stop_on_signals();
    crate::program::become_subreaper();
    let color = use_color(args.color, std::io::stdout().is_terminal(), |name| {
        std::env::var_os(name)
    });
    // The report file is opened before anything runs: a path that cannot
    // be written is a usage error, not a lost report after the run.
    let mut output_file = match &args.output {
        Some(path) => Some(create_report_file(path)?),
        None => None,
    };
    let human_on_stdout = args.format == Format::Human || args.output.is_some();
    let mut human = Human::new(std::io::stdout().lock(), color);
    let mut human_file = match (&output_file, args.format) {
        (Some(file), Format::Human) => file.try_clone().ok().map(|f| Human::new(f, false)),
        _ => None,
    };
    let mut report_files = Vec::new();
    for (format, paths) in [
        (Format::Json, &args.report_json),
        (Format::Junit, &args.report_junit),
        (Format::Tap, &args.report_tap),
        (Format::Gradescope, &args.report_gradescope),
        (Format::Classroom, &args.report_classroom),
        (Format::Prairielearn, &args.report_prairielearn),
    ] {
        for path in paths {
            report_files.push((format, path, create_report_file(path)?));
        }
    }
    let mut html_files = Vec::new();
    for path in &args.report_html {
        html_files.push((path, create_report_file(path)?));
    }
    let mut collected = Collected::default();
    // With a machine format on stdout, nothing says what is going on: a
    // status line on stderr does, when someone is there to read it.
    let mut status = Status::new(!human_on_stdout && std::io::stderr().is_terminal());
    let summary = engine::run(&specs, &options, &mut |event| {
        status.event(event);
        // The note above says why this part has nothing to run.
        let said = empty_part && matches!(event, engine::Event::RunStarted { .. });
        if human_on_stdout && !said {
            human.event(event);
        }
        if let Some(file) = &mut human_file {
            file.event(event);
        }
        collected.event(event);
    });
    status.clear();
    crate::program::kill_leftovers();
    drop(human);
    for (format, path, mut file) in report_files {
        let text = render(format, &collected, args).unwrap_or_default();
        file.write_all(text.as_bytes()).map_err(|e| {
            UsageError::Other(format!(
                "cannot write the report to {}: {e}",
                path.display()
            ))
        })?;
    }
    if !html_files.is_empty() {
        let context = report::html::Context {
            target: Some(args.target.clone().unwrap_or_else(|| {
                String::from("each spec's reference program (no --target given)")
            })),
            ..Default::default()
        };
        let text = report::html::render(&collected, &context);
        for (path, mut file) in html_files {
            file.write_all(text.as_bytes()).map_err(|e| {
                UsageError::Other(format!(
                    "cannot write the report to {}: {e}",
                    path.display()
                ))
            })?;
        }
    }
    if let Some(text) = render(args.format, &collected, args) {
        let written = match &mut output_file {
            Some(file) => file.write_all(text.as_bytes()),
            // A reader that went away (`| head`) is not the run's problem.
            None => match writeln!(std::io::stdout(), "{text}") {
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
                other => other,
            },
        };
        written.map_err(|e| UsageError::Other(format!("cannot write the report: {e}")))?;
    }
    if summary.interrupted && crate::stop::requested() {
        return Ok(EXIT_INTERRUPTED);
    }
    if summary.ran() == 0 {
        return Ok(EXIT_NO_CASES);
    }
    // Informational cases count in no verdict.
    let all_passed = collected
        .outcomes
        .iter()
        .all(|o| o.verdict == Verdict::Pass || o.level == crate::speclang::Level::Informational);
    Ok(
        if all_passed && summary.total() > 0 && !summary.interrupted {
            EXIT_PASSED
        } else {
            EXIT_FAILED
        },
    )
}

/// The status line on stderr while a run's report is not on the terminal:
/// `running SPEC/CASE (3/9)` and the case's time, updated in place and
/// cleared at the end.
struct Status {
    shown: bool,
    /// Drawn from the first case on.
    bar: Option<indicatif::ProgressBar>,
    cases: usize,
    started: usize,
}

impl Status {
    fn new(shown: bool) -> Status {
        Status {
            shown,
            bar: None,
            cases: 0,
            started: 0,
        }
    }

    fn event(&mut self, event: &engine::Event) {
        match event {
            engine::Event::RunStarted { cases, .. } => self.cases = *cases,
            engine::Event::CaseStarted { spec, case } if self.shown => {
                self.started += 1;
                let message = crate::engine::show::terminal_safe(&format!(
                    "{spec}/{case} ({}/{})",
                    self.started, self.cases
                ));
                match &self.bar {
                    Some(bar) => {
                        bar.reset_elapsed();
                        bar.set_message(message);
                    }
                    None => {
                        let bar = indicatif::ProgressBar::new_spinner();
                        let style = indicatif::ProgressStyle::with_template(
                            "{spinner} running {msg}, {elapsed}",
                        )
                        .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner());
                        bar.set_style(style);
                        bar.set_message(message);
                        bar.enable_steady_tick(Duration::from_millis(200));
                        self.bar = Some(bar);
                    }
                }
            }
            engine::Event::RunFinished(_) => self.clear(),
            _ => {}
        }
    }

    fn clear(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// Whether the human report on stdout is in colour. `--color always` and
/// `never` decide; with `auto`, a non-empty `NO_COLOR` turns colour off
/// (no-color.org), a non-empty `CLICOLOR_FORCE` other than `0` turns it
/// on even into a pipe, and otherwise stdout being a terminal decides.
fn use_color(
    choice: Color,
    stdout_is_terminal: bool,
    var: impl Fn(&str) -> Option<std::ffi::OsString>,
) -> bool {
    let set = |name: &str| var(name).filter(|value| !value.is_empty());
    match choice {
        Color::Always => true,
        Color::Never => false,
        Color::Auto if set("NO_COLOR").is_some() => false,
        Color::Auto if set("CLICOLOR_FORCE").is_some_and(|v| v != "0") => true,
        Color::Auto => stdout_is_terminal,
    }
}

/// The report in a machine format; None for the human one, which is
/// written as the run goes.
fn render(format: Format, collected: &Collected, args: &RunArgs) -> Option<String> {
    let classroom = || report::classroom::Context {
        target: args.target.clone(),
        addr: args.addr.clone(),
    };
    match format {
        Format::Human => None,
        Format::Json => Some(report::json::render(collected)),
        Format::Junit => Some(report::junit::render(collected)),
        Format::Tap => Some(report::tap::render(collected)),
        Format::Gradescope => Some(report::gradescope::render(collected)),
        Format::Classroom => Some(report::classroom::render(collected, &classroom())),
        Format::Prairielearn => Some(report::prairielearn::render(collected)),
    }
}

/// `--addr` must be free before a target is started there: a program
/// already holding it would make every case fail for a reason that is not
/// the submission's.
fn check_addr_free(addr: SocketAddr, specs: &[Spec]) -> Result<(), UsageError> {
    for transport in [Transport::Tcp, Transport::Udp] {
        if !specs.iter().any(|s| s.target.transport == transport) {
            continue;
        }
        let bound = match transport {
            Transport::Tcp => std::net::TcpListener::bind(addr).map(drop),
            Transport::Udp => std::net::UdpSocket::bind(addr).map(drop),
        };
        if let Err(e) = bound {
            let name = if transport == Transport::Tcp {
                "TCP"
            } else {
                "UDP"
            };
            return Err(UsageError::Other(format!(
                "--addr {addr}: the {name} port is already in use ({e}); stop the program holding it or choose another address"
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{use_color, Color};
    use std::ffi::OsString;

    fn color(choice: Color, terminal: bool, vars: &[(&str, &str)]) -> bool {
        use_color(choice, terminal, |name| {
            vars.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| OsString::from(v))
        })
    }

    #[test]
    fn color_follows_no_color_clicolor_force_and_the_flag() {
        assert!(color(Color::Auto, true, &[]));
        assert!(!color(Color::Auto, false, &[]));
        // NO_COLOR counts only when set and not empty.
        assert!(!color(Color::Auto, true, &[("NO_COLOR", "1")]));
        assert!(color(Color::Auto, true, &[("NO_COLOR", "")]));
        assert!(color(Color::Auto, false, &[("CLICOLOR_FORCE", "1")]));
        assert!(!color(Color::Auto, false, &[("CLICOLOR_FORCE", "0")]));
        assert!(!color(Color::Auto, false, &[("CLICOLOR_FORCE", "")]));
        assert!(!color(
            Color::Auto,
            false,
            &[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")]
        ));
        // The flag wins over both.
        assert!(color(Color::Always, false, &[("NO_COLOR", "1")]));
        assert!(!color(Color::Never, true, &[("CLICOLOR_FORCE", "1")]));
    }
}
