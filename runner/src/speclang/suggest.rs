//! "Did you mean" suggestions for misspelt keys and step names.

/// Edit distance between two short strings, where swapping two adjacent
/// letters (the commonest typo) counts as one edit.
fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    d[0] = (0..=b.len()).collect();
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = best;
        }
    }
    d[a.len()][b.len()]
}

/// What to say of `name` when it is neither a spec file nor a bundled
/// spec: the bundled name it is a typo of, if any, then every bundled
/// name.
pub fn unknown_spec(name: &str) -> String {
    let names = super::bundled_names();
    let stem = name.strip_suffix(".yaml").unwrap_or(name);
    let guess = closest(stem, &names)
        .map(|close| format!("did you mean `{close}`? "))
        .unwrap_or_default();
    format!("{guess}bundled specs: {}", names.join(", "))
}

/// The candidate closest to `word`, if it is close enough to be a typo.
pub fn closest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    candidates
        .iter()
        .map(|c| (distance(word, c), *c))
        .filter(|(d, c)| {
            *d > 0 && *d < word.chars().count() && *d <= (c.len().max(word.len()) / 3).max(1)
        })
        // Ties go to the alphabetically first name, so the same spec
        // always gets the same suggestion.
        .min_by_key(|(d, c)| (*d, *c))
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
    fn a_swap_of_two_letters_is_one_edit() {
        assert_eq!(closest("sedn", &["send", "recv"]), Some("send"));
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
