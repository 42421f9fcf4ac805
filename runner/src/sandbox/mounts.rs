//! The sandbox's filesystem, built by its init in a mount namespace of
//! its own (the way bubblewrap does it): a fresh read-only root holding
//! the system folders and the program's own folders read-only, a `/proc`
//! of its own PID namespace, a minimal `/dev`, and private size-limited
//! `/tmp`, `/var/tmp` and `/dev/shm`. Nothing else of the host (other
//! submissions, reports, the runner's binary) is there to be seen.

use super::plan::Plan;
use nix::mount::{mount, umount2, MntFlags, MsFlags};
use nix::sys::statvfs::{statvfs, FsFlags};
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// Host folders every program needs (interpreters, libraries, settings),
/// shown read-only; those that are links on the host stay links. Not
/// `/opt`, `/home` and the like: a program whose toolchain lives there is
/// shown that toolchain's folder only (see `program::toolchain`).
pub const SYSTEM_FOLDERS: &[&str] = &[
    "/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc",
];
/// Parts of the system folders shown empty: what a machine's owner
/// installs there (a course, a copy of the runner) is theirs, not the
/// system's. A toolchain's own files there are bound back one by one.
pub const HIDDEN_SYSTEM_FOLDERS: &[&str] = &["/usr/local"];
/// The sandbox's private writable folders, each a tmpfs of its own.
pub const SCRATCH_FOLDERS: [&str; 3] = ["/tmp", "/var/tmp", "/dev/shm"];
/// Device nodes a program may use. `tty` opens the caller's controlling
/// terminal, and a sandbox has none (see `session`): opening it fails with
/// ENXIO, as for a daemon, which programs that probe it (getpass) expect.
const DEVICES: &[&str] = &["null", "zero", "full", "random", "urandom", "tty"];

const OLD: &str = "/oldroot";
const NEW: &str = "/newroot";

fn failed(what: impl std::fmt::Display, error: impl std::fmt::Display) -> String {
    format!("cannot build the sandbox's filesystem: {what}: {error}")
}

/// Builds the root and enters it. Runs in the init, before the program.
pub fn build_root(plan: &Plan) -> Result<(), String> {
    mount(
        None::<&str>,
        "/",
        None::<&str>,
        MsFlags::MS_REC | MsFlags::MS_PRIVATE,
        None::<&str>,
    )
    .map_err(|e| failed("make mounts private", e))?;
    // A scratch root on top of /tmp (in this namespace only); the host's
    // tree moves to /oldroot, from where its folders are bound.
    tmpfs("/tmp", 0o755, 1 << 20)?;
    mkdir("/tmp/oldroot", 0o755)?;
    nix::unistd::pivot_root("/tmp", "/tmp/oldroot").map_err(|e| failed("pivot_root", e))?;
    nix::unistd::chdir("/").map_err(|e| failed("chdir /", e))?;
    mkdir(NEW, 0o755)?;
    tmpfs(NEW, 0o755, 1 << 20)?;

    for folder in SYSTEM_FOLDERS {
        let host = on(OLD, folder);
        let inside = on(NEW, folder);
        match fs::symlink_metadata(&host) {
            Ok(meta) if meta.file_type().is_symlink() => {
                let link = fs::read_link(&host).map_err(|e| failed(host.display(), e))?;
                std::os::unix::fs::symlink(link, &inside)
                    .map_err(|e| failed(inside.display(), e))?;
            }
            Ok(meta) if meta.is_dir() => {
                mkdir(&inside, 0o755)?;
                bind_read_only(&host, &inside)?;
            }
            _ => {}
        }
    }
    // Empty and writable until the binds below have made their mount
    // points in it; read-only from then on.
    let mut hidden = Vec::new();
    for folder in HIDDEN_SYSTEM_FOLDERS {
        let inside = on(NEW, folder);
        if inside.is_dir() {
            tmpfs(&inside, 0o755, 1 << 20)?;
            hidden.push(inside);
        }
    }
    let proc_dir = Path::new(NEW).join("proc");
    mkdir(&proc_dir, 0o555)?;
    mount(
        Some("proc"),
        &proc_dir,
        Some("proc"),
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC,
        None::<&str>,
    )
    .map_err(|e| failed("mount /proc", e))?;
    build_dev()?;
    for folder in SCRATCH_FOLDERS {
        let dir = on(NEW, folder);
        mkdir_all(&dir)?;
        tmpfs(&dir, 0o1777, plan.scratch_size)?;
    }
    let mut binds = plan.binds.clone();
    // Parents first: a folder bound inside another stays visible.
    binds.sort_by_key(|p| p.components().count());
    for path in &binds {
        let host = on(OLD, path);
        let inside = on(NEW, path);
        // A link (to a toolchain's real program) stays a link: a program
        // that finds its home from its own path must see the same path.
        if let Ok(link) = fs::read_link(&host) {
            if let Some(parent) = inside.parent() {
                mkdir_all(parent)?;
            }
            if fs::symlink_metadata(&inside).is_err() {
                std::os::unix::fs::symlink(link, &inside)
                    .map_err(|e| failed(inside.display(), e))?;
            }
            continue;
        }
        let is_dir = fs::metadata(&host)
            .map_err(|e| failed(path.display(), e))?
            .is_dir();
        if is_dir {
            mkdir_all(&inside)?;
        } else {
            if let Some(parent) = inside.parent() {
                mkdir_all(parent)?;
            }
            if !inside.exists() {
                fs::write(&inside, b"").map_err(|e| failed(inside.display(), e))?;
            }
        }
        bind_read_only(&host, &inside)?;
    }
    for path in &plan.masks {
        let inside = on(NEW, path);
        if inside.is_file() {
            bind_read_only(&Path::new(NEW).join("dev/null"), &inside)?;
        }
    }
    for inside in &hidden {
        remount_read_only(inside)?;
    }
    umount2(OLD, MntFlags::MNT_DETACH).map_err(|e| failed("detach the host's tree", e))?;
    // Enter the new root; the scratch root underneath is detached too.
    nix::unistd::chdir(NEW).map_err(|e| failed("chdir", e))?;
    nix::unistd::pivot_root(".", ".").map_err(|e| failed("pivot_root", e))?;
    umount2(".", MntFlags::MNT_DETACH).map_err(|e| failed("detach the scratch root", e))?;
    nix::unistd::chdir("/").map_err(|e| failed("chdir /", e))?;
    remount_read_only(Path::new("/"))
}

