//! The operational reports: `members` (by plan), `attendance` (door entries and class occupancy by weekday and
//! local hour), `pro-hours` and `checkins` (door decisions by location and result).

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate, Timelike};
use tessera_store::models::reports as store;
use tessera_store::Scoped;

use super::table::{ColumnKind, Report, Row};
use super::{weekday_counts, Range, ReportName, WEEKDAYS};
use crate::AppResult;

/// `members`: per plan, memberships by current status, and those started and ended in the range.
pub(crate) fn members(s: &mut Scoped<'_>, range: &Range, today: NaiveDate) -> AppResult<Report> {
    #[derive(Default)]
    struct Counts {
        active: i64,
        frozen: i64,
        past_due: i64,
        suspended: i64,
        started: i64,
        ended: i64,
    }
    let mut plans: BTreeMap<String, Counts> = BTreeMap::new();
    for span in store::membership_spans(s)? {
        let c = plans.entry(span.plan_name.clone()).or_default();
        let current = super::finance::covers(&span, today);
        match span.status.as_str() {
            "active" if current => c.active += 1,
            "frozen" if current => c.frozen += 1,
            "past_due" if current => c.past_due += 1,
            "suspended" if current => c.suspended += 1,
            _ => {}
        }
        if span.starts_on >= range.from && span.starts_on <= range.to {
            c.started += 1;
        }
        if span
            .ends_on
            .is_some_and(|e| e >= range.from && e <= range.to)
        {
            c.ended += 1;
        }
    }
    let mut report = Report::new(
        ReportName::Members.as_str(),
        ReportName::Members.title(),
        range,
        &[
            ("plan", "Plan", ColumnKind::Text),
            ("active", "Active", ColumnKind::Integer),
            ("frozen", "Frozen", ColumnKind::Integer),
            ("past_due", "Past due", ColumnKind::Integer),
            ("suspended", "Suspended", ColumnKind::Integer),
            ("started", "Started", ColumnKind::Integer),
            ("ended", "Ended", ColumnKind::Integer),
        ],
    )
    .chart("bar", "plan", &["active"]);
    let mut totals = Counts::default();
    for (plan, c) in plans {
        totals.active += c.active;
        totals.frozen += c.frozen;
        totals.past_due += c.past_due;
        totals.suspended += c.suspended;
        totals.started += c.started;
        totals.ended += c.ended;
        report.rows.push(
            Row::new()
                .text("plan", plan)
                .int("active", c.active)
                .int("frozen", c.frozen)
                .int("past_due", c.past_due)
                .int("suspended", c.suspended)
                .int("started", c.started)
                .int("ended", c.ended)
                .build(),
        );
    }
    report.totals = Some(
        Row::new()
            .int("active", totals.active)
            .int("frozen", totals.frozen)
            .int("past_due", totals.past_due)
            .int("suspended", totals.suspended)
            .int("started", totals.started)
            .int("ended", totals.ended)
            .build(),
    );
    Ok(report)
}

/// Figures of one weekday and local hour.
#[derive(Default, Clone, Copy)]
struct Slot {
    entries: i64,
    refusals: i64,
    sessions: i64,
    capacity: i64,
    booked: i64,
    attended: i64,
}

/// `attendance`: per weekday and local hour with any activity, door entries and refusals, the average entries
/// on such a day, and the classes that started then with their bookings, attendance and occupancy
/// (attended / places).
pub(crate) fn attendance(s: &mut Scoped<'_>, range: &Range) -> AppResult<Report> {
    let (from, to) = range.utc_bounds();
    let mut slots: BTreeMap<(u32, u32), Slot> = BTreeMap::new();
    let slot_of = |bucket: &str| {
        range
            .local_hour(bucket)
            .map(|local| (local.weekday().num_days_from_monday(), local.hour()))
    };
    let mut grid: Vec<((u32, u32), Slot)> = Vec::new();
    for p in store::passages_by_hour(s, from, to)? {
        if let Some(key) = slot_of(&p.hour) {
            grid.push((
                key,
                Slot {
                    entries: p.entries,
                    refusals: p.refusals,
                    ..Slot::default()
                },
            ));
        }
    }
    for c in store::classes_by_hour(s, from, to)? {
        if let Some(key) = slot_of(&c.hour) {
            grid.push((
                key,
                Slot {
                    sessions: c.sessions,
                    capacity: c.capacity,
                    booked: c.booked,
                    attended: c.attended,
                    ..Slot::default()
                },
            ));
        }
    }
    for (key, add) in grid {
        let slot = slots.entry(key).or_default();
        slot.entries += add.entries;
        slot.refusals += add.refusals;
        slot.sessions += add.sessions;
        slot.capacity += add.capacity;
        slot.booked += add.booked;
        slot.attended += add.attended;
    }
    let days = weekday_counts(range);
    let mut report = Report::new(
        ReportName::Attendance.as_str(),
        ReportName::Attendance.title(),
        range,
        &[
            ("slot", "Slot", ColumnKind::Text),
            ("weekday", "Weekday", ColumnKind::Text),
            ("hour", "Hour", ColumnKind::Integer),
            ("entries", "Entries", ColumnKind::Integer),
            ("refusals", "Refusals", ColumnKind::Integer),
            ("entries_per_day", "Entries per day", ColumnKind::Decimal),
            ("class_sessions", "Classes", ColumnKind::Integer),
            ("booked", "Booked", ColumnKind::Integer),
            ("attended", "Attended", ColumnKind::Integer),
            ("occupancy", "Occupancy %", ColumnKind::Percent),
        ],
    )
    .chart("bar", "slot", &["entries"]);
    let mut totals = Slot::default();
    for ((weekday, hour), slot) in slots {
        totals.entries += slot.entries;
        totals.refusals += slot.refusals;
        totals.sessions += slot.sessions;
        totals.capacity += slot.capacity;
        totals.booked += slot.booked;
        totals.attended += slot.attended;
        let name = WEEKDAYS[weekday as usize];
        report.rows.push(
            Row::new()
                .text("slot", format!("{name} {hour:02}h"))
                .text("weekday", name)
                .int("hour", i64::from(hour))
                .int("entries", slot.entries)
                .int("refusals", slot.refusals)
                .ratio("entries_per_day", slot.entries, days[weekday as usize])
                .int("class_sessions", slot.sessions)
                .int("booked", slot.booked)
                .int("attended", slot.attended)
                .percent("occupancy", slot.attended, slot.capacity)
                .build(),
        );
    }
    report.totals = Some(
        Row::new()
            .int("entries", totals.entries)
            .int("refusals", totals.refusals)
            .int("class_sessions", totals.sessions)
            .int("booked", totals.booked)
            .int("attended", totals.attended)
            .percent("occupancy", totals.attended, totals.capacity)
            .build(),
    );
    Ok(report)
}

