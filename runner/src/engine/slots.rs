//! How many cases run at once across a whole run or class: a counting
//! semaphore that every spec's (and every student's) cases share, so that
//! running the cases of a spec side by side never starts more sandboxes
//! than the run allows.

use std::sync::{Condvar, Mutex};

/// Places for cases running at the same time.
#[derive(Debug)]
pub struct Slots {
    free: Mutex<usize>,
    freed: Condvar,
    capacity: usize,
}

/// One place, held until dropped.
pub struct Slot<'a> {
    slots: &'a Slots,
}

impl Slots {
    /// `capacity` places (at least one).
    pub fn new(capacity: usize) -> Slots {
        let capacity = capacity.max(1);
        Slots {
            free: Mutex::new(capacity),
            freed: Condvar::new(),
            capacity,
        }
    }

    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Waits for a free place and takes it.
    pub fn take(&self) -> Slot<'_> {
        let mut free = self.free.lock().unwrap_or_else(|e| e.into_inner());
        while *free == 0 {
            free = self.freed.wait(free).unwrap_or_else(|e| e.into_inner());
        }
        *free -= 1;
        Slot { slots: self }
    }
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        let mut free = self.slots.free.lock().unwrap_or_else(|e| e.into_inner());
        *free += 1;
        self.slots.freed.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn never_more_holders_than_places() {
        let slots = Slots::new(3);
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
        assert!(most.load(Ordering::SeqCst) <= 3);
        assert_eq!(*slots.free.lock().unwrap(), 3, "every place came back");
    }

    #[test]
    fn a_capacity_of_zero_still_lets_one_case_run() {
        let slots = Slots::new(0);
        assert_eq!(slots.capacity(), 1);
        drop(slots.take());
    }
}
