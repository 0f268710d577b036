//! Searching is paging through a filter: over generated assets and random filter
//! combinations, the pages a store hands out, followed to the end, are exactly what a
//! brute-force filter of every asset gives — no duplicates, no gaps, in order (newest,
//! oldest, most liked, most viewed, featured, a collection's own) — and never another
//! user's private asset. Inside collections (public, unlisted and private, with members
//! and a member who left), as their owner, a member, a stranger or the holder of a share
//! link sees them, the pages and facets are the brute force's too: an unlisted or private
//! item shows only while its owner has a place in the collection. Tag suggestions name
//! only tags of assets the person may see. Run on SQLite and on Postgres.

mod common;

use std::collections::{BTreeMap, HashSet};

use app::access::MemberRole;
use app::model::Visibility;
use app::model::{
    normalize_tags, FacetCount, Facets, MediaType, FACET_MODELS, FACET_SAMPLE, FACET_TAGS,
};
use app::search::{text_tokens, Search, Sort, RELEVANCE_CANDIDATES};
use app::store::{
    AddOutcome, AssetEdit, AssetQuery, BulkChange, BulkOutcome, CollectionId, CollectionScope,
    Cursor, Featurable, FeatureOutcome, MemberOutcome, MoveTo, NewAsset, NewCollection, NewUser,
    Store, UserId, ViewEvent,
};
use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use common::TestDb;
use rand::{
    seq::{IteratorRandom, SliceRandom},
    Rng, SeedableRng,
};
use rand_chacha::ChaCha8Rng;

const WORDS: &[&str] = &[
    "cat",
    "astronaut",
    "neon",
    "city",
    "forest",
    "portrait",
    "dragon",
    "glass",
    "river",
    "storm",
    "café",
    "cyberpunk",
    "quiet",
    "sci",
    "fi",
    "1girl",
];
const TAGS: &[&str] = &[
    "portrait",
    "landscape",
    "neon",
    "nsfw",
    "animation",
    "sketch",
];
const MODELS: &[Option<&str>] = &[
    None,
    Some("SDXL 1.0"),
    Some("sdxl 1.0"),
    Some("flux-dev"),
    Some("sd15"),
];
const USERS: &[&str] = &["alice", "Bob", "carol", "dave"];
const ASSETS: usize = 360;
const QUERIES: usize = 200;

/// An asset as the brute force sees it (with the creation time the store settled on).
#[derive(Clone, Debug)]
struct Known {
    id: String,
    owner: UserId,
    owner_name: String,
    tokens: Vec<String>,
    media_type: MediaType,
    model: Option<String>,
    tags: Vec<String>,
    visibility: Visibility,
    created_at: DateTime<Utc>,
    /// Who likes it.
    likers: Vec<UserId>,
    views: u64,
    /// When an admin featured it.
    featured_at: Option<DateTime<Utc>>,
}

/// A collection as the brute force sees it.
#[derive(Clone, Debug)]
struct KnownCollection {
    id: CollectionId,
    owner: UserId,
    visibility: Visibility,
    /// Its members now (a member who left is not one).
    members: Vec<UserId>,
    /// Its items (public ids) in its own order.
    items: Vec<String>,
}

impl KnownCollection {
    /// Whether `user` owns it or is a member.
    fn has_place(&self, user: UserId) -> bool {
        self.owner == user || self.members.contains(&user)
    }
}

/// Where a search looks, and for whom.
#[derive(Clone, Copy, Debug)]
enum Within<'a> {
    /// The whole gallery, for `viewer` (whose own private assets show on a search of theirs).
    Everything { viewer: Option<UserId> },
    /// One collection, for `me` (`None`: a visitor, or a share link's holder).
    Collection {
        collection: &'a KnownCollection,
        me: Option<UserId>,
    },
}

fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 1, 0, 0, 0)
        .single()
        .expect("valid")
}

fn text(rng: &mut ChaCha8Rng, words: std::ops::RangeInclusive<usize>) -> String {
    let n = rng.gen_range(words);
    let mut out = String::new();
    for i in 0..n {
        if i > 0 {
            out.push_str([" ", ", ", "-", " (", "_"].choose(rng).expect("separator"));
        }
        let word = *WORDS.choose(rng).expect("word");
        if rng.gen_bool(0.2) {
            out.push_str(&word.to_uppercase());
        } else {
            out.push_str(word);
        }
    }
    out
}

fn public_id(n: usize) -> String {
    format!("P{n:011}")
}

/// A public image with no files, no text and no tags (the fields a story sets come first).
fn draft(public_id: String, owner: UserId, created_at: DateTime<Utc>) -> NewAsset {
    common::bare_asset(&public_id, owner, created_at)
}

