//! Members: search, walk-in enrolment, profiles, notes, households; sign-up; the caller's own profile.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use chrono::NaiveDate;
use serde::{Deserialize, Deserializer};
use tessera_app::members::notes::NoteView;
use tessera_app::members::search::MemberQuery;
use tessera_app::members::signup::SignedUp;
use tessera_app::members::{
    Address, ConsentInput, EmergencyContact, MemberChanges, MemberFields, MemberSummary, MemberView,
};
use tessera_app::pagination::{Page, PageRequest};
use tessera_app::App;

use crate::extract::{ApiJson, ApiQuery, PublicCtx, RealmCaller};
use crate::problem::{ApiError, Problem};

/// Search parameters.
#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SearchQuery {
    /// Names, e-mail, phone or card number; accents and case ignored, every word a prefix.
    pub q: Option<String>,
    /// `active`, `inactive` or `blocked`.
    pub status: Option<String>,
    /// A tag.
    pub tag: Option<String>,
    /// Rows per page, 1 to 100 (default 20).
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// A new member's profile.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MemberRequest {
    /// E-mail address.
    pub email: Option<String>,
    /// Given name.
    pub given_name: String,
    /// Family name.
    pub family_name: String,
    /// Phone.
    pub phone: Option<String>,
    /// Birth date.
    #[schema(value_type = Option<String>, format = Date)]
    pub birth_date: Option<NaiveDate>,
    /// Postal address.
    pub address: Option<Address>,
    /// Emergency contact.
    pub emergency_contact: Option<EmergencyContact>,
    /// Preferred locale.
    pub locale: Option<String>,
    /// Tags (staff).
    #[serde(default)]
    pub tags: Vec<String>,
    /// Consents given.
    #[serde(default)]
    pub consents: Vec<ConsentInput>,
    /// Walk-in only: e-mail a link to choose a password.
    #[serde(default)]
    pub send_invite: bool,
}

impl MemberRequest {
    fn fields(self) -> (MemberFields, bool) {
        (
            MemberFields {
                email: self.email,
                given_name: self.given_name,
                family_name: self.family_name,
                phone: self.phone,
                birth_date: self.birth_date,
                address: self.address,
                emergency_contact: self.emergency_contact,
                locale: self.locale,
                tags: self.tags,
                consents: self.consents,
            },
            self.send_invite,
        )
    }
}

/// A sign-up.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignUpRequest {
    /// E-mail address (verified by a link).
    pub email: String,
    /// Password.
    pub password: String,
    /// Given name.
    pub given_name: String,
    /// Family name.
    pub family_name: String,
    /// Phone.
    pub phone: Option<String>,
    /// Birth date (18 or older).
    #[schema(value_type = Option<String>, format = Date)]
    pub birth_date: Option<NaiveDate>,
    /// Preferred locale.
    pub locale: Option<String>,
    /// Consents given.
    #[serde(default)]
    pub consents: Vec<ConsentInput>,
}

/// Changes; absent fields are kept, `null` clears an optional one.
#[derive(Deserialize, utoipa::ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct MemberPatch {
    /// Given name.
    pub given_name: Option<String>,
    /// Family name.
    pub family_name: Option<String>,
    /// Phone, or null.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub phone: Option<Option<String>>,
    /// Birth date, or null.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, format = Date)]
    pub birth_date: Option<Option<NaiveDate>>,
    /// Address, or null.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Address>)]
    pub address: Option<Option<Address>>,
    /// Emergency contact, or null.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<EmergencyContact>)]
    pub emergency_contact: Option<Option<EmergencyContact>>,
    /// Photo file id, or null.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub photo_file_id: Option<Option<String>>,
    /// Locale.
    pub locale: Option<String>,
    /// Tags (staff; replaces them all).
    pub tags: Option<Vec<String>>,
    /// `active`, `inactive` or `blocked` (staff).
    pub status: Option<String>,
    /// New consent decisions, each recorded with its time.
    #[serde(default)]
    pub consents: Vec<ConsentInput>,
}

