//! How many cases run at once across a whole run or class: a counting
//! semaphore that every spec's (and every student's) cases share, so that
//! running the cases of a spec side by side never starts more sandboxes
//! than the run allows.
//!
//! Much of a case is waiting (a quiet window, a timeout a wrong program
//! runs into), when its places use no CPU. Where the run chose no count
//! itself, some places are `assured` (taken whatever the machine's load)
//! and the others only while the machine has room (no task waits for a
//! CPU, a quarter of the memory is available), as `make --load-average`
//! holds back jobs: a class of quick Python programs fills the waits,
//! while heavier programs (a JVM start) keep the CPUs no busier than
//! with the assured places alone.

use std::sync::{Arc, Condvar, Mutex, Weak};
use std::time::Duration;

/// Places for cases running at the same time.
pub struct Slots {
    state: Mutex<State>,
    changed: Condvar,
    capacity: usize,
    /// Places taken whatever the machine's load.
    assured: usize,
    /// Whether the machine has room, asked by the load watcher, a thread started
    /// when a case first waits with every assured place taken.
    has_room: fn() -> bool,
    watcher: std::sync::Once,
    /// The `Arc` these places are in, for the load watcher to hold.
    me: Weak<Slots>,
}

#[derive(Default)]
struct State {
    taken: usize,
    /// Cases waiting for a place.
    waiting: usize,
    /// Places beyond the assured ones that may be taken now: the load
    /// watcher grants one at a time, while the machine has room.
    granted: usize,
}

impl std::fmt::Debug for Slots {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Slots")
            .field("capacity", &self.capacity)
            .field("assured", &self.assured)
            .finish()
    }
}

/// How often the load watcher asks whether the machine has room, while a case
/// waits for a place beyond the assured ones: at most this many such
/// places are granted a second.
const IDLE_LOOK: Duration = Duration::from_millis(10);

/// One place, held until dropped.
pub struct Slot<'a> {
    slots: &'a Slots,
}

impl Slots {
    /// `capacity` places (at least one), all assured.
    pub fn new(capacity: usize) -> Slots {
        let capacity = capacity.max(1);
        Slots {
            state: Mutex::new(State::default()),
            changed: Condvar::new(),
            capacity,
            assured: capacity,
            has_room: || false,
            watcher: std::sync::Once::new(),
            me: Weak::new(),
        }
    }

    /// `capacity` places, of which `assured` are taken whatever the load
    /// and the others only while the machine has room (`machine_has_room`).
    pub fn load_aware(assured: usize, capacity: usize) -> Arc<Slots> {
        Slots::watched(assured, capacity, machine_has_room)
    }

    /// As `load_aware`, with `has_room` telling whether the machine has room,
    /// asked by one thread of its own (no case polls the load).
    fn watched(assured: usize, capacity: usize, has_room: fn() -> bool) -> Arc<Slots> {
        Arc::new_cyclic(|me| {
            let mut slots = Slots::new(capacity);
            slots.assured = assured.clamp(1, slots.capacity);
            slots.has_room = has_room;
            slots.me = me.clone();
            slots
        })
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Waits for a free place and takes it: an assured one at once, one
    /// beyond them once the load watcher has granted it.
    pub fn take(&self) -> Slot<'_> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if state.taken < self.assured {
                break;
            }
            if state.taken < self.capacity && state.granted > 0 {
                state.granted -= 1;
                break;
            }
            if state.taken < self.capacity {
                self.watcher.call_once(|| {
                    let (me, has_room) = (self.me.clone(), self.has_room);
                    std::thread::spawn(move || watch_load(&me, has_room));
                });
            }
            state.waiting += 1;
            state = self.changed.wait(state).unwrap_or_else(|e| e.into_inner());
            state.waiting -= 1;
        }
        state.taken += 1;
        Slot { slots: self }
    }
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        let mut state = self.slots.state.lock().unwrap_or_else(|e| e.into_inner());
        state.taken -= 1;
        self.slots.changed.notify_one();
    }
}

/// The load watcher of `slots`, until they are dropped: while a case
/// waits with every assured place taken, grants it one more place each
/// time it sees the machine has room.
fn watch_load(slots: &Weak<Slots>, has_room: fn() -> bool) {
    loop {
        std::thread::sleep(IDLE_LOOK);
        let Some(slots) = slots.upgrade() else {
            return;
        };
        let wanted = {
            let state = slots.state.lock().unwrap_or_else(|e| e.into_inner());
            state.waiting > 0
                && state.granted == 0
                && (slots.assured..slots.capacity).contains(&state.taken)
        };
        if wanted && has_room() {
            let mut state = slots.state.lock().unwrap_or_else(|e| e.into_inner());
            state.granted = 1;
            // Any waiting case may take it.
            slots.changed.notify_one();
        }
    }
}

