//! Demo devices of a gym brand (`tessera demo`): a door, a front-desk kiosk and a body analyser paired at the
//! brand's first location, a printed card for every demo member, and each member's first pass through the door,
//! so the desk's screens, the console's check-ins and the reports have something to show. Everything goes
//! through the services the API uses (pairing codes exchanged like a real device's, decisions taken by the door's
//! own rules); only a brand without devices gets them, so a second run keeps everything.

use tessera_domain::access::Direction;
use tessera_store::models::{devices, locations, members};
use tessera_store::TxMode;

use super::credentials::IssueCredential;
use super::{CheckRequest, CredentialInput};
use crate::devices::{DeviceKind, PairDevice, PairingRequest};
use crate::{Actor, ActorKind, App, AppError, AppResult, Ctx};

/// What the demo made for a brand.
#[derive(Debug, Default, Clone, Copy)]
pub struct DemoDevices {
    /// Devices paired.
    pub devices: usize,
    /// Cards issued.
    pub cards: usize,
    /// Door decisions taken (check-ins and refusals).
    pub passes: usize,
}

/// The devices paired, by kind and name.
const DEVICES: [(DeviceKind, &str); 3] = [
    (DeviceKind::Door, "Entrée"),
    (DeviceKind::Kiosk, "Accueil"),
    (DeviceKind::BodyAnalyzer, "Tanita BC-601"),
];

impl App {
    /// Pairs the demo devices of the brand `slug` (acting as its demo admin `admin_email`) and lets its demo
    /// members in once; nothing when the brand has devices or no location yet.
    pub async fn seed_demo_devices(&self, slug: &str, admin_email: &str) -> AppResult<DemoDevices> {
        let admin = &self.demo_admin(slug, admin_email).await?;
        let (tenant, _) = crate::scheduling::tenant_of(self, admin)?;
        let (location, member_ids) = self
            .blocking(move |db| {
                db.scoped(&tenant, TxMode::Read, |s| {
                    if !devices::all(s)?.is_empty() {
                        return Ok((None, Vec::new()));
                    }
                    let location = locations::all(s)?.into_iter().next();
                    let members = members::search(s, &[], ' ', None, None, None, 100)?;
                    Ok::<_, AppError>((location, members))
                })
            })
            .await?;
        let Some(location) = location else {
            return Ok(DemoDevices::default());
        };
        let mut made = DemoDevices::default();
        let mut door = None;
        for (kind, name) in DEVICES {
            let code = self
                .create_pairing(
                    admin,
                    PairingRequest {
                        kind,
                        name: Some(format!("{name} {}", location.name)),
                        location_id: Some(location.id.clone()),
                        anti_passback: Some(kind == DeviceKind::Door),
                        nfc_byte_order: None,
                    },
                )
                .await?;
            let unauthenticated = Ctx::cli(admin.realm.clone());
            let paired = self
                .pair_device(
                    &unauthenticated,
                    PairDevice {
                        code: code.code,
                        firmware: Some("demo".into()),
                        app_version: Some(env!("CARGO_PKG_VERSION").into()),
                    },
                )
                .await?;
            made.devices += 1;
            if kind == DeviceKind::Door {
                door = Some(paired.device.id);
            }
        }
        let door = door.map(|id| Ctx {
            actor: Some(Actor {
                subject_id: id,
                kind: ActorKind::Device,
            }),
            ..Ctx::cli(admin.realm.clone())
        });
        for member in member_ids {
            let card = self
                .issue_credential(admin, &member, IssueCredential::default())
                .await?;
            made.cards += 1;
            let Some(door) = &door else { continue };
            let check = CheckRequest {
                credential: CredentialInput {
                    kind: "barcode".into(),
                    value: card.value,
                    encoding: None,
                },
                direction: Direction::In,
                dry_run: false,
            };
            // Members without a valid membership are refused: the feed shows a denial with its reason.
            self.check_access(door, check).await?;
            made.passes += 1;
        }
        // The passes are answered before they are written: the demo's feed shows them once written.
        if let Some(tenant) = admin.realm.tenant_id() {
            self.door_records_written(tenant).await;
        }
        Ok(made)
    }
}
