//! Every route, registered with its OpenAPI description in one place.

pub mod access;
pub mod audit;
pub mod auth;
pub mod billing;
pub mod body;
pub mod devices;
pub mod docs;
pub mod events;
pub mod files;
pub mod health;
pub mod jobs;
pub mod me;
pub mod members;
pub mod memberships;
pub mod personal_data;
pub mod plans;
pub mod reports;
pub mod scheduling;
pub mod staff;
pub mod tenants;
pub mod webhooks;

use tessera_app::App;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The API routes and their OpenAPI document.
pub fn api_router() -> OpenApiRouter<App> {
    OpenApiRouter::with_openapi(crate::openapi::ApiDoc::openapi())
        .routes(routes!(health::healthz))
        .routes(routes!(health::readyz))
        .routes(routes!(auth::jwks))
        .routes(routes!(auth::token))
        .routes(routes!(auth::refresh))
        .routes(routes!(auth::logout))
        .routes(routes!(auth::accept_invite))
        .routes(routes!(auth::password_reset))
        .routes(routes!(auth::password_reset_confirm))
        .routes(routes!(me::me))
        .routes(routes!(me::request_email_verification))
        .routes(routes!(auth::verify_email))
        .routes(routes!(audit::list_audit))
        .routes(routes!(staff::list_staff, staff::invite_staff))
        .routes(routes!(staff::get_staff, staff::update_staff))
        .routes(routes!(staff::deactivate_staff))
        .routes(routes!(files::upload_file))
        .routes(routes!(files::download_signed))
        .routes(routes!(files::get_file, files::delete_file))
        .routes(routes!(files::file_content))
        .routes(routes!(files::download_url))
        .routes(routes!(tenants::list_tenants))
        .routes(routes!(tenants::show_tenant))
        .routes(routes!(personal_data::export_mine))
        .routes(routes!(personal_data::export_account))
        .routes(routes!(personal_data::erase_account))
        .routes(routes!(events::events_ws))
        .routes(routes!(events::event_types))
        .routes(routes!(webhooks::list_endpoints, webhooks::create_endpoint))
        .routes(routes!(
            webhooks::get_endpoint,
            webhooks::update_endpoint,
            webhooks::delete_endpoint
        ))
        .routes(routes!(webhooks::rotate_secret))
        .routes(routes!(webhooks::ping_endpoint))
        .routes(routes!(webhooks::list_deliveries))
        .routes(routes!(webhooks::resend_delivery))
        .routes(routes!(jobs::list_jobs))
        .routes(routes!(jobs::retry_job))
        .routes(routes!(
            scheduling::places::list_locations,
            scheduling::places::create_location
        ))
        .routes(routes!(scheduling::places::get_location))
        .routes(routes!(
            scheduling::places::list_rooms,
            scheduling::places::create_room
        ))
        .routes(routes!(
            scheduling::places::list_services,
            scheduling::places::create_service
        ))
        .routes(routes!(
            scheduling::places::get_service,
            scheduling::places::update_service
        ))
        .routes(routes!(scheduling::places::service_slots))
        .routes(routes!(
            scheduling::pros::get_hours,
            scheduling::pros::set_hours
        ))
        .routes(routes!(scheduling::pros::clock_in))
        .routes(routes!(scheduling::pros::clock_out))
        .routes(routes!(scheduling::pros::timesheet))
        .routes(routes!(scheduling::pros::agenda))
        .routes(routes!(scheduling::appointments::book))
        .routes(routes!(scheduling::appointments::get))
        .routes(routes!(scheduling::appointments::reschedule))
        .routes(routes!(scheduling::appointments::cancel))
        .routes(routes!(scheduling::appointments::attendance))
        .routes(routes!(
            scheduling::classes::list_schedules,
            scheduling::classes::create_schedule
        ))
        .routes(routes!(scheduling::classes::generate))
        .routes(routes!(scheduling::classes::list_sessions))
        .routes(routes!(scheduling::classes::get_session))
        .routes(routes!(
            scheduling::classes::list_bookings,
            scheduling::classes::book
        ))
        .routes(routes!(scheduling::classes::attendance))
        .routes(routes!(scheduling::classes::get_booking))
        .routes(routes!(scheduling::classes::cancel_booking))
        .routes(routes!(scheduling::classes::check_in))
        .routes(routes!(scheduling::dashboards::my_bookings))
        .routes(routes!(scheduling::dashboards::member_bookings))
        .routes(routes!(scheduling::dashboards::today))
        .routes(routes!(scheduling::dashboards::issue_feed))
        .routes(routes!(scheduling::dashboards::feed))
        .routes(routes!(members::search_members, members::enrol_member))
        .routes(routes!(members::sign_up))
        .routes(routes!(members::get_member, members::update_member))
        .routes(routes!(members::list_notes, members::add_note))
        .routes(routes!(members::add_dependant))
        .routes(routes!(members::my_profile, members::update_my_profile))
        .routes(routes!(members::my_dependants, members::add_my_dependant))
        .routes(routes!(plans::list_plans, plans::create_plan))
        .routes(routes!(plans::get_plan, plans::update_plan))
        .routes(routes!(
            memberships::list_memberships,
            memberships::sell_membership
        ))
        .routes(routes!(
            memberships::my_memberships,
            memberships::buy_membership
        ))
        .routes(routes!(memberships::get_membership))
        .routes(routes!(memberships::membership_history))
        .routes(routes!(memberships::membership_action))
        .routes(routes!(memberships::freeze_membership))
        .routes(routes!(memberships::unfreeze_membership))
        .routes(routes!(memberships::change_plan))
        .routes(routes!(
            memberships::cancellation_quote,
            memberships::confirm_cancellation
        ))
        .routes(routes!(memberships::withdraw))
        .routes(routes!(devices::create_pairing))
        .routes(routes!(devices::pair_device))
        .routes(routes!(devices::list_devices))
        .routes(routes!(devices::get_device, devices::update_device))
        .routes(routes!(devices::revoke_device))
        .routes(routes!(devices::device_self))
        .routes(routes!(devices::heartbeat))
        .routes(routes!(access::check))
        .routes(routes!(access::allowlist))
        .routes(routes!(access::upload_batch))
        .routes(routes!(access::override_refusal))
        .routes(routes!(access::list_events))
        .routes(routes!(access::occupancy))
        .routes(routes!(access::occupancy_peaks))
        .routes(routes!(
            access::member_credentials,
            access::issue_credential
        ))
        .routes(routes!(access::replace_credential))
        .routes(routes!(access::revoke_credential))
        .routes(routes!(access::credential_image))
        .routes(routes!(access::my_credentials))
        .routes(routes!(access::register_app_key))
        .routes(routes!(body::upload))
        .routes(routes!(body::unmatched))
        .routes(routes!(body::match_measurement))
        .routes(routes!(body::report))
        .routes(routes!(body::member_health))
        .routes(routes!(body::member_scans))
        .routes(routes!(body::set_goal))
        .routes(routes!(body::my_health))
        .routes(routes!(billing::list_invoices, billing::create_invoice))
        .routes(routes!(billing::get_invoice, billing::delete_invoice))
        .routes(routes!(billing::finalise_invoice))
        .routes(routes!(billing::invoice_pdf))
        .routes(routes!(billing::record_payment))
        .routes(routes!(billing::pay_invoice))
        .routes(routes!(billing::send_invoice))
        .routes(routes!(
            billing::list_credit_notes,
            billing::create_credit_note
        ))
        .routes(routes!(billing::my_invoices))
        .routes(routes!(billing::save_payment_method))
        .routes(routes!(billing::list_payments))
        .routes(routes!(billing::refund_payment))
        .routes(routes!(billing::list_refunds))
        .routes(routes!(billing::stripe_webhook))
        .routes(routes!(billing::money_summary))
        .routes(routes!(billing::balances))
        .routes(routes!(billing::revenue))
        .routes(routes!(reports::list_reports))
        .routes(routes!(reports::get_report))
        .routes(routes!(docs::openapi_json))
        .routes(routes!(crate::metrics::metrics))
}
