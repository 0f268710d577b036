//! Every task the server runs beside its requests, started and stopped in one place: the
//! processing workers, the usage writer, and the periodic upkeep (the upload and session
//! sweepers, the trash purge, following the usage settings and pruning old events, tidying
//! the full-text index, pruning the rate limiters). Building the server's state starts nothing; `atelier serve` calls
//! [`Background::start`] once the state is built and [`Background::stop`] once the last
//! request is answered.

use std::{
    fmt::Display,
    future::Future,
    sync::Arc,
    time::{Duration, Instant},
};

use chrono::Utc;
use tokio::{sync::watch, task::JoinHandle};

use crate::http::ServerState;

/// How often expired uploads and stray temp files are swept.
pub const UPLOAD_SWEEP_EVERY: Duration = Duration::from_secs(3600);
/// Every this many upload sweeps (the first at start-up) also walk the stored files for
/// any no row names: once a day.
pub const FILE_WALK_ROUNDS: u64 = 24;
/// How often expired sessions are deleted (they are refused anyway; this keeps the table
/// small).
pub const SESSION_SWEEP_EVERY: Duration = Duration::from_secs(3600);
/// How often assets past their time in the trash (`trash_days`) are purged.
pub const TRASH_PURGE_EVERY: Duration = Duration::from_secs(3600);
/// How often the full-text index is merged back into one piece when uploads split it up.
pub const INDEX_TIDY_EVERY: Duration = Duration::from_secs(3600);
/// How often the usage settings are read again: the CLI may change them while the server
/// runs.
pub const USAGE_SETTINGS_EVERY: Duration = Duration::from_secs(60);
/// Every this many readings of the usage settings (the first at start-up) also drop raw
/// events past their retention: once an hour.
pub const USAGE_PRUNE_ROUNDS: u64 = 60;
/// How often the rate limiters forget clients whose buckets are full again.
pub const RATE_PRUNE_EVERY: Duration = Duration::from_secs(60);
/// How long stopping waits for a task to end before aborting it.
const STOP_GRACE: Duration = Duration::from_secs(10);

/// What to run.
#[derive(Clone, Copy, Debug)]
pub struct Plan {
    /// Processing workers (at least one).
    pub workers: usize,
    /// The periodic upkeep: sweepers, usage settings and pruning, index tidying.
    pub upkeep: bool,
}

impl Plan {
    /// Everything, with one worker per two cores: what `atelier serve` runs.
    pub fn serve() -> Plan {
        Plan {
            workers: crate::jobs::default_workers(),
            upkeep: true,
        }
    }
}

/// The signal tasks watch for stopping.
#[derive(Clone)]
struct StopSignal(watch::Receiver<bool>);

