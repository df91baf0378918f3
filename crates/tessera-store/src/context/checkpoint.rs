//! SQLite's write-ahead log, kept short away from requests.
//!
//! Every commit appends pages to the log; a checkpoint copies them into the database file. SQLite does that by
//! itself inside the commit that crosses its threshold, with two `fsync`s while that commit holds the writer's
//! turn, and every other writer waits. A running server instead calls [`Database::checkpoint_wal`] every few
//! milliseconds from a background task.
//!
//! Copying is not enough: the log starts over from its beginning only when a writer finds it wholly copied, which
//! never happens while writers keep adding to it. Left alone, it grows to SQLite's backstop, whose checkpoint runs
//! inside a commit again, and whose `fsync` of the database then flushes every page the background passes copied
//! since the last pass that reached the log's end (SQLite flushes the database only on such a pass): 15–25 ms with
//! every writer waiting, a few times a second at 2,000 door checks a second. So each round here:
//! 1. copies what it can without waiting for anyone (a passive checkpoint), and flushes the database file at once,
//!    with writers still running, so that unflushed copies never pile up;
//! 2. once the log is longer than the restart threshold, copies again until a pass finds little new, then takes
//!    the writer's turn for one last pass, which reaches the log's end (nothing is added meanwhile) with only a
//!    few pages to flush, about 2 ms; the next commit starts the log over.
//!
//! Measured in docs/performance.md (issue 6 section, "2026-11-27 19:40–21:40 UTC").

use std::time::Instant;

use super::{Database, TxMode};
use crate::connection::{sqlite_path, Backend, DbConnection};
use crate::StoreResult;

/// Catching up stops once a pass copies at most this many pages: what the last pass, with writers paused, has
/// left to copy and flush.
const FEW_PAGES: i32 = 100;

/// The most passes spent catching up in one round; the next round goes on.
const MAX_CATCH_UP_PASSES: usize = 8;

/// What `PRAGMA wal_checkpoint` reports.
#[derive(diesel::QueryableByName, Clone, Copy)]
struct Pass {
    /// Pages in the log (-1 when the database is not in WAL mode).
    #[diesel(sql_type = diesel::sql_types::Integer)]
    log: i32,
    /// Pages of it copied into the database, by this pass and earlier ones.
    #[diesel(sql_type = diesel::sql_types::Integer)]
    checkpointed: i32,
}

/// A passive checkpoint on `conn`: copies as far as no reader still needs, waiting for no one.
fn passive_pass(conn: &mut DbConnection) -> StoreResult<Pass> {
    Ok(diesel::RunQueryDsl::get_result(
        diesel::sql_query("PRAGMA wal_checkpoint(PASSIVE)"),
        conn,
    )?)
}

impl Database {
    /// SQLite: one round of the background checkpoint (see the module's documentation); once the log is longer
    /// than `restart_at_pages` (0: never), it is also made to start over. Nothing on PostgreSQL. Blocking.
    pub fn checkpoint_wal(&self, restart_at_pages: u32) -> StoreResult<()> {
        if self.backend != Backend::Sqlite {
            return Ok(());
        }
        let mut conn = self.pool.get()?;
        let mut pass = passive_pass(&mut conn)?;
        if pass.log < 0 {
            // Not in WAL mode: nothing to copy.
            return Ok(());
        }
        self.flush_database_file()?;
        tracing::trace!(
            log = pass.log,
            copied = pass.checkpointed,
            "write-ahead log checkpoint"
        );
        if restart_at_pages == 0 || i64::from(pass.log) < i64::from(restart_at_pages) {
            return Ok(());
        }
        for _ in 0..MAX_CATCH_UP_PASSES {
            let next = passive_pass(&mut conn)?;
            self.flush_database_file()?;
            if next.log < pass.log {
                // The log started over meanwhile (SQLite's backstop did it).
                return Ok(());
            }
            let new = next.checkpointed - pass.checkpointed;
            if new == 0 && next.log == pass.log && next.checkpointed == next.log {
                // Nothing was written since the last pass and the log is wholly copied: the next commit starts it
                // over by itself, with no pause (an idle server).
                return Ok(());
            }
            pass = next;
            if new <= FEW_PAGES {
                break;
            }
        }
        // This keeps its connection while it waits for the turn (one taken under the turn might have to be waited
        // for, with writers paused), the reverse of writers' order. No cycle with two connections or more:
        // whoever holds the turn waits only for a connection held by a reader, and readers never wait for the
        // turn. With a single connection there would be one, so such a pool never pauses writers here.
        if self.pool.max_size() < 2 {
            return Ok(());
        }
        let paused = Instant::now();
        let last = {
            let _turn = self.writer_turn(TxMode::Write);
            passive_pass(&mut conn)?
        };
        tracing::debug!(
            paused_us = u64::try_from(paused.elapsed().as_micros()).unwrap_or(u64::MAX),
            log = last.log,
            copied = last.checkpointed,
            "write-ahead log copied whole with writers paused: the next commit starts it over"
        );
        Ok(())
    }

