//! A selection of assets named by a form (`ids[]` on the bulk bar, `assets[]` on the
//! collection endpoints): read once, checked once, then handed on as a [`Selection`].

use crate::error::ApiError;
use crate::store::MAX_BULK;

/// Asset ids as a person named them: trimmed, each once, at least one and at most
/// [`MAX_BULK`], each of an id's shape. Whether they exist and may be touched is for the
/// store to say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection(Vec<String>);

/// Why a list of ids is not a [`Selection`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unselected {
    /// No id at all (blank ones do not count).
    Empty,
    /// More than [`MAX_BULK`] different ids: how many.
    TooMany(usize),
    /// Ids that cannot be any asset's, in the order given.
    Malformed(Vec<String>),
}

impl Selection {
    pub fn parse(ids: Vec<String>) -> Result<Self, Unselected> {
        let mut seen = std::collections::HashSet::new();
        let ids: Vec<String> = ids
            .into_iter()
            .map(|id| id.trim().to_string())
            .filter(|id| !id.is_empty() && seen.insert(id.clone()))
            .collect();
        if ids.is_empty() {
            return Err(Unselected::Empty);
        }
        if ids.len() > MAX_BULK {
            return Err(Unselected::TooMany(ids.len()));
        }
        let malformed: Vec<String> = ids
            .iter()
            .filter(|id| !crate::ids::is_public_id(id))
            .cloned()
            .collect();
        if !malformed.is_empty() {
            return Err(Unselected::Malformed(malformed));
        }
        Ok(Self(ids))
    }

    pub fn ids(&self) -> &[String] {
        &self.0
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }
}

/// `“a”, “b”, “c”` for the first five of `ids`, then how many more there were.
pub fn quoted(ids: &[String]) -> String {
    let shown: Vec<String> = ids.iter().take(5).map(|id| format!("“{id}”")).collect();
    match ids.len().saturating_sub(shown.len()) {
        0 => shown.join(", "),
        more => format!("{} (and {more} more)", shown.join(", ")),
    }
}

/// The answer to a list that is not a selection: `verb` says what the person does with
/// it ("select", "name"), `field` how the form calls the list, `missing` what to say of
/// ids that cannot exist.
pub fn refusal(
    why: Unselected,
    verb: &str,
    field: &str,
    missing: impl FnOnce(&str) -> String,
) -> ApiError {
    match why {
        Unselected::Empty => ApiError::BadRequest(format!("{verb} at least one asset ({field})")),
        Unselected::TooMany(n) => ApiError::BadRequest(format!(
            "{verb} at most {MAX_BULK} assets at once ({n} were)"
        )),
        Unselected::Malformed(ids) => ApiError::NotFound(missing(&quoted(&ids))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(ids: &[&str]) -> Vec<String> {
        ids.iter().map(|id| id.to_string()).collect()
    }

    #[test]
    fn a_selection_is_trimmed_and_each_id_is_taken_once() {
        let id = crate::ids::new_public_id();
        let other = crate::ids::new_public_id();
        let picked =
            Selection::parse(strings(&[&format!(" {id} "), &id, "", &other])).expect("two ids");
        assert_eq!(picked.ids(), &[id, other]);
    }

    #[test]
    fn nothing_too_much_and_nonsense_are_refused_with_what_was_wrong() {
        assert_eq!(
            Selection::parse(strings(&["", "  "])),
            Err(Unselected::Empty)
        );
        let many: Vec<String> = (0..=MAX_BULK)
            .map(|_| crate::ids::new_public_id())
            .collect();
        assert_eq!(
            Selection::parse(many),
            Err(Unselected::TooMany(MAX_BULK + 1))
        );
        let id = crate::ids::new_public_id();
        assert_eq!(
            Selection::parse(strings(&[&id, "../etc", "x"])),
            Err(Unselected::Malformed(strings(&["../etc", "x"])))
        );
    }

    #[test]
    fn quoting_names_five_and_counts_the_rest() {
        let ids = strings(&["a", "b", "c", "d", "e", "f", "g"]);
        assert_eq!(quoted(&ids), "“a”, “b”, “c”, “d”, “e” (and 2 more)");
        assert_eq!(quoted(&ids[..1]), "“a”");
    }
}
