//! Demo scheduling data for a gym brand (`tessera demo` seeds `atlas`): a location with two rooms, three
//! services (personal training 60 min, nutrition 45 min, physio 30 min) delivered by the brand's pros of the
//! matching specialty, weekday hours for every pro, and weekly classes with their sessions generated ahead.
//! Idempotent: a brand that has locations is left as it is.
//!
//! Bookings need members with plans, which the memberships module seeds: [`App::seed_demo_bookings`] is the
//! separate step to call after it.

use chrono::Duration;
use tessera_domain::ids::IdKind;
use tessera_domain::scheduling::time::local_date;
use tessera_store::models::accounts::{self, AccountFilter};
use tessera_store::models::classes::{self, ScheduleRow};
use tessera_store::models::locations::{self, LocationRow, RoomRow};
use tessera_store::models::pro_hours::{self, HoursRow};
use tessera_store::models::services::{self, ServiceRow};
use tessera_store::TxMode;

use super::{policy, tenant_tz};
use crate::memberships::entitlement::{consume, entitlement, Need};
use crate::{naive, App, AppError, AppResult};

/// What the demo created.
#[derive(Debug, Clone, Default)]
pub struct DemoSchedule {
    /// Locations created (0 when the brand already had some).
    pub locations: usize,
    /// Services created.
    pub services: usize,
    /// Class sessions generated.
    pub sessions: usize,
}

impl App {
    /// Seeds the scheduling demo of the brand `slug` (see the module doc).
    pub async fn seed_demo_schedule(&self, slug: &str) -> AppResult<DemoSchedule> {
        let tenant = self
            .tenants()
            .by_slug(slug)
            .ok_or(AppError::NotFound("tenant"))?;
        let (tz, weeks) = (tenant_tz(&tenant), policy(&tenant).class_weeks_ahead);
        let tenant_id = tenant.id.clone();
        let zone = tenant.config.time_zone.clone();
        let currency = tenant.config.default_currency.clone();
        let now = self.clock().now();
        self.blocking(move |db| {
            db.scoped(&tenant_id, TxMode::Write, |s| {
                let mut done = DemoSchedule::default();
                if !locations::all(s)?.is_empty() {
                    return Ok(done);
                }
                let location = LocationRow {
                    tenant_id: tenant_id.clone(),
                    id: IdKind::Location.new_id(),
                    name: "République".into(),
                    address: Some("12 rue de la Forme, 75011 Paris".into()),
                    time_zone: zone,
                    created_at: naive(now),
                    updated_at: naive(now),
                };
                locations::insert(s, &location)?;
                done.locations = 1;
                let mut rooms = Vec::new();
                for (name, capacity) in [("Studio", 20), ("Treatment room", 1)] {
                    let room = RoomRow {
                        tenant_id: tenant_id.clone(),
                        id: IdKind::Room.new_id(),
                        location_id: location.id.clone(),
                        name: name.into(),
                        capacity,
                        created_at: naive(now),
                    };
                    locations::insert_room(s, &room)?;
                    rooms.push(room);
                }
                let pros = accounts::list(s, AccountFilter::AnyRole(&["pro"]), None, 100)?;
                let with = |specialty: &str| -> Vec<String> {
                    pros.iter()
                        .filter(|p| p.specialty.as_deref() == Some(specialty))
                        .map(|p| p.id.clone())
                        .collect()
                };
                let offers = [
                    ("Personal training", 60, 0, 10, 6000, with("coach"), None),
                    (
                        "Nutrition consultation",
                        45,
                        0,
                        15,
                        5500,
                        with("nutritionist"),
                        None,
                    ),
                    (
                        "Physiotherapy",
                        30,
                        5,
                        5,
                        4500,
                        with("therapist"),
                        Some(rooms[1].id.clone()),
                    ),
                ];
                for (name, duration, before, after, price, pro_ids, room_id) in offers {
                    if pro_ids.is_empty() {
                        continue;
                    }
                    services::insert(
                        s,
                        &ServiceRow {
                            tenant_id: tenant_id.clone(),
                            id: IdKind::Service.new_id(),
                            name: name.into(),
                            duration_minutes: duration,
                            buffer_before_minutes: before,
                            buffer_after_minutes: after,
                            price_amount: price,
                            price_currency: currency.clone(),
                            pro_ids_json: serde_json::json!(pro_ids).to_string(),
                            mode: "in_person".into(),
                            room_id,
                            active: true,
                            created_at: naive(now),
                            updated_at: naive(now),
                        },
                    )?;
                    done.services += 1;
                }
                for pro in &pros {
                    let hours: Vec<HoursRow> = (1..=5)
                        .map(|weekday| HoursRow {
                            tenant_id: tenant_id.clone(),
                            id: IdKind::WorkingHours.new_id(),
                            pro_id: pro.id.clone(),
                            location_id: location.id.clone(),
                            weekday,
                            start_minute: 9 * 60,
                            end_minute: 18 * 60,
                        })
                        .collect();
                    pro_hours::replace(s, &pro.id, &hours, &[])?;
                }
                if let Some(coach) = with("coach").first() {
                    let today = local_date(tz, now);
                    for (class_type, weekday, start, duration) in [
                        ("yoga", 1, 18 * 60 + 30, 60),
                        ("hiit", 2, 7 * 60 + 30, 45),
                        ("yoga", 3, 18 * 60 + 30, 60),
                        ("hiit", 4, 7 * 60 + 30, 45),
                        ("pilates", 6, 10 * 60, 50),
                    ] {
                        let schedule = ScheduleRow {
                            tenant_id: tenant_id.clone(),
                            id: IdKind::ClassSchedule.new_id(),
                            class_type: class_type.into(),
                            pro_id: coach.clone(),
                            location_id: location.id.clone(),
                            room_id: rooms[0].id.clone(),
                            capacity: 12,
                            weekday,
                            start_minute: start,
                            duration_minutes: duration,
                            valid_from: (today - Duration::days(1)).to_string(),
                            valid_until: None,
                            active: true,
                            created_at: naive(now),
                        };
                        classes::insert_schedule(s, &schedule)?;
                        done.sessions += super::classes::generate(s, &schedule, tz, weeks, now)?;
                    }
                }
                Ok(done)
            })
        })
        .await
    }

