//! The SQL of a search that both backends write alike: the page's filters, the relevance
//! candidates and the outer query that reads the page's rows. Each backend adds what only
//! it has (its ordered source for text, its text filter, its model comparison).

use app::model::{FacetCount, Facets, MediaType, FACET_MODELS, FACET_SAMPLE, FACET_TAGS};
use app::search::{Sort, RELEVANCE_CANDIDATES};
use app::store::{AssetQuery, Cursor, StoreError};
use sqlx::{Database, Encode, QueryBuilder, Type};

use super::{key_bounds, split_tags, SearchTags, TextQuery};

/// A search with its names resolved (owner and tags to ids), ready to be written as SQL.
pub(super) struct SearchPlan<'q> {
    /// Inclusive key range from the dates and the cursor.
    pub lo: i64,
    pub hi: i64,
    pub owner: Option<i64>,
    /// Private assets are listed only on a search of the viewer's own.
    pub public_only: bool,
    pub media_type: Option<i16>,
    pub model: Option<&'q str>,
    /// Included tags' ids, rarest first (the first can be the ordered source).
    pub include: Vec<i64>,
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
    /// `owner` is the id the search's `by:` names (`None` when it names nobody here);
    /// `found` the tags it names that exist. `None` when nothing can match.
    pub fn new(
        query: &'q AssetQuery,
        owner: Option<Option<i64>>,
        found: &[(String, i64, i64)],
    ) -> Option<SearchPlan<'q>> {
        let search = &query.search;
        let (lo, hi) = key_bounds(search, query.sort, query.after)?;
        let owner = match owner {
            None => None,
            Some(id) => Some(id?),
        };
        let SearchTags { include, exclude } = split_tags(search, found)?;
        let text = TextQuery::new(search);
        let relevant = query.sort == Sort::Relevant && text.is_some();
        Some(SearchPlan {
            lo,
            hi,
            owner,
            public_only: owner.is_none() || owner != query.viewer.map(|v| v.0),
            media_type: search.media_type.map(|t| t.code()),
            model: search.model.as_deref(),
            include: include.into_iter().map(|(id, _)| id).collect(),
            exclude,
            text,
            relevant,
            // Relevance without text to rank is newest first.
            sort: match query.sort {
                Sort::Relevant if !relevant => Sort::Newest,
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
            Sort::Newest | Sort::Relevant => "DESC",
        }
    }
}

/// The start of a search query: `columns` of the page's rows and its `score` column, then
/// the inner query's `SELECT a.id, ` (the caller writes the score and its source next).
pub(super) fn start<'q, DB: Database>(columns: &str) -> QueryBuilder<'q, DB> {
    QueryBuilder::new(format!(
        "SELECT {columns}, page.score AS score FROM (SELECT id, score FROM (SELECT a.id, "
    ))
}

