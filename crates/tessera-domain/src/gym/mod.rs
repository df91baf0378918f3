//! The gym platform's pure rules: plans, the membership state machine and its date arithmetic, and the
//! normalisation that member search relies on. No I/O; dates come from arguments.

pub mod dates;
pub mod membership;
pub mod plan;
pub mod search;