/// Users and assets, inserted in several batches: some creation times repeat within a
/// batch and some repeat a time stored by an earlier batch.
async fn populate(store: &dyn Store, rng: &mut ChaCha8Rng) -> Vec<Known> {
    let mut users = Vec::new();
    for (n, name) in USERS.iter().enumerate() {
        let user = store
            .create_user(&NewUser {
                public_id: format!("U{n:011}"),
                username: (*name).into(),
                password_hash: None,
                role: app::account::Role::User,
                created_at: start(),
            })
            .await
            .expect("user");
        users.push(user);
    }
    let mut times: Vec<DateTime<Utc>> = Vec::new();
    let mut drafts = Vec::new();
    for n in 0..ASSETS {
        let created_at = match times.choose(rng) {
            Some(earlier) if rng.gen_bool(0.1) => *earlier,
            _ => start() + Duration::seconds(rng.gen_range(0..60 * 24 * 3600)),
        };
        times.push(created_at);
        let owner = users.choose(rng).expect("owner");
        let how_many = rng.gen_range(0..=3);
        let tags: Vec<&str> = TAGS.choose_multiple(rng, how_many).copied().collect();
        drafts.push(NewAsset {
            title: text(rng, 1..=3),
            prompt: text(rng, 0..=8),
            model: MODELS.choose(rng).expect("model").map(str::to_string),
            media_type: if rng.gen_bool(0.3) {
                MediaType::Video
            } else {
                MediaType::Image
            },
            tags: normalize_tags(tags),
            visibility: if rng.gen_bool(0.2) {
                Visibility::Private
            } else {
                Visibility::Public
            },
            ..draft(public_id(n), owner.id, created_at)
        });
    }
    // Uneven batches, the last ones a single asset each.
    let mut rest: &[NewAsset] = &drafts;
    for size in [150, 100, 60, 40, 5, 1, 1, 1, 1, 1] {
        let (batch, tail) = rest.split_at(size.min(rest.len()));
        store.insert_assets(batch).await.expect("insert");
        rest = tail;
    }
    assert!(rest.is_empty());

    let mut known = Vec::with_capacity(ASSETS);
    for draft in &drafts {
        let stored = store
            .view_asset(&draft.public_id, Some(draft.owner))
            .await
            .expect("view")
            .expect("stored");
        let owner = users.iter().find(|u| u.id == draft.owner).expect("owner");
        known.push(Known {
            id: draft.public_id.clone(),
            owner: draft.owner,
            owner_name: owner.username.clone(),
            tokens: text_tokens(&format!("{} {}", draft.title, draft.prompt)),
            media_type: draft.media_type,
            model: draft.model.clone(),
            tags: draft.tags.clone(),
            visibility: draft.visibility,
            created_at: stored.summary.created_at,
            likers: Vec::new(),
            views: 0,
            featured_at: None,
        });
    }
    let distinct: HashSet<_> = known.iter().map(|k| k.created_at).collect();
    assert_eq!(
        distinct.len(),
        ASSETS,
        "every asset has its own creation time"
    );
    feature_some(store, rng, &mut known).await;
    edit_and_trash_some(store, rng, &mut known).await;
    bulk_change_some(store, rng, &mut known).await;
    like_and_view_some(store, rng, &mut known).await;
    known
}

/// Every user likes about a third of what they may see (each user's likes at once with
/// everyone else's, some twice, some taken back), and each asset gets up to five viewers
/// a day over three days (some counted twice in a batch, which must count once).
async fn like_and_view_some(store: &dyn Store, rng: &mut ChaCha8Rng, known: &mut [Known]) {
    let mut users: Vec<UserId> = known.iter().map(|k| k.owner).collect();
    users.sort_by_key(|u| u.0);
    users.dedup();
    // (user, asset, like) in the order each user clicks.
    let mut clicks: Vec<Vec<(usize, bool)>> = vec![Vec::new(); users.len()];
    for (n, k) in known.iter_mut().enumerate() {
        for (u, user) in users.iter().enumerate() {
            if !rng.gen_bool(0.35) {
                continue;
            }
            let may_see = k.visibility != Visibility::Private || k.owner == *user;
            clicks[u].push((n, true));
            if rng.gen_bool(0.2) {
                clicks[u].push((n, true));
            }
            let kept = !rng.gen_bool(0.15);
            if !kept {
                clicks[u].push((n, false));
            }
            if may_see && kept {
                k.likers.push(*user);
            }
        }
    }
    let runs = users.iter().zip(&clicks).map(|(user, clicks)| {
        let known = &*known;
        async move {
            for (n, like) in clicks {
                let k = &known[*n];
                let state = store
                    .set_like(&k.id, *user, *like, false, start())
                    .await
                    .expect("like");
                let may_see = k.visibility != Visibility::Private || k.owner == *user;
                assert_eq!(state.is_some(), may_see, "{} by {user:?}", k.id);
                if let Some(state) = state {
                    assert_eq!(state.liked, *like);
                }
            }
        }
    });
    futures::future::join_all(runs).await;
    let mut views = Vec::new();
    for k in known.iter_mut() {
        for day in 0..3 {
            for viewer in 0..rng.gen_range(0..=5) {
                let event = ViewEvent {
                    asset: k.id.clone(),
                    viewer: format!("v:{viewer}"),
                    day: 20_500 + day,
                };
                if rng.gen_bool(0.2) {
                    views.push(event.clone());
                }
                views.push(event);
                k.views += 1;
            }
        }
    }
    views.shuffle(rng);
    let total: u64 = known.iter().map(|k| k.views).sum();
    let mut counted = 0;
    for batch in views.chunks(700) {
        counted += store.record_views(batch).await.expect("views");
    }
    assert_eq!(counted, total, "each viewer counts once a day");
}

/// An admin features about half of the public assets, one after another (a private one
/// is refused), before edits, bulk actions and the trash change them: a pick that is
/// private or unlisted now, or in the trash, must leave `sort=featured`.
async fn feature_some(store: &dyn Store, rng: &mut ChaCha8Rng, known: &mut [Known]) {
    let mut minutes: Vec<i64> = (0..known.len() as i64).collect();
    minutes.shuffle(rng);
    for (k, minute) in known.iter_mut().zip(minutes) {
        if !rng.gen_bool(0.5) {
            continue;
        }
        let at = start() + Duration::days(90) + Duration::minutes(minute);
        let outcome = store
            .set_featured(Featurable::Asset(&k.id), Some(at))
            .await
            .expect("feature");
        if k.visibility == Visibility::Public {
            assert_eq!(outcome, FeatureOutcome::Done(Some(at)), "{}", k.id);
            k.featured_at = Some(at);
        } else {
            assert_eq!(outcome, FeatureOutcome::NotPublic(k.visibility), "{}", k.id);
        }
    }
    // Featured again, a pick keeps its first time; one is taken back.
    if let Some(k) = known.iter_mut().find(|k| k.featured_at.is_some()) {
        let again = store
            .set_featured(
                Featurable::Asset(&k.id),
                Some(start() + Duration::days(400)),
            )
            .await
            .expect("feature again");
        assert_eq!(again, FeatureOutcome::Done(k.featured_at));
        let back = store
            .set_featured(Featurable::Asset(&k.id), None)
            .await
            .expect("take back");
        assert_eq!(back, FeatureOutcome::Done(None));
        k.featured_at = None;
    }
}

