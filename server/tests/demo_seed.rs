//! `seed-demo` is deterministic: the same seed gives the same gallery, on either backend.

mod common;

use app::model::AssetSummary;
use atelier_server::demo::{self, SeedOptions};

async fn seeded(seed: u64, postgres: bool) -> (common::TestDb, Vec<AssetSummary>) {
    let db = if postgres {
        match common::postgres().await {
            Some(db) => db,
            None => common::sqlite().await,
        }
    } else {
        common::sqlite().await
    };
    let options = SeedOptions { count: 90, seed };
    demo::seed(db.store.as_ref(), None, &options)
        .await
        .expect("seed");
    let all = common::every_page(db.store.as_ref(), 100)
        .await
        .into_iter()
        .flat_map(|p| p.items)
        .collect();
    (db, all)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_seed_gives_the_same_gallery_on_sqlite_and_postgres() {
    let (a, first) = seeded(5, false).await;
    let (b, second) = seeded(5, true).await;
    let (c, other) = seeded(6, false).await;

    assert_eq!(first.len(), 90);
    assert_eq!(
        first, second,
        "same seed, same data ({} vs {})",
        a.url, b.url
    );
    assert_ne!(first, other, "another seed, other data");

    let videos = first
        .iter()
        .filter(|a| a.media_type == app::model::MediaType::Video)
        .count();
    assert!(videos >= 5, "a few videos in every dozen assets: {videos}");
    let owners: std::collections::HashSet<_> = first.iter().map(|a| &a.owner).collect();
    assert!(owners.len() >= 3, "several users: {owners:?}");
    let span = first[0].created_at - first[first.len() - 1].created_at;
    assert!(
        span.num_days() > 200,
        "dates spread over a year: {} days",
        span.num_days()
    );

    for db in [a, b, c] {
        db.finish().await;
    }
}
