//! Reading an asset's revisions as versions: walking back from how it is now, each
//! revision's kept fields give the version before it; what each edit changed, for people.

use crate::diff::words;
use crate::model::{AssetHistory, FieldChange, RevisionView};
use crate::store::{AssetEdit, History};

/// Every revision with the version before it and the one it made, newest first.
fn versions(history: &History) -> Vec<(u32, AssetEdit, AssetEdit)> {
    let mut after = history.current.clone();
    let mut out = Vec::with_capacity(history.revisions.len());
    for revision in &history.revisions {
        let before = revision.old.applied_to(&after);
        out.push((revision.number, before.clone(), after));
        after = before;
    }
    out
}

/// The version before revision `number`, to restore.
pub fn before(history: &History, number: u32) -> Option<AssetEdit> {
    versions(history)
        .into_iter()
        .find(|(n, ..)| *n == number)
        .map(|(_, before, _)| before)
}

/// The history as the asset page shows it.
pub fn view(history: History) -> AssetHistory {
    let revisions = versions(&history)
        .into_iter()
        .zip(&history.revisions)
        .map(|((number, before, after), record)| {
            let mut changes = Vec::new();
            let mut change = |field: &'static str, from: String, to: String| {
                if from != to {
                    changes.push(FieldChange {
                        field: field.to_string(),
                        from,
                        to,
                    });
                }
            };
            change("title", before.title.clone(), after.title.clone());
            change(
                "model",
                before.model.clone().unwrap_or_default(),
                after.model.clone().unwrap_or_default(),
            );
            change(
                "visibility",
                before.visibility.as_str().to_string(),
                after.visibility.as_str().to_string(),
            );
            let diff = |a: &str, b: &str| (a != b).then(|| words(a, b));
            RevisionView {
                number,
                at: record.at,
                editor: record.editor.clone(),
                fields: record.old.names().into_iter().map(str::to_string).collect(),
                changes,
                prompt_diff: diff(&before.prompt, &after.prompt),
                negative_diff: diff(&before.negative_prompt, &after.negative_prompt),
                tags_added: after
                    .tags
                    .iter()
                    .filter(|t| !before.tags.contains(t))
                    .cloned()
                    .collect(),
                tags_removed: before
                    .tags
                    .iter()
                    .filter(|t| !after.tags.contains(t))
                    .cloned()
                    .collect(),
            }
        })
        .collect();
    AssetHistory {
        current: history.current,
        revisions,
    }
}