    /// Books each member of the brand `slug` into the first `per_member` class sessions of the next two weeks that
    /// their plan covers (skipping what it does not); call after members and plans exist. Does nothing when those
    /// sessions already have bookings. Returns the bookings made.
    pub async fn seed_demo_bookings(&self, slug: &str, per_member: usize) -> AppResult<usize> {
        let tenant = self
            .tenants()
            .by_slug(slug)
            .ok_or(AppError::NotFound("tenant"))?;
        let tz = tenant_tz(&tenant);
        let tenant_id = tenant.id.clone();
        let now = self.clock().now();
        self.blocking(move |db| {
            db.scoped(&tenant_id, TxMode::Write, |s| {
                let members = accounts::list(s, AccountFilter::AnyRole(&["member"]), None, 100)?;
                let sessions = classes::sessions_between(
                    s,
                    naive(now),
                    naive(now + Duration::days(14)),
                    None,
                    200,
                )?;
                let ids: Vec<String> = sessions.iter().map(|x| x.id.clone()).collect();
                if !classes::bookings_of_sessions(s, &ids)?.is_empty() {
                    return Ok(0);
                }
                let mut made = 0;
                for member in members {
                    let mut booked = 0;
                    for session in &sessions {
                        if booked >= per_member {
                            break;
                        }
                        let need = Need::Class {
                            class_type: &session.class_type,
                            location_id: &session.location_id,
                            at: tessera_store::utc(session.starts_at),
                        };
                        let Ok(covered) = entitlement(s, tz, &member.id, &need) else {
                            continue;
                        };
                        let taken = classes::bookings_of(s, &session.id)?
                            .iter()
                            .filter(|b| classes::HOLDING.contains(&b.status.as_str()))
                            .count() as i32;
                        if taken >= session.capacity
                            || (covered.consumes_session && consume(s, &covered).is_err())
                        {
                            continue;
                        }
                        let fresh = classes::find_session(s, &session.id)?
                            .ok_or(AppError::NotFound("class session"))?;
                        let seq = classes::take_seq(s, &fresh)?;
                        classes::insert_booking(
                            s,
                            &classes::BookingRow {
                                tenant_id: tenant_id.clone(),
                                id: IdKind::ClassBooking.new_id(),
                                session_id: session.id.clone(),
                                member_id: member.id.clone(),
                                status: "booked".into(),
                                seq,
                                membership_id: covered.membership_id.clone(),
                                consumed: covered.consumes_session,
                                price_amount: covered.price.amount,
                                price_currency: covered.price.currency.clone(),
                                fee_amount: None,
                                fee_currency: None,
                                created_by: member.id.clone(),
                                created_at: naive(now),
                                updated_at: naive(now),
                                cancelled_at: None,
                                checked_in_at: None,
                            },
                        )?;
                        booked += 1;
                        made += 1;
                    }
                }
                Ok(made)
            })
        })
        .await
    }
}
