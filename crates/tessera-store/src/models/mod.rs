//! Rows and the queries over them, one module per table group. Functions over tenant-owned tables take a
//! [`crate::Scoped`] connection and filter by its realm key; functions over group tables take any connection.

pub mod access;
pub mod accounts;
pub mod appointments;
pub mod audit;
pub mod body;
pub mod calendar_feeds;
pub mod classes;
pub mod devices;
pub mod door_facts;
pub mod events;
pub mod files;
pub mod idempotency;
pub mod invoices;
pub mod jobs;
pub mod locations;
pub mod members;
pub mod memberships;
pub mod operators;
pub mod payments;
pub mod personal_data;
pub mod persons;
pub mod plans;
pub mod pro_hours;
pub mod reports;
pub mod schedules;
pub mod sealed;
pub mod services;
pub mod signing_keys;
pub mod tenants;
pub mod tokens;
pub mod webhooks;
