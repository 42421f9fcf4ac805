//! `runner merge`: joins the output folders of a class graded in
//! partitions (`runner grade --partition K/N`, one per machine or CI job)
//! into one output folder, as if it had been graded at once.

use super::record::{Manifest, StudentRecord};
use std::path::{Path, PathBuf};

/// Checks that `parts` are the partitions of one grading, all of them,
/// each once; copies every student's folder into `out`, and returns the
/// merged manifest and records.
pub fn merge(
    parts: &[PathBuf],
    out: &Path,
) -> Result<(Manifest, Vec<StudentRecord>, super::OutputLock), String> {
    let manifests: Vec<Manifest> = parts
        .iter()
        .map(|dir| Manifest::read(dir))
        .collect::<Result<_, _>>()?;
    let first = &manifests[0];
    for (dir, manifest) in parts.iter().zip(&manifests) {
        if manifest.assignment != first.assignment
            || manifest.columns != first.columns
            || manifest.students != first.students
        {
            return Err(format!(
                "{} and {} are not parts of the same grading (assignment, cases or students differ)",
                parts[0].display(),
                dir.display()
            ));
        }
    }
    let count = match first.partition {
        None if parts.len() == 1 => 1,
        None => {
            return Err(format!(
                "{} holds a whole class, not a partition; merge the outputs of `runner grade --partition K/N`",
                parts[0].display()
            ))
        }
        Some(partition) => partition.count,
    };
    let mut owner: Vec<Option<usize>> = vec![None; count];
    for (position, manifest) in manifests.iter().enumerate() {
        let index = manifest.partition.map_or(1, |p| p.index);
        if manifest.partition.is_some_and(|p| p.count != count) {
            return Err(format!(
                "{} is partition {} while {} is one of {count}",
                parts[position].display(),
                manifest
                    .partition
                    .map(|p| p.to_string())
                    .unwrap_or_default(),
                parts[0].display()
            ));
        }
        if let Some(other) = owner[index - 1] {
            return Err(format!(
                "{} and {} are both partition {index}/{count}",
                parts[other].display(),
                parts[position].display()
            ));
        }
        owner[index - 1] = Some(position);
    }
    let missing: Vec<String> = owner
        .iter()
        .enumerate()
        .filter(|(_, o)| o.is_none())
        .map(|(index, _)| format!("{}/{count}", index + 1))
        .collect();
    if !missing.is_empty() {
        return Err(format!(
            "partition {} missing: give the output folder of every partition",
            missing.join(", ")
        ));
    }
    super::check_output_folder(out)?;
    std::fs::create_dir_all(out).map_err(|e| format!("{}: {e}", out.display()))?;
    // Held until the caller has written the class files.
    let lock = super::lock_output(out)?;
    let mut records = Vec::new();
    for (position, student) in first.students.iter().enumerate() {
        let part = manifests
            .iter()
            .position(|m| m.partition.is_none_or(|p| p.holds(position)))
            .unwrap_or(0);
        let from = parts[part].join(student);
        let record = StudentRecord::read(&from).unwrap_or_else(|| {
            StudentRecord::unfinished(student, first.columns.len(), "not graded: interrupted")
        });
        copy_folder(&from, &out.join(student))
            .map_err(|e| format!("cannot copy {} into {}: {e}", from.display(), out.display()))?;
        records.push(record);
    }
    let manifest = Manifest {
        partition: None,
        ..first.clone()
    };
    Ok((manifest, records, lock))
}

/// Copies the regular files of a student's output folder (no links, no
/// subfolders: grading writes neither). Copying a folder onto itself is a
/// no-op.
fn copy_folder(from: &Path, to: &Path) -> std::io::Result<()> {
    let Ok(entries) = std::fs::read_dir(from) else {
        return Ok(());
    };
    std::fs::create_dir_all(to)?;
    if from.canonicalize()? == to.canonicalize()? {
        return Ok(());
    }
    for entry in entries {
        let entry = entry?;
        if entry.file_type()?.is_file() {
            std::fs::copy(entry.path(), to.join(entry.file_name()))?;
        }
    }
    Ok(())
}
