//! The export's zip file, written to a temporary file by a blocking thread fed over a channel, so that large
//! files (recordings) pass through in chunks and never sit in memory whole.

use std::io::Write;
use std::sync::mpsc;

use bytes::Bytes;

use crate::{AppError, AppResult};

/// What the writer thread is told.
enum Piece {
    /// A new entry of the zip.
    Entry(String),
    /// Bytes of the current entry.
    Data(Bytes),
}

/// A zip being written.
pub struct Archive {
    pieces: mpsc::SyncSender<Piece>,
    writer: tokio::task::JoinHandle<AppResult<tempfile::TempPath>>,
}

fn failed(e: &dyn std::fmt::Display) -> AppError {
    AppError::Internal(format!("export archive: {e}"))
}

impl Archive {
    /// Starts a zip in the system's temporary folder.
    pub fn start() -> AppResult<Archive> {
        let file = tempfile::NamedTempFile::new().map_err(|e| failed(&e))?;
        // A few chunks in flight at most: the reader waits for the writer, memory stays bounded.
        let (pieces, received) = mpsc::sync_channel::<Piece>(4);
        let writer = tokio::task::spawn_blocking(move || {
            let (file, path) = file.into_parts();
            let mut zip = zip::ZipWriter::new(file);
            let options = zip::write::SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Deflated)
                .large_file(true);
            for piece in received {
                match piece {
                    Piece::Entry(name) => zip.start_file(name, options).map_err(|e| failed(&e))?,
                    Piece::Data(bytes) => zip.write_all(&bytes).map_err(|e| failed(&e))?,
                }
            }
            zip.finish().map_err(|e| failed(&e))?;
            Ok(path)
        });
        Ok(Archive { pieces, writer })
    }

    async fn send(&self, piece: Piece) -> AppResult<()> {
        let pieces = self.pieces.clone();
        // `send` blocks while the writer is behind; keep that off the async threads.
        tokio::task::spawn_blocking(move || pieces.send(piece))
            .await
            .map_err(|e| failed(&e))?
            .map_err(|_| failed(&"the writer stopped"))
    }

    /// Starts the entry `name`.
    pub async fn entry(&self, name: String) -> AppResult<()> {
        self.send(Piece::Entry(name)).await
    }

    /// Appends to the current entry.
    pub async fn write(&self, bytes: Bytes) -> AppResult<()> {
        self.send(Piece::Data(bytes)).await
    }

    /// Finishes the zip; its path (deleted when dropped).
    pub async fn finish(self) -> AppResult<tempfile::TempPath> {
        drop(self.pieces);
        self.writer.await.map_err(|e| failed(&e))?
    }
}