/// The filters every search checks per row, after the ordered source (whose key column is
/// `key`). `model` is the backend's case-insensitive comparison: what goes before and after
/// the bound name.
pub(super) fn push_filters<'q, DB>(
    core: &mut QueryBuilder<'q, DB>,
    plan: &SearchPlan<'q>,
    key: &str,
    extra_tags: &[i64],
    model: (&str, &str),
) where
    DB: Database,
    i64: Encode<'q, DB> + Type<DB>,
    i16: Encode<'q, DB> + Type<DB>,
    &'q str: Encode<'q, DB> + Type<DB>,
{
    if plan.lo > i64::MIN {
        core.push(format_args!(" AND {key} >= ")).push_bind(plan.lo);
    }
    if plan.hi < i64::MAX {
        core.push(format_args!(" AND {key} <= ")).push_bind(plan.hi);
    }
    if plan.public_only {
        core.push(" AND a.visibility = 'public'");
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
    for tag in extra_tags {
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

/// The end of a search query: the page's limit (or, for relevance, the newest candidates,
/// ranked and continued after the cursor's score), then the rows of the page joined with
/// their owner and files.
pub(super) fn push_page<'q, DB>(core: &mut QueryBuilder<'q, DB>, plan: &SearchPlan<'q>, key: &str)
where
    DB: Database,
    i64: Encode<'q, DB> + Type<DB>,
    f64: Encode<'q, DB> + Type<DB>,
{
    let fetch = i64::from(plan.limit) + 1;
    let page_order = if plan.relevant {
        core.push(format_args!(" ORDER BY {key} DESC LIMIT "))
            .push_bind(i64::from(RELEVANCE_CANDIDATES))
            .push(") candidates");
        if let Some(Cursor {
            score: Some(score),
            key,
            ..
        }) = plan.after
        {
            core.push(" WHERE score > ")
                .push_bind(score)
                .push(" OR (score = ")
                .push_bind(score)
                .push(" AND id < ")
                .push_bind(key)
                .push(")");
        }
        core.push(" ORDER BY score, id DESC LIMIT ")
            .push_bind(fetch);
        "page.score, a.id DESC".to_string()
    } else {
        let order = plan.order();
        core.push(format_args!(" ORDER BY {key} {order} LIMIT "))
            .push_bind(fetch)
            .push(") candidates");
        format!("a.id {order}")
    };
    core.push(format_args!(
        ") page
         JOIN assets a ON a.id = page.id
         JOIN users u ON u.id = a.owner_id
         LEFT JOIN files th ON th.id = a.thumb_file_id
         LEFT JOIN files pv ON pv.id = a.preview_file_id
         ORDER BY {page_order}"
    ));
}

/// The query for a search's facets: its matches (written by the backend's `push_matches`,
/// which returns their key column), then its newest [`FACET_SAMPLE`] (one more tells that
/// there are more), counted by type, tag (leaving out the tags the search includes) and
/// model (ignoring case). Each row is `(facet, value, n)`. `join` is the backend's join
/// that keeps the written order (the sample drives every lookup: SQLite, knowing nothing
/// of its size, would otherwise scan all of asset_tags into it); `binary` its byte-order
/// collation clause, so that ties are broken alike on both.
pub(super) fn facets_query<'q, DB>(
    plan: &SearchPlan<'q>,
    push_matches: fn(&mut QueryBuilder<'q, DB>, &SearchPlan<'q>) -> &'static str,
    (join, binary): (&str, &str),
) -> QueryBuilder<'q, DB>
where
    DB: Database,
    i64: Encode<'q, DB> + Type<DB>,
{
    let mut core = QueryBuilder::new("WITH hits AS (SELECT a.id FROM ");
    let key = push_matches(&mut core, plan);
    // The limits are constants, written into the SQL rather than bound, so that a planner
    // always knows them (a prepared statement's generic plan would not).
    let fetch = FACET_SAMPLE + 1;
    core.push(format_args!(
        " ORDER BY {key} DESC LIMIT {fetch}), \
         sample AS (SELECT id FROM hits ORDER BY id DESC LIMIT {FACET_SAMPLE})
         SELECT 'all' AS facet, '' AS value, COUNT(*) AS n FROM hits
         UNION ALL
         SELECT 'type', CAST(a.media_type AS TEXT), COUNT(*)
           FROM sample {join} assets a ON a.id = sample.id
          GROUP BY a.media_type
         UNION ALL
         SELECT * FROM (
           SELECT 'tag' AS facet, t.name AS value, COUNT(*) AS n
             FROM sample {join} asset_tags x ON x.asset_id = sample.id
             {join} tags t ON t.id = x.tag_id"
    ));
    if !plan.include.is_empty() {
        core.push(" WHERE x.tag_id NOT IN (");
        let mut list = core.separated(", ");
        for tag in &plan.include {
            list.push_bind(*tag);
        }
        core.push(")");
    }
    core.push(format_args!(
        " GROUP BY t.id, t.name ORDER BY n DESC, t.name{binary} LIMIT {FACET_TAGS}) top_tags
         UNION ALL
         SELECT * FROM (
           SELECT 'model' AS facet, MIN(a.model{binary}) AS value, COUNT(*) AS n
             FROM sample {join} assets a ON a.id = sample.id
            WHERE a.model IS NOT NULL AND a.model <> ''
            GROUP BY lower(a.model)
            ORDER BY n DESC, MIN(a.model{binary}) LIMIT {FACET_MODELS}) top_models"
    ));
    core
}

/// [`Facets`] from the rows of [`facets_query`].
pub(super) fn facets_from_rows(rows: Vec<(String, String, i64)>) -> Result<Facets, StoreError> {
    let count = |n: i64| u32::try_from(n).unwrap_or(u32::MAX);
    let mut facets = Facets::default();
    for (facet, value, n) in rows {
        match facet.as_str() {
            "all" => {
                facets.more = n > i64::from(FACET_SAMPLE);
                facets.counted = count(n).min(FACET_SAMPLE);
            }
            "type" => {
                let media_type = value
                    .parse()
                    .ok()
                    .and_then(MediaType::from_code)
                    .ok_or_else(|| {
                        StoreError::Database(format!("unknown media_type {value} in facets"))
                    })?;
                facets.types.push(FacetCount {
                    value: media_type.as_str().to_string(),
                    count: count(n),
                });
            }
            "tag" => facets.tags.push(FacetCount {
                value,
                count: count(n),
            }),
            "model" => facets.models.push(FacetCount {
                value,
                count: count(n),
            }),
            other => {
                return Err(StoreError::Database(format!("unknown facet {other}")));
            }
        }
    }
    // UNION ALL keeps no order across its parts: each facet is sorted here.
    for list in [&mut facets.types, &mut facets.tags, &mut facets.models] {
        list.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.value.cmp(&b.value)));
    }
    Ok(facets)
}
