//! Embeds every spec in `../specs/` into the binary, so that `runner` works
//! from any directory and after `cargo install`.

use std::env;
use std::fmt::Write as _;
use std::fs;
use std::path::PathBuf;

fn main() {
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let specs = manifest.join("../specs");
    println!("cargo:rerun-if-changed={}", specs.display());
    let mut files: Vec<PathBuf> = fs::read_dir(&specs)
        .map(|entries| {
            entries
                .filter_map(|entry| entry.ok().map(|e| e.path()))
                .filter(|path| path.extension().is_some_and(|ext| ext == "yaml"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    let mut code = String::from("/// (file name, content) of every bundled spec.\npub const BUNDLED: &[(&str, &str)] = &[\n");
    for path in &files {
        println!("cargo:rerun-if-changed={}", path.display());
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .expect("spec names are UTF-8");
        let absolute = fs::canonicalize(path).expect("listed files exist");
        writeln!(
            code,
            "    ({name:?}, include_str!({:?})),",
            absolute.display().to_string()
        )
        .expect("writing to a String");
    }
    code.push_str("];\n");
    let out = PathBuf::from(env::var("OUT_DIR").expect("set by cargo")).join("bundled_specs.rs");
    fs::write(out, code).expect("OUT_DIR is writable");
    pack_relative_relocations();
}

/// The runner's binary starts twice per run (the runner and its sandbox
/// starter), and once per sandbox where the starter is not there to fork
/// its helper; at each start the dynamic loader applied its 16,000
/// relative relocations from 390 KB of RELA entries. Packed (DT_RELR)
/// they take 5 KB. Asked for only where the C
/// library the binary is linked against reads them (glibc 2.36 on, which
/// defines the `GLIBC_ABI_DT_RELR` version the linker then requires), and
/// only for a build for this machine, whose library that is.
fn pack_relative_relocations() {
    println!("cargo:rerun-if-env-changed=CC");
    let var = |name: &str| env::var(name).unwrap_or_default();
    if var("CARGO_CFG_TARGET_OS") != "linux"
        || var("CARGO_CFG_TARGET_ENV") != "gnu"
        || var("HOST") != var("TARGET")
    {
        return;
    }
    let compiler = env::var("CC").unwrap_or_else(|_| String::from("cc"));
    let libc = std::process::Command::new(compiler)
        .arg("-print-file-name=libc.so.6")
        .output()
        .ok()
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .map(|path| PathBuf::from(path.trim()));
    let reads_relr = libc
        .and_then(|path| fs::read(path).ok())
        .is_some_and(|bytes| bytes.windows(17).any(|w| w == b"GLIBC_ABI_DT_RELR"));
    if reads_relr {
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }
}
