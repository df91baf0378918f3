//! The background lane: a few threads at the lowest scheduling priority for database work that no request waits
//! for (the door desk's writes, SQLite's checkpoints).
//!
//! Why: on a small machine such work shares the cores with the requests. On tokio's blocking pool it ran at the
//! requests' own priority, so a door check arriving while the writer held a core waited for the scheduler to take
//! the core back, a millisecond or more. Linux's `SCHED_IDLE` makes the scheduler hand a core to any waking
//! thread of normal priority at once, and the background work takes the time left over (docs/performance.md,
//! "2026-11-28 18:30–20:15 UTC"). Under a load the machine cannot carry, the work gets little time: the door desk
//! then makes deciding wait for its writer (past a few thousand records not yet written), which frees the cores
//! for it. `server.background_at_idle_priority = false` keeps the lane's threads at the process's priority.
//!
//! Work here must not hold what a request waits for, beyond the database's own locks: a thread at idle priority can
//! be kept off the cores for a while. The one such lock is SQLite's write lock, held by a run of door writes: a
//! request that writes meanwhile waits for the run to finish, as it did before, but on a machine whose cores other
//! work keeps busy the run finishes later (up to `database.sqlite_busy_timeout_ms`, after which that request gets
//! the busy error a long write always gave it).

use std::sync::{mpsc, Arc, Mutex};

use crate::{AppError, AppResult};

/// How many threads the lane has: a brand's writer and the checkpointer can run side by side.
const THREADS: usize = 2;

type Job = Box<dyn FnOnce() + Send>;

/// The lane: jobs are queued and taken by the first idle thread.
pub(crate) struct Lane {
    jobs: mpsc::Sender<Job>,
}

impl Lane {
    /// Starts the lane's threads, at idle priority when `idle`.
    pub(crate) fn start(idle: bool) -> std::io::Result<Lane> {
        let (send, receive) = mpsc::channel::<Job>();
        let receive = Arc::new(Mutex::new(receive));
        for n in 0..THREADS {
            let receive = Arc::clone(&receive);
            std::thread::Builder::new()
                .name(format!("tessera-background-{n}"))
                .spawn(move || {
                    if idle {
                        lower_to_idle();
                    }
                    loop {
                        // The guard is dropped before the job runs, so a panicking job cannot poison it; a
                        // poisoned lock would still hold an intact queue.
                        let job = match receive.lock() {
                            Ok(queue) => queue.recv(),
                            Err(poisoned) => poisoned.into_inner().recv(),
                        };
                        match job {
                            Ok(job) => job(),
                            // The lane was dropped: the process is stopping.
                            Err(mpsc::RecvError) => return,
                        }
                    }
                })?;
        }
        Ok(Lane { jobs: send })
    }

    /// Runs `f` on the lane and waits for its result. A panic in `f` comes back as an internal error.
    pub(crate) async fn run<T, F>(&self, f: F) -> AppResult<T>
    where
        T: Send + 'static,
        F: FnOnce() -> AppResult<T> + Send + 'static,
    {
        let (answer, result) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let outcome = crate::catching_panics("background work", f);
            // The caller may have stopped waiting (its task was cancelled); the result is then not needed.
            let _ = answer.send(outcome);
        });
        self.jobs
            .send(job)
            .map_err(|_| AppError::Internal("the background lane has stopped".into()))?;
        result
            .await
            .map_err(|_| AppError::Internal("background work was dropped".into()))?
    }
}

/// Puts this thread under `SCHED_IDLE`. Linux keeps the policy per thread, so the process's other threads stay
/// as they are; lowering a priority needs no privilege. A system that refuses keeps the thread at its priority:
/// the work runs as before, only without yielding to requests.
fn lower_to_idle() {
    #[cfg(target_os = "linux")]
    {
        use thread_priority::{
            set_thread_priority_and_policy, thread_native_id, NormalThreadSchedulePolicy,
            ThreadPriority, ThreadSchedulePolicy,
        };
        if let Err(error) = set_thread_priority_and_policy(
            thread_native_id(),
            ThreadPriority::Min,
            ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Idle),
        ) {
            tracing::warn!(?error, "a background thread keeps its priority");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The scheduling policy of the calling thread, as Linux reports it (`/proc/thread-self/stat`, field 41).
    fn policy_of_this_thread() -> AppResult<u32> {
        let stat = std::fs::read_to_string("/proc/thread-self/stat")
            .map_err(|e| AppError::Internal(e.to_string()))?;
        // The command name (field 2) is in parentheses and may hold spaces: count fields after it.
        let after_name = stat.rsplit_once(')').map(|(_, rest)| rest).unwrap_or("");
        after_name
            .split_whitespace()
            .nth(41 - 3)
            .and_then(|p| p.parse().ok())
            .ok_or_else(|| AppError::Internal(format!("no policy in {stat}")))
    }

    const SCHED_OTHER: u32 = 0;
    const SCHED_IDLE: u32 = 5;

    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn work_on_an_idle_lane_runs_under_sched_idle_and_the_caller_keeps_its_policy() {
        let lane = Lane::start(true).unwrap();
        assert_eq!(lane.run(policy_of_this_thread).await.unwrap(), SCHED_IDLE);
        assert_eq!(policy_of_this_thread().unwrap(), SCHED_OTHER);
        let plain = Lane::start(false).unwrap();
        assert_eq!(plain.run(policy_of_this_thread).await.unwrap(), SCHED_OTHER);
    }

    #[tokio::test]
    async fn a_panic_on_the_lane_comes_back_as_an_error_and_the_lane_keeps_working() {
        let lane = Lane::start(false).unwrap();
        let panicked = lane.run(|| -> AppResult<()> { panic!("on purpose") }).await;
        assert!(matches!(panicked, Err(AppError::Internal(_))));
        for _ in 0..THREADS * 2 {
            assert_eq!(lane.run(|| Ok(7)).await.unwrap(), 7);
        }
    }
}
