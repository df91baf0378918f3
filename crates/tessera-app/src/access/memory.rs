//! The door desk's memory: the facts of online door decisions that change seldom (devices, locations, credentials,
//! members' profiles, memberships, open invoices, saved cards), kept per brand in this process, so that a group of
//! checks reads from the database only what doors change (presence, entries, used rotating codes).
//!
//! - **Kept current through the database's change log** (`tessera_store::models::door_facts`): triggers log every
//!   change of those tables with a brand-wide version, whichever process or code path made it. Each group first
//!   reads the brand's version (one lookup by key); when it moved past the one the memory holds, the group reads
//!   the changes since and reloads the members they name before deciding. A revoked credential or device, a frozen
//!   membership or a paid invoice counts from the next group on, as when every group read everything.
//! - **Loaded whole in the background** (about a second per 100,000 members): when the server starts, for the
//!   brands with a door; at a brand's first group otherwise; again when more changed at once than is worth
//!   reloading member by member (a billing run) or the log has a gap. Until a load is done, groups read the
//!   database, so that no door waits for it.
//! - **Only what a decision reads** ([`super::door_view`]), about 1.5 KiB per member. The triggers leave out
//!   updates of other columns of memberships, invoices, saved cards and devices (billed-until dates, attempt
//!   counts, last-seen times); the compact forms do not keep them, and the device rows kept may be older in those
//!   columns, which nothing here reads.
//! - **Used by online checks and dry runs only.** An offline upload and a lone staff lookup read the database.
//! - **Off** with `server.door_memory = false`: every group reads every fact.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, PoisonError, RwLock};

use tessera_store::models::access as access_store;
use tessera_store::models::devices::{self, DeviceRow};
use tessera_store::models::door_facts::{self, DoorFactRows, WHOLE_BRAND};
use tessera_store::models::locations::{self, LocationRow};
use tessera_store::models::{invoices, members, memberships, payments};
use tessera_store::{Scoped, TxMode};

use super::door_view::{DoorCredential, DoorInvoice, DoorMembership, DoorProfile, SavedCard};
use crate::{App, AppResult};

/// Most changes a group reloads member by member; past it, the brand is loaded whole.
const MAX_CHANGES: usize = 2_000;

/// Every brand's memory, in this process.
pub(crate) struct DoorMemory {
    enabled: bool,
    brands: Mutex<HashMap<String, Arc<Brand>>>,
}

/// One brand's memory: none until its first group loads it.
#[derive(Default)]
pub(crate) struct Brand {
    facts: RwLock<Option<BrandFacts>>,
    /// A load is under way.
    loading: std::sync::atomic::AtomicBool,
}

impl DoorMemory {
    /// An empty memory; `enabled` false makes every group read the database.
    pub(crate) fn new(enabled: bool) -> DoorMemory {
        DoorMemory {
            enabled,
            brands: Mutex::new(HashMap::new()),
        }
    }

    fn brand(&self, realm: &str) -> Arc<Brand> {
        let mut brands = self.brands.lock().unwrap_or_else(PoisonError::into_inner);
        // Looked up before inserting: a group's lookup then allocates nothing.
        if let Some(brand) = brands.get(realm) {
            return Arc::clone(brand);
        }
        Arc::clone(brands.entry(realm.to_owned()).or_default())
    }