impl From<MemberPatch> for MemberChanges {
    fn from(p: MemberPatch) -> Self {
        MemberChanges {
            given_name: p.given_name,
            family_name: p.family_name,
            phone: p.phone,
            birth_date: p.birth_date,
            address: p.address,
            emergency_contact: p.emergency_contact,
            photo_file_id: p.photo_file_id,
            locale: p.locale,
            tags: p.tags,
            status: p.status,
            consents: p.consents,
        }
    }
}

/// Tells an absent field (`None`) from an explicit `null` (`Some(None)`).
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// A note.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NoteRequest {
    /// Text, 1 to 4000 characters.
    pub body: String,
}

/// `GET /api/v1/members`: search the brand's members.
#[utoipa::path(get, path = "/api/v1/members", tag = "members", security(("bearer" = [])), params(SearchQuery),
    responses((status = 200, body = Page<MemberSummary>), (status = 403, body = Problem)))]
pub async fn search_members(
    State(app): State<App>,
    caller: RealmCaller,
    ApiQuery(query): ApiQuery<SearchQuery>,
) -> Result<Json<Page<MemberSummary>>, ApiError> {
    let page = PageRequest::parse(query.limit, query.cursor.as_deref())?;
    let query = MemberQuery {
        q: query.q,
        status: query.status,
        tag: query.tag,
    };
    Ok(Json(app.search_members(&caller.0, query, page).await?))
}

/// `POST /api/v1/members`: enrol a walk-in client at the desk.
#[utoipa::path(post, path = "/api/v1/members", tag = "members", security(("bearer" = [])), request_body = MemberRequest,
    responses((status = 201, body = MemberView), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn enrol_member(
    State(app): State<App>,
    caller: RealmCaller,
    body: ApiJson<MemberRequest>,
) -> Result<(StatusCode, Json<MemberView>), ApiError> {
    let (fields, invite) = body.value.fields();
    Ok((
        StatusCode::CREATED,
        Json(app.enrol_walk_in(&caller.0, fields, invite).await?),
    ))
}

/// `POST /api/v1/members/signup`: a person signs up on the brand (no token); a verification link is e-mailed.
#[utoipa::path(post, path = "/api/v1/members/signup", tag = "members", request_body = SignUpRequest,
    responses((status = 201, body = SignedUp), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn sign_up(
    State(app): State<App>,
    PublicCtx(ctx): PublicCtx,
    body: ApiJson<SignUpRequest>,
) -> Result<(StatusCode, Json<SignedUp>), ApiError> {
    let r = body.value;
    let fields = MemberFields {
        email: Some(r.email),
        given_name: r.given_name,
        family_name: r.family_name,
        phone: r.phone,
        birth_date: r.birth_date,
        locale: r.locale,
        consents: r.consents,
        ..MemberFields::default()
    };
    Ok((
        StatusCode::CREATED,
        Json(app.sign_up(&ctx, fields, &r.password).await?),
    ))
}

/// `GET /api/v1/members/{id}`: one member (staff, the member, their guardian).
#[utoipa::path(get, path = "/api/v1/members/{id}", tag = "members", security(("bearer" = [])),
    params(("id" = String, Path, description = "Member (account) id")),
    responses((status = 200, body = MemberView), (status = 404, body = Problem)))]
pub async fn get_member(
    State(app): State<App>,
    caller: RealmCaller,
    Path(id): Path<String>,
) -> Result<Json<MemberView>, ApiError> {
    Ok(Json(app.get_member(&caller.0, &id).await?))
}

/// `PATCH /api/v1/members/{id}`: change a member.
#[utoipa::path(patch, path = "/api/v1/members/{id}", tag = "members", security(("bearer" = [])), request_body = MemberPatch,
    params(("id" = String, Path, description = "Member (account) id")),
    responses((status = 200, body = MemberView), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn update_member(
    State(app): State<App>,
    caller: RealmCaller,
    Path(id): Path<String>,
    body: ApiJson<MemberPatch>,
) -> Result<Json<MemberView>, ApiError> {
    Ok(Json(
        app.update_member(&caller.0, &id, body.value.into()).await?,
    ))
}

/// `GET /api/v1/members/{id}/notes`: staff notes on a member.
#[utoipa::path(get, path = "/api/v1/members/{id}/notes", tag = "members", security(("bearer" = [])),
    params(("id" = String, Path, description = "Member (account) id")),
    responses((status = 200, body = Vec<NoteView>), (status = 404, body = Problem)))]
