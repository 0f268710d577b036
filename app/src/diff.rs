//! A readable word diff of two texts (a prompt before and after an edit), for the asset's
//! history: the longest common run of words kept, the rest marked removed or added.

use serde::{Deserialize, Serialize};

/// Word pairs compared at most ([`words`]); longer texts show as all removed, all added.
pub const MAX_DIFF_CELLS: usize = 1_000_000;

/// What happened to a run of words.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Change {
    Same,
    Removed,
    Added,
}

/// A run of words (with the spaces between them) and what happened to it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DiffPart {
    pub change: Change,
    pub text: String,
}

/// `before` against `after`, word by word (split on whitespace, rejoined with one space).
pub fn words(before: &str, after: &str) -> Vec<DiffPart> {
    let old: Vec<&str> = before.split_whitespace().collect();
    let new: Vec<&str> = after.split_whitespace().collect();
    let mut ops: Vec<(Change, &str)> = Vec::with_capacity(old.len() + new.len());
    if old.len().saturating_mul(new.len()) > MAX_DIFF_CELLS {
        ops.extend(old.iter().map(|w| (Change::Removed, *w)));
        ops.extend(new.iter().map(|w| (Change::Added, *w)));
    } else {
        // lcs[i][j]: the longest common run of old[i..] and new[j..].
        let width = new.len() + 1;
        let mut lcs = vec![0u32; (old.len() + 1) * width];
        for i in (0..old.len()).rev() {
            for j in (0..new.len()).rev() {
                lcs[i * width + j] = if old[i] == new[j] {
                    lcs[(i + 1) * width + j + 1] + 1
                } else {
                    lcs[(i + 1) * width + j].max(lcs[i * width + j + 1])
                };
            }
        }
        let (mut i, mut j) = (0, 0);
        while i < old.len() || j < new.len() {
            if i < old.len() && j < new.len() && old[i] == new[j] {
                ops.push((Change::Same, old[i]));
                i += 1;
                j += 1;
            } else if i < old.len()
                && (j == new.len() || lcs[(i + 1) * width + j] >= lcs[i * width + j + 1])
            {
                // Removed before added, where either keeps the common run as long.
                ops.push((Change::Removed, old[i]));
                i += 1;
            } else {
                ops.push((Change::Added, new[j]));
                j += 1;
            }
        }
    }
    let mut parts: Vec<DiffPart> = Vec::new();
    for (change, word) in ops {
        match parts.last_mut() {
            Some(last) if last.change == change => {
                last.text.push(' ');
                last.text.push_str(word);
            }
            _ => parts.push(DiffPart {
                change,
                text: word.to_string(),
            }),
        }
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shown(parts: &[DiffPart]) -> String {
        parts
            .iter()
            .map(|p| match p.change {
                Change::Same => p.text.clone(),
                Change::Removed => format!("[-{}-]", p.text),
                Change::Added => format!("{{+{}+}}", p.text),
            })
            .collect::<Vec<_>>()
            .join(" ")
    }

    #[test]
    fn a_rewritten_prompt_keeps_what_stayed() {
        let parts = words(
            "a neon alley at night, rain",
            "a neon alley at dusk, light rain",
        );
        assert_eq!(
            shown(&parts),
            "a neon alley at [-night,-] {+dusk, light+} rain"
        );
    }

    #[test]
    fn empty_sides_are_all_added_or_all_removed() {
        assert_eq!(shown(&words("", "cat on a mat")), "{+cat on a mat+}");
        assert_eq!(shown(&words("cat on a mat", "")), "[-cat on a mat-]");
        assert!(words("", "").is_empty());
        assert_eq!(shown(&words("same  words", "same words")), "same words");
    }

    #[test]
    fn texts_past_the_limit_are_replaced_whole() {
        let long: String = (0..1_001).map(|n| format!("w{n} ")).collect();
        let other: String = (0..1_000).map(|n| format!("w{n} ")).collect();
        let parts = words(&long, &other);
        assert_eq!(parts.len(), 2);
        assert_eq!(
            (parts[0].change, parts[1].change),
            (Change::Removed, Change::Added)
        );
    }
}
