//! Roles, pro specialties and the permission matrix.
//!
//! The matrix lives here, in one place; services ask [`Permission::allowed_for`] and never test roles
//! themselves. `docs/permissions.md` shows the same matrix, and a test keeps the two in step.

use serde::{Deserialize, Serialize};

use crate::FieldError;

/// What an account may be. An account can hold several roles (a pro who is also staff).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Group IT: provisions tenants and works across brands. Only group-level operator accounts hold it.
    Operator,
    /// A brand's administrator.
    Admin,
    /// Support and front-desk staff.
    Staff,
    /// A coach, nutritionist or therapist (see [`Specialty`]).
    Pro,
    /// A member or customer.
    Member,
    /// A sales representative of the equipment store.
    SalesRep,
    /// An affiliate or influencer with referral codes.
    Affiliate,
}

impl Role {
    /// Every role, in the order of the permission matrix's columns.
    pub const ALL: [Role; 7] = [
        Role::Operator,
        Role::Admin,
        Role::Staff,
        Role::Pro,
        Role::Member,
        Role::SalesRep,
        Role::Affiliate,
    ];

    /// The role's stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Operator => "operator",
            Role::Admin => "admin",
            Role::Staff => "staff",
            Role::Pro => "pro",
            Role::Member => "member",
            Role::SalesRep => "sales_rep",
            Role::Affiliate => "affiliate",
        }
    }

    /// Parses a role name.
    pub fn parse(name: &str) -> Result<Role, FieldError> {
        Role::ALL
            .into_iter()
            .find(|role| role.as_str() == name)
            .ok_or_else(|| {
                let names: Vec<&str> = Role::ALL.iter().map(|r| r.as_str()).collect();
                FieldError::new(
                    "",
                    "unknown_role",
                    format!(
                        "unknown role {name:?}; expected one of {}",
                        names.join(", ")
                    ),
                )
            })
    }

    /// True for the roles that brand staff hold (everything a brand account can hold but `member`).
    pub fn is_staff_role(self) -> bool {
        matches!(
            self,
            Role::Admin | Role::Staff | Role::Pro | Role::SalesRep | Role::Affiliate
        )
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A pro's specialty.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Specialty {
    /// Coach or personal trainer.
    Coach,
    /// Nutritionist.
    Nutritionist,
    /// Therapist (physiotherapy, massage...).
    Therapist,
}

impl Specialty {
    /// Every specialty.
    pub const ALL: [Specialty; 3] = [
        Specialty::Coach,
        Specialty::Nutritionist,
        Specialty::Therapist,
    ];

    /// The specialty's stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            Specialty::Coach => "coach",
            Specialty::Nutritionist => "nutritionist",
            Specialty::Therapist => "therapist",
        }
    }

    /// Parses a specialty name.
    pub fn parse(name: &str) -> Result<Specialty, FieldError> {
        Specialty::ALL
            .into_iter()
            .find(|s| s.as_str() == name)
            .ok_or_else(|| {
                FieldError::new(
                    "",
                    "unknown_specialty",
                    format!(
                        "unknown specialty {name:?}; expected coach, nutritionist or therapist"
                    ),
                )
            })
    }
}

/// An action that is checked before a service does it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Permission {
    /// Read one's own account (`GET /api/v1/me`).
    ProfileReadOwn,
    /// List and read the brand's staff accounts.
    StaffRead,
    /// Invite staff, change their roles and specialty, deactivate them.
    StaffManage,
    /// List and read the group's tenants.
    TenantsRead,
    /// Read the audit log of the realm.
    AuditRead,
    /// Open the live-event stream (each event is then shown only to those allowed to see it).
    EventsSubscribe,
    /// See the realm's events about others (check-ins, staff changes...), not only one's own.
    EventsReadAll,
    /// Register, change and delete webhook endpoints, see and resend their deliveries.
    WebhooksManage,
    /// See the brand's background jobs (never their input) and retry the failed ones.
    JobsManage,
    /// Export or erase anyone's personal data in the brand (a data-protection request).
    PersonalDataManage,
    /// Upload files one owns, and read and delete them (sensitive ones included).
    FilesOwn,
    /// Upload files for others, read and delete the brand's non-sensitive files.
    FilesManage,
    /// Read the brand's sensitive files (each view is audited).
    FilesReadSensitive,
    /// Find and read the brand's members (profile, tags, memberships summary).
    MembersRead,
    /// Enrol walk-in members, change members' profiles, status, tags and households.
    MembersManage,
    /// Read and write notes on members (a pro only on their own clients).
    MemberNotes,
    /// See staff-only and inactive plans (everyone sees the public, active ones).
    PlansReadAll,
    /// Create, change and retire plans.
    PlansManage,
    /// Read anyone's memberships and their history (members read their own).
    MembershipsRead,
    /// Sell, freeze, change and cancel memberships for members.
    MembershipsManage,
    /// Manage locations, rooms, services, class schedules and every pro's hours.
    ScheduleManage,
    /// Book, reschedule and cancel appointments and classes for members.
    BookingsManage,
    /// Confirm presence or no-show (a pro only for their own sessions).
    AttendanceConfirm,
    /// Read any pro's timesheet (a pro reads their own).
    TimesheetsRead,
    /// Read the brand's today view and any pro's agenda.
    DashboardRead,
    /// Make pairing codes, list, rename, move and revoke devices.
    DevicesManage,
    /// Read door decisions, flagged offline entries and occupancy.
    AccessRead,
    /// Issue, replace and revoke members' door credentials; override a door's refusal.
    AccessManage,
    /// Read members' body measurements (health data; each read is audited).
    BodyRead,
    /// Upload and match body measurements and 3D scans, set body goals.
    BodyManage,
    /// Read anyone's invoices, credit notes and payments (clients read their own).
    InvoicesRead,
    /// Draft and finalise invoices, resend them.
    InvoicesManage,
    /// Issue credit notes and refunds.
    InvoicesCredit,
    /// Record payments taken at the desk (cash, card terminal, bank transfer).
    PaymentsRecord,
    /// Read the brand's money figures: outstanding, overdue, revenue with VAT.
    MoneyRead,
    /// Read the brand's operational reports: members by plan, attendance, pro hours, check-ins.
    ReportsRead,
    /// Read the brand's money reports: revenue, recurring revenue, receivables.
    ReportsFinance,
    /// Read the cross-brand report of the group realm.
    ReportsGroup,
}

