//! What export and erasure hand each section, and what a section's erasure reports.

use std::cell::RefCell;

use chrono::{DateTime, Utc};
use serde::Serialize;
use tessera_store::models::accounts;
use tessera_store::Scoped;

use crate::{App, AppResult};

/// What erasure did to one section.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ErasureLine {
    /// The section.
    pub section: &'static str,
    /// Rows deleted.
    pub deleted: usize,
    /// Rows anonymised.
    pub anonymised: usize,
    /// What was kept, and why (a legal duty or a security record), when anything was.
    pub kept: Option<&'static str>,
}

/// What a section's erasure did, before the walker names it.
pub struct Erased {
    pub(super) deleted: usize,
    pub(super) anonymised: usize,
    pub(super) kept: Option<&'static str>,
}

impl Erased {
    /// Any mix.
    pub fn new(deleted: usize, anonymised: usize, kept: Option<&'static str>) -> Erased {
        Erased {
            deleted,
            anonymised,
            kept,
        }
    }

    /// `n` rows deleted, nothing kept.
    pub fn deleted(n: usize) -> Erased {
        Erased {
            deleted: n,
            anonymised: 0,
            kept: None,
        }
    }

    /// Nothing touched: all of it stays, for this reason.
    pub fn kept(reason: &'static str) -> Erased {
        Erased {
            deleted: 0,
            anonymised: 0,
            kept: Some(reason),
        }
    }

    /// `n` rows anonymised; what stays, and why.
    pub fn anonymised(n: usize, kept: &'static str) -> Erased {
        Erased {
            deleted: 0,
            anonymised: n,
            kept: Some(kept),
        }
    }
}

/// The account an export or erasure is about.
pub struct Subject<'a> {
    /// The account.
    pub account: &'a accounts::AccountRow,
    /// The application, for the master key of sealed records.
    pub app: &'a App,
    /// Object-store keys to delete once the erasure has committed.
    pub doomed_objects: RefCell<Vec<String>>,
}

impl<'a> Subject<'a> {
    /// The subject `account`.
    pub fn new(account: &'a accounts::AccountRow, app: &'a App) -> Subject<'a> {
        Subject {
            account,
            app,
            doomed_objects: RefCell::default(),
        }
    }
}

/// Everything a section holds about the subject, as JSON.
type ExportFn = fn(&mut Scoped<'_>, &Subject<'_>) -> AppResult<serde_json::Value>;
/// Deletes or anonymises a section (system context, scoped to the subject's realm).
type EraseFn = fn(&mut Scoped<'_>, &Subject<'_>, DateTime<Utc>) -> AppResult<Erased>;

/// One module's personal data: its name in the export and the erasure report, and what it does for each.
pub struct Section {
    /// Name.
    pub name: &'static str,
    /// Export.
    pub export: ExportFn,
    /// Erasure.
    pub erase: EraseFn,
}
