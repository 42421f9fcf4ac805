//! Splitting work over machines, as cargo-nextest's `--partition count:K/N`
//! does: items in a fixed order, dealt round-robin to N parts.

use serde::{Deserialize, Serialize};

/// One of N parts of a list (`--partition K/N`): the students of a class
/// or the cases of a run, for spreading work over machines or CI jobs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Partition {
    /// 1-based.
    pub index: usize,
    pub count: usize,
}

impl Partition {
    /// Whether the `position`-th item (0-based, in sorted order) is in this
    /// partition: items are dealt round-robin, as cargo-nextest's
    /// `count:K/N` does, so every partition gets a fair share.
    pub fn holds(&self, position: usize) -> bool {
        position % self.count == self.index - 1
    }

    pub fn parse(text: &str) -> Result<Partition, String> {
        let invalid = || format!("`{text}` is not a partition K/N with 1 <= K <= N, such as 1/2");
        let (index, count) = text.split_once('/').ok_or_else(invalid)?;
        let index: usize = index.trim().parse().map_err(|_| invalid())?;
        let count: usize = count.trim().parse().map_err(|_| invalid())?;
        if index == 0 || count == 0 || index > count {
            return Err(invalid());
        }
        Ok(Partition { index, count })
    }
}

impl std::fmt::Display for Partition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_deal_students_round_robin_and_cover_all() {
        let parts: Vec<Partition> = (1..=3)
            .map(|k| Partition::parse(&format!("{k}/3")).expect("valid"))
            .collect();
        for position in 0..10 {
            assert_eq!(parts.iter().filter(|p| p.holds(position)).count(), 1);
        }
        assert!(parts[0].holds(0) && parts[1].holds(1) && parts[0].holds(3));
        for bad in ["0/2", "3/2", "1", "a/b", "1/0"] {
            assert!(Partition::parse(bad).is_err(), "{bad}");
        }
    }
}
