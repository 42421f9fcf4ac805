//! `runner gradescope-bundle`: the zip that Gradescope's autograder takes.
//! Layout per <https://gradescope-autograders.readthedocs.io/en/latest/specs/>:
//! `setup.sh` and `run_autograder` at the top of the zip, unpacked into
//! `/autograder/source`; the student's files in `/autograder/submission`;
//! the results in `/autograder/results/results.json`.

use crate::speclang::assignment::Assignment;
use std::io::Write;
use std::path::Path;
use zip::write::SimpleFileOptions;

/// `setup.sh`, with `@PACKAGES@` the Debian packages to install.
const SETUP: &str = r#"#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder image.
# The runner is a self-contained Linux binary; the students' programs need
# the toolchains of the languages the assignment's file patterns can
# match, and the packages the assignment lists.
set -eu
apt-get update
apt-get install -y --no-install-recommends @PACKAGES@
chmod +x /autograder/source/runner
"#;

const RUN_AUTOGRADER: &str = r#"#!/usr/bin/env bash
# Gradescope runs this for every submission, as root, with the student's
# files in /autograder/submission. AUTOGRADER_ROOT stands in for
# /autograder when the bundle is tried elsewhere.
set -u
root="${AUTOGRADER_ROOT:-/autograder}"
source_dir="$root/source"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/class" "$root/results"
cp -R "$root/submission" "$work/class/submission"
chmod +x "$source_dir/runner"
"$source_dir/runner" grade "$source_dir/assignment.yaml" \
    --submissions "$work/class" --out "$work/out" --jobs 1
status=$?
if [ -f "$work/out/submission/results.json" ]; then
    cp "$work/out/submission/results.json" "$root/results/results.json"
else
    printf '{"score": 0, "output": "The autograder could not grade this submission (runner exit code %s). Please tell your teacher.", "tests": []}\n' "$status" \
        > "$root/results/results.json"
fi
"#;

