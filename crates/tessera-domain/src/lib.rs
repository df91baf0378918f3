//! Pure domain types and rules of Tessera: identifiers, roles and permissions, validated values
//! (e-mail addresses, names, passwords), the tenant configuration model and the clock.
//!
//! Nothing here does I/O; time always comes from a [`clock::Clock`] argument so that the rules can be
//! tested exhaustively without a server.
#![forbid(unsafe_code)]

pub mod access;
pub mod billing;
pub mod body;
pub mod clock;
pub mod field;
pub mod files;
pub mod gym;
pub mod ids;
pub mod money;
pub mod realm;
pub mod role;
pub mod scheduling;
pub mod tenant;
pub mod values;

pub use field::{FieldError, FieldErrors};
