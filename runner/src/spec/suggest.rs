//! "Did you mean" suggestions for misspelt keys and step names.

/// Edit distance between two short strings.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current.push(substitution.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}

/// The candidate closest to `word`, if it is close enough to be a typo.
pub fn closest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|c| (distance(word, c), *c))
        .filter(|(d, c)| *d > 0 && *d <= (c.len().max(word.len()) / 3).max(1))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// For serde's "unknown field `x`, expected one of `a`, `b`" and "unknown
/// variant" messages: the expected name closest to the unknown one.
pub fn did_you_mean(message: &str) -> Option<&str> {
    if !message.starts_with("unknown field") && !message.starts_with("unknown variant") {
        return None;
    }
    let mut names = message.split('`').skip(1).step_by(2);
    let unknown = names.next()?;
    let expected: Vec<&str> = names.collect();
    closest(unknown, &expected)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_the_nearest_expected_name() {
        let message = "unknown field `tetx`, expected one of `on`, `text`, `hex`";
        assert_eq!(did_you_mean(message), Some("text"));
    }

    #[test]
    fn stays_silent_when_nothing_is_close() {
        let message = "unknown variant `banana`, expected one of `send`, `recv`";
        assert_eq!(did_you_mean(message), None);
    }

    #[test]
    fn ignores_other_messages() {
        assert_eq!(did_you_mean("invalid type: string `x`"), None);
    }
}