/// Three collections, one of each visibility, each owned by one user with the next as a
/// contributor and the one after as a viewer. The owner adds some of theirs (of any
/// visibility) and some of others' public ones, the contributor some of theirs, in turns;
/// a few items are dragged before others. In the private one the contributor then
/// leaves, and their unlisted and private items must stop showing to anyone but them.
async fn make_collections(
    store: &dyn Store,
    rng: &mut ChaCha8Rng,
    known: &[Known],
) -> Vec<KnownCollection> {
    let mut users: Vec<(UserId, String)> = known
        .iter()
        .map(|k| (k.owner, k.owner_name.clone()))
        .collect();
    users.sort_by_key(|(u, _)| u.0);
    users.dedup();
    let mut made = Vec::new();
    for (n, visibility) in [
        Visibility::Public,
        Visibility::Unlisted,
        Visibility::Private,
    ]
    .into_iter()
    .enumerate()
    {
        let (owner, _) = users[n % users.len()];
        let (contributor, contributor_name) = users[(n + 1) % users.len()].clone();
        let (viewer, viewer_name) = users[(n + 2) % users.len()].clone();
        let record = store
            .create_collection(&NewCollection {
                public_id: format!("C{n:011}"),
                owner,
                title: format!("Collection {n}"),
                description: String::new(),
                visibility,
                created_at: start(),
            })
            .await
            .expect("create")
            .expect("room for it");
        for (name, role) in [
            (&contributor_name, MemberRole::Contributor),
            (&viewer_name, MemberRole::Viewer),
        ] {
            let outcome = store
                .set_member(record.id, name, role, true, start())
                .await
                .expect("member");
            assert_eq!(outcome, MemberOutcome::Done);
        }
        let mut items: Vec<String> = Vec::new();
        for turn in 0..4 {
            let (actor, others) = if turn % 2 == 0 {
                (owner, true)
            } else {
                (contributor, false)
            };
            let picked: Vec<String> = known
                .iter()
                .filter(|k| !items.contains(&k.id))
                .filter(|k| {
                    if k.owner == actor {
                        rng.gen_bool(0.2)
                    } else {
                        others && k.visibility == Visibility::Public && rng.gen_bool(0.08)
                    }
                })
                .map(|k| k.id.clone())
                .collect();
            let outcome = store
                .add_items(record.id, &picked, actor, others, start())
                .await
                .expect("add");
            assert_eq!(
                outcome,
                AddOutcome::Added {
                    added: picked.clone(),
                    already: Vec::new()
                }
            );
            items.extend(picked);
        }
        for _ in 0..4 {
            let (Some(moving), Some(before)) =
                (items.choose(rng).cloned(), items.choose(rng).cloned())
            else {
                break;
            };
            if moving == before {
                continue;
            }
            let moved = store
                .move_item(record.id, &moving, &MoveTo::Before(before.clone()), start())
                .await
                .expect("move");
            assert!(moved);
            items.retain(|id| *id != moving);
            let at = items.iter().position(|id| *id == before).expect("still in");
            items.insert(at, moving);
        }
        let mut members = vec![contributor, viewer];
        if visibility == Visibility::Private {
            let outcome = store
                .remove_member(record.id, &contributor_name)
                .await
                .expect("leave");
            assert_eq!(outcome, MemberOutcome::Done);
            members.retain(|m| *m != contributor);
        }
        made.push(KnownCollection {
            id: record.id,
            owner,
            visibility,
            members,
            items,
        });
    }
    made
}

fn ids_of(known: &[Known], picked: &[usize]) -> Vec<String> {
    picked.iter().map(|n| known[*n].id.clone()).collect()
}

