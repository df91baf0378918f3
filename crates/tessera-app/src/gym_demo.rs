//! Demo data of the gym brands (`tessera demo`): plans, and memberships for the demo members in a few states.
//! Everything goes through the same services as the API, acting as the brand's demo admin, so the demo shows
//! the rules at work. Only what is missing is created: a second run keeps everything.

use std::collections::BTreeMap;

use chrono::Duration;
use tessera_domain::gym::membership::ChangeTiming;
use tessera_domain::gym::plan::{AccessRules, AccessWindow};
use tessera_domain::money::Money;
use tessera_domain::tenant::Module;
use tessera_store::models::{accounts, members, memberships, plans as plan_rows};
use tessera_store::TxMode;

use crate::memberships::lifecycle::FreezeRequest;
use crate::memberships::SellMembership;
use crate::pagination::PageRequest;
use crate::plans::{PlanInput, Translation};
use crate::{Actor, ActorKind, App, AppError, AppResult, Ctx};

fn plan(code: &str, name: &str, en: &str, kind: &str, price: i64) -> PlanInput {
    PlanInput {
        code: code.into(),
        name: name.into(),
        description: String::new(),
        translations: BTreeMap::from([(
            "en".to_owned(),
            Translation {
                name: en.into(),
                description: String::new(),
            },
        )]),
        kind: kind.into(),
        price: Money {
            amount: price,
            currency: "EUR".into(),
        },
        billing_period: None,
        term_months: None,
        sessions: None,
        commitment_months: 0,
        notice_days: 0,
        enrolment_fee: 0,
        trial_days: 0,
        freeze_max_days_per_year: 0,
        access: AccessRules::default(),
        visibility: "public".into(),
        available_from: None,
        available_until: None,
    }
}

/// The demo plans: a 12-month monthly, a no-commitment off-peak, a 10-class pack and a desk-only annual.
fn demo_plans() -> Vec<PlanInput> {
    let all_classes = AccessRules {
        class_types: vec!["*".into()],
        ..AccessRules::default()
    };
    let mut monthly = plan(
        "monthly-12",
        "Mensuel engagement 12 mois",
        "Monthly, 12-month commitment",
        "recurring",
        4990,
    );
    monthly.billing_period = Some("month".into());
    monthly.commitment_months = 12;
    monthly.notice_days = 30;
    monthly.enrolment_fee = 2900;
    monthly.freeze_max_days_per_year = 60;
    monthly.access = all_classes.clone();
    monthly.description = "Accès illimité au club et à tous les cours collectifs.".into();
    let mut off_peak = plan(
        "off-peak",
        "Heures creuses sans engagement",
        "Off-peak, no commitment",
        "recurring",
        2990,
    );
    off_peak.billing_period = Some("month".into());
    off_peak.notice_days = 15;
    off_peak.access = AccessRules {
        class_types: vec!["yoga".into(), "pilates".into()],
        windows: vec![AccessWindow {
            days: vec![
                chrono::Weekday::Mon,
                chrono::Weekday::Tue,
                chrono::Weekday::Wed,
                chrono::Weekday::Thu,
                chrono::Weekday::Fri,
            ],
            from: chrono::NaiveTime::from_hms_opt(10, 0, 0).unwrap_or_default(),
            until: chrono::NaiveTime::from_hms_opt(16, 0, 0).unwrap_or_default(),
        }],
        visits_per_week: Some(3),
        ..AccessRules::default()
    };
    let mut pack = plan(
        "pack-10",
        "Carte 10 cours",
        "10-class pack",
        "class_pack",
        15000,
    );
    pack.sessions = Some(10);
    pack.term_months = Some(6);
    pack.access = all_classes.clone();
    let mut annual = plan(
        "annual-desk",
        "Annuel (accueil)",
        "Annual (front desk)",
        "fixed_term",
        49000,
    );
    annual.term_months = Some(12);
    annual.visibility = "staff_only".into();
    annual.freeze_max_days_per_year = 90;
    annual.access = all_classes;
    vec![monthly, off_peak, pack, annual]
}