/// Makes the mount at `path` read-only, without set-uid files or devices.
fn remount_read_only(path: &Path) -> Result<(), String> {
    mount(
        None::<&str>,
        path,
        None::<&str>,
        MsFlags::MS_REMOUNT
            | MsFlags::MS_BIND
            | MsFlags::MS_RDONLY
            | MsFlags::MS_NOSUID
            | MsFlags::MS_NODEV,
        None::<&str>,
    )
    .map_err(|e| failed(format!("make {} read-only", path.display()), e))
}

/// `path` (absolute) as seen under the tree mounted at `tree`.
fn on(tree: &str, path: impl AsRef<Path>) -> PathBuf {
    let path = path.as_ref();
    Path::new(tree).join(path.strip_prefix("/").unwrap_or(path))
}

/// A minimal /dev: a few device nodes bound from the host and the usual
/// links (its private /dev/shm is one of the scratch folders).
fn build_dev() -> Result<(), String> {
    let dev = Path::new(NEW).join("dev");
    mkdir(&dev, 0o755)?;
    tmpfs(&dev, 0o755, 1 << 20)?;
    for name in DEVICES {
        let host = Path::new(OLD).join("dev").join(name);
        if !host.exists() {
            continue;
        }
        let inside = dev.join(name);
        fs::write(&inside, b"").map_err(|e| failed(inside.display(), e))?;
        mount(
            Some(&host),
            &inside,
            None::<&str>,
            MsFlags::MS_BIND,
            None::<&str>,
        )
        .map_err(|e| failed(inside.display(), e))?;
    }
    let links = [
        ("fd", "/proc/self/fd"),
        ("stdin", "/proc/self/fd/0"),
        ("stdout", "/proc/self/fd/1"),
        ("stderr", "/proc/self/fd/2"),
    ];
    for (name, to) in links {
        std::os::unix::fs::symlink(to, dev.join(name)).map_err(|e| failed(name, e))?;
    }
    Ok(())
}

fn tmpfs(at: impl AsRef<Path>, mode: u32, size: u64) -> Result<(), String> {
    let at = at.as_ref();
    mount(
        Some("tmpfs"),
        at,
        Some("tmpfs"),
        MsFlags::MS_NOSUID | MsFlags::MS_NODEV,
        Some(format!("mode={mode:o},size={size}").as_str()),
    )
    .map_err(|e| failed(format!("tmpfs on {}", at.display()), e))
}

/// A read-only view of `host` at `inside`. The flags the kernel locks
/// (in a user namespace, those of the host's mount) are kept.
fn bind_read_only(host: &Path, inside: &Path) -> Result<(), String> {
    mount(
        Some(host),
        inside,
        None::<&str>,
        MsFlags::MS_BIND | MsFlags::MS_REC,
        None::<&str>,
    )
    .map_err(|e| failed(format!("bind {}", host.display()), e))?;
    let mut flags =
        MsFlags::MS_REMOUNT | MsFlags::MS_BIND | MsFlags::MS_RDONLY | MsFlags::MS_NOSUID;
    if let Ok(stat) = statvfs(inside) {
        let have = stat.flags();
        for (statvfs_flag, mount_flag) in [
            (FsFlags::ST_NODEV, MsFlags::MS_NODEV),
            (FsFlags::ST_NOEXEC, MsFlags::MS_NOEXEC),
            (FsFlags::ST_NOATIME, MsFlags::MS_NOATIME),
            (FsFlags::ST_NODIRATIME, MsFlags::MS_NODIRATIME),
            (FsFlags::ST_RELATIME, MsFlags::MS_RELATIME),
        ] {
            if have.contains(statvfs_flag) {
                flags |= mount_flag;
            }
        }
    }
    mount(None::<&str>, inside, None::<&str>, flags, None::<&str>)
        .map_err(|e| failed(format!("make {} read-only", inside.display()), e))
}

fn mkdir(path: impl AsRef<Path>, mode: u32) -> Result<(), String> {
    let path = path.as_ref();
    match fs::create_dir(path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(failed(path.display(), e)),
    }
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
        .map_err(|e| failed(path.display(), e))
}

fn mkdir_all(path: &Path) -> Result<(), String> {
    let mut built = PathBuf::new();
    for part in path.components() {
        built.push(part);
        if !built.exists() {
            mkdir(&built, 0o755)?;
        }
    }
    Ok(())
}