/// Bulk actions by every owner at once over a selection of theirs: a tag added to some,
/// one taken off others, a visibility set on a few, and a handful trashed.
async fn bulk_change_some(store: &dyn Store, rng: &mut ChaCha8Rng, known: &mut Vec<Known>) {
    let mut by_owner: BTreeMap<i64, Vec<usize>> = BTreeMap::new();
    for (n, k) in known.iter().enumerate() {
        by_owner.entry(k.owner.0).or_default().push(n);
    }
    let owners: Vec<(UserId, Vec<usize>)> = by_owner
        .into_iter()
        .map(|(owner, assets)| (UserId(owner), assets))
        .collect();
    let mut plans: Vec<(UserId, Vec<String>, BulkChange)> = Vec::new();
    let mut trash: HashSet<usize> = HashSet::new();
    for (owner, assets) in &owners {
        let select = |every: usize, at: usize| -> Vec<usize> {
            assets.iter().copied().filter(|n| n % every == at).collect()
        };
        let tag = normalize_tags([*TAGS.choose(rng).expect("tag")]).remove(0);
        let added = select(5, 3);
        for n in &added {
            if !known[*n].tags.contains(&tag) {
                known[*n].tags.push(tag.clone());
            }
        }
        plans.push((
            *owner,
            ids_of(known, &added),
            BulkChange::AddTags(vec![tag]),
        ));
        let gone = normalize_tags([*TAGS.choose(rng).expect("tag")]).remove(0);
        let untagged = select(5, 4);
        for n in &untagged {
            known[*n].tags.retain(|t| *t != gone);
        }
        plans.push((
            *owner,
            ids_of(known, &untagged),
            BulkChange::RemoveTags(vec![gone]),
        ));
        let visibility = [
            Visibility::Public,
            Visibility::Unlisted,
            Visibility::Private,
        ]
        .choose(rng)
        .copied()
        .expect("visibility");
        let hidden = select(7, 0);
        for n in &hidden {
            known[*n].visibility = visibility;
        }
        plans.push((
            *owner,
            ids_of(known, &hidden),
            BulkChange::SetVisibility(visibility),
        ));
        let trashed = select(11, 5);
        trash.extend(trashed.iter().copied());
        plans.push((*owner, ids_of(known, &trashed), BulkChange::Trash));
    }
    // Each owner's actions in order, every owner at once.
    let runs = owners.iter().map(|(owner, _)| {
        let mine: Vec<&(UserId, Vec<String>, BulkChange)> =
            plans.iter().filter(|(o, _, _)| o == owner).collect();
        async move {
            for (owner, ids, change) in mine {
                let outcome = store
                    .bulk_change(ids, *owner, false, change, 32, start())
                    .await
                    .expect("bulk");
                assert!(
                    matches!(outcome, BulkOutcome::Done { .. }),
                    "{change:?}: {outcome:?}"
                );
            }
        }
    });
    futures::future::join_all(runs).await;
    let mut n = 0;
    known.retain(|_| {
        n += 1;
        !trash.contains(&(n - 1))
    });
}

/// Whether the `n`th asset goes to the trash (and stays there, or is purged from it, when
/// [`kept_in_trash`]); never one that is edited.
fn trashed(n: usize) -> bool {
    n % 4 != 1 && (n % 6 == 2 || n % 6 == 3)
}

fn kept_in_trash(n: usize) -> bool {
    trashed(n) && n % 6 == 2
}

/// A quarter of the assets edited by their owners while others go to the trash, all at
/// once: new texts, model, tags and visibility. Then, again all at once, some of the
/// trashed come back and some are purged. The searches below must find the edited as they
/// are now, the restored as they were, and nothing in the trash or purged (which leave
/// `known`).
async fn edit_and_trash_some(store: &dyn Store, rng: &mut ChaCha8Rng, known: &mut Vec<Known>) {
    let trash: Vec<(String, UserId)> = known
        .iter()
        .enumerate()
        .filter(|(n, _)| trashed(*n))
        .map(|(_, k)| (k.id.clone(), k.owner))
        .collect();
    let moves = trash
        .iter()
        .map(|(id, owner)| store.trash_asset(id, *owner, false, start() + Duration::days(400)));
    let (trashed_all, ()) = futures::future::join(
        futures::future::join_all(moves),
        edit_some(store, rng, known),
    )
    .await;
    assert!(trashed_all.into_iter().all(|t| t.expect("trash")));
    let mut back = Vec::new();
    let mut purges = Vec::new();
    for (n, k) in known.iter().enumerate() {
        if trashed(n) && !kept_in_trash(n) {
            back.push(store.restore_asset(&k.id, k.owner, false));
        } else if kept_in_trash(n) && n % 12 == 2 {
            purges.push(store.purge_asset(&k.id, k.owner, false));
        }
    }
    let (restored, purged) = futures::future::join(
        futures::future::join_all(back),
        futures::future::join_all(purges),
    )
    .await;
    assert!(restored.into_iter().all(|r| r.expect("restore")));
    assert!(purged.into_iter().all(|p| p.expect("purge").is_some()));
    let mut n = 0;
    known.retain(|_| {
        n += 1;
        !kept_in_trash(n - 1)
    });
}

/// A quarter of the assets edited by their owners, all at once: new texts, model, tags and
/// visibility (private or unlisted now and then).
async fn edit_some(store: &dyn Store, rng: &mut ChaCha8Rng, known: &mut [Known]) {
    let mut edits = Vec::new();
    for (n, asset) in known.iter_mut().enumerate() {
        if n % 4 != 1 {
            continue;
        }
        let how_many = rng.gen_range(0..=3);
        let tags: Vec<&str> = TAGS.choose_multiple(rng, how_many).copied().collect();
        let edit = AssetEdit {
            title: text(rng, 1..=3),
            prompt: text(rng, 0..=8),
            negative_prompt: text(rng, 0..=2),
            model: MODELS.choose(rng).expect("model").map(str::to_string),
            tags: normalize_tags(tags),
            visibility: match rng.gen_range(0..10) {
                0..2 => Visibility::Private,
                2..4 => Visibility::Unlisted,
                _ => Visibility::Public,
            },
        };
        asset.tokens = text_tokens(&format!("{} {}", edit.title, edit.prompt));
        asset.model = edit.model.clone();
        asset.tags = edit.tags.clone();
        asset.visibility = edit.visibility;
        edits.push((asset.id.clone(), asset.owner, edit));
    }
    let done = futures::future::join_all(
        edits
            .iter()
            .map(|(id, owner, edit)| store.edit_asset(id, *owner, false, edit, start())),
    )
    .await;
    for (result, (id, _, _)) in done.into_iter().zip(&edits) {
        assert!(result.expect("edit"), "{id} was edited");
    }
}

fn contains_run(tokens: &[String], run: &[String]) -> bool {
    run.is_empty() || tokens.windows(run.len()).any(|w| w == run)
}

