//! The S3 backend, through aws-sdk-s3, for AWS or any S3-compatible server (a configurable endpoint, region,
//! bucket and path-style addressing). The HTTP client is hyper with rustls on ring: no second TLS stack.
//!
//! Uploads up to `multipart_threshold_bytes` are one `PutObject`; larger ones are a multipart upload of
//! `part_size_bytes` parts, aborted on any error. The upload holds at most the larger of the threshold and one
//! part in memory. `server_side_encryption`, when configured, is asked for on every object.

use std::time::Duration;

use aws_sdk_s3::config::{
    BehaviorVersion, Credentials, Region, RequestChecksumCalculation, ResponseChecksumValidation,
};
use aws_sdk_s3::error::DisplayErrorContext;
use aws_sdk_s3::presigning::PresigningConfig;
use aws_sdk_s3::primitives::ByteStream as S3Body;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart, ServerSideEncryption};
use aws_sdk_s3::Client;
use bytes::BytesMut;
use futures::future::BoxFuture;
use futures::{FutureExt, StreamExt};
use secrecy::ExposeSecret;
use tessera_config::StorageSettings;

use super::backend::{check_key, ByteStream, ObjectStore, StorageError};

/// Room beyond a buffer's target size for the chunk that crosses it.
const SLACK: usize = 256 * 1024;
/// Most memory reserved up front for the threshold buffer (a larger threshold grows the buffer as needed).
const MAX_PREALLOCATION: usize = 64 * 1024 * 1024;

/// A bucket.
#[derive(Debug, Clone)]
pub struct S3Store {
    client: Client,
    bucket: String,
    multipart_threshold: usize,
    part_size: usize,
    sse: Option<ServerSideEncryption>,
}

fn sdk_error<E: std::error::Error>(what: &str, error: E) -> StorageError {
    StorageError::Backend(format!("{what}: {}", DisplayErrorContext(error)))
}

