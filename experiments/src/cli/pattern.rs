//! Shell-style path patterns for `linger merge 'results/shard-*'`: `*` (any run of characters),
//! `?` (one character) and `[...]` (one of a set: `[123]`, a range `[0-9]`, or not `[!0]`), in
//! any component of the path, as a POSIX shell expands them. A name beginning with `.` matches
//! only a pattern beginning with `.`. Matches come back in name order.

use std::path::{Component, Path, PathBuf};

/// The paths that `pattern` matches, sorted; empty when none does.
pub fn expand(pattern: &Path) -> Vec<PathBuf> {
    let mut found = vec![PathBuf::new()];
    for component in pattern.components() {
        let text = component.as_os_str().to_string_lossy();
        let wild = matches!(component, Component::Normal(_)) && text.contains(['*', '?', '[']);
        if !wild {
            for path in &mut found {
                path.push(component.as_os_str());
            }
            continue;
        }
        let wanted: Vec<char> = text.chars().collect();
        let mut next = Vec::new();
        for base in &found {
            let listing = if base.as_os_str().is_empty() {
                Path::new(".")
            } else {
                base.as_path()
            };
            let Ok(entries) = std::fs::read_dir(listing) else {
                continue;
            };
            let mut names: Vec<String> = entries
                .filter_map(|entry| entry.ok())
                .map(|entry| entry.file_name().to_string_lossy().into_owned())
                .filter(|name| !name.starts_with('.') || wanted.first() == Some(&'.'))
                .filter(|name| matches(&wanted, &name.chars().collect::<Vec<_>>()))
                .collect();
            names.sort();
            next.extend(names.into_iter().map(|name| base.join(name)));
        }
        found = next;
    }
    found.retain(|path| path.exists());
    found
}

/// Whether `name` matches `pattern`.
fn matches(pattern: &[char], name: &[char]) -> bool {
    match pattern.first() {
        None => name.is_empty(),
        Some('*') => (0..=name.len()).any(|skip| matches(&pattern[1..], &name[skip..])),
        Some('?') => !name.is_empty() && matches(&pattern[1..], &name[1..]),
        Some('[') => match (class(&pattern[1..]), name.first()) {
            (Some((accepts, rest)), Some(&c)) => accepts(c) && matches(rest, &name[1..]),
            // An unclosed `[` is an ordinary character.
            (None, Some('[')) => matches(&pattern[1..], &name[1..]),
            _ => false,
        },
        Some(&c) => name.first() == Some(&c) && matches(&pattern[1..], &name[1..]),
    }
}

/// A `[...]` class after its `[`: what it accepts and the pattern after its `]`.
type Class<'a> = (Box<dyn Fn(char) -> bool + 'a>, &'a [char]);

fn class(pattern: &[char]) -> Option<Class<'_>> {
    let negated = matches!(pattern.first(), Some('!' | '^'));
    let body_start = usize::from(negated);
    // A `]` right after the opening is a member, as in the shell.
    let close = pattern
        .iter()
        .enumerate()
        .skip(body_start + 1)
        .find(|(_, c)| **c == ']')
        .map(|(i, _)| i)?;
    let body = &pattern[body_start..close];
    let accepts = move |c: char| {
        let mut i = 0;
        let mut hit = false;
        while i < body.len() {
            if i + 2 < body.len() && body[i + 1] == '-' {
                hit |= (body[i]..=body[i + 2]).contains(&c);
                i += 3;
            } else {
                hit |= body[i] == c;
                i += 1;
            }
        }
        hit != negated
    };
    Some((Box::new(accepts), &pattern[close + 1..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(pattern: &str, name: &str) -> bool {
        matches(
            &pattern.chars().collect::<Vec<_>>(),
            &name.chars().collect::<Vec<_>>(),
        )
    }

    #[test]
    fn stars_marks_and_classes_match_like_the_shell() {
        assert!(m("shard-*", "shard-1"));
        assert!(m("shard-*", "shard-"));
        assert!(!m("shard-*", "other-1"));
        assert!(m("shard-?", "shard-7"));
        assert!(!m("shard-?", "shard-10"));
        assert!(m("shard-[0-9]", "shard-3"));
        assert!(!m("shard-[!0-9]", "shard-3"));
        assert!(m("s[ah]ard", "shard"));
        assert!(m("a[b", "a[b"));
        assert!(m("*-*-*", "a-b-c"));
    }

    #[test]
    fn a_pattern_expands_to_directories_in_name_order() {
        let dir = std::env::temp_dir().join(format!("linger-pattern-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        for name in ["shard-2", "shard-10", "shard-1", "other", ".shard-hidden"] {
            std::fs::create_dir_all(dir.join(name)).expect("creates");
        }
        let found = expand(&dir.join("shard-*"));
        let names: Vec<String> = found
            .iter()
            .map(|p| {
                p.file_name()
                    .expect("a name")
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        assert_eq!(names, ["shard-1", "shard-10", "shard-2"]);
        assert!(expand(&dir.join("nothing-*")).is_empty());
        assert_eq!(expand(&dir.join("shard-?")).len(), 2);
        std::fs::remove_dir_all(&dir).expect("cleans up");
    }
}
