//! Envelope encryption of sensitive files, streaming in bounded memory.
//!
//! Each tenant has a 256-bit data key, sealed with the master key in `tenant_data_keys`. A file is encrypted under
//! a key derived from it (below) as a STREAM (Hoang, Reyhanitabar, Rogaway and Vizár's online AEAD construction,
//! big-endian 32-bit counter; `aead::stream`) over AES-256-GCM:
//!
//! ```text
//! header:  "TSF" 0x01 | 7-byte random nonce prefix                    (11 bytes)
//! chunks:  AES-256-GCM(64 KiB of plaintext) + 16-byte tag, ...        (every chunk but the last is full)
//! last:    AES-256-GCM(0 to 64 KiB - 1 bytes) + tag, sealed as "last" (always present, maybe empty)
//! ```
//!
//! Each file is encrypted under its own key, derived from the data key and the tenant and file ids (HMAC-SHA256),
//! and every chunk's associated data names the tenant and the file, so a ciphertext copied under another file or
//! tenant does not open; the STREAM counter and last-chunk flag make reordered, dropped or truncated chunks fail.
//! Encryption and decryption hold one chunk at a time.

use aead::stream::{DecryptorBE32, EncryptorBE32};
use aead::{KeyInit, Payload};
use aes_gcm::Aes256Gcm;
use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use rand::RngCore;

use super::backend::{ByteStream, StorageError};

/// Plaintext bytes per chunk.
pub const CHUNK_SIZE: usize = 64 * 1024;
const TAG_LEN: usize = 16;
const MAGIC: &[u8; 3] = b"TSF";
const VERSION: u8 = 1;
const NONCE_PREFIX_LEN: usize = 7;
/// Length of the header before the first chunk.
pub const HEADER_LEN: usize = MAGIC.len() + 1 + NONCE_PREFIX_LEN;

/// A tenant's data key, opened.
#[derive(Clone)]
pub struct DataKey {
    /// Its id (`dek_...`), stored beside each file it encrypts.
    pub id: String,
    bytes: [u8; 32],
}

impl std::fmt::Debug for DataKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DataKey({}, [redacted])", self.id)
    }
}

impl DataKey {
    /// A data key from its 32 bytes.
    pub fn from_bytes(id: String, bytes: &[u8]) -> Result<DataKey, StorageError> {
        let bytes: [u8; 32] = bytes
            .try_into()
            .map_err(|_| StorageError::Corrupt("a data key is not 32 bytes".into()))?;
        Ok(DataKey { id, bytes })
    }

    /// The key of one file: HMAC-SHA256 of the tenant and file ids under the data key. Each file has its own key,
    /// so the random nonce prefixes of two files can never collide under one key, however many files a tenant has.
    fn file_cipher(&self, tenant_id: &str, file_id: &str) -> Aes256Gcm {
        use hmac::{Hmac, Mac};
        // HMAC accepts keys of any length, so building it cannot fail.
        let mut mac = <Hmac<sha2::Sha256> as Mac>::new_from_slice(&self.bytes)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(&associated_data(tenant_id, file_id));
        let key: [u8; 32] = mac.finalize().into_bytes().into();
        Aes256Gcm::new(&key.into())
    }

    /// 32 fresh random bytes for a new data key.
    pub fn generate_bytes() -> [u8; 32] {
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        bytes
    }
}

/// Magic of a sealed record.
const RECORD_MAGIC: &[u8; 3] = b"TSR";

/// Seals a small record (a body measurement) under its own key derived from the data key, the tenant and the
/// record's id: `"TSR" 0x01 | 12-byte random nonce | AES-256-GCM(plaintext) + tag`, the associated data naming the
/// tenant and the record, so a sealed value copied to another row or tenant does not open.
pub fn seal_record(
    key: &DataKey,
    tenant_id: &str,
    record_id: &str,
    plaintext: &[u8],
) -> Result<Vec<u8>, StorageError> {
    use aead::Aead;
    let context = format!("record:{record_id}");
    let cipher = key.file_cipher(tenant_id, &context);
    let mut nonce = [0u8; 12];
    rand::rngs::OsRng.fill_bytes(&mut nonce);
    let aad = associated_data(tenant_id, &context);
    let sealed = cipher
        .encrypt(
            (&nonce).into(),
            Payload {
                msg: plaintext,
                aad: &aad,
            },
        )
        .map_err(|_| StorageError::Corrupt("sealing failed".into()))?;
    let mut out = RECORD_MAGIC.to_vec();
    out.push(VERSION);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&sealed);
    Ok(out)
}