impl S3Store {
    /// A client for the configured bucket. Credentials come from the settings, else from `AWS_ACCESS_KEY_ID` and
    /// `AWS_SECRET_ACCESS_KEY` (and `AWS_SESSION_TOKEN`).
    pub fn new(settings: &StorageSettings) -> Result<S3Store, StorageError> {
        let s3 = &settings.s3;
        let credentials = match (&s3.access_key_id, &s3.secret_access_key) {
            (Some(id), Some(secret)) => Credentials::new(
                id.clone(),
                secret.expose_secret().to_owned(),
                None,
                None,
                "tessera-settings",
            ),
            (Some(_), None) | (None, Some(_)) => {
                return Err(StorageError::Backend(
                    "storage.s3: set both access_key_id and secret_access_key, or neither".into(),
                ))
            }
            (None, None) => {
                let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
                let (Some(id), Some(secret)) =
                    (var("AWS_ACCESS_KEY_ID"), var("AWS_SECRET_ACCESS_KEY"))
                else {
                    return Err(StorageError::Backend(
                        "storage.s3: no credentials (storage.s3.access_key_id or AWS_ACCESS_KEY_ID)"
                            .into(),
                    ));
                };
                Credentials::new(id, secret, var("AWS_SESSION_TOKEN"), None, "environment")
            }
        };
        let http_client = aws_smithy_http_client::Builder::new()
            .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
                aws_smithy_http_client::tls::rustls_provider::CryptoMode::Ring,
            ))
            .build_https();
        let mut config = aws_sdk_s3::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new(s3.region.clone()))
            .credentials_provider(credentials)
            .force_path_style(s3.force_path_style)
            .http_client(http_client)
            // Checksums only where S3 requires them: S3-compatible servers differ in the newer checksum
            // headers, and every sensitive file carries its own authentication anyway.
            .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
            .response_checksum_validation(ResponseChecksumValidation::WhenRequired);
        if let Some(endpoint) = &s3.endpoint {
            config = config.endpoint_url(endpoint);
        }
        let to_usize = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
        Ok(S3Store {
            client: Client::from_conf(config.build()),
            bucket: s3.bucket.clone(),
            multipart_threshold: to_usize(settings.multipart_threshold_bytes),
            part_size: to_usize(settings.part_size_bytes).max(5 * 1024 * 1024),
            sse: s3
                .server_side_encryption
                .as_deref()
                .map(ServerSideEncryption::from),
        })
    }

    async fn put_multipart(
        &self,
        key: &str,
        mut buf: BytesMut,
        body: &mut ByteStream,
    ) -> Result<u64, StorageError> {
        let created = self
            .client
            .create_multipart_upload()
            .bucket(&self.bucket)
            .key(key)
            .set_server_side_encryption(self.sse.clone())
            .send()
            .await
            .map_err(|e| sdk_error("CreateMultipartUpload", e))?;
        let upload_id = created
            .upload_id()
            .ok_or_else(|| StorageError::backend("CreateMultipartUpload returned no upload id"))?
            .to_owned();
        let result = match self.upload_parts(key, &upload_id, &mut buf, body).await {
            Ok((parts, total)) => self.complete(key, &upload_id, parts, total).await,
            Err(error) => Err(error),
        };
        if result.is_err() {
            // Whatever failed after the upload was created (a part, the completion, its check), the parts must go.
            // The upload's own error is what the caller needs; a failed abort leaves parts that the bucket's
            // lifecycle rule for incomplete uploads removes (docs/storage.md).
            if let Err(abort) = self
                .client
                .abort_multipart_upload()
                .bucket(&self.bucket)
                .key(key)
                .upload_id(&upload_id)
                .send()
                .await
            {
                tracing::warn!(error = %DisplayErrorContext(abort), key, "could not abort a multipart upload");
            }
        }
        result
    }

    /// Completes a multipart upload of `total` bytes.
    async fn complete(
        &self,
        key: &str,
        upload_id: &str,
        parts: Vec<CompletedPart>,
        total: u64,
    ) -> Result<u64, StorageError> {
        let completed = self
            .client
            .complete_multipart_upload()
            .bucket(&self.bucket)
            .key(key)
            .upload_id(upload_id)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(parts))
                    .build(),
            )
            .send()
            .await;
        match completed {
            Ok(_) => Ok(total),
            // Some S3-compatible servers (moto among them) answer 200 with a body the SDK cannot parse (a
            // different XML root). A 200 means the upload completed; HeadObject confirms it by size before it is
            // believed.
            Err(e) if e.raw_response().is_some_and(|r| r.status().as_u16() == 200) => {
                let head = self
                    .client
                    .head_object()
                    .bucket(&self.bucket)
                    .key(key)
                    .send()
                    .await
                    .map_err(|e| sdk_error("HeadObject after CompleteMultipartUpload", e))?;
                if head.content_length() == i64::try_from(total).ok() {
                    Ok(total)
                } else {
                    Err(sdk_error("CompleteMultipartUpload", e))
                }
            }
            Err(e) => Err(sdk_error("CompleteMultipartUpload", e)),
        }
    }

    async fn upload_parts(
        &self,
        key: &str,
        upload_id: &str,
        buf: &mut BytesMut,
        body: &mut ByteStream,
    ) -> Result<(Vec<CompletedPart>, u64), StorageError> {
        let mut parts = Vec::new();
        let mut total = 0u64;
        let mut ended = false;
        loop {
            while !ended && buf.len() < self.part_size {
                match body.next().await {
                    Some(chunk) => buf.extend_from_slice(&chunk?),
                    None => ended = true,
                }
            }
            if buf.is_empty() && !parts.is_empty() {
                break;
            }
            let take = buf.len().min(self.part_size);
            let part = buf.split_to(take).freeze();
            // The rest (at most one incoming chunk, or what the threshold buffer held beyond the first part) moves
            // to a fresh buffer, so that the part's memory is freed as soon as it is sent.
            let rest = std::mem::replace(buf, BytesMut::with_capacity(self.part_size + SLACK));
            buf.extend_from_slice(&rest);
            drop(rest);
            total += part.len() as u64;
            let number = i32::try_from(parts.len() + 1)
                .map_err(|_| StorageError::backend("too many parts"))?;
            let uploaded = self
                .client
                .upload_part()
                .bucket(&self.bucket)
                .key(key)
                .upload_id(upload_id)
                .part_number(number)
                .body(S3Body::from(part))
                .send()
                .await
                .map_err(|e| sdk_error("UploadPart", e))?;
            parts.push(
                CompletedPart::builder()
                    .part_number(number)
                    .set_e_tag(uploaded.e_tag().map(str::to_owned))
                    .build(),
            );
            if ended && buf.is_empty() {
                break;
            }
        }
        Ok((parts, total))
    }
}

