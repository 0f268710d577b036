//! Who sees an asset through a collection, as SQL fragments every query that decides it
//! shares (a collection's items, lists and counts, the asset page, its media, likes, share
//! links): written once so that they can never disagree.

/// Whether `user` (an SQL expression) has a place in the collection whose id is
/// `collection` (another expression): its owner, or a member.
pub(super) fn has_place(collection: &str, user: &str) -> String {
    format!(
        "(EXISTS (SELECT 1 FROM collections hc WHERE hc.id = {collection} AND hc.owner_id = {user}) \
          OR EXISTS (SELECT 1 FROM collection_members hm \
                      WHERE hm.collection_id = {collection} AND hm.user_id = {user}))"
    )
}

/// Whether an item's asset (`a`) of the collection `c` shows to the person `$1`: out of
/// the trash, and public, or theirs; or, when its owner has a place in the collection
/// (they put it there, or joined it), unlisted, or private in a private collection the
/// person has a place in. An asset whose owner has no place in the collection shows only
/// as long as it is public: nobody keeps what its owner made private by having collected
/// it. A share link's holder is let in by the caller.
pub(super) fn item_shows() -> String {
    shows_in_collection(&has_place("c.id", "$1"))
}

/// [`item_shows`] for the holder of a share link to `c`, who stands in it as a member does.
pub(super) fn item_shows_to_holder() -> String {
    shows_in_collection("TRUE")
}

/// Whether an item's asset (`a`) of the collection `c` shows to the person `$1`, when
/// `viewer_in` says whether they have a place in it.
fn shows_in_collection(viewer_in: &str) -> String {
    format!(
        "a.trashed_at IS NULL AND (a.visibility = 'public' OR a.owner_id = $1 \
         OR ({owner_in} AND (a.visibility = 'unlisted' \
             OR (c.visibility = 'private' AND {viewer_in}))))",
        owner_in = has_place("c.id", "a.owner_id"),
    )
}

/// Whether the person `viewer` (a placeholder such as `$2`) sees the asset `a` through a
/// private collection holding it: they and its owner both have a place in it.
pub(super) fn in_private_collection_of(viewer: &str) -> String {
    format!(
        "EXISTS (SELECT 1 FROM collection_items pci JOIN collections pc ON pc.id = pci.collection_id
                  WHERE pci.asset_id = a.id AND pc.visibility = 'private'
                    AND {viewer_in} AND {owner_in})",
        viewer_in = has_place("pc.id", viewer),
        owner_in = has_place("pc.id", "a.owner_id"),
    )
}