impl Permission {
    /// Every permission, in the order of the matrix's rows.
    pub const ALL: [Permission; 38] = [
        Permission::ProfileReadOwn,
        Permission::StaffRead,
        Permission::StaffManage,
        Permission::TenantsRead,
        Permission::AuditRead,
        Permission::EventsSubscribe,
        Permission::EventsReadAll,
        Permission::WebhooksManage,
        Permission::JobsManage,
        Permission::PersonalDataManage,
        Permission::FilesOwn,
        Permission::FilesManage,
        Permission::FilesReadSensitive,
        Permission::MembersRead,
        Permission::MembersManage,
        Permission::MemberNotes,
        Permission::PlansReadAll,
        Permission::PlansManage,
        Permission::MembershipsRead,
        Permission::MembershipsManage,
        Permission::ScheduleManage,
        Permission::BookingsManage,
        Permission::AttendanceConfirm,
        Permission::TimesheetsRead,
        Permission::DashboardRead,
        Permission::DevicesManage,
        Permission::AccessRead,
        Permission::AccessManage,
        Permission::BodyRead,
        Permission::BodyManage,
        Permission::InvoicesRead,
        Permission::InvoicesManage,
        Permission::InvoicesCredit,
        Permission::PaymentsRecord,
        Permission::MoneyRead,
        Permission::ReportsRead,
        Permission::ReportsFinance,
        Permission::ReportsGroup,
    ];

