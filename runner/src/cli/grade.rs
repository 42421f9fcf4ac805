//! `runner grade`, `runner merge` and `runner gradescope-bundle`.

use super::options::{
    announce_isolation, load_specs, loopback_addr, parse_partition, selection, LimitArgs,
    SelectArgs, UsageError,
};
use super::{EXIT_INTERRUPTED, EXIT_PASSED};
use crate::grade::{self, Grading};
use crate::partition::Partition;
use crate::speclang::assignment::{self, Assignment};
use std::path::{Path, PathBuf};

#[derive(Debug, clap::Args)]
#[command(after_help = "Examples:
  runner grade tcp-chat-server --submissions class/ --file chat_server.py --addr 127.1.1.1:8900 --out grades/
  runner grade lab1.yaml --submissions moodle-export.zip --out grades/ --lms-csv moodle grades/worksheet.csv
  runner grade lab1.yaml --submissions class/ --out grades/ --resume
  runner grade lab1.yaml --submissions class/ --out part-1/ --partition 1/2")]
pub struct GradeArgs {
    /// A spec (file or bundled name), or an assignment file listing a spec
    /// and a file name per program.
    #[arg(value_name = "SPEC|ASSIGNMENT", value_hint = clap::ValueHint::FilePath)]
    pub what: String,

    /// The class as the LMS exports it, unchanged: a folder, or an
    /// archive of it (.zip, .tar, .tar.gz, .tgz). Plain (one folder per
    /// student), Moodle, Canvas, GitHub Classroom and Gradescope exports
    /// are recognised.
    #[arg(long, value_name = "DIR|ARCHIVE")]
    pub submissions: PathBuf,

    /// The export's layout, when recognising it is not wanted.
    #[arg(long, value_enum, value_name = "LAYOUT")]
    pub layout: Option<grade::intake::Layout>,

    /// With a spec: the program's file name in each student's folder; a
    /// glob such as '*server*.py' is allowed.
    #[arg(long, value_name = "NAME")]
    pub file: Option<String>,

    /// With a spec: where the program serves or connects when it
    /// hard-codes its address (loopback only).
    #[arg(long, value_name = "HOST:PORT")]
    pub addr: Option<String>,

    /// Where grades.csv and each student's reports go.
    #[arg(long, value_name = "OUTDIR")]
    pub out: PathBuf,

    /// Also write the grades as the LMS the class came from imports them:
    /// Moodle's grading worksheet, or Canvas's gradebook import.
    #[command(flatten)]
    pub lms_csv: LmsCsvArgs,

    /// Cases run at once, across the class: students are graded side by
    /// side, and so are a student's cases, each in a sandbox of its own
    /// [default: 8 per CPU; 1 grades one case after another].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..1025))]
    pub jobs: Option<u64>,

    /// Keep the results in OUTDIR of students whose submission (and the
    /// specs) did not change since; grade only the others.
    #[arg(long)]
    pub resume: bool,

    /// Grade only part K of N of the students (dealt round-robin in name
    /// order); join the parts with `runner merge`.
    #[arg(long, value_name = "K/N", value_parser = parse_partition)]
    pub partition: Option<Partition>,

    #[command(flatten)]
    pub select: SelectArgs,

    #[command(flatten)]
    pub limits: LimitArgs,
}

#[derive(Debug, clap::Args)]
pub struct MergeArgs {
    /// Output folders of `runner grade --partition K/N`, one per partition.
    #[arg(value_name = "OUTDIR", required = true)]
    pub parts: Vec<PathBuf>,

    /// Where the joined grades.csv and student folders go.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,

    #[command(flatten)]
    pub lms_csv: LmsCsvArgs,
}

#[derive(Debug, clap::Args)]
pub struct LmsCsvArgs {
    /// Also write the grades in the form an LMS imports back: `moodle`
    /// (the assignment's grading worksheet) or `canvas` (the gradebook
    /// import), keyed by the ids of that LMS's export.
    #[arg(long = "lms-csv", num_args = 2, value_names = ["moodle|canvas", "FILE"])]
    lms_csv: Option<Vec<String>>,
}

impl LmsCsvArgs {
    /// The LMS and file asked for, if any.
    fn parsed(&self) -> Result<Option<(grade::lms::Lms, PathBuf)>, UsageError> {
        let Some([lms, file]) = self.lms_csv.as_deref() else {
            return Ok(None);
        };
        let lms = <grade::lms::Lms as clap::ValueEnum>::from_str(lms, true).map_err(|_| {
            UsageError::Other(format!(
                "--lms-csv {lms}: the LMS is `moodle` or `canvas`, e.g. --lms-csv moodle grades-moodle.csv"
            ))
        })?;
        Ok(Some((lms, PathBuf::from(file))))
    }
}