/// Writes the autograder zip for `assignment` to `path`. The runner
/// itself goes in as `runner`, the specs as `specs/NAME.yaml`, and the
/// assignment, rewritten to point at them, as `assignment.yaml`.
/// `runner` is the binary to carry, this one when None (a static one runs
/// on any image).
pub fn write(assignment: &Assignment, path: &Path, runner: Option<&Path>) -> Result<(), String> {
    let runner = match runner {
        Some(runner) => std::fs::read(runner)
            .map_err(|e| format!("cannot read the runner {}: {e}", runner.display()))?,
        None => std::env::current_exe()
            .and_then(std::fs::read)
            .map_err(|e| format!("cannot read the runner's own binary: {e}"))?,
    };
    let file = std::fs::File::create(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut zip = zip::ZipWriter::new(file);
    let executable = SimpleFileOptions::default().unix_permissions(0o755);
    let plain = SimpleFileOptions::default().unix_permissions(0o644);
    let mut add = |name: &str, options: SimpleFileOptions, bytes: &[u8]| {
        zip.start_file(name, options)
            .and_then(|()| zip.write_all(bytes).map_err(Into::into))
            .map_err(|e| format!("{}: cannot write {name}: {e}", path.display()))
    };
    let setup = SETUP.replace("@PACKAGES@", &packages(assignment).join(" "));
    add("setup.sh", executable, setup.as_bytes())?;
    add("run_autograder", executable, RUN_AUTOGRADER.as_bytes())?;
    add("runner", executable, &runner)?;
    add(
        "assignment.yaml",
        plain,
        assignment_file(assignment).as_bytes(),
    )?;
    for program in &assignment.programs {
        add(
            &format!("specs/{}.yaml", program.spec.name),
            plain,
            program.spec.text.as_bytes(),
        )?;
    }
    zip.finish()
        .map_err(|e| format!("{}: cannot finish the zip: {e}", path.display()))?;
    Ok(())
}

/// The Debian packages `setup.sh` installs: python3 always (a Python
/// program is the common case, and the toolchain checks use it), the
/// toolchain of every file type a program's pattern can match (all of
/// them for a pattern like `server.*`), then the assignment's own.
pub(crate) fn packages(assignment: &Assignment) -> Vec<String> {
    let mut packages = vec![String::from("python3")];
    let mut add = |package: &str| {
        if !packages.iter().any(|p| p == package) {
            packages.push(package.to_string());
        }
    };
    for program in &assignment.programs {
        let extensions = program.file.extensions().unwrap_or_else(|| {
            crate::program::PROGRAM_EXTENSIONS
                .iter()
                .map(|e| e.to_string())
                .collect()
        });
        for extension in extensions {
            for package in crate::program::packages_for_extension(&extension).unwrap_or_default() {
                add(package);
            }
        }
    }
    for package in &assignment.packages {
        add(package);
    }
    packages
}

/// The assignment file inside the bundle, with specs as bundle paths.
pub(crate) fn assignment_file(assignment: &Assignment) -> String {
    let quote = |text: &str| serde_json::to_string(text).unwrap_or_default();
    let mut text = format!(
        "# Written by `runner` for a grading platform.\nassignment: {}\n",
        quote(&assignment.name)
    );
    if !assignment.packages.is_empty() {
        let packages: Vec<String> = assignment.packages.iter().map(|p| quote(p)).collect();
        text.push_str(&format!("packages: [{}]\n", packages.join(", ")));
    }
    text.push_str("programs:\n");
    for program in &assignment.programs {
        text.push_str(&format!(
            "  - spec: {}\n    file: {}\n",
            quote(&format!("specs/{}.yaml", program.spec.name)),
            quote(program.file.as_str())
        ));
        if let Some(addr) = program.addr {
            text.push_str(&format!("    addr: {}\n", quote(&addr.to_string())));
        }
        for (key, command) in [("build", &program.build), ("run", &program.run)] {
            if let Some(command) = command {
                text.push_str(&format!("    {key}: {}\n", quote(command)));
            }
        }
    }
    text
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_assignment_file_round_trips() {
        let spec = crate::speclang::bundled_named("tcp-upper-server")
            .expect("bundled")
            .expect("valid");
        let mut assignment = super::Assignment::single(
            spec,
            crate::speclang::pattern::FilePattern::new("my server.py").expect("valid"),
            Some("127.1.1.1:8900".parse().expect("addr")),
        );
        assignment.packages = vec![String::from("libssl-dev")];
        assignment.programs[0].build = Some(String::from("cc -o 'my server' {file}"));
        assignment.programs[0].run = Some(String::from("\"{dir}/my server\" {port}"));
        let folder = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir(folder.path().join("specs")).expect("mkdir");
        std::fs::write(
            folder.path().join("specs/tcp-upper-server.yaml"),
            &assignment.programs[0].spec.text,
        )
        .expect("write spec");
        let path = folder.path().join("assignment.yaml");
        std::fs::write(&path, super::assignment_file(&assignment)).expect("write");
        let loaded = crate::speclang::assignment::load(&path).expect("loads");
        assert_eq!(loaded.programs[0].file.as_str(), "my server.py");
        assert_eq!(loaded.programs[0].addr, assignment.programs[0].addr);
        assert_eq!(loaded.programs[0].build, assignment.programs[0].build);
        assert_eq!(loaded.programs[0].run, assignment.programs[0].run);
        assert_eq!(loaded.packages, ["libssl-dev"]);
    }

    #[test]
    fn setup_installs_the_toolchains_the_patterns_can_need() {
        let packages = |file: &str, extra: &[&str]| {
            let spec = crate::speclang::bundled_named("tcp-upper-server")
                .expect("bundled")
                .expect("valid");
            let pattern = crate::speclang::pattern::FilePattern::new(file).expect("valid");
            let mut assignment = super::Assignment::single(spec, pattern, None);
            assignment.packages = extra.iter().map(|p| p.to_string()).collect();
            super::packages(&assignment)
        };
        assert_eq!(packages("server.py", &[]), ["python3"]);
        assert_eq!(
            packages("*.c", &["libssl-dev"]),
            ["python3", "gcc", "make", "libssl-dev"]
        );
        let any = packages("server.*", &[]);
        for package in [
            "python3",
            "gcc",
            "g++",
            "make",
            "golang",
            "default-jdk-headless",
            "nodejs",
        ] {
            assert!(any.contains(&package.to_string()), "{package} in {any:?}");
        }
    }
}

/// Whether the ELF executable `bytes` asks for a dynamic loader (has a
/// `PT_INTERP` program header): such a runner needs a C library like the
/// one it was built against on the grading image. None if it is not a
/// 64-bit little-endian ELF file.
pub fn needs_loader(bytes: &[u8]) -> Option<bool> {
    const PT_INTERP: u32 = 3;
    if bytes.get(..6)? != b"\x7fELF\x02\x01" {
        return None;
    }
    let u16_at = |at: usize| Some(u16::from_le_bytes(bytes.get(at..at + 2)?.try_into().ok()?));
    let u64_at = |at: usize| Some(u64::from_le_bytes(bytes.get(at..at + 8)?.try_into().ok()?));
    let table = usize::try_from(u64_at(0x20)?).ok()?;
    let size = usize::from(u16_at(0x36)?);
    let count = usize::from(u16_at(0x38)?);
    for index in 0..count {
        let at = table.checked_add(index.checked_mul(size)?)?;
        let kind = u32::from_le_bytes(bytes.get(at..at + 4)?.try_into().ok()?);
        if kind == PT_INTERP {
            return Some(true);
        }
    }
    Some(false)
}

/// What to tell the teacher about the runner a bundle carries.
pub fn linkage_note(runner: &Path) -> String {
    match std::fs::read(runner).ok().as_deref().and_then(needs_loader) {
        Some(false) => String::from("the runner is statically linked: it runs on any Linux x86-64 image"),
        Some(true) => String::from("the runner is dynamically linked: the image's C library must be as new as this machine's; give a static one with --runner (see the README)"),
        None => String::from("the runner is not a Linux x86-64 executable"),
    }
}

#[cfg(test)]
mod linkage_tests {
    #[test]
    fn this_test_binary_asks_for_a_loader_and_text_is_no_elf() {
        let me = std::fs::read(std::env::current_exe().expect("exe")).expect("read");
        // Test binaries are built without crt-static.
        assert_eq!(super::needs_loader(&me), Some(true));
        assert_eq!(super::needs_loader(b"#!/bin/sh\n"), None);
    }
}
