//! The usage writer: takes what requests queued ([`app::usage::Usage`]) and stores it in
//! batches, one transaction each, so recording never waits on the database; and the
//! upkeep that follows the settings and drops raw events past their retention. Both run
//! as background tasks (`crate::background`).

use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use app::settings::Settings;
use app::store::{Store, UsageEvent};
use app::usage::{Message, Usage};
use chrono::Utc;
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

/// The writer: stores what the queue brings until every [`Usage`] handle is gone. It holds
/// `usage` weakly (a handle would keep the queue open forever) and only counts drops on it.
pub async fn write(store: Arc<dyn Store>, usage: Weak<Usage>, mut queue: mpsc::Receiver<Message>) {
    let mut events: Vec<UsageEvent> = Vec::new();
    let mut flushes = Vec::new();
    loop {
        let Some(first) = queue.recv().await else {
            break;
        };
        take(first, &mut events, &mut flushes);
        let deadline = tokio::time::Instant::now() + BATCH_WINDOW;
        while events.len() < MAX_BATCH && flushes.is_empty() {
            match tokio::time::timeout_at(deadline, queue.recv()).await {
                Ok(Some(message)) => take(message, &mut events, &mut flushes),
                Ok(None) | Err(_) => break,
            }
        }
        if !events.is_empty() && !write_batch(store.as_ref(), &events).await {
            if let Some(usage) = usage.upgrade() {
                usage.count_dropped(events.len() as u64);
            }
        }
        events.clear();
        for done in flushes.drain(..) {
            let _ = done.send(());
        }
    }
}

fn take(
    message: Message,
    events: &mut Vec<UsageEvent>,
    flushes: &mut Vec<tokio::sync::oneshot::Sender<()>>,
) {
    match message {
        Message::Event(event) => events.push(event),
        Message::Flush(done) => flushes.push(done),
    }
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
/// returns how many went.
pub async fn upkeep(store: &dyn Store, usage: &Usage) -> Result<u64, app::store::StoreError> {
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