/// Writes the `--lms-csv` file, if one was asked for.
fn write_lms_csv(
    asked: Option<&(grade::lms::Lms, PathBuf)>,
    manifest: &grade::record::Manifest,
    records: &[grade::record::StudentRecord],
) -> Result<(), UsageError> {
    let Some((lms, path)) = asked else {
        return Ok(());
    };
    let rows = grade::lms::write(*lms, path, &manifest.assignment, &manifest.columns, records)
        .map_err(UsageError::Other)?;
    println!(
        "{} grades: {} ({})",
        lms.name(),
        path.display(),
        crate::text::count(rows as u64, "student")
    );
    Ok(())
}

#[derive(Debug, clap::Args)]
pub struct BundleArgs {
    #[command(flatten)]
    pub graded: GradedArgs,

    /// The zip to write.
    #[arg(short = 'o', long = "output", value_name = "ZIP")]
    pub output: PathBuf,

    /// The runner binary the bundle carries [default: this one]. A
    /// statically linked runner runs on any image.
    #[arg(long, value_name = "PATH")]
    pub runner: Option<PathBuf>,
}

/// What a platform's grader grades, as `gradescope-bundle`,
/// `classroom-workflow` and `prairielearn-question` name it: an
/// assignment file, or one spec with the program's file and address.
#[derive(Debug, clap::Args)]
pub struct GradedArgs {
    /// A spec (file or bundled name), or an assignment file.
    #[arg(value_name = "SPEC|ASSIGNMENT", value_hint = clap::ValueHint::FilePath)]
    pub what: String,

    /// With a spec: the program's file name in the submission.
    #[arg(long, value_name = "NAME")]
    pub file: Option<String>,

    /// With a spec: the address the program hard-codes.
    #[arg(long, value_name = "HOST:PORT")]
    pub addr: Option<String>,
}

impl GradedArgs {
    pub(super) fn assignment(&self) -> Result<Assignment, UsageError> {
        load_assignment(&self.what, self.file.as_ref(), self.addr.as_ref())
    }
}

/// The assignment named on the command line: an assignment file, or one
/// spec with `--file` (and `--addr`).
fn load_assignment(
    what: &str,
    file: Option<&String>,
    addr: Option<&String>,
) -> Result<Assignment, UsageError> {
    if what == super::options::STDIN_ARG {
        return Err(UsageError::Other(format!(
            "`{what}`: grading needs the spec in a file, not on stdin (--resume compares its text, and a bundle carries it); save it to a file"
        )));
    }
    let path = Path::new(what);
    if let Some(loaded) = assignment::load_if_assignment(path) {
        if file.is_some() || addr.is_some() {
            return Err(UsageError::Other(format!(
                "{what} is an assignment file: its programs give their own `file` and `addr`, so --file and --addr are not taken"
            )));
        }
        return Ok(loaded?);
    }
    let Some(file) = file else {
        return Err(UsageError::Other(format!(
            "{what} is a spec: give the program's file name in each student's folder with --file, e.g. --file server.py"
        )));
    };
    let file = crate::speclang::pattern::FilePattern::new(file)
        .map_err(|why| UsageError::Other(format!("--file: {why}")))?;
    let mut specs = load_specs(&[what.to_string()])?;
    if specs.len() != 1 {
        return Err(UsageError::Other(format!(
            "{what} holds {} specs: grade one, or write an assignment file listing them",
            specs.len()
        )));
    }
    let addr = addr.map(|a| loopback_addr(a)).transpose()?;
    Ok(Assignment::single(specs.remove(0), file, addr))
}