pub async fn list_notes(
    State(app): State<App>,
    caller: RealmCaller,
    Path(id): Path<String>,
) -> Result<Json<Vec<NoteView>>, ApiError> {
    Ok(Json(app.member_notes(&caller.0, &id).await?))
}

/// `POST /api/v1/members/{id}/notes`: add a note.
#[utoipa::path(post, path = "/api/v1/members/{id}/notes", tag = "members", security(("bearer" = [])), request_body = NoteRequest,
    params(("id" = String, Path, description = "Member (account) id")),
    responses((status = 201, body = NoteView), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn add_note(
    State(app): State<App>,
    caller: RealmCaller,
    Path(id): Path<String>,
    body: ApiJson<NoteRequest>,
) -> Result<(StatusCode, Json<NoteView>), ApiError> {
    Ok((
        StatusCode::CREATED,
        Json(
            app.add_member_note(&caller.0, &id, &body.value.body)
                .await?,
        ),
    ))
}

/// `POST /api/v1/members/{id}/dependants`: add a minor to a member's household (staff or the guardian).
#[utoipa::path(post, path = "/api/v1/members/{id}/dependants", tag = "members", security(("bearer" = [])), request_body = MemberRequest,
    params(("id" = String, Path, description = "The guardian's id")),
    responses((status = 201, body = MemberView), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn add_dependant(
    State(app): State<App>,
    caller: RealmCaller,
    Path(id): Path<String>,
    body: ApiJson<MemberRequest>,
) -> Result<(StatusCode, Json<MemberView>), ApiError> {
    let (fields, _) = body.value.fields();
    Ok((
        StatusCode::CREATED,
        Json(app.add_dependant(&caller.0, Some(&id), fields).await?),
    ))
}

/// `GET /api/v1/me/profile`: the caller's member profile.
#[utoipa::path(get, path = "/api/v1/me/profile", tag = "me", security(("bearer" = [])),
    responses((status = 200, body = MemberView), (status = 404, body = Problem)))]
pub async fn my_profile(
    State(app): State<App>,
    caller: RealmCaller,
) -> Result<Json<MemberView>, ApiError> {
    Ok(Json(app.my_profile(&caller.0).await?))
}

/// `PATCH /api/v1/me/profile`: change one's own profile and consents.
#[utoipa::path(patch, path = "/api/v1/me/profile", tag = "me", security(("bearer" = [])), request_body = MemberPatch,
    responses((status = 200, body = MemberView), (status = 422, body = Problem)))]
pub async fn update_my_profile(
    State(app): State<App>,
    caller: RealmCaller,
    body: ApiJson<MemberPatch>,
) -> Result<Json<MemberView>, ApiError> {
    Ok(Json(
        app.update_my_profile(&caller.0, body.value.into()).await?,
    ))
}

/// `GET /api/v1/me/dependants`: the minors of the caller's household.
#[utoipa::path(get, path = "/api/v1/me/dependants", tag = "me", security(("bearer" = [])),
    responses((status = 200, body = Vec<MemberView>)))]
pub async fn my_dependants(
    State(app): State<App>,
    caller: RealmCaller,
) -> Result<Json<Vec<MemberView>>, ApiError> {
    Ok(Json(app.my_dependants(&caller.0).await?))
}

/// `POST /api/v1/me/dependants`: add a minor to one's household.
#[utoipa::path(post, path = "/api/v1/me/dependants", tag = "me", security(("bearer" = [])), request_body = MemberRequest,
    responses((status = 201, body = MemberView), (status = 422, body = Problem)))]
pub async fn add_my_dependant(
    State(app): State<App>,
    caller: RealmCaller,
    body: ApiJson<MemberRequest>,
) -> Result<(StatusCode, Json<MemberView>), ApiError> {
    let (fields, _) = body.value.fields();
    Ok((
        StatusCode::CREATED,
        Json(app.add_dependant(&caller.0, None, fields).await?),
    ))
}
