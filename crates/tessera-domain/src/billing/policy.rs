//! A brand's billing rules (`[billing]` in its tenant file), with defaults for a brand that sets none.

use serde::{Deserialize, Serialize};

use crate::money::Money;
use crate::FieldErrors;

/// How a brand bills: payment terms, the French late-payment mentions, the VAT codes of membership lines and the
/// dunning schedule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BillingPolicy {
    /// Days between an invoice's issue date and its due date (0: due on receipt, as memberships usually are).
    pub payment_terms_days: u32,
    /// Late-payment penalty rate printed on invoices, in basis points a year (French law: at least three times
    /// the legal interest rate; 1200 is a common choice).
    pub late_penalty_rate_bps: u32,
    /// VAT code (one of `vat_rates`) of membership periods, enrolment fees and class packs.
    pub membership_vat: String,
    /// VAT code of appointments and other services.
    pub service_vat: String,
    /// Days after the first failed attempt on which the payment is tried again (e.g. 1, 3, 7).
    pub retry_days: Vec<u32>,
    /// Days after the first failure during which access goes on; then the membership becomes `past_due`.
    pub grace_days: u32,
    /// Days after the first failure at which a membership still unpaid is `suspended`.
    pub suspend_after_days: u32,
    /// Overdue amount (over all of a member's invoices) above which the membership becomes `past_due` at once,
    /// grace or not. None: no threshold.
    pub block_over: Option<Money>,
    /// Days before a renewal on which the member is reminded (`billing.renewal_upcoming`).
    pub remind_days_before_renewal: u32,
    /// Days before suspension on which the member is warned (`billing.suspension_upcoming`).
    pub warn_days_before_suspension: u32,
    /// Days ahead of a saved card's expiry on which `billing.card_expiring` is published.
    pub card_expiry_notice_days: u32,
}

impl Default for BillingPolicy {
    fn default() -> Self {
        BillingPolicy {
            payment_terms_days: 0,
            late_penalty_rate_bps: 1200,
            membership_vat: "standard".into(),
            service_vat: "standard".into(),
            retry_days: vec![1, 3, 7],
            grace_days: 3,
            suspend_after_days: 10,
            block_over: None,
            remind_days_before_renewal: 3,
            warn_days_before_suspension: 2,
            card_expiry_notice_days: 30,
        }
    }
}

impl BillingPolicy {
    /// Checks the policy against the brand's VAT codes; every error names its `billing.*` field.
    pub fn validate(&self, vat_codes: &[&str], errors: &mut FieldErrors) {
        for (field, code) in [
            ("billing.membership_vat", &self.membership_vat),
            ("billing.service_vat", &self.service_vat),
        ] {
            if !vat_codes.contains(&code.as_str()) {
                errors.push(crate::FieldError::new(
                    field,
                    "unknown_vat_rate",
                    format!("{code:?} is not one of the brand's vat_rates"),
                ));
            }
        }
        if self.retry_days.windows(2).any(|w| w[0] >= w[1]) || self.retry_days.len() > 10 {
            errors.push(crate::FieldError::new(
                "billing.retry_days",
                "invalid",
                "retry days must increase, at most ten of them",
            ));
        }
        if self.grace_days > self.suspend_after_days || self.suspend_after_days > 90 {
            errors.push(crate::FieldError::new(
                "billing.suspend_after_days",
                "invalid",
                "suspension comes after the grace period, within 90 days",
            ));
        }
        if self.late_penalty_rate_bps == 0 || self.late_penalty_rate_bps > 10_000 {
            errors.push(crate::FieldError::new(
                "billing.late_penalty_rate_bps",
                "invalid",
                "the late-payment penalty rate is required (basis points, at most 10000)",
            ));
        }
        if self.payment_terms_days > 60 {
            errors.push(crate::FieldError::new(
                "billing.payment_terms_days",
                "invalid",
                "French law caps payment terms at 60 days",
            ));
        }
    }
}
