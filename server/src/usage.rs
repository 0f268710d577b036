//! The usage writer: takes what requests queued ([`app::usage::Usage`]) and stores it in
//! batches, one transaction each, so recording never waits on the database; and the
//! upkeep that follows the settings and drops raw events past their retention.

use std::sync::Arc;
use std::time::Duration;

use app::settings::Settings;
use app::store::{Store, UsageEvent};
use app::usage::{Message, Usage};
use chrono::Utc;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// The most events one transaction stores.
pub const MAX_BATCH: usize = 2_000;
/// How long the writer gathers events after the first before it writes them.
pub const BATCH_WINDOW: Duration = Duration::from_millis(250);
/// A batch the database refused is tried this many times in all before it is dropped.
const WRITE_TRIES: u32 = 3;

/// Starts the writer; it ends when every [`Usage`] handle is gone.
pub fn spawn_writer(
    store: Arc<dyn Store>,
    usage: Arc<Usage>,
    mut queue: mpsc::Receiver<Message>,
) -> JoinHandle<()> {
    // Holding the handle would keep the queue open forever: the writer only counts drops.
    let usage = Arc::downgrade(&usage);
    tokio::spawn(async move {
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
            if !events.is_empty() && !write(store.as_ref(), &events).await {
                if let Some(usage) = usage.upgrade() {
                    usage.count_dropped(events.len() as u64);
                }
            }
            events.clear();
            for done in flushes.drain(..) {
                let _ = done.send(());
            }
        }
    })
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
async fn write(store: &dyn Store, events: &[UsageEvent]) -> bool {
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

/// Every minute follows the settings (the CLI may change them while the server runs);
/// every hour also prunes.
pub async fn keep_up(store: Arc<dyn Store>, usage: Arc<Usage>) {
    let mut every = tokio::time::interval(Duration::from_secs(60));
    let mut minutes = 0u32;
    loop {
        every.tick().await;
        if minutes % 60 == 0 {
            match upkeep(store.as_ref(), &usage).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(events = n, "usage events past their retention removed"),
                Err(err) => tracing::warn!(%err, "cannot prune usage events"),
            }
        } else if let Ok(settings) = Settings::load(store.as_ref()).await {
            usage.set_enabled(settings.usage_tracking);
        }
        minutes = minutes.wrapping_add(1);
    }
}