/// Opens what [`seal_record`] sealed.
pub fn open_record(
    key: &DataKey,
    tenant_id: &str,
    record_id: &str,
    sealed: &[u8],
) -> Result<Vec<u8>, StorageError> {
    use aead::Aead;
    let corrupt = || StorageError::Corrupt(format!("record {record_id} does not open"));
    if sealed.len() < 4 + 12 || &sealed[..3] != RECORD_MAGIC || sealed[3] != VERSION {
        return Err(corrupt());
    }
    let context = format!("record:{record_id}");
    let cipher = key.file_cipher(tenant_id, &context);
    let aad = associated_data(tenant_id, &context);
    let nonce: [u8; 12] = sealed[4..16].try_into().map_err(|_| corrupt())?;
    cipher
        .decrypt(
            (&nonce).into(),
            Payload {
                msg: &sealed[16..],
                aad: &aad,
            },
        )
        .map_err(|_| corrupt())
}

/// The associated data of every chunk of one file.
fn associated_data(tenant_id: &str, file_id: &str) -> Vec<u8> {
    format!("tessera-file:v{VERSION}:{tenant_id}:{file_id}").into_bytes()
}

/// Reads from `input` into `buf` until it holds at least `want` bytes or the input ends; false when it ended.
async fn fill(
    input: &mut ByteStream,
    buf: &mut BytesMut,
    want: usize,
) -> Result<bool, StorageError> {
    while buf.len() < want {
        match input.next().await {
            Some(chunk) => buf.extend_from_slice(&chunk?),
            None => return Ok(false),
        }
    }
    Ok(true)
}

struct Encrypting {
    input: ByteStream,
    buf: BytesMut,
    encryptor: Option<EncryptorBE32<Aes256Gcm>>,
    header: Option<Bytes>,
    aad: Vec<u8>,
}

/// Encrypts the plaintext `input` of file `file_id` of `tenant_id`: the header, then the sealed chunks.
pub fn encrypt(key: &DataKey, tenant_id: &str, file_id: &str, input: ByteStream) -> ByteStream {
    let mut prefix = [0u8; NONCE_PREFIX_LEN];
    rand::rngs::OsRng.fill_bytes(&mut prefix);
    let mut header = Vec::with_capacity(HEADER_LEN);
    header.extend_from_slice(MAGIC);
    header.push(VERSION);
    header.extend_from_slice(&prefix);
    let state = Encrypting {
        // Fused: a file whose size is a multiple of the chunk size asks for more after the input ended.
        input: input.fuse().boxed(),
        buf: BytesMut::with_capacity(2 * CHUNK_SIZE),
        encryptor: Some(EncryptorBE32::from_aead(
            key.file_cipher(tenant_id, file_id),
            prefix.as_slice().into(),
        )),
        header: Some(Bytes::from(header)),
        aad: associated_data(tenant_id, file_id),
    };
    futures::stream::try_unfold(state, |mut state| async move {
        if let Some(header) = state.header.take() {
            return Ok(Some((header, state)));
        }
        let Some(encryptor) = state.encryptor.as_mut() else {
            return Ok(None);
        };
        // One byte more than a chunk tells a full chunk with more to come from the last one.
        let more = fill(&mut state.input, &mut state.buf, CHUNK_SIZE + 1).await?;
        let sealed = if more {
            let chunk = state.buf.split_to(CHUNK_SIZE);
            encryptor.encrypt_next(Payload {
                msg: &chunk,
                aad: &state.aad,
            })
        } else if state.buf.len() == CHUNK_SIZE {
            // A full chunk at the very end: sealed as a middle chunk, then an empty last one follows, so that
            // every full-size ciphertext chunk is a middle chunk.
            let chunk = state.buf.split_to(CHUNK_SIZE);
            encryptor.encrypt_next(Payload {
                msg: &chunk,
                aad: &state.aad,
            })
        } else {
            let chunk = state.buf.split();
            let last = state
                .encryptor
                .take()
                .ok_or_else(|| StorageError::backend("encryptor already finished"))?;
            last.encrypt_last(Payload {
                msg: &chunk,
                aad: &state.aad,
            })
        }
        .map_err(|_| StorageError::backend("encryption failed"))?;
        Ok(Some((Bytes::from(sealed), state)))
    })
    .boxed()
}

struct Decrypting {
    input: ByteStream,
    buf: BytesMut,
    decryptor: Option<DecryptorBE32<Aes256Gcm>>,
    key: Option<Aes256Gcm>,
    aad: Vec<u8>,
}

fn corrupt(what: &str) -> StorageError {
    StorageError::Corrupt(what.to_owned())
}