/// `pro-hours`: per pro, appointments and classes held in the range and their hours, and hours clocked in.
pub(crate) fn pro_hours(s: &mut Scoped<'_>, range: &Range) -> AppResult<Report> {
    let (from, to) = range.utc_bounds();
    let mut report = Report::new(
        ReportName::ProHours.as_str(),
        ReportName::ProHours.title(),
        range,
        &[
            ("pro_id", "Pro id", ColumnKind::Text),
            ("name", "Name", ColumnKind::Text),
            ("specialty", "Specialty", ColumnKind::Text),
            ("appointments", "Appointments", ColumnKind::Integer),
            (
                "appointment_hours",
                "Appointment hours",
                ColumnKind::Decimal,
            ),
            ("classes", "Classes", ColumnKind::Integer),
            ("class_hours", "Class hours", ColumnKind::Decimal),
            ("service_hours", "Service hours", ColumnKind::Decimal),
            ("clocked_hours", "Clocked hours", ColumnKind::Decimal),
        ],
    )
    .chart("bar", "name", &["service_hours"]);
    let (mut appointments, mut classes, mut minutes, mut clocked) = (0, 0, 0, 0);
    for w in store::pro_work(s, from, to)? {
        appointments += w.appointments;
        classes += w.classes;
        minutes += w.appointment_minutes + w.class_minutes;
        clocked += w.clocked_minutes;
        report.rows.push(
            Row::new()
                .text("pro_id", w.pro_id)
                .text("name", w.name)
                .opt_text("specialty", w.specialty)
                .int("appointments", w.appointments)
                .ratio("appointment_hours", w.appointment_minutes, 60)
                .int("classes", w.classes)
                .ratio("class_hours", w.class_minutes, 60)
                .ratio("service_hours", w.appointment_minutes + w.class_minutes, 60)
                .ratio("clocked_hours", w.clocked_minutes, 60)
                .build(),
        );
    }
    report.totals = Some(
        Row::new()
            .int("appointments", appointments)
            .int("classes", classes)
            .ratio("service_hours", minutes, 60)
            .ratio("clocked_hours", clocked, 60)
            .build(),
    );
    Ok(report)
}

/// `checkins`: inward door decisions in the range per location, result and reason, with each row's share of
/// its location's decisions.
pub(crate) fn checkins(s: &mut Scoped<'_>, range: &Range) -> AppResult<Report> {
    let (from, to) = range.utc_bounds();
    let mut rows = store::checkins_by_location(s, from, to)?;
    // Sorted here: the backends order NULL reasons and collate names differently.
    rows.sort_by(|a, b| {
        (&a.location, &a.decision, &a.reason).cmp(&(&b.location, &b.decision, &b.reason))
    });
    let mut per_location: BTreeMap<Option<String>, i64> = BTreeMap::new();
    for r in &rows {
        *per_location.entry(r.location.clone()).or_default() += r.count;
    }
    let mut report = Report::new(
        ReportName::Checkins.as_str(),
        ReportName::Checkins.title(),
        range,
        &[
            ("location", "Location", ColumnKind::Text),
            ("result", "Result", ColumnKind::Text),
            ("decision", "Decision", ColumnKind::Text),
            ("reason", "Reason", ColumnKind::Text),
            ("count", "Count", ColumnKind::Integer),
            ("share", "Share %", ColumnKind::Percent),
            ("overrides", "Overrides", ColumnKind::Integer),
            ("flagged", "Flagged", ColumnKind::Integer),
        ],
    )
    .chart("bar", "result", &["count"]);
    let (mut allowed, mut denied) = (0, 0);
    for r in rows {
        let whole = per_location.get(&r.location).copied().unwrap_or(0);
        if r.decision == "allow" {
            allowed += r.count;
        } else {
            denied += r.count;
        }
        let result = match &r.reason {
            Some(reason) if r.decision != "allow" => format!("{}: {reason}", r.decision),
            _ => r.decision.clone(),
        };
        report.rows.push(
            Row::new()
                .text("location", r.location.unwrap_or_else(|| "(desk)".into()))
                .text("result", result)
                .text("decision", r.decision)
                .opt_text("reason", r.reason)
                .int("count", r.count)
                .percent("share", r.count, whole)
                .int("overrides", r.overrides)
                .int("flagged", r.flagged)
                .build(),
        );
    }
    report.totals = Some(
        Row::new()
            .int("count", allowed + denied)
            .text("result", format!("allow {allowed}, deny {denied}"))
            .build(),
    );
    Ok(report)
}
