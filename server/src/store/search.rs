//! Search: the SQL of a search written once (the page's filters, the relevance candidates,
//! the outer query that reads the page's rows, the facets), with each backend adding what
//! only it has through [`Backend`] (its ordered source for text, its text filter, its
//! score); and the [`SearchStore`] built on it. Searches and facets run on the search pool
//! under the store's time budget ([`Backend::arm_search_budget`]); one stopped past it, or
//! that finds no search connection free in time, is [`StoreError::OverBudget`], never an
//! internal error.

use std::{collections::HashSet, time::Duration};

use app::model::{
    AssetPage, FacetCount, Facets, MediaType, FACET_MODELS, FACET_SAMPLE, FACET_TAGS,
};
use app::search::{Search, Sort, RELEVANCE_CANDIDATES};
use app::store::{AssetQuery, Cursor, SearchStore, StoreError, UserId};
use async_trait::async_trait;
use sqlx::{pool::PoolConnection, Database, Encode, QueryBuilder, Type};

use super::accounts::{UserRow, SAME_NAME, USER_COLUMNS};
use super::assets::{asset_columns, AssetRow};
use super::backend::Backend;
use super::likes::liked_among;
use super::plan::{FoundTag, OwnerFilter, SearchPlan};
use super::{for_each_backend, Db};

/// The start of a search query: `columns` of the page's rows and its `score` column, then
/// the inner query's `SELECT a.id, ` (the caller writes the score and its source next).
fn start<'q, DB: Database>(columns: &str) -> QueryBuilder<'q, DB> {
    QueryBuilder::new(format!(
        "SELECT {columns}, page.score AS score FROM (SELECT id, score FROM (SELECT a.id, "
    ))
}

/// The end of a search query: the page's limit (or, for relevance, the newest candidates,
/// ranked and continued after the cursor's score), then the rows of the page joined with
/// their owner and files.
fn push_page<'q, DB>(core: &mut QueryBuilder<'q, DB>, plan: &SearchPlan<'q>, key: &str)
where
    DB: Backend,
    i64: Encode<'q, DB> + Type<DB>,
    f64: Encode<'q, DB> + Type<DB>,
{
    let fetch = i64::from(plan.limit) + 1;
    let page_order = if plan.sort == Sort::Curated {
        // A collection's order: by position, continued after the cursor's.
        if let Some(Cursor {
            count: Some(after), ..
        }) = plan.after
        {
            core.push(" AND ci.position > ").push_bind(after);
        }
        core.push(" ORDER BY ci.position LIMIT ")
            .push_bind(fetch)
            .push(") candidates");
        "page.score".to_string()
    } else if let Some(count) = plan.count_column() {
        // Most first, then newest. After a cursor, in two parts that are each one range of
        // the (count, id) index and follow one another in that order: the rest of the
        // cursor's count (`count = c AND id < k`), then every lower count (`count < c`).
        // (A single `(count, id) < (c, k)` is bounded by the count alone, and walked the
        // whole of a large tie from its top.) `a.id` is the key whatever the source.
        if let Some(Cursor {
            count: Some(after),
            key: after_key,
            ..
        }) = plan.after
        {
            core.push(format_args!(" AND {count} = "))
                .push_bind(after)
                .push(" AND a.id < ")
                .push_bind(after_key)
                .push(" ORDER BY a.id DESC LIMIT ")
                .push_bind(fetch)
                .push(") rest_of_tie UNION ALL SELECT id, score FROM (SELECT a.id, ");
            DB::push_score(core, plan);
            DB::push_matches(core, plan);
            core.push(format_args!(" AND {count} < ")).push_bind(after);
        }
        core.push(format_args!(" ORDER BY {count} DESC, a.id DESC LIMIT "))
            .push_bind(fetch)
            .push(") candidates");
        format!("{count} DESC, a.id DESC")
    } else if plan.relevant {
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
/// model (ignoring case). Each row is `(facet, value, n)`. The sample drives every lookup
/// ([`Backend::FACET_JOIN`]), and ties are broken byte by byte ([`Backend::BYTE_ORDER`]).
fn facets_query<'q, DB>(plan: &SearchPlan<'q>) -> QueryBuilder<'q, DB>
where
    DB: Backend,
    i64: Encode<'q, DB> + Type<DB>,
{
    let (join, binary) = (DB::FACET_JOIN, DB::BYTE_ORDER);
    let mut core = QueryBuilder::new("WITH hits AS (SELECT a.id FROM ");
    let key = DB::push_matches(&mut core, plan);
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
         SELECT facet, value, n FROM (
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
         SELECT facet, value, n FROM (
           SELECT 'model' AS facet, MIN(a.model{binary}) AS value, COUNT(*) AS n
             FROM sample {join} assets a ON a.id = sample.id
            WHERE a.model IS NOT NULL AND a.model <> ''
            GROUP BY lower(a.model)
            ORDER BY n DESC, MIN(a.model{binary}) LIMIT {FACET_MODELS}) top_models"
    ));
    core
}