/// Whether the person a search is for may see `k` where it looks: in the gallery, what
/// is public (and their own, on a search of theirs); in a collection, what is public,
/// their own, and an unlisted (or, in a private collection, a private) item whose owner
/// has a place in it.
fn may_see(k: &Known, within: Within<'_>, own_search: bool) -> bool {
    match within {
        Within::Everything { viewer } => {
            k.visibility == Visibility::Public || (own_search && viewer == Some(k.owner))
        }
        Within::Collection { collection, me } => {
            collection.items.contains(&k.id)
                && (k.visibility == Visibility::Public
                    || me == Some(k.owner)
                    || (collection.has_place(k.owner)
                        && (k.visibility == Visibility::Unlisted
                            || collection.visibility == Visibility::Private)))
        }
    }
}

/// What the search must find, in order, by looking at every asset.
fn brute_force(known: &[Known], search: &Search, sort: Sort, within: Within<'_>) -> Vec<String> {
    let owner = search.owner.as_ref().map(|o| o.to_lowercase());
    let liker = search.liked_by.as_ref().map(|name| {
        known
            .iter()
            .find(|k| k.owner_name.to_lowercase() == *name)
            .map(|k| k.owner)
    });
    let mut found: Vec<&Known> = known
        .iter()
        .filter(|k| {
            let own = owner.as_deref() == Some(&k.owner_name.to_lowercase());
            let words = search
                .words
                .iter()
                .flat_map(|w| text_tokens(w))
                .all(|w| k.tokens.contains(&w));
            let phrases = search
                .phrases
                .iter()
                .all(|p| contains_run(&k.tokens, &text_tokens(p)));
            let day = k.created_at.date_naive();
            may_see(k, within, own)
                && words
                && phrases
                && search.tags.iter().all(|t| k.tags.contains(t))
                && !search.exclude_tags.iter().any(|t| k.tags.contains(t))
                && search.media_type.is_none_or(|t| t == k.media_type)
                && search.model.as_ref().is_none_or(|m| {
                    k.model
                        .as_ref()
                        .is_some_and(|km| km.to_lowercase() == m.to_lowercase())
                })
                && (owner.is_none() || own)
                && liker.is_none_or(|user| user.is_some_and(|user| k.likers.contains(&user)))
                && search.from.is_none_or(|d| day >= d)
                && search.to.is_none_or(|d| day <= d)
                && (sort != Sort::Featured || k.featured_at.is_some())
        })
        .collect();
    found.sort_by_key(|k| k.created_at);
    match (sort, within) {
        (Sort::Curated, Within::Collection { collection, .. }) => found.sort_by_key(|k| {
            collection
                .items
                .iter()
                .position(|id| *id == k.id)
                .expect("an item")
        }),
        // A collection's order outside one is newest first.
        (Sort::Newest | Sort::Relevant | Sort::Curated, _) => found.reverse(),
        (Sort::Oldest, _) => {}
        (Sort::Liked, _) => {
            found.sort_by_key(|k| std::cmp::Reverse((k.likers.len(), k.created_at)))
        }
        (Sort::Viewed, _) => found.sort_by_key(|k| std::cmp::Reverse((k.views, k.created_at))),
        (Sort::Featured, _) => {
            found.sort_by_key(|k| std::cmp::Reverse((k.featured_at, k.created_at)))
        }
    }
    found.into_iter().map(|k| k.id.clone()).collect()
}

/// The tags starting with `prefix` that an asset `viewer` may see carries (public, or
/// theirs), in name order: what a suggestion may name.
fn brute_force_suggestions(known: &[Known], prefix: &str, viewer: Option<UserId>) -> Vec<String> {
    let mut tags: Vec<String> = known
        .iter()
        .filter(|k| k.visibility == Visibility::Public || Some(k.owner) == viewer)
        .flat_map(|k| k.tags.iter())
        .filter(|t| t.starts_with(prefix))
        .cloned()
        .collect();
    tags.sort();
    tags.dedup();
    tags
}

/// How the newest [`FACET_SAMPLE`] of `matches` divide up, by looking at each.
fn brute_force_facets(known: &[Known], matches: &[String], search: &Search) -> Facets {
    let sample: Vec<&Known> = matches
        .iter()
        .take(FACET_SAMPLE as usize)
        .map(|id| known.iter().find(|k| &k.id == id).expect("known"))
        .collect();
    let ranked = |counts: BTreeMap<String, u32>, keep: u32| {
        let mut list: Vec<FacetCount> = counts
            .into_iter()
            .map(|(value, count)| FacetCount { value, count })
            .collect();
        list.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.value.cmp(&b.value)));
        list.truncate(keep as usize);
        list
    };
    let mut types = BTreeMap::new();
    let mut tags = BTreeMap::new();
    // Models ignoring case, shown in their byte-wise smallest spelling.
    let mut models: BTreeMap<String, (String, u32)> = BTreeMap::new();
    for k in &sample {
        *types.entry(k.media_type.as_str().to_string()).or_default() += 1;
        for tag in k.tags.iter().filter(|t| !search.tags.contains(t)) {
            *tags.entry(tag.clone()).or_default() += 1;
        }
        if let Some(model) = k.model.as_ref().filter(|m| !m.is_empty()) {
            let entry = models
                .entry(model.to_lowercase())
                .or_insert_with(|| (model.clone(), 0));
            if *model < entry.0 {
                entry.0 = model.clone();
            }
            entry.1 += 1;
        }
    }
    Facets {
        counted: sample.len() as u32,
        more: matches.len() > FACET_SAMPLE as usize,
        types: ranked(types, 2),
        tags: ranked(tags, FACET_TAGS),
        models: ranked(models.into_values().collect(), FACET_MODELS),
    }
}