pub fn grade(args: &GradeArgs) -> Result<u8, UsageError> {
    let assignment = load_assignment(&args.what, args.file.as_ref(), args.addr.as_ref())?;
    let specs: Vec<&crate::speclang::Spec> = assignment.programs.iter().map(|p| &p.spec).collect();
    let selection = selection(&specs, &args.select)?;
    let lms_csv = args.lms_csv.parsed()?;
    grade::check_folders_apart(&args.submissions, &args.out).map_err(UsageError::Other)?;
    grade::check_output_folder(&args.out).map_err(UsageError::Other)?;
    std::fs::create_dir_all(&args.out)
        .map_err(|e| UsageError::Other(format!("{}: {e}", args.out.display())))?;
    // Held to the end: a second grading into this folder is refused at
    // once, before the class is read or unpacked.
    let _lock = grade::lock_output(&args.out).map_err(UsageError::Other)?;
    let class = grade::intake::open(&args.submissions, args.layout, Some(&args.out))
        .map_err(UsageError::Other)?;
    let students = &class.students;
    if let Some((lms, _)) = &lms_csv {
        if class.layout != lms.layout() {
            return Err(UsageError::Other(format!(
                "--lms-csv {0}: the grades go back to {0} by the ids of a {0} export, and {1} is a {2} export; give the class as {0} exports it",
                lms.name(),
                args.submissions.display(),
                class.layout.name()
            )));
        }
    }
    eprintln!(
        "note: {} layout ({}), {} student{}",
        class.layout.name(),
        if class.recognised {
            "recognised; --layout chooses another"
        } else {
            "from --layout"
        },
        students.len(),
        if students.len() == 1 { "" } else { "s" }
    );
    for note in &class.notes {
        eprintln!("note: {}", crate::text::escape_controls(note, |_| false));
    }
    if students.is_empty() {
        return Err(UsageError::Other(format!(
            "{}: no students in it (one folder per student, named after the student, or an LMS export)",
            args.submissions.display()
        )));
    }
    if let Some(student) = students
        .iter()
        .find(|s| grade::RESERVED_NAMES.contains(&s.name.as_str()))
    {
        return Err(UsageError::Other(format!(
            "{}: a student folder may not be called `{}`, the name of a file grading writes; rename it",
            student.dir.display(),
            student.name
        )));
    }
    let mut grading = Grading::new(
        assignment,
        selection,
        args.limits.settings(),
        args.limits.env.clone(),
        args.out.clone(),
    );
    if grading.columns.is_empty() {
        return Err(UsageError::Other(String::from(
            "no case matches --case/--skip/--tag; `runner list` shows the cases",
        )));
    }
    grading.resume = args.resume;
    announce_isolation();
    let mut jobs = args.jobs.map_or_else(grade::default_jobs, |n| n as usize);
    if !crate::sandbox::isolation().namespaces() && jobs > 1 {
        eprintln!(
            "note: without a network namespace per target, students are graded one at a time (their programs would share addresses)"
        );
        jobs = 1;
    }
    grading.cases_at_once =
        (jobs > 1).then(|| std::sync::Arc::new(crate::engine::slots::Slots::new(jobs)));
    grading.identity = crate::program::Identity::for_this_run(&args.limits.user)
        .map_err(|e| UsageError::Other(e.to_string()))?
        .map(std::sync::Arc::new);
    crate::signals::stop_on_signals();
    crate::program::become_subreaper();
    let manifest = grading.manifest(students, args.partition);
    let result = grade::grade_class(&grading, students, args.partition, jobs);
    crate::program::kill_leftovers();
    grade::write_class_files(&args.out, &manifest, &result.records)
        .map_err(|e| UsageError::Other(format!("{}: {e}", args.out.display())))?;
    print!(
        "{}",
        grade::table::summary(&manifest.assignment, &manifest.columns, &result.records)
    );
    println!("\ngrades: {}", args.out.join(grade::GRADES_FILE).display());
    write_lms_csv(lms_csv.as_ref(), &manifest, &result.records)?;
    Ok(if result.interrupted {
        EXIT_INTERRUPTED
    } else {
        EXIT_PASSED
    })
}

pub fn merge(args: &MergeArgs) -> Result<u8, UsageError> {
    let lms_csv = args.lms_csv.parsed()?;
    let (manifest, records, _lock) =
        grade::merge::merge(&args.parts, &args.out).map_err(UsageError::Other)?;
    grade::write_class_files(&args.out, &manifest, &records)
        .map_err(|e| UsageError::Other(format!("{}: {e}", args.out.display())))?;
    print!(
        "{}",
        grade::table::summary(&manifest.assignment, &manifest.columns, &records)
    );
    println!("\ngrades: {}", args.out.join(grade::GRADES_FILE).display());
    write_lms_csv(lms_csv.as_ref(), &manifest, &records)?;
    Ok(EXIT_PASSED)
}

pub fn bundle(args: &BundleArgs) -> Result<u8, UsageError> {
    let assignment = args.graded.assignment()?;
    grade::bundle::write(&assignment, &args.output, args.runner.as_deref())
        .map_err(UsageError::Other)?;
    let runner = match &args.runner {
        Some(path) => path.clone(),
        None => std::env::current_exe().unwrap_or_default(),
    };
    println!("note: {}", grade::bundle::linkage_note(&runner));
    println!(
        "{}: Gradescope autograder for {} ({} program{}); upload it as the assignment's autograder",
        args.output.display(),
        assignment.name,
        assignment.programs.len(),
        if assignment.programs.len() == 1 {
            ""
        } else {
            "s"
        }
    );
    Ok(EXIT_PASSED)
}
