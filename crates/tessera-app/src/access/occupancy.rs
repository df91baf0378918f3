//! Occupancy (`/api/v1/access/occupancy`): who is inside a location now (entries without an exit, each timing
//! out after [`PRESENCE_TIMEOUT_HOURS`](super::PRESENCE_TIMEOUT_HOURS) for doors with no exit reader), and the
//! peaks of a day by hour, replayed from the log of allowed passages.

use std::collections::HashMap;

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, Utc};
use serde::Serialize;
use tessera_domain::role::Permission;
use tessera_store::models::access as store;
use tessera_store::models::{locations, members};
use tessera_store::TxMode;

use super::PRESENCE_TIMEOUT_HOURS;
use crate::auth::authorize;
use crate::{naive, App, AppError, AppResult, Ctx};

/// Someone inside.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Present {
    /// The member.
    pub member_id: String,
    /// Their name.
    pub name: Option<String>,
    /// Since when.
    pub entered_at: DateTime<Utc>,
}

/// A location's occupancy now.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Occupancy {
    /// The location.
    pub location_id: String,
    /// How many are inside.
    pub count: usize,
    /// Who, earliest first.
    pub present: Vec<Present>,
    /// Hours after which an entry without an exit stops counting.
    pub timeout_hours: i64,
}

/// One hour of a day.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct HourPeak {
    /// Local hour, 0 to 23.
    pub hour: u32,
    /// Entries during the hour.
    pub entries: u32,
    /// Most people inside at once during the hour.
    pub peak: u32,
}

/// Peaks of one local day.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct DayPeaks {
    /// The location.
    pub location_id: String,
    /// The local day.
    #[schema(value_type = String, format = Date)]
    pub date: NaiveDate,
    /// 24 hours.
    pub hours: Vec<HourPeak>,
}

/// Replays passages (oldest first) into hourly entries and peaks of the local day starting at `day_start`
/// (UTC), each entry timing out after `timeout`.
pub(crate) fn replay(
    movements: &[(Option<String>, String, NaiveDateTime)],
    day_start: NaiveDateTime,
    timeout: Duration,
) -> Vec<HourPeak> {
    let mut hours: Vec<HourPeak> = (0..24)
        .map(|hour| HourPeak {
            hour,
            entries: 0,
            peak: 0,
        })
        .collect();
    let mut inside: HashMap<String, NaiveDateTime> = HashMap::new();
    let hour_of = |t: NaiveDateTime| -> Option<usize> {
        let h = (t - day_start).num_hours();
        (0..24).contains(&h).then_some(h as usize)
    };
    for (member, direction, at) in movements {
        inside.retain(|_, entered| *at - *entered < timeout);
        let Some(member) = member else { continue };
        if direction == "in" {
            inside.insert(member.clone(), *at);
            if let Some(h) = hour_of(*at) {
                hours[h].entries += 1;
            }
        } else {
            inside.remove(member);
        }
        if let Some(h) = hour_of(*at) {
            let n = u32::try_from(inside.len()).unwrap_or(u32::MAX);
            hours[h].peak = hours[h].peak.max(n);
        }
    }
    // Carry the count of each hour's start into it, so an hour with no movement still shows who stayed.
    for (slot, at_start) in hours
        .iter_mut()
        .zip(inside_at_starts(movements, day_start, timeout))
    {
        slot.peak = slot.peak.max(at_start);
    }
    hours
}

/// How many were inside at the start of each hour.
fn inside_at_starts(
    movements: &[(Option<String>, String, NaiveDateTime)],
    day_start: NaiveDateTime,
    timeout: Duration,
) -> Vec<u32> {
    (0..24)
        .map(|h| {
            let at = day_start + Duration::hours(h);
            let mut inside: HashMap<&str, NaiveDateTime> = HashMap::new();
            for (member, direction, t) in movements.iter().filter(|m| m.2 < at) {
                let Some(member) = member else { continue };
                if direction == "in" {
                    inside.insert(member, *t);
                } else {
                    inside.remove(member.as_str());
                }
            }
            u32::try_from(inside.values().filter(|t| at - **t < timeout).count()).unwrap_or(0)
        })
        .collect()
}