/// [`Facets`] from the rows of [`facets_query`].
fn facets_from_rows(rows: Vec<(String, String, i64)>) -> Result<Facets, StoreError> {
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
/// A row of a search's page with its relevance score (when sorted by it).
#[derive(sqlx::FromRow)]
struct ScoredRow {
    #[sqlx(flatten)]
    asset: AssetRow,
    score: Option<f64>,
}

/// A page of rows fetched with `limit + 1`: the extra row only says whether more follow.
/// `liked` are the keys of the rows the person asking likes.
fn into_page(
    mut rows: Vec<ScoredRow>,
    limit: u32,
    sort: Sort,
    liked: &HashSet<i64>,
) -> Result<AssetPage, StoreError> {
    let has_more = rows.len() > limit as usize;
    rows.truncate(limit as usize);
    let next_cursor = if has_more {
        rows.last().map(|last| {
            Cursor {
                sort,
                key: last.asset.key,
                score: last.score,
                count: match sort {
                    Sort::Liked => Some(last.asset.like_count),
                    Sort::Viewed => Some(last.asset.view_count),
                    // The position, carried in the score column (exact below 2^53).
                    Sort::Curated => last.score.map(|position| position as i64),
                    Sort::Featured => last.asset.featured_at,
                    Sort::Newest | Sort::Oldest | Sort::Relevant => None,
                },
            }
            .encode()
        })
    } else {
        None
    };
    let items = rows
        .into_iter()
        .map(|row| {
            let key = row.asset.key;
            let mut summary = row.asset.into_summary()?;
            summary.liked = liked.contains(&key);
            Ok(summary)
        })
        .collect::<Result<_, StoreError>>()?;
    Ok(AssetPage { items, next_cursor })
}

/// Tags per `IN (…)` list when looking up a search's tags.
const TAGS_PER_QUERY: usize = 500;

/// A search's failure as the store reports it: a statement stopped at the budget says so
/// and what to do, other errors are what they are.
fn search_error<DB: Backend>(err: sqlx::Error, budget: Duration) -> StoreError {
    if DB::over_budget(&err) {
        StoreError::OverBudget(format!(
            "this search took longer than the {} ms this server allows and was stopped; \
             narrow it (more words, a tag, a type, a model or a date range) and try again",
            budget.as_millis()
        ))
    } else {
        err.into()
    }
}

for_each_backend! {
    impl Db<DB> {
        /// A connection of the search pool with the budget armed: at most
        /// [`super::SEARCH_CONNECTIONS`] searches run at once; one that waits longer than
        /// [`super::SEARCH_QUEUE_WAIT`] for its turn is refused as busy.
        async fn search_connection(&self) -> Result<PoolConnection<DB>, StoreError> {
            let mut conn = self.search.acquire().await.map_err(|err| match err {
                sqlx::Error::PoolTimedOut => StoreError::OverBudget(
                    "too many searches are running at once; try again in a moment".into(),
                ),
                other => other.into(),
            })?;
            DB::arm_search_budget(&mut conn, self.search_budget).await?;
            Ok(conn)
        }

        /// Whom a name in a search stands for.
        async fn named_user(
            conn: &mut <DB as Database>::Connection,
            name: Option<&String>,
        ) -> Result<OwnerFilter, sqlx::Error> {
            let Some(name) = name else {
                return Ok(OwnerFilter::Anyone);
            };
            let user: Option<UserRow> = sqlx::query_as(&format!(
                "SELECT {USER_COLUMNS} FROM users u WHERE {SAME_NAME}"
            ))
            .bind(name)
            .fetch_optional(&mut *conn)
            .await?;
            Ok(user.map_or(OwnerFilter::Nobody, |u| OwnerFilter::User(u.id())))
        }

        /// Whom the search's `by:` and `liked:` name, and the tags it names that exist.
        async fn resolve(
            conn: &mut <DB as Database>::Connection,
            search: &Search,
        ) -> Result<(OwnerFilter, OwnerFilter, Vec<FoundTag>), sqlx::Error> {
            let owner = Self::named_user(&mut *conn, search.owner.as_ref()).await?;
            let liked_by = Self::named_user(&mut *conn, search.liked_by.as_ref()).await?;
            let names: Vec<&String> = search.tags.iter().chain(&search.exclude_tags).collect();
            let mut found = Vec::new();
            for chunk in names.chunks(TAGS_PER_QUERY) {
                let mut query = QueryBuilder::<DB>::new(
                    "SELECT name, id, asset_count FROM tags WHERE name IN (",
                );
                let mut list = query.separated(", ");
                for name in chunk {
                    list.push_bind(*name);
                }
                query.push(")");
                found.extend(query.build_query_as::<FoundTag>().fetch_all(&mut *conn).await?);
            }
            Ok((owner, liked_by, found))
        }
    }

    #[async_trait]
    impl SearchStore for Db<DB> {
        async fn search_assets(&self, query: &AssetQuery) -> Result<AssetPage, StoreError> {
            let mut conn = self.search_connection().await?;
            let over = |err| search_error::<DB>(err, self.search_budget);
            let (owner, liked_by, found) =
                Self::resolve(&mut conn, &query.search).await.map_err(over)?;
            let Some(plan) = SearchPlan::new(query, owner, liked_by, &found) else {
                return Ok(AssetPage {
                    items: Vec::new(),
                    next_cursor: None,
                });
            };
            // A relevance sort takes the newest candidates and ranks them; a collection's
            // order reads its items' positions.
            let mut core = start::<DB>(&asset_columns::<DB>());
            if plan.sort == Sort::Curated && plan.collection.is_some() {
                core.push("CAST(ci.position AS DOUBLE PRECISION) AS score FROM ");
            } else {
                DB::push_score(&mut core, &plan);
            }
            let key = DB::push_matches(&mut core, &plan);
            push_page(&mut core, &plan, key);
            let rows: Vec<ScoredRow> = core
                .build_query_as()
                .fetch_all(&mut *conn)
                .await
                .map_err(over)?;
            let liked = match query.me {
                Some(me) => {
                    let keys: Vec<i64> = rows.iter().map(|row| row.asset.key).collect();
                    liked_among::<DB>(&mut *conn, me, &keys)
                        .await
                        .map_err(over)?
                }
                None => HashSet::new(),
            };
            into_page(rows, plan.limit, plan.sort, &liked)
        }

        async fn facets_of(&self, asked: &AssetQuery) -> Result<Facets, StoreError> {
            let query = AssetQuery {
                collection: asked.collection,
                me: asked.me,
                ..AssetQuery::facets(&asked.search, asked.viewer)
            };
            let search = &query.search;
            let mut conn = self.search_connection().await?;
            let over = |err| search_error::<DB>(err, self.search_budget);
            let (owner, liked_by, found) = Self::resolve(&mut conn, search).await.map_err(over)?;
            let Some(plan) = SearchPlan::new(&query, owner, liked_by, &found) else {
                return Ok(Facets::default());
            };
            let rows = facets_query::<DB>(&plan)
                .build_query_as()
                .fetch_all(&mut *conn)
                .await
                .map_err(over)?;
            facets_from_rows(rows)
        }

        async fn suggest_tags(
            &self,
            prefix: &str,
            limit: u32,
            viewer: Option<UserId>,
        ) -> Result<Vec<String>, StoreError> {
            // A range over the unique index: every name that starts with the prefix, kept
            // when some asset the viewer may see carries it (usually the first one tried).
            let upper = format!("{prefix}{}", char::MAX);
            Ok(sqlx::query_scalar(
                "SELECT t.name FROM tags t WHERE t.name >= $1 AND t.name < $2 \
                 AND EXISTS (SELECT 1 FROM asset_tags x JOIN assets a ON a.id = x.asset_id \
                             WHERE x.tag_id = t.id \
                               AND a.trashed_at IS NULL \
                               AND (a.visibility = 'public' OR a.owner_id = $4)) \
                 ORDER BY t.name LIMIT $3",
            )
            .bind(prefix)
            .bind(upper)
            .bind(i64::from(limit))
            .bind(viewer.map(|v| v.0))
            .fetch_all(self.reader())
            .await?)
        }
    }
}
