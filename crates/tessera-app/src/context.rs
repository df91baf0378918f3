//! The context every service receives: which realm the request is for and who is acting.

use std::net::IpAddr;

use tessera_domain::realm::Realm;

/// Whose token it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActorKind {
    /// An account of a brand.
    Account,
    /// A group-level operator.
    Operator,
    /// A paired device (door, kiosk, body analyser), with its own credential from pairing.
    Device,
}

/// An authenticated caller, from a verified access token.
#[derive(Debug, Clone)]
pub struct Actor {
    /// Account or operator id (the token's `sub`).
    pub subject_id: String,
    /// Account or operator.
    pub kind: ActorKind,
}

/// One request's context.
#[derive(Debug, Clone)]
pub struct Ctx {
    /// The realm of the host the request came to.
    pub realm: Realm,
    /// The caller, when a valid token came with the request.
    pub actor: Option<Actor>,
    /// The request id, for logs and the audit trail.
    pub request_id: String,
    /// The client's address, for throttling.
    pub client_ip: Option<IpAddr>,
}

impl Ctx {
    /// A context for work started from the command line in a realm, with no caller.
    pub fn cli(realm: Realm) -> Ctx {
        Ctx {
            realm,
            actor: None,
            request_id: tessera_domain::ids::IdKind::Request.new_id(),
            client_ip: None,
        }
    }
}
