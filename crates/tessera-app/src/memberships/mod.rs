//! Memberships: a member on a plan with a contract, its state machine, freezes, plan changes, cancellation
//! and withdrawal, and what it entitles the member to book.

pub mod entitlement;