impl App {
    /// A context acting as the brand `slug`'s demo admin `email`: demo data goes through the services with the
    /// permissions of a real admin.
    pub(crate) async fn demo_admin(&self, slug: &str, email: &str) -> AppResult<Ctx> {
        let tenant = self
            .tenants()
            .by_slug(slug)
            .ok_or(AppError::NotFound("tenant"))?;
        let (tenant_id, email) = (tenant.id.clone(), email.to_owned());
        let admin = self
            .blocking(move |db| {
                db.scoped(&tenant_id, TxMode::Read, |s| {
                    accounts::find_by_email(s, &email)?.ok_or(AppError::NotFound("demo admin"))
                })
            })
            .await?;
        Ok(Ctx {
            realm: tenant.realm(),
            actor: Some(Actor {
                subject_id: admin.id,
                kind: ActorKind::Account,
            }),
            request_id: tessera_domain::ids::IdKind::Request.new_id(),
            client_ip: None,
        })
    }

    /// Seeds the plans and memberships of every brand with the gym module; returns how many records were made.
    pub async fn seed_gym_demo(&self, admin_email: impl Fn(&str) -> String) -> AppResult<usize> {
        let mut made = 0;
        for tenant in self.tenants().all() {
            if !tenant.config.modules.contains(&Module::Gym) {
                continue;
            }
            let ctx = self
                .demo_admin(&tenant.slug, &admin_email(&tenant.slug))
                .await?;
            let tenant_id = tenant.id.clone();
            let (has_plans, member_ids) = self
                .blocking(move |db| {
                    db.scoped(&tenant_id, TxMode::Read, |s| {
                        let mut ids = Vec::new();
                        for id in members::search(s, &[], ' ', None, None, None, 100)? {
                            if memberships::of_account(s, &id)?.is_empty()
                                && members::find(s, &id)?
                                    .is_some_and(|p| p.guardian_account_id.is_none())
                            {
                                ids.push(id);
                            }
                        }
                        let has_plans = !plan_rows::list(s, false, None, 1)?.is_empty();
                        Ok::<_, AppError>((has_plans, ids))
                    })
                })
                .await?;
            if !has_plans {
                for input in demo_plans() {
                    self.create_plan(&ctx, input).await?;
                    made += 1;
                }
            }
            let plans = self
                .list_plans(
                    &ctx,
                    true,
                    None,
                    PageRequest {
                        limit: 100,
                        after: None,
                    },
                )
                .await?;
            let by_code = |code: &str| {
                plans
                    .data
                    .iter()
                    .find(|p| p.code == code)
                    .map(|p| p.id.clone())
            };
            let today = self.today_in(&tenant);
            // Member n gets: monthly, off-peak, pack, annual, then monthly again; a few are then moved along.
            let codes = [
                "monthly-12",
                "off-peak",
                "pack-10",
                "annual-desk",
                "monthly-12",
            ];
            for (n, member) in member_ids.iter().enumerate() {
                let Some(plan_id) = by_code(codes[n % codes.len()]) else {
                    continue;
                };
                let sale = SellMembership {
                    member_id: Some(member.clone()),
                    plan_id,
                    starts_on: Some(today),
                };
                let sold = self.sell_membership(&ctx, sale).await?;
                made += 1;
                if n == 6 {
                    continue; // Left pending: waiting for its first payment.
                }
                self.apply_membership_action(&ctx, &sold.id, "activate")
                    .await?;
                match n {
                    4 => {
                        let freeze = FreezeRequest {
                            starts_on: today + Duration::days(7),
                            ends_on: today + Duration::days(21),
                            reason: Some("vacances".into()),
                        };
                        self.freeze_membership(&ctx, &sold.id, freeze).await?;
                    }
                    5 => {
                        self.confirm_cancellation(&ctx, &sold.id, Some("déménagement".into()))
                            .await?;
                    }
                    1 => {
                        if let Some(monthly) = by_code("monthly-12") {
                            self.change_membership_plan(
                                &ctx,
                                &sold.id,
                                &monthly,
                                ChangeTiming::NextPeriod,
                            )
                            .await?;
                        }
                    }
                    _ => {}
                }
            }
        }
        Ok(made)
    }
}
