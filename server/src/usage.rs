//! The usage writer: takes what requests queued ([`app::usage::Usage`]) and stores it in
//! batches, one transaction each, so recording never waits on the database; and the
//! upkeep that follows the settings and drops raw events past their retention. Both run
//! as background tasks (`crate::background`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use app::recent_views::Viewer;
use app::settings::Settings;
use app::stats::Day;
use app::store::{Store, UsageEvent, ViewEvent};
use app::usage::{Message, Usage};
use chrono::{DateTime, Utc};
use tokio::sync::mpsc;

/// The most events one transaction stores.
pub const MAX_BATCH: usize = 2_000;
/// How long the writer gathers events after the first before it writes them.
pub const BATCH_WINDOW: Duration = Duration::from_millis(250);
/// A batch the database refused is tried this many times in all before it is dropped.
const WRITE_TRIES: u32 = 3;

/// The receiving end of a recorder's queue, kept until the writer takes it: building the
/// server's state makes the recorder, starting its background work starts the writer.
#[derive(Clone, Debug, Default)]
pub struct Queue(Arc<Mutex<Option<mpsc::Receiver<Message>>>>);

impl Queue {
    /// The receiver, once; `None` when a writer already has it.
    pub fn take(&self) -> Option<mpsc::Receiver<Message>> {
        self.0.lock().ok().and_then(|mut queue| queue.take())
    }
}

/// A recorder and the queue its writer will read. Until a writer runs, events wait in the
/// queue (and are dropped once it is full).
pub fn recorder() -> (Arc<Usage>, Queue) {
    let (usage, queue) = Usage::channel(app::usage::QUEUE_CAPACITY);
    (usage, Queue(Arc::new(Mutex::new(Some(queue)))))
}

/// What one round of the writer gathered.
#[derive(Default)]
struct Gathered {
    events: Vec<UsageEvent>,
    views: Vec<(DateTime<Utc>, String, Viewer)>,
    flushes: Vec<tokio::sync::oneshot::Sender<()>>,
}

impl Gathered {
    fn take(&mut self, message: Message) {
        match message {
            Message::Event(event) => self.events.push(event),
            Message::View { at, asset, viewer } => self.views.push((at, asset, viewer)),
            Message::Flush(done) => self.flushes.push(done),
        }
    }

    fn len(&self) -> usize {
        self.events.len() + self.views.len()
    }
}

/// The writer: stores what the queue brings until every [`Usage`] handle is gone. It holds
/// `usage` weakly (a handle would keep the queue open forever) and only counts drops on it.
pub async fn write(store: Arc<dyn Store>, usage: Weak<Usage>, mut queue: mpsc::Receiver<Message>) {
    let mut gathered = Gathered::default();
    // Each day's salt for visitors' view keys, read once it is first needed.
    let mut salts: HashMap<i32, String> = HashMap::new();
    loop {
        let Some(first) = queue.recv().await else {
            break;
        };
        gathered.take(first);
        let deadline = tokio::time::Instant::now() + BATCH_WINDOW;
        while gathered.len() < MAX_BATCH && gathered.flushes.is_empty() {
            match tokio::time::timeout_at(deadline, queue.recv()).await {
                Ok(Some(message)) => gathered.take(message),
                Ok(None) | Err(_) => break,
            }
        }
        let mut lost = 0;
        if !gathered.events.is_empty() && !write_batch(store.as_ref(), &gathered.events).await {
            lost += gathered.events.len();
        }
        if !gathered.views.is_empty()
            && !write_views(store.as_ref(), &mut salts, &gathered.views).await
        {
            lost += gathered.views.len();
        }
        if lost > 0 {
            if let Some(usage) = usage.upgrade() {
                usage.count_dropped(lost as u64);
            }
        }
        gathered.events.clear();
        gathered.views.clear();
        for done in gathered.flushes.drain(..) {
            let _ = done.send(());
        }
    }
}

/// Counts a batch of views, retrying a refused one; `false` when it could not be stored.
async fn write_views(
    store: &dyn Store,
    salts: &mut HashMap<i32, String>,
    views: &[(DateTime<Utc>, String, Viewer)],
) -> bool {
    for attempt in 1..=WRITE_TRIES {
        let outcome = async {
            let mut events = Vec::with_capacity(views.len());
            for (at, asset, viewer) in views {
                let day = Day::of(*at).0;
                if !salts.contains_key(&day) {
                    let salt = store.view_salt(day).await?;
                    // Only today's and yesterday's are of use.
                    salts.retain(|known, _| *known >= day - 1);
                    salts.insert(day, salt);
                }
                let salt = salts.get(&day).map(String::as_str).unwrap_or_default();
                events.push(ViewEvent {
                    asset: asset.clone(),
                    viewer: viewer.stored_key(salt, day),
                    day,
                });
            }
            store.record_views(&events).await
        }
        .await;
        match outcome {
            Ok(_) => return true,
            Err(err) if attempt < WRITE_TRIES => {
                tracing::warn!(%err, attempt, "cannot count views yet; trying again");
                tokio::time::sleep(Duration::from_millis(200 * u64::from(attempt))).await;
            }
            Err(err) => tracing::error!(%err, views = views.len(), "views dropped"),
        }
    }
    false
}

/// Stores a batch, retrying a refused one; `false` when it could not be stored.
async fn write_batch(store: &dyn Store, events: &[UsageEvent]) -> bool {
    for attempt in 1..=WRITE_TRIES {
        match store.record_usage(events).await {
            Ok(()) => return true,
            Err(err) if attempt < WRITE_TRIES => {
                tracing::warn!(%err, attempt, "cannot store usage events yet; trying again");
                tokio::time::sleep(Duration::from_millis(200 * u64::from(attempt))).await;
            }
            Err(err) => {
                tracing::error!(%err, events = events.len(), "usage events dropped");
            }
        }
    }
    false
}

/// Applies the settings now and drops raw events older than the retention period;
/// returns how many went. Also forgets who viewed what before yesterday: views count once
/// per viewer and day, so those rows decide nothing any more.
pub async fn upkeep(store: &dyn Store, usage: &Usage) -> Result<u64, app::store::StoreError> {
    let forgotten = store.prune_views(Day::today().0 - 1).await?;
    if forgotten > 0 {
        tracing::debug!(forgotten, "old view rows dropped");
    }
    let settings = Settings::load(store).await?;
    usage.set_enabled(settings.usage_tracking);
    let before = Utc::now() - chrono::Duration::days(i64::from(settings.usage_retention_days));
    store.prune_usage_events(before).await
}

/// One round of the upkeep: follows the settings (the CLI may change them while the
/// server runs) and, with `prune`, also drops raw events past their retention; returns how
/// many went. Between prunes a settings read that fails is let pass: the next round reads
/// them again.
pub async fn keep_up(
    store: &dyn Store,
    usage: &Usage,
    prune: bool,
) -> Result<u64, app::store::StoreError> {
    if prune {
        return upkeep(store, usage).await;
    }
    if let Ok(settings) = Settings::load(store).await {
        usage.set_enabled(settings.usage_tracking);
    }
    Ok(0)
}
