//! Black-box tests of stripe-fake, driven through async-stripe's own client and its webhook verification,
//! so the shapes are checked by the library Tessera uses.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod cli;
mod common;
mod control;
mod customers;
mod payments;
mod webhooks;