fn random_search(rng: &mut ChaCha8Rng, known: &[Known]) -> Search {
    let mut search = Search::default();
    if rng.gen_bool(0.4) {
        for _ in 0..rng.gen_range(1..=2) {
            let word = WORDS.choose(rng).expect("word");
            search.words.push(word.to_string());
        }
    }
    if rng.gen_bool(0.15) {
        // Two neighbouring words of some asset's text.
        let k = known.choose(rng).expect("asset");
        if k.tokens.len() >= 2 {
            let at = rng.gen_range(0..k.tokens.len() - 1);
            search.phrases.push(k.tokens[at..at + 2].join(" "));
        }
    }
    if rng.gen_bool(0.35) {
        let how_many = rng.gen_range(1..=2);
        search.tags = normalize_tags(TAGS.choose_multiple(rng, how_many));
    }
    if rng.gen_bool(0.2) {
        let exclude = TAGS.choose(rng).expect("tag").to_string();
        if !search.tags.contains(&exclude) {
            search.exclude_tags.push(exclude);
        }
    }
    if rng.gen_bool(0.3) {
        search.media_type = Some(if rng.gen_bool(0.5) {
            MediaType::Image
        } else {
            MediaType::Video
        });
    }
    if rng.gen_bool(0.2) {
        let model = MODELS.iter().flatten().choose(rng).expect("model");
        search.model = Some(if rng.gen_bool(0.5) {
            model.to_uppercase()
        } else {
            model.to_string()
        });
    }
    if rng.gen_bool(0.3) {
        let name = if rng.gen_bool(0.9) {
            USERS.choose(rng).expect("user").to_lowercase()
        } else {
            "nobody".into()
        };
        search.owner = Some(name);
    }
    if rng.gen_bool(0.2) {
        let name = if rng.gen_bool(0.9) {
            USERS.choose(rng).expect("user").to_lowercase()
        } else {
            "nobody".into()
        };
        search.liked_by = Some(name);
    }
    let day = |rng: &mut ChaCha8Rng| (start() + Duration::days(rng.gen_range(-2..62))).date_naive();
    if rng.gen_bool(0.25) {
        search.from = Some(day(rng));
    }
    if rng.gen_bool(0.25) {
        let to: NaiveDate = day(rng);
        search.to = Some(match search.from {
            Some(from) if from > to => from,
            _ => to,
        });
    }
    // As the search box would send it (repeated words collapse, words lower-case).
    Search::parse(&search.to_text()).expect("a generated search parses")
}