    /// Where the group reading in `s` finds its seldom-changing facts: the brand's memory, brought up to the
    /// database's last change first, or the database itself when memory is off or being loaded again.
    pub(crate) fn recall(&self, app: &App, s: &mut Scoped<'_>) -> AppResult<Known> {
        if !self.enabled {
            return Ok(Known::Database);
        }
        let brand = self.brand(s.realm_key());
        let held = read(&brand.facts).as_ref().map(|f| f.version);
        let Some(held) = held else {
            load_in_background(app, s.realm_key(), &brand);
            return Ok(Known::Database);
        };
        // The version alone first: a lookup by key, which PostgreSQL runs from a kept plan (it would plan the
        // changes' range anew on every call), and what most groups need.
        let current = door_facts::version(s)?;
        if current <= held {
            return Ok(Known::Memory(brand));
        }
        let limit = i64::try_from(MAX_CHANGES + 1).unwrap_or(i64::MAX);
        let changes = door_facts::changes_since(s, held, limit)?;
        // Versions missing from the log (pruned, or an operator's hand) or too many changes: load the brand whole.
        let mut last = held;
        let contiguous = changes.iter().all(|(v, _)| {
            let ok = *v == last || *v == last + 1;
            last = *v;
            ok
        });
        let up_to = last;
        if !contiguous || up_to < current || changes.len() > MAX_CHANGES {
            load_in_background(app, s.realm_key(), &brand);
            return Ok(Known::Database);
        }
        let whole_brand = changes.iter().any(|(_, m)| m == WHOLE_BRAND);
        let mut members: Vec<String> = changes
            .into_iter()
            .map(|(_, m)| m)
            .filter(|m| m != WHOLE_BRAND)
            .collect();
        members.sort();
        members.dedup();
        // Read after the changes were: as new as they are, or newer.
        let rows = door_facts::of_members(s, &members)?;
        let places = if whole_brand {
            Some((devices::all(s)?, locations::all(s)?))
        } else {
            None
        };
        let mut facts = brand.facts.write().unwrap_or_else(PoisonError::into_inner);
        // Another group may have brought it further meanwhile; then this one's reading adds nothing.
        if let Some(facts) = facts.as_mut().filter(|f| f.version < up_to) {
            for member in &members {
                facts.forget_member(member);
            }
            facts.add(rows);
            if let Some((devices, locations)) = places {
                facts.set_places(devices, locations);
            }
            facts.version = up_to;
        }
        drop(facts);
        Ok(Known::Memory(brand))
    }
}

impl App {
    /// Loads, in the background, the memory of every brand with a door: the server calls it when it starts.
    pub fn preload_door_memory(&self) {
        if !self.door_memory().enabled {
            return;
        }
        let app = self.clone();
        let started = std::thread::Builder::new()
            .name("door-memory".into())
            .spawn(move || {
                for tenant in app.tenants().all() {
                    let has_door = app.db().scoped(&tenant.id, TxMode::Read, |s| {
                        Ok::<_, crate::AppError>(devices::all(s)?.iter().any(|d| d.kind == "door"))
                    });
                    let brand = app.door_memory().brand(&tenant.id);
                    if matches!(has_door, Ok(true)) && !brand.loading.swap(true, Ordering::AcqRel) {
                        load(&app, &tenant.id, &brand);
                    }
                }
            });
        if let Err(error) = started {
            tracing::warn!(%error, "could not start loading the door memory");
        }
    }
}

/// Loads `brand` whole on a thread of its own, unless a load is under way.
fn load_in_background(app: &App, realm: &str, brand: &Arc<Brand>) {
    if brand.loading.swap(true, Ordering::AcqRel) {
        return;
    }
    let (app, realm, loaded_brand) = (app.clone(), realm.to_owned(), Arc::clone(brand));
    let started = std::thread::Builder::new()
        .name("door-memory".into())
        .spawn(move || load(&app, &realm, &loaded_brand));
    if let Err(error) = started {
        tracing::warn!(%error, "could not start loading the door memory");
        // Left set, the flag would keep the brand's groups on the database for good.
        brand.loading.store(false, Ordering::Release);
    }
}

/// Loads `brand` whole now, and clears its loading flag, whatever the outcome.
fn load(app: &App, realm: &str, brand: &Brand) {
    let started = std::time::Instant::now();
    let loaded = app
        .db()
        .scoped(realm, TxMode::Read, |s| load_whole(s, brand));
    brand.loading.store(false, Ordering::Release);
    match loaded {
        Ok(version) => tracing::info!(
            tenant = %realm,
            version,
            ms = started.elapsed().as_millis(),
            "door memory loaded"
        ),
        Err(error) => tracing::warn!(tenant = %realm, %error, "could not load the door memory"),
    }
}

fn read(facts: &RwLock<Option<BrandFacts>>) -> std::sync::RwLockReadGuard<'_, Option<BrandFacts>> {
    facts.read().unwrap_or_else(PoisonError::into_inner)
}

/// Loads the brand's facts whole into `brand`, unless it holds a newer version meanwhile; returns the version
/// read.
fn load_whole(s: &mut Scoped<'_>, brand: &Brand) -> AppResult<i64> {
    // The version first: every row read after it is as new as it, or newer (later changes are reloaded again).
    let version = door_facts::version(s)?;
    let mut facts = BrandFacts::new(version);
    facts.add(door_facts::of_brand(s)?);
    facts.set_places(devices::all(s)?, locations::all(s)?);
    let mut held = brand.facts.write().unwrap_or_else(PoisonError::into_inner);
    if held.as_ref().is_none_or(|f| f.version <= version) {
        *held = Some(facts);
    }
    Ok(version)
}