/// Whether the machine has room for one more case: no task waits for a
/// CPU, and a quarter of its memory is available (a class of JVMs waiting
/// out their timeouts holds memory, not CPU).
fn machine_has_room() -> bool {
    no_task_waits_for_a_cpu()
        && std::fs::read_to_string("/proc/meminfo")
            .ok()
            .and_then(|text| {
                Some((
                    meminfo_kib(&text, "MemAvailable")?,
                    meminfo_kib(&text, "MemTotal")?,
                ))
            })
            .is_some_and(|(available, total)| available >= total / 4)
}

/// Whether no task waits for a CPU: no more tasks are runnable on the
/// machine than it has CPUs for the run (`/proc/loadavg`'s count of
/// runnable tasks, the caller's own thread, which is running, left out).
/// No answer is no.
fn no_task_waits_for_a_cpu() -> bool {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|text| runnable_tasks(&text))
        .is_some_and(|runnable| runnable.saturating_sub(1) <= cpus)
}

/// The value of `field` in `/proc/meminfo`, in KiB (`MemTotal:  24576 kB`).
fn meminfo_kib(meminfo: &str, field: &str) -> Option<u64> {
    meminfo.lines().find_map(|line| {
        line.strip_prefix(field)?
            .strip_prefix(':')?
            .split_whitespace()
            .next()?
            .parse()
            .ok()
    })
}

/// The runnable tasks of `/proc/loadavg` (`0.52 0.58 0.59 3/517 12345`: 3).
fn runnable_tasks(loadavg: &str) -> Option<usize> {
    loadavg
        .split_whitespace()
        .nth(3)?
        .split_once('/')?
        .0
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// The most places held at once by 12 threads that each take one 50
    /// times from `slots`; every place is back at the end.
    fn most_held_at_once(slots: &Slots) -> usize {
        let holding = AtomicUsize::new(0);
        let most = AtomicUsize::new(0);
        std::thread::scope(|scope| {
            for _ in 0..12 {
                scope.spawn(|| {
                    for _ in 0..50 {
                        let _slot = slots.take();
                        let now = holding.fetch_add(1, Ordering::SeqCst) + 1;
                        most.fetch_max(now, Ordering::SeqCst);
                        std::thread::yield_now();
                        holding.fetch_sub(1, Ordering::SeqCst);
                    }
                });
            }
        });
        assert_eq!(
            slots.state.lock().unwrap().taken,
            0,
            "every place came back"
        );
        most.load(Ordering::SeqCst)
    }

    #[test]
    fn never_more_holders_than_places() {
        assert!(most_held_at_once(&Slots::new(3)) <= 3);
    }

    #[test]
    fn on_a_busy_machine_only_the_assured_places_are_taken() {
        assert!(most_held_at_once(&Slots::watched(2, 6, || false)) <= 2);
    }

    #[test]
    fn with_room_on_the_machine_every_place_is_taken_in_turn() {
        let slots = Slots::watched(2, 6, || true);
        let (done, taken) = std::sync::mpsc::channel();
        // Not scoped: a taker stuck for good must not hold the test up.
        std::thread::spawn(move || {
            let held: Vec<Slot> = (0..6).map(|_| slots.take()).collect();
            let _ = done.send(held.len());
        });
        // Four grants, one look (10 ms) apart at the least.
        let got = taken.recv_timeout(Duration::from_secs(10));
        assert_eq!(
            got,
            Ok(6),
            "the places beyond the assured ones were never granted"
        );
    }

    #[test]
    fn memory_is_read_from_meminfo() {
        let meminfo = "MemTotal:       24576000 kB\nMemFree:  100 kB\nMemAvailable:   6144000 kB\n";
        assert_eq!(meminfo_kib(meminfo, "MemTotal"), Some(24_576_000));
        assert_eq!(meminfo_kib(meminfo, "MemAvailable"), Some(6_144_000));
        assert_eq!(meminfo_kib(meminfo, "Mem"), None);
    }

    #[test]
    fn the_runnable_tasks_are_read_from_loadavg() {
        assert_eq!(runnable_tasks("0.52 0.58 0.59 3/517 12345\n"), Some(3));
        assert_eq!(runnable_tasks("garbage"), None);
    }

    #[test]
    fn a_capacity_of_zero_still_lets_one_case_run() {
        let slots = Slots::new(0);
        assert_eq!(slots.capacity(), 1);
        drop(slots.take());
    }
}