async fn paged_results_equal_a_brute_force_filter(db: &TestDb) {
    let store = db.store.as_ref();
    let mut rng = ChaCha8Rng::seed_from_u64(0x5EA2C4);
    let known = populate(store, &mut rng).await;
    let collections = make_collections(store, &mut rng, &known).await;
    let users: Vec<UserId> = {
        let mut ids: Vec<UserId> = known.iter().map(|k| k.owner).collect();
        ids.sort_by_key(|u| u.0);
        ids.dedup();
        ids
    };

    let (mut matched, mut multi_page, mut private_listed, mut relevance) = (0, 0, 0, 0);
    let (mut by_count, mut featured, mut in_collections, mut curated) = (0, 0, 0, 0);
    let (mut hidden_items, mut own_private) = (0, 0);
    for n in 0..QUERIES {
        let search = random_search(&mut rng, &known);
        // What the search box would show parses back to the same search.
        assert_eq!(Search::parse(&search.to_text()).as_ref(), Ok(&search));
        let has_text = search
            .words
            .iter()
            .chain(&search.phrases)
            .any(|w| !text_tokens(w).is_empty());
        // A third of the searches look inside a collection, as someone who may see it: its
        // owner, a member, anyone for a public or unlisted one, a share link's holder
        // (nobody logged in) for an unlisted or private one.
        let scoped = if rng.gen_bool(0.35) {
            let collection = collections.choose(&mut rng).expect("a collection");
            let who: Vec<Option<UserId>> = std::iter::once(None)
                .chain(users.iter().copied().map(Some))
                .filter(|who| {
                    collection.visibility != Visibility::Private
                        || who.is_none_or(|u| collection.has_place(u))
                })
                .collect();
            Some((collection, *who.choose(&mut rng).expect("someone")))
        } else {
            None
        };
        let sort = match rng.gen_range(0..18) {
            0..=2 => Sort::Oldest,
            // No full-text rank inside a collection.
            3..=7 if has_text && scoped.is_none() => Sort::Relevant,
            8..=9 => Sort::Liked,
            10..=11 => Sort::Viewed,
            12..=13 => Sort::Featured,
            14..=17 if scoped.is_some() => Sort::Curated,
            _ => Sort::Newest,
        };
        // Now and then a person searches their own (and sees their private assets).
        let searched = search.owner.as_ref().and_then(|name| {
            known
                .iter()
                .find(|k| k.owner_name.to_lowercase() == *name)
                .map(|k| k.owner)
        });
        let viewer = match searched {
            Some(owner) if rng.gen_bool(0.5) => Some(owner),
            _ => users
                .choose(&mut rng)
                .copied()
                .filter(|_| rng.gen_bool(0.6)),
        };
        let (within, scope, me, viewer) = match scoped {
            Some((collection, me)) => (
                Within::Collection { collection, me },
                Some(CollectionScope {
                    id: collection.id,
                    // Seeing a private collection at all means having a place in it (or
                    // its link).
                    private_items: collection.visibility == Visibility::Private,
                }),
                me,
                // As the API asks: the viewer is whoever searches their own.
                me.filter(|_| search.owner.is_some()),
            ),
            None => (Within::Everything { viewer }, None, None, viewer),
        };
        let expected = brute_force(&known, &search, sort, within);
        let limit = if expected.len() > 60 {
            25
        } else {
            *[1u32, 2, 3, 7, 25].choose(&mut rng).expect("limit")
        };

        let mut got: Vec<String> = Vec::new();
        let mut after: Option<Cursor> = None;
        let mut pages = 0;
        loop {
            let query = AssetQuery {
                search: search.clone(),
                sort,
                limit,
                after,
                viewer,
                me,
                collection: scope,
            };
            let page = store.search_assets(&query).await.expect("search");
            pages += 1;
            assert!(
                page.items.len() <= limit as usize,
                "query {n}: page too long"
            );
            for item in &page.items {
                if item.visibility == Visibility::Private {
                    // In the gallery only its owner's own search lists it (in a
                    // collection, the comparison below decides).
                    if scope.is_none() {
                        let owner = known.iter().find(|k| k.id == item.id).expect("known").owner;
                        assert_eq!(
                            Some(owner),
                            viewer,
                            "query {n}: someone else's private asset"
                        );
                        own_private += 1;
                    }
                    private_listed += 1;
                }
            }
            got.extend(page.items.into_iter().map(|a| a.id));
            match page.next_cursor {
                None => break,
                Some(cursor) => {
                    let cursor = Cursor::decode(&cursor).expect("a cursor this store made");
                    assert_eq!(cursor.sort, sort);
                    after = Some(cursor);
                }
            }
            assert!(pages <= ASSETS + 1, "query {n}: the pages never end");
        }
        let context = format!(
            "query {n}: {:?} sorted {sort:?} for viewer {viewer:?}, {limit} a page, {:?}",
            search.to_text(),
            scoped.map(|(c, me)| (c.visibility, c.owner, me))
        );
        if sort == Sort::Relevant {
            // Best match first among the newest candidates: the same assets, each once, in
            // an order the brute force cannot rank.
            let candidates: Vec<String> = brute_force(&known, &search, Sort::Newest, within)
                .into_iter()
                .take(RELEVANCE_CANDIDATES as usize)
                .collect();
            let distinct: HashSet<&String> = got.iter().collect();
            assert_eq!(distinct.len(), got.len(), "{context}: an asset twice");
            let mut sorted = got.clone();
            sorted.sort();
            let mut want = candidates;
            want.sort();
            assert_eq!(sorted, want, "{context}");
            relevance += 1;
        } else {
            assert_eq!(got, expected, "{context}");
        }
        // The facets count the same matches (newest first, at most the sample's size).
        let facets = store
            .facets_of(&AssetQuery {
                collection: scope,
                me,
                ..AssetQuery::facets(&search, viewer)
            })
            .await
            .expect("facets");
        let newest = brute_force(&known, &search, Sort::Newest, within);
        assert_eq!(
            facets,
            brute_force_facets(&known, &newest, &search),
            "{context}: facets"
        );
        // Suggestions name only tags of what the person may see.
        if n % 4 == 0 {
            let tag = TAGS.choose(&mut rng).expect("tag");
            let prefix = &tag[..rng.gen_range(0..=2)];
            let asker = viewer.or(me);
            assert_eq!(
                store
                    .suggest_tags(prefix, 50, asker)
                    .await
                    .expect("suggest"),
                brute_force_suggestions(&known, prefix, asker),
                "{context}: suggestions for {prefix:?}"
            );
        }
        if let Some((collection, _)) = scoped {
            in_collections += 1;
            curated += usize::from(sort == Sort::Curated && pages > 1);
            // Items it holds that this person may not see (and the pages above did not
            // show): the rule was put to the test.
            hidden_items += known
                .iter()
                .filter(|k| collection.items.contains(&k.id) && !may_see(k, within, false))
                .count();
        }
        if !expected.is_empty() {
            matched += 1;
            if sort.by_count() && pages > 1 {
                by_count += 1;
            }
            if sort == Sort::Featured && pages > 1 {
                featured += 1;
            }
        }
        if pages > 2 {
            multi_page += 1;
        }
    }
    // The random filters must exercise something: many searches find assets, many take
    // several pages, and owners do see their private assets.
    assert!(
        matched >= QUERIES / 3,
        "only {matched} searches found anything"
    );
    assert!(
        multi_page >= QUERIES / 5,
        "only {multi_page} searches took several pages"
    );
    assert!(private_listed > 0, "nobody ever saw a private asset");
    assert!(own_private > 0, "no owner ever saw their private assets");
    assert!(relevance >= 10, "only {relevance} relevance searches");
    assert!(
        by_count >= 10,
        "only {by_count} paged searches by likes or views"
    );
    assert!(
        featured >= 5,
        "only {featured} paged searches of the featured"
    );
    assert!(
        in_collections >= QUERIES / 5,
        "only {in_collections} searches in collections"
    );
    assert!(
        curated >= 3,
        "only {curated} paged searches in a collection's order"
    );
    assert!(
        hidden_items > 0,
        "no collection ever held something hidden from someone"
    );
}

