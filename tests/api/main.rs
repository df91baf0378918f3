//! The black-box suite: one binary, a module per concern. Every test spawns the real `tessera` binary on a fresh
//! database of the backend named by `TESSERA_TEST_BACKEND`.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

mod audit;
mod auth;
mod backup;
mod bad_input;
mod billing;
mod billing_async;
mod billing_stripe;
mod body;
mod cli;
mod console;
mod conventions;
mod devices;
mod door_memory;
mod door_writes;
mod email;
mod events;
mod idempotency;
mod isolation;
mod jobs;
mod master_key;
mod members;
mod memberships;
mod openapi;
mod personal_data;
mod reports;
mod scheduling;
mod scheduling_classes;
mod scheduling_demo;
mod schema;
mod staff;
mod storage;
mod tenants;
mod webhooks;
