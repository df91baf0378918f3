//! Billing rules: a brand's `[billing]` policy, invoice numbers, what a billing run owes for a membership, and
//! the dunning schedule that turns failed payments into `past_due` and then `suspended`. Pure: the billing
//! service in `tessera-app` feeds them dates and stored facts.

pub mod dunning;
pub mod numbering;
pub mod periods;
pub mod policy;

pub use dunning::{dunning_step, DunningFacts, DunningStep};
pub use numbering::{format_number, series_for, DocumentSeries};
pub use periods::{next_billing, DueCharge};
pub use policy::BillingPolicy;
