//! Cursor pagination: `?limit=` (1 to 100, default 20) and an opaque `?cursor=` from the previous page's
//! `next_cursor`. Lists are ordered by id, and ids are time-ordered, so a cursor is the last id seen.

use base64::Engine;
use serde::Serialize;
use tessera_domain::FieldError;

use crate::{AppError, AppResult};

/// Largest page.
pub const MAX_LIMIT: i64 = 100;
/// Page size when none is asked for.
pub const DEFAULT_LIMIT: i64 = 20;

/// A validated page request.
#[derive(Debug, Clone)]
pub struct PageRequest {
    /// Rows wanted.
    pub limit: i64,
    /// Return rows after this id.
    pub after: Option<String>,
}

impl PageRequest {
    /// Checks `limit` and decodes `cursor`.
    pub fn parse(limit: Option<i64>, cursor: Option<&str>) -> AppResult<PageRequest> {
        let limit = limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(AppError::invalid(
                "limit",
                FieldError::new("", "out_of_range", format!("between 1 and {MAX_LIMIT}")),
            ));
        }
        let after = match cursor {
            None | Some("") => None,
            Some(cursor) => {
                let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .decode(cursor)
                    .map_err(|_| {
                        AppError::invalid(
                            "cursor",
                            FieldError::new("", "invalid_cursor", "not a cursor from this API"),
                        )
                    })?;
                let id = String::from_utf8(bytes)
                    .ok()
                    .filter(|id| {
                        id.len() <= 64 && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                    })
                    .ok_or_else(|| {
                        AppError::invalid(
                            "cursor",
                            FieldError::new("", "invalid_cursor", "not a cursor from this API"),
                        )
                    })?;
                Some(id)
            }
        };
        Ok(PageRequest { limit, after })
    }
}

/// One page of a list.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Page<T> {
    /// The rows.
    pub data: Vec<T>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// Builds a page from `limit + 1` fetched rows: the extra row only tells that there is more.
    pub fn from_rows(mut rows: Vec<T>, limit: i64, id_of: impl Fn(&T) -> &str) -> Page<T> {
        let more = rows.len() as i64 > limit;
        rows.truncate(limit as usize);
        let next_cursor = if more {
            rows.last()
                .map(|row| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(id_of(row)))
        } else {
            None
        };
        Page {
            data: rows,
            next_cursor,
        }
    }
}