    /// The permission's stable name, as written in `docs/permissions.md`.
    pub fn as_str(self) -> &'static str {
        match self {
            Permission::ProfileReadOwn => "profile.read_own",
            Permission::StaffRead => "staff.read",
            Permission::StaffManage => "staff.manage",
            Permission::TenantsRead => "tenants.read",
            Permission::AuditRead => "audit.read",
            Permission::EventsSubscribe => "events.subscribe",
            Permission::EventsReadAll => "events.read_all",
            Permission::WebhooksManage => "webhooks.manage",
            Permission::JobsManage => "jobs.manage",
            Permission::PersonalDataManage => "personal_data.manage",
            Permission::FilesOwn => "files.own",
            Permission::FilesManage => "files.manage",
            Permission::FilesReadSensitive => "files.read_sensitive",
            Permission::MembersRead => "members.read",
            Permission::MembersManage => "members.manage",
            Permission::MemberNotes => "members.notes",
            Permission::PlansReadAll => "plans.read_all",
            Permission::PlansManage => "plans.manage",
            Permission::MembershipsRead => "memberships.read",
            Permission::MembershipsManage => "memberships.manage",
            Permission::ScheduleManage => "schedule.manage",
            Permission::BookingsManage => "bookings.manage",
            Permission::AttendanceConfirm => "attendance.confirm",
            Permission::TimesheetsRead => "timesheets.read",
            Permission::DashboardRead => "dashboard.read",
            Permission::DevicesManage => "devices.manage",
            Permission::AccessRead => "access.read",
            Permission::AccessManage => "access.manage",
            Permission::BodyRead => "body.read",
            Permission::BodyManage => "body.manage",
            Permission::InvoicesRead => "invoices.read",
            Permission::InvoicesManage => "invoices.manage",
            Permission::InvoicesCredit => "invoices.credit",
            Permission::PaymentsRecord => "payments.record",
            Permission::MoneyRead => "money.read",
            Permission::ReportsRead => "reports.read",
            Permission::ReportsFinance => "reports.finance",
            Permission::ReportsGroup => "reports.group",
        }
    }

    /// The roles that hold this permission: the matrix itself.
    pub fn granted_to(self) -> &'static [Role] {
        use Role::*;
        match self {
            Permission::ProfileReadOwn => {
                &[Operator, Admin, Staff, Pro, Member, SalesRep, Affiliate]
            }
            Permission::StaffRead => &[Operator, Admin, Staff],
            Permission::StaffManage => &[Operator, Admin],
            Permission::TenantsRead => &[Operator],
            Permission::AuditRead => &[Operator, Admin],
            Permission::EventsSubscribe => {
                &[Operator, Admin, Staff, Pro, Member, SalesRep, Affiliate]
            }
            Permission::EventsReadAll => &[Operator, Admin, Staff],
            Permission::WebhooksManage => &[Operator, Admin],
            Permission::JobsManage => &[Operator, Admin],
            Permission::PersonalDataManage => &[Operator, Admin],
            Permission::FilesOwn => &[Admin, Staff, Pro, Member, SalesRep, Affiliate],
            Permission::FilesManage => &[Admin, Staff],
            Permission::FilesReadSensitive => &[Admin],
            Permission::MembersRead => &[Admin, Staff, Pro],
            Permission::MembersManage => &[Admin, Staff],
            Permission::MemberNotes => &[Admin, Staff, Pro],
            Permission::PlansReadAll => &[Admin, Staff, Pro],
            Permission::PlansManage => &[Admin],
            Permission::MembershipsRead => &[Admin, Staff],
            Permission::MembershipsManage => &[Admin, Staff],
            Permission::ScheduleManage => &[Admin, Staff],
            Permission::BookingsManage => &[Admin, Staff, Pro],
            Permission::AttendanceConfirm => &[Admin, Staff, Pro],
            Permission::TimesheetsRead => &[Admin],
            Permission::DashboardRead => &[Admin, Staff],
            Permission::DevicesManage => &[Admin, Staff],
            Permission::AccessRead => &[Admin, Staff],
            Permission::AccessManage => &[Admin, Staff],
            Permission::BodyRead => &[Admin, Staff, Pro],
            Permission::BodyManage => &[Admin, Staff, Pro],
            Permission::InvoicesRead => &[Admin, Staff],
            Permission::InvoicesManage => &[Admin, Staff],
            Permission::InvoicesCredit => &[Admin],
            Permission::PaymentsRecord => &[Admin, Staff],
            Permission::MoneyRead => &[Admin],
            Permission::ReportsRead => &[Admin, Staff],
            Permission::ReportsFinance => &[Admin],
            Permission::ReportsGroup => &[Operator],
        }
    }

    /// True when any of `roles` holds this permission.
    pub fn allowed_for(self, roles: &[Role]) -> bool {
        roles.iter().any(|role| self.granted_to().contains(role))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads the matrix from `docs/permissions.md` (rows `| name | ✓ | ... |`, one column per role in
    /// [`Role::ALL`] order) and checks it against the code, both ways.
    #[test]
    fn permissions_doc_matches_code() {
        let doc = include_str!("../../../docs/permissions.md");
        let mut rows = std::collections::BTreeMap::new();
        let mut header: Option<Vec<String>> = None;
        for line in doc.lines().map(str::trim).filter(|l| l.starts_with('|')) {
            let cells: Vec<String> = line
                .trim_matches('|')
                .split('|')
                .map(|c| c.trim().to_owned())
                .collect();
            if cells
                .iter()
                .all(|c| c.chars().all(|ch| ch == '-' || ch == ':'))
            {
                continue;
            }
            match &header {
                None => header = Some(cells),
                Some(_) => {
                    let name = cells[0].trim_matches('`').to_owned();
                    let granted: Vec<bool> = cells[1..].iter().map(|c| c == "✓").collect();
                    rows.insert(name, granted);
                }
            }
        }
        let header = header.expect("the doc has a table");
        let expected_header: Vec<&str> = Role::ALL.iter().map(|r| r.as_str()).collect();
        let doc_header: Vec<&str> = header[1..].iter().map(|c| c.trim_matches('`')).collect();
        assert_eq!(
            doc_header, expected_header,
            "matrix columns must list the roles in Role::ALL order"
        );
        assert_eq!(
            rows.len(),
            Permission::ALL.len(),
            "every permission has exactly one row"
        );
        for permission in Permission::ALL {
            let granted = rows
                .get(permission.as_str())
                .unwrap_or_else(|| panic!("{} missing", permission.as_str()));
            for (role, doc_says) in Role::ALL.iter().zip(granted) {
                assert_eq!(
                    permission.allowed_for(&[*role]),
                    *doc_says,
                    "{} for {}: code and docs/permissions.md disagree",
                    permission.as_str(),
                    role
                );
            }
        }
    }

    #[test]
    fn roles_round_trip() {
        for role in Role::ALL {
            assert_eq!(Role::parse(role.as_str()), Ok(role));
        }
        assert!(Role::parse("root").is_err());
    }
}