/// A search with more matches than the facets count: the newest thousand are counted, the
/// top tags and models are cut to their lists' lengths, and a private asset counts only on
/// its owner's own search.
async fn facets_count_the_newest_matches(db: &TestDb) {
    let store = db.store.as_ref();
    let alice = store
        .create_user(&NewUser {
            public_id: "U00000000001".into(),
            username: "alice".into(),
            password_hash: None,
            role: app::account::Role::User,
            created_at: start(),
        })
        .await
        .expect("user");
    // `j` counts from the newest (0) back. The newest thousand: tag `t{k}` on the newest
    // (k + 1) * 10, every fourth a video, models "SDXL" / "sdxl" / "flux" as 3 / 3 / 4 in
    // ten. The fifty before them are all videos tagged "old" by the model "ancient", so
    // counting them would show.
    let total = FACET_SAMPLE as usize + 50;
    let asset = |j: usize, visibility: Visibility, tags: Vec<String>, model: &str| NewAsset {
        title: format!("asset {j}"),
        model: Some(model.to_string()),
        media_type: if j % 4 == 0 || j >= FACET_SAMPLE as usize {
            MediaType::Video
        } else {
            MediaType::Image
        },
        tags,
        visibility,
        ..draft(
            format!("F{j:011}"),
            alice.id,
            start() + Duration::minutes((total - j) as i64),
        )
    };
    let mut drafts: Vec<NewAsset> = (0..total)
        .map(|j| {
            if j >= FACET_SAMPLE as usize {
                return asset(j, Visibility::Public, vec!["old".into()], "ancient");
            }
            let tags = (0..12)
                .filter(|k| j < (k + 1) * 10)
                .map(|k| format!("t{k}"))
                .collect();
            let model = match j % 10 {
                0..=2 => "SDXL",
                3..=5 => "sdxl",
                _ => "flux",
            };
            asset(j, Visibility::Public, tags, model)
        })
        .collect();
    // The very newest is private.
    let mut secret = asset(total, Visibility::Private, vec!["secret".into()], "flux");
    secret.created_at = start() + Duration::minutes(total as i64 + 1);
    drafts.push(secret);
    for batch in drafts.chunks(400) {
        store.insert_assets(batch).await.expect("insert");
    }

    let count = |value: &str, count: u32| FacetCount {
        value: value.into(),
        count,
    };
    let everything = store
        .facets(&Search::default(), Some(alice.id))
        .await
        .expect("facets");
    assert_eq!(
        everything,
        Facets {
            counted: FACET_SAMPLE,
            more: true,
            types: vec![count("image", 750), count("video", 250)],
            tags: (2..12)
                .rev()
                .map(|k| count(&format!("t{k}"), (k + 1) * 10))
                .collect(),
            models: vec![count("SDXL", 600), count("flux", 400)],
        },
        "a search of everything counts the newest thousand public assets"
    );

    let tagged = Search::parse("tag:t11").expect("search");
    assert_eq!(
        store.facets(&tagged, None).await.expect("facets"),
        Facets {
            counted: 120,
            more: false,
            types: vec![count("image", 90), count("video", 30)],
            tags: (1..11)
                .rev()
                .map(|k| count(&format!("t{k}"), (k + 1) * 10))
                .collect(),
            models: vec![count("SDXL", 72), count("flux", 48)],
        },
        "the tag searched for is not a facet of its own results"
    );

    let secret = Search::parse("tag:secret by:alice").expect("search");
    let own = store.facets(&secret, Some(alice.id)).await.expect("facets");
    assert_eq!((own.counted, own.more), (1, false), "alice counts her own");
    assert_eq!(own.models, vec![count("flux", 1)]);
    for viewer in [None, Some(UserId(alice.id.0 + 1000))] {
        assert_eq!(
            store.facets(&secret, viewer).await.expect("facets"),
            Facets::default(),
            "nobody else counts alice's private asset"
        );
    }
    let nothing = Search::parse("tag:nosuchtag").expect("search");
    assert_eq!(
        store.facets(&nothing, None).await.expect("facets"),
        Facets::default()
    );
}

/// Uploads one at a time split SQLite's full-text index into pieces; merging them (after a
/// bulk load, and hourly) changes no search's results, and a merged index needs no more.
async fn a_merged_search_index_finds_the_same(db: &TestDb) {
    let store = db.store.as_ref();
    let mut rng = ChaCha8Rng::seed_from_u64(0x71D1);
    let known = populate(store, &mut rng).await;
    // Thirty more uploads, each its own write.
    for (n, k) in known.iter().take(30).enumerate() {
        let again = store
            .view_asset(&k.id, Some(k.owner))
            .await
            .expect("view")
            .expect("stored");
        let again = NewAsset {
            title: format!("{} again", again.summary.title),
            prompt: again.summary.prompt,
            model: k.model.clone(),
            media_type: k.media_type,
            tags: k.tags.clone(),
            ..draft(
                format!("R{n:011}"),
                k.owner,
                k.created_at + Duration::seconds(1),
            )
        };
        store.insert_assets(&[again]).await.expect("insert");
    }
    let searches: Vec<Search> = [
        "again",
        "cat",
        "neon city",
        "\"sci fi\" -tag:nsfw",
        "astronaut type:video",
    ]
    .iter()
    .map(|q| Search::parse(q).expect("search"))
    .collect();
    let everything = |search: &Search| AssetQuery {
        search: search.clone(),
        sort: Sort::Newest,
        limit: 100,
        after: None,
        viewer: None,
        me: None,
        collection: None,
    };
    let mut before = Vec::new();
    for search in &searches {
        before.push(
            store
                .search_assets(&everything(search))
                .await
                .expect("search"),
        );
    }
    assert_eq!(before[0].items.len(), 30, "every upload is found");

    let merged = store.tidy_search_index().await.expect("tidy");
    assert_eq!(
        merged,
        db.url.starts_with("sqlite"),
        "SQLite merges its pieces; Postgres's GIN index needs nothing"
    );
    assert!(
        !store.tidy_search_index().await.expect("tidy again"),
        "one piece already"
    );
    for (search, earlier) in searches.iter().zip(&before) {
        let now = store
            .search_assets(&everything(search))
            .await
            .expect("search");
        assert_eq!(&now, earlier, "{}", search.to_text());
    }
}

on_both_backends!(paged_results_equal_a_brute_force_filter);
on_both_backends!(a_merged_search_index_finds_the_same);
on_both_backends!(facets_count_the_newest_matches);
