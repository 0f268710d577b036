//! A search resolved for SQL: its owner and tags looked up, its dates and cursor turned into
//! a key range, its text cut into words and phrases; and the per-row filters every backend
//! writes after its ordered source.

use app::search::{text_tokens, Search, Sort};
use app::store::{AssetQuery, Cursor};
use sqlx::{Database, Encode, QueryBuilder, Type};

use super::types::asset_key;

/// A tag a search names, as stored.
#[derive(sqlx::FromRow)]
pub(super) struct FoundTag {
    name: String,
    id: i64,
    asset_count: i64,
}

/// In an order by likes or views, the most assets the rarest included tag may hold for its
/// range to be the source (and all of it sorted); past it, the count's index is walked and
/// each row's tags checked, which finds a page after about (all assets / tag's assets) rows
/// a result: at a million assets, a tag of 5,000 costs about the same either way.
pub(super) const COUNT_ORDER_TAG_SOURCE: i64 = 5_000;

/// Whose assets a search is restricted to (or whose likes), with the name it gave resolved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum OwnerFilter {
    /// It names nobody: everyone's.
    Anyone,
    /// It names somebody who is not here: nothing can match.
    Nobody,
    /// That user's.
    User(i64),
}

/// The tags of a search as stored.
struct SearchTags {
    /// `(id, asset_count)` of each included tag, rarest first.
    include: Vec<(i64, i64)>,
    /// Ids of the excluded tags that exist.
    exclude: Vec<i64>,
}

/// Tags named by a search, as stored. `None` when an included tag does not exist (so
/// nothing can match).
fn split_tags(search: &Search, found: &[FoundTag]) -> Option<SearchTags> {
    let lookup = |name: &String| found.iter().find(|t| &t.name == name);
    let mut include = Vec::with_capacity(search.tags.len());
    for name in &search.tags {
        let tag = lookup(name)?;
        include.push((tag.id, tag.asset_count));
    }
    include.sort_by_key(|(_, count)| *count);
    let exclude = search
        .exclude_tags
        .iter()
        .filter_map(lookup)
        .map(|t| t.id)
        .collect();
    Some(SearchTags { include, exclude })
}

/// The inclusive key range a search and cursor allow at `now`; `None` when it is empty.
fn key_bounds(
    search: &Search,
    sort: Sort,
    after: Option<Cursor>,
    now: chrono::DateTime<chrono::Utc>,
) -> Option<(i64, i64)> {
    let midnight = |d: chrono::NaiveDate| asset_key(d.and_time(chrono::NaiveTime::MIN).and_utc());
    let mut lo = search.from.map(midnight).unwrap_or(i64::MIN);
    if let Some(period) = search.period {
        lo = lo.max(asset_key(now - chrono::Duration::days(period.days())));
    }
    let mut hi = search
        .to
        .and_then(|d| d.succ_opt())
        .map(|d| midnight(d) - 1)
        .unwrap_or(i64::MAX);
    if let Some(cursor) = after {
        match sort {
            Sort::Newest => hi = hi.min(cursor.key.saturating_sub(1)),
            Sort::Oldest => lo = lo.max(cursor.key.saturating_add(1)),
            // A relevance page goes on by score, within the same candidates; a page by
            // likes or views by its count, one in a collection's order by its position
            // (see `search::push_page`).
            Sort::Relevant | Sort::Liked | Sort::Viewed | Sort::Curated | Sort::Featured => {}
        }
    }
    (lo <= hi).then_some((lo, hi))
}

/// The search's text as both full-text indexes cut it: words that must all appear, and
/// phrases whose words must appear in a row. `None` when the search has no text.
pub(super) struct TextQuery {
    pub words: Vec<String>,
    pub phrases: Vec<Vec<String>>,
}

impl TextQuery {
    fn new(search: &Search) -> Option<TextQuery> {
        let mut words: Vec<String> = Vec::new();
        for token in search.words.iter().flat_map(|w| text_tokens(w)) {
            if !words.contains(&token) {
                words.push(token);
            }
        }
        let phrases: Vec<Vec<String>> = search
            .phrases
            .iter()
            .map(|p| text_tokens(p))
            .filter(|p| !p.is_empty())
            .collect();
        (!words.is_empty() || !phrases.is_empty()).then_some(TextQuery { words, phrases })
    }

