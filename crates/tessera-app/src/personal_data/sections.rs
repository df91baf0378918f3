//! The sections of personal data: what each module exports about an account and how it erases it. A module
//! that stores personal data adds its section to [`SECTIONS`].

use chrono::{DateTime, Utc};
use serde::Serialize;
use tessera_domain::files::FilePurpose;
use tessera_store::models::personal_data as records;
use tessera_store::models::{accounts, events, files};
use tessera_store::Scoped;

use super::{Erased, Section, Subject};
use crate::{naive, AppError, AppResult};

/// Every section, in export order.
pub static SECTIONS: &[Section] = &[
    Section {
        name: "account",
        export: export_profile,
        erase: erase_profile,
    },
    Section {
        name: "member_profile",
        export: export_member_profile,
        erase: |s, subject, _| {
            let id = &subject.account.id;
            let had = tessera_store::models::members::find(s, id)?.is_some();
            tessera_store::models::members::erase(s, id)?;
            Ok(Erased::deleted(usize::from(had)))
        },
    },
    Section {
        name: "memberships",
        export: export_memberships,
        erase: |_, _, _| {
            Ok(Erased::kept("memberships and their history: contracts and the basis of invoices, kept for the legal retention period (10 years, French commercial code art. L123-22); they hold ids, dates and prices, no name or address"))
        },
    },
    Section {
        name: "door_access",
        export: crate::access::personal::export,
        erase: crate::access::personal::erase,
    },
    Section {
        name: "body_measurements",
        export: crate::body::personal::export,
        erase: crate::body::personal::erase,
    },
    Section {
        name: "invoices",
        export: crate::billing::personal::export,
        erase: crate::billing::personal::erase,
    },
    Section {
        name: "bookings",
        export: crate::scheduling::personal::export,
        erase: crate::scheduling::personal::erase,
    },
    Section {
        name: "sessions",
        export: export_credentials,
        erase: |s, subject, _| {
            Ok(Erased::deleted(records::delete_credentials(
                s,
                &subject.account.id,
            )?))
        },
    },
    Section {
        name: "events",
        export: export_events,
        erase: |s, subject, _| {
            let n = events::scrub_about_account(s, &subject.account.id)?;
            Ok(Erased::anonymised(n, "the events' ids, types and times, emptied of data, for the webhook delivery history"))
        },
    },
    Section {
        name: "emails",
        export: export_emails,
        erase: |s, subject, _| {
            let ids = emails_to(s, subject)?;
            Ok(Erased::deleted(records::delete_jobs(s, &ids)?))
        },
    },
    Section {
        name: "request_records",
        export: |_, _| {
            Ok(
                serde_json::json!({ "note": "answers to retried requests are kept 24 hours, for retries only" }),
            )
        },
        erase: |s, subject, _| {
            Ok(Erased::deleted(records::delete_idempotency_records(
                s,
                &subject.account.id,
            )?))
        },
    },
    Section {
        name: "files",
        export: export_files,
        erase: erase_files,
    },
    Section {
        name: "audit",
        export: export_audit,
        erase: |_, _, _| {
            Ok(Erased::kept("security audit entries (ids and actions only, no name or address): a legitimate-interest record that must stay tamper-evident"))
        },
    },
];

fn to_json<T: Serialize>(value: &T) -> AppResult<serde_json::Value> {
    serde_json::to_value(value).map_err(|e| AppError::Internal(e.to_string()))
}

fn export_profile(s: &mut Scoped<'_>, subject: &Subject<'_>) -> AppResult<serde_json::Value> {
    let a = subject.account;
    Ok(serde_json::json!({
        "id": a.id,
        "email": a.email,
        "display_name": a.display_name,
        "specialty": a.specialty,
        "status": a.status,
        "roles": accounts::roles(s, &a.id)?,
        "created_at": a.created_at.and_utc(),
        "email_verified_at": a.email_verified_at.map(|t| t.and_utc()),
    }))
}

fn erase_profile(
    s: &mut Scoped<'_>,
    subject: &Subject<'_>,
    now: DateTime<Utc>,
) -> AppResult<Erased> {
    let account = records::anonymise_account(s, &subject.account.id, naive(now))?;
    let person = usize::from(records::anonymise_person_if_unused(
        s,
        &subject.account.person_id,
    )?);
    Ok(Erased::anonymised(
        account + person,
        "the account's id, creation date and status 'erased', so that records that must be kept still point somewhere; name, address and password are gone",
    ))
}

fn export_member_profile(
    s: &mut Scoped<'_>,
    subject: &Subject<'_>,
) -> AppResult<serde_json::Value> {
    use tessera_store::models::members;
    let id = &subject.account.id;
    if members::find(s, id)?.is_none() {
        return Ok(serde_json::Value::Null);
    }
    let profile = crate::members::view::load(s, id)?;
    let consents: Vec<serde_json::Value> = members::consents(s, id)?
        .into_iter()
        .map(|c| {
            serde_json::json!({ "kind": c.kind, "granted": c.granted,
            "text_version": c.text_version, "recorded_at": c.recorded_at.and_utc() })
        })
        .collect();
    let notes: Vec<serde_json::Value> = members::notes(s, id)?
        .into_iter()
        .map(|n| serde_json::json!({ "body": n.body, "created_at": n.created_at.and_utc() }))
        .collect();
    Ok(
        serde_json::json!({ "profile": to_json(&profile)?, "consent_history": consents, "staff_notes": notes }),
    )
}

