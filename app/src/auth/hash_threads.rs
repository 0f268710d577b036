//! A few threads of our own that do nothing but hash passwords. Each argon2 run takes a
//! ~19 MiB block, and the allocator keeps what a thread freed for that thread's next use:
//! run on tokio's blocking pool (up to 512 threads, a different one each time), a burst of
//! logins left a block behind on every thread it touched (a flood of 200 logins grew the
//! server by 180 MiB). On a fixed set of threads the memory hashing holds stays at one
//! block per thread.

use std::sync::{mpsc, Arc, Mutex};

use tokio::sync::oneshot;

type Job = Box<dyn FnOnce() + Send>;

/// The threads, which end when the last handle is dropped.
#[derive(Clone)]
pub struct HashThreads {
    queue: mpsc::Sender<Job>,
}

impl HashThreads {
    /// Starts `count` threads (at least one) named `name`.
    pub fn start(name: &str, count: usize) -> HashThreads {
        let (queue, jobs) = mpsc::channel::<Job>();
        let jobs = Arc::new(Mutex::new(jobs));
        for n in 0..count.max(1) {
            let jobs = jobs.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("{name}-{n}"))
                .spawn(move || loop {
                    // One thread waits for the next job at a time; the others wait for it.
                    let job = match jobs.lock() {
                        Ok(jobs) => jobs.recv(),
                        Err(_) => return,
                    };
                    match job {
                        Ok(job) => job(),
                        // Every handle is gone: nothing more will come.
                        Err(_) => return,
                    }
                });
            if let Err(err) = spawned {
                tracing::error!(%err, "cannot start a password hashing thread");
            }
        }
        HashThreads { queue }
    }

    /// Runs `work` on one of the threads and answers its result; `None` when it could not
    /// run or panicked.
    pub async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Option<T> {
        let (done, result) = oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = done.send(work());
        });
        self.queue.send(job).ok()?;
        result.await.ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn work_runs_on_the_named_threads_only() {
        let threads = HashThreads::start("test-hash", 2);
        let mut names = std::collections::HashSet::new();
        for _ in 0..20 {
            let name = threads
                .run(|| std::thread::current().name().map(str::to_string))
                .await
                .flatten()
                .expect("named");
            names.insert(name);
        }
        assert!(
            names.iter().all(|n| n.starts_with("test-hash-")),
            "{names:?}"
        );
        assert!(names.len() <= 2, "{names:?}");
        // A panicking job is an answer of None, and the threads go on.
        assert_eq!(threads.run(|| -> u8 { panic!("boom") }).await, None);
        assert_eq!(threads.run(|| 7).await, Some(7));
    }
}
