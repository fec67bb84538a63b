//! "Did you mean" suggestions for unknown keys.
//!
//! Two kinds of typo are common in producer configs: a key written with `_` or `-` instead of
//! `.` (`linger_ms`, from environment variables or code), and a misspelling (`linger.sm`). The
//! first is matched exactly after normalising separators and case; the second by edit distance.

/// Lowercases and turns `_` and `-` into `.`.
fn normalise(key: &str) -> String {
    key.chars()
        .map(|character| match character {
            '_' | '-' => '.',
            other => other.to_ascii_lowercase(),
        })
        .collect()
}

/// The Levenshtein distance between two strings, in characters.
pub(crate) fn edit_distance(left: &str, right: &str) -> usize {
    let right: Vec<char> = right.chars().collect();
    let mut previous: Vec<usize> = (0..=right.len()).collect();
    let mut current = vec![0; right.len() + 1];
    for (row, left_char) in left.chars().enumerate() {
        current[0] = row + 1;
        for (column, right_char) in right.iter().enumerate() {
            let substitution = previous[column] + usize::from(left_char != *right_char);
            current[column + 1] = substitution
                .min(previous[column + 1] + 1)
                .min(current[column] + 1);
        }
        std::mem::swap(&mut previous, &mut current);
    }
    previous[right.len()]
}

/// The known key `unknown` most likely meant, if any is close enough.
///
/// A separator or case variant wins outright; otherwise the closest key within an edit
/// distance of a third of the key's length (at most 4), ties going to the earlier candidate.
pub(crate) fn suggest<'a>(
    unknown: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let normalised = normalise(unknown);
    let budget = (unknown.chars().count() / 3).clamp(1, 4);
    let mut best: Option<(usize, &'a str)> = None;
    for candidate in candidates {
        if normalise(candidate) == normalised {
            return Some(candidate);
        }
        let distance = edit_distance(&normalised, candidate);
        if distance <= budget && best.is_none_or(|(best_distance, _)| distance < best_distance) {
            best = Some((distance, candidate));
        }
    }
    best.map(|(_, candidate)| candidate)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEYS: [&str; 4] = ["linger.ms", "batch.size", "acks", "retries"];

    // The Levenshtein distance behind "did you mean" (single-character edits).
    #[test]
    fn edit_distance_counts_insertions_deletions_substitutions() {
        assert_eq!(edit_distance("linger.ms", "linger.ms"), 0);
        assert_eq!(edit_distance("linger.sm", "linger.ms"), 2);
        assert_eq!(edit_distance("lingerms", "linger.ms"), 1);
        assert_eq!(edit_distance("", "acks"), 4);
    }

    // Unknown-key suggestion: `_` instead of `.` is matched exactly.
    #[test]
    fn underscore_variant_suggests_the_dotted_key() {
        assert_eq!(suggest("linger_ms", KEYS), Some("linger.ms"));
        assert_eq!(suggest("BATCH-SIZE", KEYS), Some("batch.size"));
    }

    // Unknown-key suggestion: a misspelling suggests the closest key.
    #[test]
    fn misspelling_suggests_the_closest_key() {
        assert_eq!(suggest("linger.msx", KEYS), Some("linger.ms"));
        assert_eq!(suggest("retires", KEYS), Some("retries"));
    }

    // Unknown-key suggestion: nothing close means no suggestion.
    #[test]
    fn far_keys_get_no_suggestion() {
        assert_eq!(suggest("zookeeper.connect", KEYS), None);
        assert_eq!(suggest("x", KEYS), None);
    }
}