/// A brand's facts, as of `version` of its change log, in the compact form a decision reads ([`super::door_view`]).
#[derive(Default)]
pub(crate) struct BrandFacts {
    version: i64,
    devices: HashMap<String, DeviceRow>,
    locations: HashMap<String, LocationRow>,
    /// By id.
    credentials: HashMap<String, Arc<DoorCredential>>,
    /// Credentials by kind, then value (a value can be issued again after a revocation, so a value may name
    /// several): a door's lookup by the strings it holds, with no key to build.
    by_value: HashMap<String, HashMap<String, Vec<Arc<DoorCredential>>>>,
    /// Credentials by member.
    credentials_of: HashMap<String, Vec<Arc<DoorCredential>>>,
    profiles: HashMap<String, Arc<DoorProfile>>,
    /// By member, newest first.
    memberships: HashMap<String, Vec<Arc<DoorMembership>>>,
    /// By membership.
    open_invoices: HashMap<String, Vec<Arc<DoorInvoice>>>,
    /// The memberships each member's open invoices are filed under.
    invoices_of: HashMap<String, Vec<String>>,
    saved_cards: HashMap<String, SavedCard>,
}

impl BrandFacts {
    fn new(version: i64) -> BrandFacts {
        BrandFacts {
            version,
            ..BrandFacts::default()
        }
    }

    fn set_places(&mut self, devices: Vec<DeviceRow>, locations: Vec<LocationRow>) {
        self.devices = devices.into_iter().map(|d| (d.id.clone(), d)).collect();
        self.locations = locations.into_iter().map(|l| (l.id.clone(), l)).collect();
    }

    fn add(&mut self, rows: DoorFactRows) {
        for c in rows.credentials {
            let c = Arc::new(DoorCredential::from(c));
            self.by_value
                .entry(c.kind.clone())
                .or_default()
                .entry(c.value.clone())
                .or_default()
                .push(Arc::clone(&c));
            self.credentials_of
                .entry(c.member_id.clone())
                .or_default()
                .push(Arc::clone(&c));
            self.credentials.insert(c.id.clone(), c);
        }
        for p in rows.profiles {
            self.profiles
                .insert(p.account_id.clone(), Arc::new(DoorProfile::from(p)));
        }
        for m in rows.memberships.into_iter().filter_map(DoorMembership::of) {
            self.memberships
                .entry(m.account_id.clone())
                .or_default()
                .push(Arc::new(m));
        }
        for i in rows.open_invoices.into_iter().filter_map(DoorInvoice::of) {
            self.invoices_of
                .entry(i.account_id.clone())
                .or_default()
                .push(i.membership_id.clone());
            self.open_invoices
                .entry(i.membership_id.clone())
                .or_default()
                .push(Arc::new(i));
        }
        for card in rows.billing_profiles.into_iter().filter_map(SavedCard::of) {
            self.saved_cards.insert(card.account_id.clone(), card);
        }
    }

    fn forget_member(&mut self, member: &str) {
        for c in self.credentials_of.remove(member).unwrap_or_default() {
            self.credentials.remove(&c.id);
            let Some(of_kind) = self.by_value.get_mut(&c.kind) else {
                continue;
            };
            if let Some(named) = of_kind.get_mut(&c.value) {
                named.retain(|other| other.id != c.id);
                if named.is_empty() {
                    of_kind.remove(&c.value);
                }
            }
        }
        self.profiles.remove(member);
        self.memberships.remove(member);
        for membership in self.invoices_of.remove(member).unwrap_or_default() {
            if let Some(open) = self.open_invoices.get_mut(&membership) {
                open.retain(|i| i.account_id != member);
                if open.is_empty() {
                    self.open_invoices.remove(&membership);
                }
            }
        }
        self.saved_cards.remove(member);
    }
}

/// Where a group finds its seldom-changing facts. Each lookup gives what the same read of the database would.
pub(crate) enum Known {
    /// Read each from the database.
    Database,
    /// From the brand's memory (from the database should another group have dropped it meanwhile).
    Memory(Arc<Brand>),
}

impl Known {
    /// Looks the rows up in memory with `recall`, or reads them from the database with `read_database` when the
    /// brand has no memory (yet).
    fn recall_or_read<T>(
        &self,
        recall: impl FnOnce(&BrandFacts) -> T,
        read_database: impl FnOnce() -> tessera_store::StoreResult<T>,
    ) -> AppResult<T> {
        let recalled = match self {
            Known::Database => None,
            Known::Memory(brand) => read(&brand.facts).as_ref().map(recall),
        };
        match recalled {
            Some(rows) => Ok(rows),
            None => Ok(read_database()?),
        }
    }

