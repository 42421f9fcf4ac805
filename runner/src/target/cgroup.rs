//! A cgroup v2 of its own for each target, where the machine lets the
//! runner make one (root, a writable unified hierarchy): `cgroup.kill`
//! ends every process in it at once, including one that left the process
//! group, lost its parent and cleared its environment. Where cgroups are
//! not available, the process group and the environment marker still
//! apply; the cgroup is an extra layer, never a requirement.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

pub struct Cgroup {
    dir: PathBuf,
}

/// Where a cgroup v2 hierarchy may be mounted.
const MOUNTS: &[&str] = &["/sys/fs/cgroup/unified", "/sys/fs/cgroup"];

impl Cgroup {
    /// A new cgroup below the runner's own, or None when none can be made.
    pub fn create() -> Option<Cgroup> {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        let own = own_v2_path()?;
        let mount = MOUNTS
            .iter()
            .map(Path::new)
            .find(|m| m.join("cgroup.procs").is_file() && m.join("cgroup.max.depth").is_file())?;
        let parent = mount.join(own.trim_start_matches('/'));
        let name = format!(
            "socket-runner-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let dir = parent.join(name);
        fs::create_dir(&dir).ok()?;
        let cgroup = Cgroup { dir };
        // Without cgroup.kill (kernels before 5.14) it is of no use here.
        cgroup.dir.join("cgroup.kill").is_file().then_some(cgroup)
    }

    /// Moves process `pid` (and the children it starts from now on) in.
    pub fn adopt(&self, pid: u32) -> bool {
        fs::write(self.dir.join("cgroup.procs"), pid.to_string()).is_ok()
    }

    /// Every process in the cgroup.
    pub fn members(&self) -> Vec<i32> {
        fs::read_to_string(self.dir.join("cgroup.procs"))
            .map(|text| text.lines().filter_map(|l| l.trim().parse().ok()).collect())
            .unwrap_or_default()
    }

    /// SIGKILL to every process in the cgroup, atomically.
    pub fn kill(&self) {
        let _ = fs::write(self.dir.join("cgroup.kill"), "1");
    }
}

impl Drop for Cgroup {
    fn drop(&mut self) {
        // Succeeds once the last process is gone (and reaped).
        let _ = fs::remove_dir(&self.dir);
    }
}

/// The runner's own cgroup v2 path, from the `0::PATH` line.
fn own_v2_path() -> Option<String> {
    let text = fs::read_to_string("/proc/self/cgroup").ok()?;
    text.lines()
        .find_map(|line| line.strip_prefix("0::"))
        .map(str::to_string)
}
