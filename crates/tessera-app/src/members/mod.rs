//! A brand's members (`/api/v1/members`, `/api/v1/me/profile`): profiles, consents, staff notes, tags,
//! households, self sign-up, walk-in enrolment at the desk, and search.
//!
//! Who may do what with a member is decided in one place, [`access_to`]: staff by permission, the member
//! themself, and a guardian for their dependants (minors).

pub(crate) mod input;
pub mod notes;
pub mod search;
pub(crate) mod service;
pub mod signup;
pub mod view;

pub use input::{Address, ConsentInput, EmergencyContact, MemberChanges, MemberFields};
pub use view::{ConsentView, MemberSummary, MemberView};

use tessera_domain::role::Permission;
use tessera_store::models::members;
use tessera_store::Scoped;

use crate::auth::Principal;
use crate::{AppError, AppResult};

/// How the caller stands towards a member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Staff with the needed permission.
    Staff,
    /// The member themself.
    Own,
    /// The member's guardian (the member is a minor of their household).
    Guardian,
}

/// How `principal` may act on `member_id` for a read (`manage` false) or a change (`manage` true): staff by
/// permission, the member, or their guardian; anyone else gets `not_found`, so ids do not leak.
pub fn access_to(
    s: &mut Scoped<'_>,
    principal: &Principal,
    member_id: &str,
    manage: bool,
) -> AppResult<Access> {
    if principal.id == member_id {
        return Ok(Access::Own);
    }
    let staff_permission = if manage {
        Permission::MembersManage
    } else {
        Permission::MembersRead
    };
    if staff_permission.allowed_for(&principal.roles) {
        return Ok(Access::Staff);
    }
    let profile = members::find(s, member_id)?.ok_or(AppError::NotFound("member"))?;
    if profile.guardian_account_id.as_deref() == Some(principal.id.as_str()) {
        return Ok(Access::Guardian);
    }
    if Permission::MembersRead.allowed_for(&principal.roles) {
        // Staff who may read the member but not change them.
        return Err(AppError::Forbidden);
    }
    Err(AppError::NotFound("member"))
}

/// The tenant of a request, or `not_found` on the group realm (members belong to a brand).
pub(crate) fn tenant_of(ctx: &crate::Ctx) -> AppResult<String> {
    ctx.realm
        .tenant_id()
        .map(str::to_owned)
        .ok_or(AppError::NotFound("route"))
}