    /// An FTS5 query: each word and phrase a quoted string, all required.
    pub fn fts5(&self) -> String {
        let quote = |tokens: &[String]| format!("\"{}\"", tokens.join(" ").replace('"', "\"\""));
        self.words
            .iter()
            .map(|w| quote(std::slice::from_ref(w)))
            .chain(self.phrases.iter().map(|p| quote(p)))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// A search with its names resolved (owner and tags to ids), ready to be written as SQL.
pub(super) struct SearchPlan<'q> {
    /// Inclusive key range from the dates and the cursor.
    pub lo: i64,
    pub hi: i64,
    pub owner: Option<i64>,
    /// Only assets this user likes.
    pub liked_by: Option<i64>,
    /// Only the items of this collection: `(row id, whether others' private items show)`.
    pub collection: Option<(i64, bool)>,
    /// Who is logged in: in a collection, their own private items show.
    pub me: Option<i64>,
    /// Private assets are listed only on a search of the viewer's own.
    pub public_only: bool,
    pub media_type: Option<i16>,
    pub model: Option<&'q str>,
    /// Included tags' ids, rarest first (the first can be the ordered source).
    pub include: Vec<i64>,
    /// Assets the rarest included tag holds (0 without one).
    pub rarest_tag_holds: i64,
    pub exclude: Vec<i64>,
    pub text: Option<TextQuery>,
    /// Ranked by relevance (only when there is text to rank).
    pub relevant: bool,
    /// The order of the page and of its cursor.
    pub sort: Sort,
    pub limit: u32,
    pub after: Option<Cursor>,
}

impl<'q> SearchPlan<'q> {
    /// `owner` is whom the search's `by:` names, `liked_by` whom its `liked:` names;
    /// `found` the tags it names that exist. `None` when nothing can match.
    pub fn new(
        query: &'q AssetQuery,
        owner: OwnerFilter,
        liked_by: OwnerFilter,
        found: &[FoundTag],
    ) -> Option<SearchPlan<'q>> {
        let search = &query.search;
        let (lo, hi) = key_bounds(search, query.sort, query.after, chrono::Utc::now())?;
        let user = |filter: OwnerFilter| match filter {
            OwnerFilter::Anyone => Some(None),
            OwnerFilter::Nobody => None,
            OwnerFilter::User(id) => Some(Some(id)),
        };
        let owner = user(owner)?;
        let liked_by = user(liked_by)?;
        let SearchTags { include, exclude } = split_tags(search, found)?;
        let text = TextQuery::new(search);
        let collection = query.collection.map(|c| (c.id.0, c.private_items));
        // A collection's items are its own ordered source, which no full-text rank reads.
        let relevant = query.sort == Sort::Relevant && text.is_some() && collection.is_none();
        Some(SearchPlan {
            lo,
            hi,
            owner,
            liked_by,
            collection,
            me: query.me.map(|m| m.0),
            public_only: owner.is_none() || owner != query.viewer.map(|v| v.0),
            media_type: search.media_type.map(|t| t.code()),
            model: search.model.as_deref(),
            rarest_tag_holds: include.first().map_or(0, |(_, count)| *count),
            include: include.into_iter().map(|(id, _)| id).collect(),
            exclude,
            text,
            relevant,
            // Relevance without text to rank is newest first.
            sort: match query.sort {
                Sort::Relevant if !relevant => Sort::Newest,
                // A collection's order outside a collection is no order: newest first.
                Sort::Curated if collection.is_none() => Sort::Newest,
                sort => sort,
            },
            limit: query.limit,
            after: query.after,
        })
    }

    /// `DESC` or `ASC`: the order the ordered source is read in.
    pub fn order(&self) -> &'static str {
        match self.sort {
            Sort::Oldest => "ASC",
            Sort::Newest | Sort::Relevant | Sort::Liked | Sort::Viewed | Sort::Featured => "DESC",
            Sort::Curated => "ASC",
        }
    }

    /// The count column a sort by likes or views orders by, or when featured for the
    /// featured (`None` for other sorts).
    pub fn count_column(&self) -> Option<&'static str> {
        match self.sort {
            Sort::Liked => Some("a.like_count"),
            Sort::Viewed => Some("a.view_count"),
            // Only featured assets are listed (`push_filters`).
            Sort::Featured => Some("a.featured_at"),
            Sort::Newest | Sort::Oldest | Sort::Relevant | Sort::Curated => None,
        }
    }
}

/// What a search's ordered source leaves to check per row.
pub(super) struct Source<'p> {
    /// The source's key column (the asset key, in the order it is read).
    pub key: &'static str,
    /// Included tags the source does not already restrict to.
    pub extra_tags: &'p [i64],
    /// The source is the `liked:` person's likes (else a filter checks them).
    pub likes: bool,
}