impl ObjectStore for S3Store {
    fn name(&self) -> &'static str {
        "s3"
    }

    fn put<'a>(
        &'a self,
        key: &'a str,
        mut body: ByteStream,
    ) -> BoxFuture<'a, Result<u64, StorageError>> {
        async move {
            check_key(key)?;
            // Read up to the threshold: a body that ends within it goes up in one request.
            // Sized up front: growing by doubling would copy and briefly hold twice the buffer.
            let mut buf =
                BytesMut::with_capacity(self.multipart_threshold.min(MAX_PREALLOCATION) + SLACK);
            let mut ended = false;
            while !ended && buf.len() <= self.multipart_threshold {
                match body.next().await {
                    Some(chunk) => buf.extend_from_slice(&chunk?),
                    None => ended = true,
                }
            }
            if !ended {
                return self.put_multipart(key, buf, &mut body).await;
            }
            let size = buf.len() as u64;
            self.client
                .put_object()
                .bucket(&self.bucket)
                .key(key)
                .set_server_side_encryption(self.sse.clone())
                .body(S3Body::from(buf.freeze()))
                .send()
                .await
                .map_err(|e| sdk_error("PutObject", e))?;
            Ok(size)
        }
        .boxed()
    }

    fn get<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<ByteStream, StorageError>> {
        async move {
            check_key(key)?;
            let object = self
                .client
                .get_object()
                .bucket(&self.bucket)
                .key(key)
                .send()
                .await
                .map_err(|e| {
                    if e.as_service_error().is_some_and(|s| s.is_no_such_key()) {
                        StorageError::NotFound
                    } else {
                        sdk_error("GetObject", e)
                    }
                })?;
            let stream = futures::stream::try_unfold(object.body, |mut body| async move {
                match body.try_next().await {
                    Ok(Some(chunk)) => Ok(Some((chunk, body))),
                    Ok(None) => Ok(None),
                    Err(e) => Err(StorageError::backend(format!("reading an object: {e}"))),
                }
            });
            Ok(stream.boxed())
        }
        .boxed()
    }

    fn delete<'a>(&'a self, key: &'a str) -> BoxFuture<'a, Result<(), StorageError>> {
        async move {
            check_key(key)?;
            self.client
                .delete_object()
                .bucket(&self.bucket)
                .key(key)
                .send()
                .await
                .map_err(|e| sdk_error("DeleteObject", e))?;
            Ok(())
        }
        .boxed()
    }

    fn list<'a>(&'a self, prefix: &'a str) -> BoxFuture<'a, Result<Vec<String>, StorageError>> {
        async move {
            let mut keys = Vec::new();
            let mut token: Option<String> = None;
            loop {
                let page = self
                    .client
                    .list_objects_v2()
                    .bucket(&self.bucket)
                    .prefix(prefix)
                    .set_continuation_token(token.take())
                    .send()
                    .await
                    .map_err(|e| sdk_error("ListObjectsV2", e))?;
                keys.extend(
                    page.contents()
                        .iter()
                        .filter_map(|o| o.key())
                        .filter(|k| check_key(k).is_ok())
                        .map(str::to_owned),
                );
                match page.next_continuation_token() {
                    Some(next) if page.is_truncated() == Some(true) => {
                        token = Some(next.to_owned())
                    }
                    _ => break,
                }
            }
            keys.sort();
            Ok(keys)
        }
        .boxed()
    }

    fn presign_get<'a>(
        &'a self,
        key: &'a str,
        ttl: Duration,
    ) -> BoxFuture<'a, Result<Option<String>, StorageError>> {
        async move {
            check_key(key)?;
            let config = PresigningConfig::expires_in(ttl).map_err(StorageError::backend)?;
            let request = self
                .client
                .get_object()
                .bucket(&self.bucket)
                .key(key)
                .presigned(config)
                .await
                .map_err(|e| sdk_error("presigning GetObject", e))?;
            Ok(Some(request.uri().to_owned()))
        }
        .boxed()
    }

    fn check(&self) -> BoxFuture<'_, Result<(), StorageError>> {
        async move {
            self.client
                .head_bucket()
                .bucket(&self.bucket)
                .send()
                .await
                .map_err(|e| sdk_error("HeadBucket", e))?;
            Ok(())
        }
        .boxed()
    }
}