fn export_memberships(s: &mut Scoped<'_>, subject: &Subject<'_>) -> AppResult<serde_json::Value> {
    use tessera_store::models::memberships;
    let mut out = Vec::new();
    for row in memberships::of_account(s, &subject.account.id)? {
        let history: Vec<crate::memberships::HistoryView> = memberships::history(s, &row.id)?
            .into_iter()
            .map(Into::into)
            .collect();
        let today = chrono::Utc::now().date_naive();
        let view = crate::memberships::view_of(s, row, today)?;
        out.push(
            serde_json::json!({ "membership": to_json(&view)?, "history": to_json(&history)? }),
        );
    }
    Ok(serde_json::Value::Array(out))
}

fn export_credentials(s: &mut Scoped<'_>, subject: &Subject<'_>) -> AppResult<serde_json::Value> {
    Ok(serde_json::json!({
        "sessions": to_json(&records::sessions(s, &subject.account.id)?)?,
        "links": to_json(&records::links(s, &subject.account.id)?)?,
    }))
}

fn export_events(s: &mut Scoped<'_>, subject: &Subject<'_>) -> AppResult<serde_json::Value> {
    let rows = events::about_account(s, &subject.account.id)?;
    to_json(
        &rows
            .iter()
            .map(crate::events::EventView::of)
            .collect::<Vec<_>>(),
    )
}

/// The realm's e-mail jobs addressed to the subject: they are sealed, so each is opened to find them.
fn emails_to(s: &mut Scoped<'_>, subject: &Subject<'_>) -> AppResult<Vec<String>> {
    let mut ids = Vec::new();
    for (id, payload) in records::jobs_of_kind(s, "email.send")? {
        let sealed = serde_json::from_str::<serde_json::Value>(&payload)
            .ok()
            .and_then(|p| p["sealed"].as_str().map(str::to_owned));
        let Some(sealed) = sealed else { continue };
        let Ok(json) = subject.app.master().open(&sealed, "email") else {
            continue;
        };
        let to = serde_json::from_slice::<crate::email::OutgoingEmail>(&json).map(|m| m.to);
        if to.is_ok_and(|to| to.eq_ignore_ascii_case(&subject.account.email)) {
            ids.push(id);
        }
    }
    Ok(ids)
}

fn export_emails(s: &mut Scoped<'_>, subject: &Subject<'_>) -> AppResult<serde_json::Value> {
    Ok(serde_json::json!({
        "messages_kept": emails_to(s, subject)?.len(),
        "note": "sent e-mails are kept sealed for 30 days, then deleted",
    }))
}

fn export_audit(s: &mut Scoped<'_>, subject: &Subject<'_>) -> AppResult<serde_json::Value> {
    let rows = records::audit_entries(s, &subject.account.id)?;
    let entries: Vec<serde_json::Value> = rows
        .into_iter()
        .map(|(seq, action, at, by_subject)| {
            serde_json::json!({ "seq": seq, "action": action, "at": at.and_utc(), "by_you": by_subject })
        })
        .collect();
    Ok(serde_json::Value::Array(entries))
}

fn export_files(s: &mut Scoped<'_>, subject: &Subject<'_>) -> AppResult<serde_json::Value> {
    let rows = files::owned_by(s, &subject.account.id)?;
    Ok(serde_json::Value::Array(
        rows.iter()
            .map(|f| {
                let name = f.original_filename.as_deref().unwrap_or("file");
                // Only the name's last component, so an entry cannot climb out of `files/`.
                let name = name.rsplit(['/', '\\']).next().unwrap_or("file");
                serde_json::json!({
                    "id": f.id,
                    "purpose": f.purpose,
                    "content_type": f.content_type,
                    "size_bytes": f.size_bytes,
                    "sha256": f.sha256,
                    "filename": f.original_filename,
                    "created_at": f.created_at.and_utc(),
                    "archive_path": format!("files/{}-{name}", f.id),
                })
            })
            .collect(),
    ))
}

/// Deletes the account's files, except those a law says to keep (invoices): their rows are marked deleted and
/// their names forgotten now, their bytes removed once the erasure has committed.
fn erase_files(s: &mut Scoped<'_>, subject: &Subject<'_>, now: DateTime<Utc>) -> AppResult<Erased> {
    let mut deleted = 0;
    let mut kept = None;
    for file in files::owned_by(s, &subject.account.id)? {
        let retention = FilePurpose::parse(&file.purpose)
            .ok()
            .and_then(FilePurpose::retention);
        if let Some(reason) = retention {
            kept = Some(reason);
            continue;
        }
        files::mark_deleted(s, &file.id, naive(now))?;
        files::forget_name(s, &file.id)?;
        subject.doomed_objects.borrow_mut().push(file.storage_key);
        deleted += 1;
    }
    Ok(Erased::new(deleted, 0, kept))
}