impl<'p> Source<'p> {
    /// A source that restricts to nothing but its own matches (the full-text index).
    pub fn text(key: &'static str, plan: &'p SearchPlan<'_>) -> Source<'p> {
        Source {
            key,
            extra_tags: &plan.include,
            likes: false,
        }
    }
}

/// The filters every search checks per row, after the ordered source (whose key column is
/// `key`). `model` is the backend's case-insensitive comparison: what goes before and after
/// the bound name.
pub(super) fn push_filters<'q, DB>(
    core: &mut QueryBuilder<'q, DB>,
    plan: &SearchPlan<'q>,
    source: &Source<'_>,
    model: (&str, &str),
) where
    DB: Database,
    i64: Encode<'q, DB> + Type<DB>,
    i16: Encode<'q, DB> + Type<DB>,
    &'q str: Encode<'q, DB> + Type<DB>,
{
    let key = source.key;
    if plan.lo > i64::MIN {
        core.push(format_args!(" AND {key} >= ")).push_bind(plan.lo);
    }
    if plan.hi < i64::MAX {
        core.push(format_args!(" AND {key} <= ")).push_bind(plan.hi);
    }
    // The trash is out of every search, its owner's too.
    core.push(" AND a.trashed_at IS NULL");
    if plan.sort == Sort::Featured {
        // Only admins' picks (the term the partial index is defined by).
        core.push(" AND a.featured_at IS NOT NULL");
    }
    match plan.collection {
        // In a collection (`ci`): public items, the person's own, and, when their owner
        // has a place in the collection, unlisted ones, and private ones too in a private
        // collection the person has a place in (`private_items`). (The same rule as
        // `collections::item_shows`.)
        Some((_, private_items)) => {
            core.push(" AND (a.visibility = 'public'");
            if let Some(me) = plan.me {
                core.push(" OR a.owner_id = ").push_bind(me);
            }
            let owner_in = super::visibility::has_place("ci.collection_id", "a.owner_id");
            core.push(format_args!(
                " OR ({owner_in} AND (a.visibility = 'unlisted'"
            ));
            if private_items {
                core.push(" OR a.visibility = 'private'");
            }
            core.push(")))");
        }
        // One's own likes: unlisted ones too, and one's own private ones.
        None if plan.public_only && plan.liked_by.is_some() && plan.liked_by == plan.me => {
            core.push(" AND (a.visibility <> 'private' OR a.owner_id = ")
                .push_bind(plan.liked_by.unwrap_or_default())
                .push(")");
        }
        None if plan.public_only => {
            core.push(" AND a.visibility = 'public'");
        }
        None => {}
    }
    if let Some(owner) = plan.owner {
        core.push(" AND a.owner_id = ").push_bind(owner);
    }
    if let Some(media_type) = plan.media_type {
        core.push(" AND a.media_type = ").push_bind(media_type);
    }
    if let Some(name) = plan.model {
        core.push(" AND ")
            .push(model.0)
            .push_bind(name)
            .push(model.1);
    }
    if let Some(user) = plan.liked_by.filter(|_| !source.likes) {
        core.push(" AND EXISTS (SELECT 1 FROM likes lk WHERE lk.asset_id = a.id AND lk.user_id = ")
            .push_bind(user)
            .push(")");
    }
    for tag in source.extra_tags {
        core.push(
            " AND EXISTS (SELECT 1 FROM asset_tags x WHERE x.asset_id = a.id AND x.tag_id = ",
        )
        .push_bind(*tag)
        .push(")");
    }
    if !plan.exclude.is_empty() {
        core.push(
            " AND NOT EXISTS (SELECT 1 FROM asset_tags x WHERE x.asset_id = a.id AND x.tag_id IN (",
        );
        let mut list = core.separated(", ");
        for tag in &plan.exclude {
            list.push_bind(*tag);
        }
        core.push("))");
    }
}

/// The ordered source of a search without text (or in a collection), written after
/// `FROM`: a collection's items (a collection is small: at most
/// [`app::store::MAX_COLLECTION_ITEMS`]), else the `liked:` person's likes (a person likes fewer assets than most tags hold), else the rarest
/// included tag's `asset_tags` range (both read in asset key order), else all of `assets`.
/// `join` is the backend's join that keeps this order
/// ([`super::backend::Backend::FACET_JOIN`]).
pub(super) fn push_tag_source<'q, 'p, DB>(
    core: &mut QueryBuilder<'q, DB>,
    plan: &'p SearchPlan<'q>,
    join: &str,
) -> Source<'p>
where
    DB: Database,
    i64: Encode<'q, DB> + Type<DB>,
{
    if let Some((collection, _)) = plan.collection {
        core.push(format_args!(
            "collection_items ci {join} assets a ON a.id = ci.asset_id WHERE ci.collection_id = "
        ))
        .push_bind(collection);
        Source {
            key: "ci.asset_id",
            extra_tags: &plan.include,
            likes: false,
        }
    } else if let Some(user) = plan.liked_by {
        core.push(format_args!(
            "likes lk {join} assets a ON a.id = lk.asset_id WHERE lk.user_id = "
        ))
        .push_bind(user);
        Source {
            key: "lk.asset_id",
            extra_tags: &plan.include,
            likes: true,
        }
    } else if let Some((tag, rest)) = plan.include.split_first().filter(|_| match plan.sort {
        // The featured are few: their index is the source, whatever the tag.
        Sort::Featured => false,
        _ => plan.count_column().is_none() || plan.rarest_tag_holds <= COUNT_ORDER_TAG_SOURCE,
    }) {
        core.push(format_args!(
            "asset_tags d {join} assets a ON a.id = d.asset_id WHERE d.tag_id = "
        ))
        .push_bind(*tag);
        Source {
            key: "d.asset_id",
            extra_tags: rest,
            likes: false,
        }
    } else {
        core.push("assets a WHERE 1 = 1");
        Source {
            key: "a.id",
            // Any included tag is checked per row (a count order past a common tag).
            extra_tags: &plan.include,
            likes: false,
        }
    }
}