    /// Devices by id.
    pub(crate) fn devices(&self, s: &mut Scoped<'_>, ids: &[String]) -> AppResult<Vec<DeviceRow>> {
        self.recall_or_read(|f| pick(&f.devices, ids), || devices::find_many(s, ids))
    }

    /// Locations by id.
    pub(crate) fn locations(
        &self,
        s: &mut Scoped<'_>,
        ids: &[String],
    ) -> AppResult<Vec<LocationRow>> {
        self.recall_or_read(|f| pick(&f.locations, ids), || locations::find_many(s, ids))
    }

    /// For each value, the credential of this kind a door reads (see `access::find_by_values`).
    pub(crate) fn credentials_by_values(
        &self,
        s: &mut Scoped<'_>,
        kind: &str,
        values: &[String],
    ) -> AppResult<Vec<Arc<DoorCredential>>> {
        self.recall_or_read(
            |f| {
                let of_kind = f.by_value.get(kind);
                values
                    .iter()
                    .filter_map(|v| {
                        of_kind?
                            .get(v)?
                            .iter()
                            .max_by_key(|c| access_store::door_rank(c.active, c.created_at))
                            .cloned()
                    })
                    .collect()
            },
            || Ok(compact(access_store::find_by_values(s, kind, values)?)),
        )
    }

    /// Credentials by id.
    pub(crate) fn credentials(
        &self,
        s: &mut Scoped<'_>,
        ids: &[String],
    ) -> AppResult<Vec<Arc<DoorCredential>>> {
        self.recall_or_read(
            |f| pick(&f.credentials, ids),
            || Ok(compact(access_store::find_credentials(s, ids)?)),
        )
    }

    /// Members' profiles.
    pub(crate) fn profiles(
        &self,
        s: &mut Scoped<'_>,
        members: &[String],
    ) -> AppResult<Vec<Arc<DoorProfile>>> {
        self.recall_or_read(
            |f| pick(&f.profiles, members),
            || Ok(compact(members::find_many(s, members)?)),
        )
    }

    /// Members' memberships, each member's newest first.
    pub(crate) fn memberships(
        &self,
        s: &mut Scoped<'_>,
        members: &[String],
    ) -> AppResult<Vec<Arc<DoorMembership>>> {
        self.recall_or_read(
            |f| pick_all(&f.memberships, members),
            || {
                Ok(compact_some(
                    memberships::of_accounts(s, members)?,
                    DoorMembership::of,
                ))
            },
        )
    }

    /// Open invoices of memberships.
    pub(crate) fn open_invoices(
        &self,
        s: &mut Scoped<'_>,
        memberships: &[String],
    ) -> AppResult<Vec<Arc<DoorInvoice>>> {
        self.recall_or_read(
            |f| pick_all(&f.open_invoices, memberships),
            || {
                Ok(compact_some(
                    invoices::open_of_memberships(s, memberships)?,
                    DoorInvoice::of,
                ))
            },
        )
    }

    /// Members' saved cards.
    pub(crate) fn saved_cards(
        &self,
        s: &mut Scoped<'_>,
        members: &[String],
    ) -> AppResult<Vec<SavedCard>> {
        self.recall_or_read(
            |f| pick(&f.saved_cards, members),
            || {
                let rows = payments::profiles(s, members)?;
                Ok(rows.into_iter().filter_map(SavedCard::of).collect())
            },
        )
    }
}

/// Rows read from the database, in the form the memory keeps them.
fn compact<R, T: From<R>>(rows: Vec<R>) -> Vec<Arc<T>> {
    rows.into_iter().map(|r| Arc::new(T::from(r))).collect()
}

/// Rows read from the database, in the form the memory keeps them, those that `of` keeps.
fn compact_some<R, T>(rows: Vec<R>, of: impl Fn(R) -> Option<T>) -> Vec<Arc<T>> {
    rows.into_iter().filter_map(of).map(Arc::new).collect()
}

/// The rows of `keys` found in `map`.
fn pick<R: Clone>(map: &HashMap<String, R>, keys: &[String]) -> Vec<R> {
    keys.iter().filter_map(|k| map.get(k).cloned()).collect()
}

/// Every row filed under `keys` in `map`.
fn pick_all<R: Clone>(map: &HashMap<String, Vec<R>>, keys: &[String]) -> Vec<R> {
    keys.iter()
        .filter_map(|k| map.get(k))
        .flatten()
        .cloned()
        .collect()
}