/// Decrypts what [`encrypt`] wrote for the same file: plaintext chunks, or [`StorageError::Corrupt`] as soon as a
/// chunk fails (changed bytes, another file's ciphertext, truncation, trailing data).
pub fn decrypt(key: &DataKey, tenant_id: &str, file_id: &str, input: ByteStream) -> ByteStream {
    let state = Decrypting {
        // Fused: the input may be asked for more after it ended.
        input: input.fuse().boxed(),
        buf: BytesMut::with_capacity(2 * (CHUNK_SIZE + TAG_LEN)),
        decryptor: None,
        key: Some(key.file_cipher(tenant_id, file_id)),
        aad: associated_data(tenant_id, file_id),
    };
    futures::stream::try_unfold(state, |mut state| async move {
        if let Some(cipher) = state.key.take() {
            fill(&mut state.input, &mut state.buf, HEADER_LEN).await?;
            if state.buf.len() < HEADER_LEN
                || &state.buf[..MAGIC.len()] != MAGIC
                || state.buf[MAGIC.len()] != VERSION
            {
                return Err(corrupt("not an encrypted Tessera file"));
            }
            let header = state.buf.split_to(HEADER_LEN);
            state.decryptor = Some(DecryptorBE32::from_aead(
                cipher,
                header[MAGIC.len() + 1..].into(),
            ));
        }
        let Some(decryptor) = state.decryptor.as_mut() else {
            return Ok(None);
        };
        let sealed_chunk = CHUNK_SIZE + TAG_LEN;
        let full = fill(&mut state.input, &mut state.buf, sealed_chunk).await?;
        let opened = if full {
            let chunk = state.buf.split_to(sealed_chunk);
            decryptor
                .decrypt_next(Payload {
                    msg: &chunk,
                    aad: &state.aad,
                })
                .map_err(|_| corrupt("a chunk failed authentication"))?
        } else {
            let chunk = state.buf.split();
            let last = state
                .decryptor
                .take()
                .ok_or_else(|| corrupt("decryptor already finished"))?;
            last.decrypt_last(Payload {
                msg: &chunk,
                aad: &state.aad,
            })
            .map_err(|_| corrupt("the last chunk failed authentication or is missing"))?
        };
        Ok(Some((Bytes::from(opened), state)))
    })
    .boxed()
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::TryStreamExt;

    /// A stream that panics when polled after its end, like request bodies may.
    fn stream_of(data: Vec<u8>, piece: usize) -> ByteStream {
        let pieces: Vec<Result<Bytes, StorageError>> = data
            .chunks(piece.max(1))
            .map(|c| Ok(Bytes::copy_from_slice(c)))
            .collect();
        futures::stream::unfold(pieces.into_iter(), |mut pieces| async move {
            pieces.next().map(|piece| (piece, pieces))
        })
        .boxed()
    }

    async fn collect(stream: ByteStream) -> Result<Vec<u8>, StorageError> {
        let chunks: Vec<Bytes> = stream.try_collect().await?;
        Ok(chunks.concat())
    }

    fn key() -> DataKey {
        DataKey::from_bytes("dek_1".into(), &DataKey::generate_bytes()).unwrap()
    }

    #[tokio::test]
    async fn round_trips_at_every_boundary() {
        let key = key();
        for len in [
            0,
            1,
            CHUNK_SIZE - 1,
            CHUNK_SIZE,
            CHUNK_SIZE + 1,
            3 * CHUNK_SIZE,
            3 * CHUNK_SIZE + 17,
        ] {
            let data: Vec<u8> = (0..len).map(|i| (i * 7 % 251) as u8).collect();
            let sealed = collect(encrypt(
                &key,
                "ten_a",
                "fil_a",
                stream_of(data.clone(), 1000),
            ))
            .await
            .unwrap();
            assert!(sealed.len() > data.len());
            let opened = collect(decrypt(&key, "ten_a", "fil_a", stream_of(sealed, 333)))
                .await
                .unwrap();
            assert_eq!(opened, data, "length {len}");
        }
    }

    #[tokio::test]
    async fn tampering_moving_and_truncating_fail() {
        let key = key();
        let data = vec![42u8; 2 * CHUNK_SIZE + 5];
        let sealed = collect(encrypt(&key, "ten_a", "fil_a", stream_of(data, 4096)))
            .await
            .unwrap();
        let mut flipped = sealed.clone();
        flipped[HEADER_LEN + CHUNK_SIZE + 100] ^= 1;
        assert!(matches!(
            collect(decrypt(&key, "ten_a", "fil_a", stream_of(flipped, 4096))).await,
            Err(StorageError::Corrupt(_))
        ));
        assert!(
            collect(decrypt(
                &key,
                "ten_a",
                "fil_b",
                stream_of(sealed.clone(), 4096)
            ))
            .await
            .is_err(),
            "bound to its file"
        );
        assert!(
            collect(decrypt(
                &key,
                "ten_b",
                "fil_a",
                stream_of(sealed.clone(), 4096)
            ))
            .await
            .is_err(),
            "bound to its tenant"
        );
        let at_boundary = sealed[..HEADER_LEN + 2 * (CHUNK_SIZE + TAG_LEN)].to_vec();
        assert!(collect(decrypt(
            &key,
            "ten_a",
            "fil_a",
            stream_of(at_boundary, 4096)
        ))
        .await
        .is_err());
        let mut trailing = sealed.clone();
        trailing.extend_from_slice(&[0; 40]);
        assert!(
            collect(decrypt(&key, "ten_a", "fil_a", stream_of(trailing, 4096)))
                .await
                .is_err()
        );
        assert!(
            collect(decrypt(
                &self::key(),
                "ten_a",
                "fil_a",
                stream_of(sealed, 4096)
            ))
            .await
            .is_err(),
            "another key"
        );
    }
}