    /// Flushes the database file's written pages to disk. Any handle on the file flushes the pages every
    /// connection wrote, and a flush more than SQLite's own never weakens its guarantees.
    fn flush_database_file(&self) -> StoreResult<()> {
        std::fs::File::open(sqlite_path(&self.manager.url))?.sync_data()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    use std::time::Duration;

    use diesel::connection::SimpleConnection;

    use super::*;
    use crate::context::PoolOptions;

    /// How many times the log at `db_path` has started over: the checkpoint sequence number of its header (bytes
    /// 12 to 15, big-endian, in SQLite's file format), written with the first page after each start.
    fn log_restarts(db_path: &std::path::Path) -> u32 {
        let log = std::fs::read(db_path.with_extension("db-wal")).unwrap_or_default();
        log.get(12..16)
            .map_or(0, |b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// A writer that commits without pause never begins while the log is wholly copied, so SQLite alone would
    /// let the log grow to its own threshold (set out of reach here). The checkpoint's pass with writers paused
    /// makes it start over, again and again, and every commit is kept.
    #[test]
    fn the_log_starts_over_under_constant_writes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log.db");
        let options = PoolOptions {
            sqlite_autocheckpoint_pages: 1_000_000,
            ..PoolOptions::default()
        };
        let db = Database::connect(&format!("sqlite://{}", path.display()), &options).unwrap();
        db.with_conn(|c| {
            Ok(c.batch_execute("CREATE TABLE scratch (id INTEGER PRIMARY KEY, body BLOB)")?)
        })
        .unwrap();
        let first = log_restarts(&path);
        let (stop, commits) = (AtomicBool::new(false), AtomicU64::new(0));
        std::thread::scope(|scope| {
            scope.spawn(|| {
                while !stop.load(Ordering::Relaxed) {
                    db.system(TxMode::Write, |s| {
                        s.conn()
                            .batch_execute("INSERT INTO scratch (body) VALUES (randomblob(3000))")
                            .map_err(crate::StoreError::from)
                    })
                    .unwrap();
                    commits.fetch_add(1, Ordering::Relaxed);
                }
            });
            for _ in 0..60 {
                db.checkpoint_wal(50).unwrap();
                std::thread::sleep(Duration::from_millis(5));
            }
            stop.store(true, Ordering::Relaxed);
        });
        let restarts = log_restarts(&path) - first;
        assert!(restarts >= 3, "the log started over {restarts} times");
        let rows: i64 = db
            .with_conn(|c| {
                #[derive(diesel::QueryableByName)]
                struct Count {
                    #[diesel(sql_type = diesel::sql_types::BigInt)]
                    n: i64,
                }
                Ok(diesel::RunQueryDsl::get_result::<Count>(
                    diesel::sql_query("SELECT COUNT(*) AS n FROM scratch"),
                    c,
                )?
                .n)
            })
            .unwrap();
        assert_eq!(
            u64::try_from(rows).unwrap(),
            commits.load(Ordering::Relaxed)
        );
    }
}