impl App {
    /// `GET /api/v1/access/occupancy?location_id=` (`access.read`).
    pub async fn occupancy(&self, ctx: &Ctx, location_id: &str) -> AppResult<Occupancy> {
        let (tenant, _) = crate::scheduling::tenant_of(self, ctx)?;
        self.door_records_written(&tenant).await;
        let now = self.clock().now();
        let (ctx, app, location_id) = (ctx.clone(), self.clone(), location_id.to_owned());
        self.blocking(move |db| {
            db.scoped(&tenant, TxMode::Read, |s| {
                authorize(app.principals(), s, &ctx, Permission::AccessRead)?;
                locations::find(s, &location_id)?.ok_or(AppError::NotFound("location"))?;
                let since = naive(now - Duration::hours(PRESENCE_TIMEOUT_HOURS));
                let rows = store::inside(s, &location_id, since)?;
                let ids: Vec<String> = rows.iter().map(|r| r.member_id.clone()).collect();
                let names: HashMap<String, String> = members::find_many(s, &ids)?
                    .into_iter()
                    .map(|p| (p.account_id, format!("{} {}", p.given_name, p.family_name)))
                    .collect();
                let present: Vec<Present> = rows
                    .into_iter()
                    .map(|r| Present {
                        name: names.get(&r.member_id).cloned(),
                        member_id: r.member_id,
                        entered_at: tessera_store::utc(r.entered_at),
                    })
                    .collect();
                Ok(Occupancy {
                    location_id,
                    count: present.len(),
                    present,
                    timeout_hours: PRESENCE_TIMEOUT_HOURS,
                })
            })
        })
        .await
    }

    /// `GET /api/v1/access/occupancy/peaks?location_id=&date=` (`access.read`): entries and the most people
    /// inside at once, per local hour of a day.
    pub async fn occupancy_peaks(
        &self,
        ctx: &Ctx,
        location_id: &str,
        date: NaiveDate,
    ) -> AppResult<DayPeaks> {
        let (tenant, _) = crate::scheduling::tenant_of(self, ctx)?;
        self.door_records_written(&tenant).await;
        let (ctx, app, location_id) = (ctx.clone(), self.clone(), location_id.to_owned());
        self.blocking(move |db| {
            db.scoped(&tenant, TxMode::Read, |s| {
                authorize(app.principals(), s, &ctx, Permission::AccessRead)?;
                let location =
                    locations::find(s, &location_id)?.ok_or(AppError::NotFound("location"))?;
                let tz: chrono_tz::Tz = location.time_zone.parse().unwrap_or(chrono_tz::UTC);
                let start = tessera_domain::scheduling::time::start_of_local_day(tz, date)
                    .ok_or(AppError::NotFound("date"))?
                    .naive_utc();
                let timeout = Duration::hours(PRESENCE_TIMEOUT_HOURS);
                let movements = store::movements_between(
                    s,
                    &location_id,
                    start - timeout,
                    start + Duration::hours(24),
                )?;
                let hours = replay(&movements, start, timeout);
                Ok(DayPeaks {
                    location_id,
                    date,
                    hours,
                })
            })
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(h: u32, m: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 11, 26)
            .unwrap()
            .and_hms_opt(h, m, 0)
            .unwrap()
    }

    #[test]
    fn peaks_count_overlaps_exits_and_timeouts() {
        let day = t(0, 0);
        let moves = vec![
            (Some("a".to_owned()), "in".to_owned(), t(8, 0)),
            (Some("b".to_owned()), "in".to_owned(), t(8, 30)),
            (Some("a".to_owned()), "out".to_owned(), t(9, 10)),
            (Some("c".to_owned()), "in".to_owned(), t(9, 20)),
        ];
        let hours = replay(&moves, day, Duration::hours(4));
        assert_eq!((hours[8].entries, hours[8].peak), (2, 2));
        assert_eq!((hours[9].entries, hours[9].peak), (1, 2));
        // b and c stay: 2 at 10:00 and 11:00; b times out at 12:30, c at 13:20.
        assert_eq!(hours[11].peak, 2);
        assert_eq!(hours[13].peak, 1);
        assert_eq!(hours[14].peak, 0);
        assert_eq!(hours[7].peak, 0);
    }
}
