//! Channel and control names: every one becomes a `component` of `contributions.csv` beside the
//! model's own components ([`RESERVED_COMPONENTS`]), so the names must be distinct from each other
//! and from those, and not empty. Anything else (any Unicode) is kept as given: names are data.

use crate::error::{Error, Result};
use std::collections::HashMap;
use std::path::Path;

/// The components of the decomposition that are not a channel or a control, in the order of
/// `contributions.csv`.
pub const RESERVED_COMPONENTS: [&str; 3] = ["baseline", "trend", "seasonality"];

/// Checks that the channel and control names of `path` can name components of the decomposition:
/// none empty after trimming, none equal (after trimming) to another or to a
/// [`RESERVED_COMPONENTS`] name.
pub fn check_component_names(path: &Path, channels: &[String], controls: &[String]) -> Result<()> {
    let bad = |name: &str, problem: String| {
        Err(Error::ComponentName {
            path: path.to_path_buf(),
            name: name.to_string(),
            problem,
        })
    };
    let mut seen: HashMap<&str, &str> = RESERVED_COMPONENTS
        .iter()
        .map(|&r| (r, "a component of the model's decomposition"))
        .collect();
    let named = channels
        .iter()
        .map(|n| (n, "channel"))
        .chain(controls.iter().map(|n| (n, "control")));
    for (name, role) in named {
        let key = name.trim();
        if key.is_empty() {
            return bad(name, format!("a {role} name is empty"));
        }
        if let Some(first) = seen.insert(key, role) {
            let first = if first.starts_with('a') {
                first.to_string()
            } else {
                format!("a {first}")
            };
            return bad(
                name,
                format!(
                    "the {role} name is already {first}; contributions.csv could not tell them \
                     apart (rename the column)"
                ),
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(channels: &[&str], controls: &[&str]) -> std::result::Result<(), String> {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        check_component_names(Path::new("p.csv"), &s(channels), &s(controls))
            .map_err(|e| e.to_string())
    }

    #[test]
    fn unicode_names_are_kept() {
        check(&["télé", "検索", "<b>tv</b>", "a,b"], &["prix €"]).unwrap();
    }

    #[test]
    fn reserved_duplicate_and_empty_names_are_refused() {
        for name in RESERVED_COMPONENTS {
            let e = check(&["tv", name], &[]).unwrap_err();
            assert!(
                e.contains(&format!("`{name}`")) && e.contains("decomposition"),
                "{e}"
            );
            let e = check(&["tv"], &[name]).unwrap_err();
            assert!(e.contains("control name is already a component"), "{e}");
        }
        let e = check(&["tv", "search"], &["tv"]).unwrap_err();
        assert_eq!(
            e,
            "p.csv: name `tv`: the control name is already a channel; contributions.csv could not \
             tell them apart (rename the column)"
        );
        let e = check(&["tv", " tv "], &[]).unwrap_err();
        assert!(e.contains("channel name is already a channel"), "{e}");
        let e = check(&["tv", "  "], &[]).unwrap_err();
        assert!(e.contains("a channel name is empty"), "{e}");
        let e = check(&["tv"], &[""]).unwrap_err();
        assert!(e.contains("a control name is empty"), "{e}");
    }
}