impl StopSignal {
    /// Resolves once stopping begins; never, when the [`Background`] was dropped instead.
    async fn requested(&mut self) {
        if self.0.wait_for(|stop| *stop).await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

/// The running background tasks. Dropping this leaves them running until the runtime ends
/// (as dropping a `JoinHandle` does); [`Background::stop`] ends them.
pub struct Background {
    stop: watch::Sender<bool>,
    tasks: Vec<(&'static str, JoinHandle<()>)>,
    usage: Arc<app::usage::Usage>,
    /// The usage writer, when this started it (it stops after a last flush).
    writer: Option<JoinHandle<()>>,
}

impl Background {
    /// Starts what `plan` names for `state`: the usage writer, the processing workers (after
    /// queueing again the jobs a stopped server left half-done) and the periodic upkeep.
    pub async fn start(state: &ServerState, plan: Plan) -> Background {
        let mut background = Background::idle(state.usage.clone());
        match state.usage_queue.take() {
            Some(queue) => {
                let writer =
                    crate::usage::write(state.store.clone(), Arc::downgrade(&state.usage), queue);
                background.writer = Some(tokio::spawn(writer));
            }
            None => tracing::warn!("the usage writer of this state is already running"),
        }

        crate::jobs::requeue_interrupted(state.store.as_ref()).await;
        if plan.upkeep {
            match state.uploads.recover().await {
                Ok(0) => {}
                Ok(n) => tracing::info!(
                    files = n,
                    "removed temp files of uploads an earlier run finished"
                ),
                Err(err) => tracing::warn!(%err, "cannot look for temp files an earlier run left"),
            }
        }
        for _ in 0..plan.workers.max(1) {
            let worker =
                crate::jobs::work(state.store.clone(), state.files.clone(), state.jobs.clone());
            background.spawn("job worker", worker);
        }

        if plan.upkeep {
            background.upkeep(state);
        }
        background
    }

    /// Nothing running yet.
    fn idle(usage: Arc<app::usage::Usage>) -> Background {
        let (stop, _) = watch::channel(false);
        Background {
            stop,
            tasks: Vec::new(),
            usage,
            writer: None,
        }
    }

    /// The periodic tasks.
    fn upkeep(&mut self, state: &ServerState) {
        let engine = state.uploads.clone();
        self.every("upload sweep", UPLOAD_SWEEP_EVERY, move |round| {
            let engine = engine.clone();
            async move {
                let walk = round % FILE_WALK_ROUNDS == 0;
                let removed = engine.sweep(Utc::now(), walk).await?;
                Ok::<_, app::error::ApiError>(
                    (removed > 0)
                        .then(|| format!("{removed} expired uploads and stray files removed")),
                )
            }
        });

        let store = state.store.clone();
        self.every("session sweep", SESSION_SWEEP_EVERY, move |_| {
            let store = store.clone();
            async move {
                let deleted = store.delete_expired_sessions(Utc::now()).await?;
                Ok::<_, app::store::StoreError>(
                    (deleted > 0).then(|| format!("{deleted} expired sessions deleted")),
                )
            }
        });

        let (store, files) = (state.store.clone(), state.files.clone());
        self.every("trash purge", TRASH_PURGE_EVERY, move |_| {
            let (store, files) = (store.clone(), files.clone());
            async move {
                let purged =
                    crate::assets::purge_expired(store.as_ref(), &files, Utc::now()).await?;
                Ok::<_, app::error::ApiError>(
                    (purged > 0)
                        .then(|| format!("{purged} assets purged after their time in the trash")),
                )
            }
        });

        let store = state.store.clone();
        self.every("search index tidy", INDEX_TIDY_EVERY, move |_| {
            let store = store.clone();
            async move {
                let merged = store.tidy_search_index().await?;
                Ok::<_, app::store::StoreError>(merged.then(|| "full-text index merged".into()))
            }
        });

        let rates = state.rates.clone();
        self.every("rate limit prune", RATE_PRUNE_EVERY, move |_| {
            let rates = rates.clone();
            async move {
                let tracked = rates.prune();
                tracing::debug!(tracked, "rate limiters pruned");
                Ok::<_, std::convert::Infallible>(None)
            }
        });

        let (store, usage) = (state.store.clone(), state.usage.clone());
        self.every("usage upkeep", USAGE_SETTINGS_EVERY, move |round| {
            let (store, usage) = (store.clone(), usage.clone());
            async move {
                let prune = round % USAGE_PRUNE_ROUNDS == 0;
                let pruned = crate::usage::keep_up(store.as_ref(), &usage, prune).await?;
                Ok::<_, app::store::StoreError>(
                    (pruned > 0)
                        .then(|| format!("{pruned} usage events past their retention removed")),
                )
            }
        });
    }

    fn stop_signal(&self) -> StopSignal {
        StopSignal(self.stop.subscribe())
    }

    /// Runs `task` until it ends or stopping begins.
    fn spawn(&mut self, name: &'static str, task: impl Future<Output = ()> + Send + 'static) {
        let mut stop = self.stop_signal();
        let handle = tokio::spawn(async move {
            tokio::select! {
                () = stop.requested() => {}
                () = task => {}
            }
        });
        self.tasks.push((name, handle));
    }

    /// Runs `task` every `period`, the first time at once, until stopping begins (a run in
    /// progress is dropped then, as every task here can be). `task` gets the round number
    /// and answers what it did, `None` when that is nothing worth a line; each answer and
    /// failure is logged with the task's name and how long the run took.
    pub fn every<F, Fut, E>(&mut self, name: &'static str, period: Duration, mut task: F)
    where
        F: FnMut(u64) -> Fut + Send + 'static,
        Fut: Future<Output = Result<Option<String>, E>> + Send + 'static,
        E: Display,
    {
        self.spawn(name, async move {
            let mut ticks = tokio::time::interval(period);
            for round in 0u64.. {
                ticks.tick().await;
                let started = Instant::now();
                let outcome = task(round).await;
                let ms = started.elapsed().as_millis() as u64;
                match outcome {
                    Ok(None) => tracing::debug!(task = name, ms, "nothing to do"),
                    Ok(Some(did)) => tracing::info!(task = name, ms, "{did}"),
                    Err(err) => tracing::warn!(task = name, ms, %err, "background task failed"),
                }
            }
        });
    }

    /// Stops every task: periodic runs and job workers end where they are (an unfinished
    /// job is queued again at the next start), then what requests recorded last is stored
    /// and the usage writer ends.
    pub async fn stop(mut self) {
        let _ = self.stop.send(true);
        if let Some(writer) = self.writer.take() {
            // What requests recorded last is stored before the database closes.
            self.usage.flush().await;
            writer.abort();
            self.tasks.push(("usage writer", writer));
        }
        for (name, mut task) in self.tasks.drain(..) {
            match tokio::time::timeout(STOP_GRACE, &mut task).await {
                Ok(Ok(())) => {}
                Ok(Err(err)) if err.is_cancelled() => {}
                Ok(Err(err)) => tracing::error!(task = name, %err, "a background task panicked"),
                Err(_) => {
                    tracing::warn!(task = name, "a background task did not stop; aborting it");
                    task.abort();
                }
            }
        }
        tracing::info!("background work stopped");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};

    /// A background running one task every 10 ms that counts its runs.
    fn counting() -> (Background, Arc<AtomicU64>) {
        let mut background = Background::idle(app::usage::Usage::off());
        let runs = Arc::new(AtomicU64::new(0));
        let counter = runs.clone();
        background.every("count", Duration::from_millis(10), move |round| {
            let counter = counter.clone();
            async move {
                counter.fetch_add(1, Ordering::SeqCst);
                Ok::<_, String>((round == 0).then(|| "first run".to_string()))
            }
        });
        (background, runs)
    }

    async fn until(runs: &AtomicU64, at_least: u64) {
        let waited = tokio::time::timeout(Duration::from_secs(10), async {
            while runs.load(Ordering::SeqCst) < at_least {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        });
        assert!(waited.await.is_ok(), "fewer than {at_least} runs");
    }

    #[tokio::test]
    async fn a_periodic_task_runs_until_stopped() {
        let (background, runs) = counting();
        until(&runs, 3).await;
        background.stop().await;
        let stopped_at = runs.load(Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(runs.load(Ordering::SeqCst), stopped_at, "no run after stop");
    }

    #[tokio::test]
    async fn dropping_the_handle_leaves_tasks_running() {
        let (background, runs) = counting();
        until(&runs, 1).await;
        drop(background);
        let dropped_at = runs.load(Ordering::SeqCst);
        until(&runs, dropped_at + 2).await;
    }
}
