//! The diesel schema, written by hand for both backends (the shared subset of SQL types). It must match
//! `migrations/postgres` and `migrations/sqlite`; the black-box test `schemas_match` checks the migrations
//! against each other.
#![allow(missing_docs)]

diesel::table! {
    tenants (id) {
        id -> Text,
        slug -> Text,
        display_name -> Text,
        config_json -> Text,
        config_sha256 -> Text,
        revision -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    tenant_domains (domain) {
        domain -> Text,
        tenant_id -> Text,
    }
}

diesel::table! {
    persons (id) {
        id -> Text,
        email -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    operators (id) {
        id -> Text,
        person_id -> Text,
        email -> Text,
        display_name -> Text,
        password_hash -> Text,
        status -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    accounts (tenant_id, id) {
        tenant_id -> Text,
        id -> Text,
        person_id -> Text,
        email -> Text,
        display_name -> Text,
        password_hash -> Nullable<Text>,
        specialty -> Nullable<Text>,
        status -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        email_verified_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    account_roles (tenant_id, account_id, role) {
        tenant_id -> Text,
        account_id -> Text,
        role -> Text,
    }
}

diesel::table! {
    account_tokens (tenant_id, id) {
        tenant_id -> Text,
        id -> Text,
        account_id -> Text,
        purpose -> Text,
        token_hash -> Text,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    refresh_tokens (tenant_id, id) {
        tenant_id -> Text,
        id -> Text,
        family_id -> Text,
        subject_id -> Text,
        token_hash -> Text,
        status -> Text,
        expires_at -> Timestamp,
        created_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    signing_keys (id) {
        id -> Text,
        algorithm -> Text,
        private_key -> Text,
        public_key -> Text,
        status -> Text,
        created_at -> Timestamp,
        activated_at -> Nullable<Timestamp>,
        retired_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    idempotency_keys (tenant_id, actor_id, idempotency_key) {
        tenant_id -> Text,
        actor_id -> Text,
        idempotency_key -> Text,
        method -> Text,
        path -> Text,
        request_sha256 -> Text,
        status -> Text,
        response_status -> Nullable<Integer>,
        response_body -> Nullable<Text>,
        created_at -> Timestamp,
        expires_at -> Timestamp,
    }
}

diesel::table! {
    member_profiles (tenant_id, account_id) {
        tenant_id -> Text,
        account_id -> Text,
        given_name -> Text,
        family_name -> Text,
        phone -> Nullable<Text>,
        birth_date -> Nullable<Date>,
        address_json -> Nullable<Text>,
        emergency_contact_json -> Nullable<Text>,
        photo_file_id -> Nullable<Text>,
        locale -> Text,
        card_number -> Text,
        member_status -> Text,
        guardian_account_id -> Nullable<Text>,
        source -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    member_consents (tenant_id, id) {
        tenant_id -> Text,
        id -> Text,
        account_id -> Text,
        kind -> Text,
        granted -> Bool,
        text_version -> Text,
        recorded_at -> Timestamp,
        recorded_by -> Nullable<Text>,
    }
}

diesel::table! {
    member_notes (tenant_id, id) {
        tenant_id -> Text,
        id -> Text,
        account_id -> Text,
        author_account_id -> Text,
        body -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    member_tags (tenant_id, account_id, tag) {
        tenant_id -> Text,
        account_id -> Text,
        tag -> Text,
    }
}

diesel::table! {
    member_search_terms (tenant_id, term, account_id) {
        tenant_id -> Text,
        term -> Text,
        account_id -> Text,
    }
}

diesel::table! {
    plans (tenant_id, id) {
        tenant_id -> Text,
        id -> Text,
        code -> Text,
        name -> Text,
        description -> Text,
        translations_json -> Text,
        kind -> Text,
        price_amount -> BigInt,
        currency -> Text,
        billing_period -> Nullable<Text>,
        term_months -> Nullable<Integer>,
        sessions -> Nullable<Integer>,
        commitment_months -> Integer,
        notice_days -> Integer,
        enrolment_fee_amount -> BigInt,
        trial_days -> Integer,
        freeze_max_days_per_year -> Integer,
        access_json -> Text,
        visibility -> Text,
        available_from -> Nullable<Date>,
        available_until -> Nullable<Date>,
        status -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    memberships (tenant_id, id) {
        tenant_id -> Text,
        id -> Text,
        account_id -> Text,
        plan_id -> Text,
        status -> Text,
        plan_name -> Text,
        kind -> Text,
        price_amount -> BigInt,
        currency -> Text,
        billing_period -> Nullable<Text>,
        term_months -> Nullable<Integer>,
        commitment_months -> Integer,
        notice_days -> Integer,
        enrolment_fee_amount -> BigInt,
        trial_days -> Integer,
        freeze_max_days_per_year -> Integer,
        access_json -> Text,
        sessions_total -> Nullable<Integer>,
        sessions_used -> Integer,
        starts_on -> Date,
        commitment_until -> Date,
        ends_on -> Nullable<Date>,
        sold_online -> Bool,
        concluded_at -> Timestamp,
        withdrawal_until -> Nullable<Date>,
        cancel_requested_at -> Nullable<Timestamp>,
        cancel_reason -> Nullable<Text>,
        next_plan_id -> Nullable<Text>,
        next_plan_on -> Nullable<Date>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        billed_until -> Nullable<Date>,
    }
}

diesel::table! {
    membership_freezes (tenant_id, id) {
        tenant_id -> Text,
        id -> Text,
        membership_id -> Text,
        starts_on -> Date,
        ends_on -> Date,
        reason -> Nullable<Text>,
        created_at -> Timestamp,
        cancelled_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    membership_history (tenant_id, id) {
        tenant_id -> Text,
        id -> Text,
        membership_id -> Text,
        action -> Text,
        from_status -> Nullable<Text>,
        to_status -> Text,
        detail_json -> Text,
        actor_id -> Nullable<Text>,
        at -> Timestamp,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    audit_log,
    jobs,
    job_attempts,
    tenants,
    tenant_domains,
    persons,
    operators,
    accounts,
    account_roles,
    account_tokens,
    refresh_tokens,
    signing_keys,
    idempotency_keys,
    events,
    webhook_endpoints,
    webhook_deliveries,
    webhook_attempts,
    schedules,
    files,
    tenant_data_keys,
    member_profiles,
    member_consents,
    member_notes,
    member_tags,
    member_search_terms,
    plans,
    memberships,
    membership_freezes,
    membership_history,
);

diesel::table! {
    audit_log (tenant_id, seq) {
        tenant_id -> Text,
        seq -> BigInt,
        id -> Text,
        at -> Timestamp,
        actor_kind -> Text,
        actor_id -> Nullable<Text>,
        action -> Text,
        target_kind -> Nullable<Text>,
        target_id -> Nullable<Text>,
        request_id -> Nullable<Text>,
        details_json -> Text,
        prev_hash -> Text,
        hash -> Text,
    }
}

diesel::table! {
    jobs (tenant_id, id) {
        tenant_id -> Text,
        id -> Text,
        kind -> Text,
        payload_json -> Text,
        unique_key -> Nullable<Text>,
        status -> Text,
        run_at -> Timestamp,
        attempts -> Integer,
        max_attempts -> Integer,
        locked_by -> Nullable<Text>,
        locked_until -> Nullable<Timestamp>,
        last_error -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        finished_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    job_attempts (tenant_id, job_id, attempt) {
        tenant_id -> Text,
        job_id -> Text,
        attempt -> Integer,
        worker -> Text,
        started_at -> Timestamp,
        finished_at -> Nullable<Timestamp>,
        outcome -> Nullable<Text>,
        error -> Nullable<Text>,
    }
}

diesel::table! {
    events (tenant_id, id) {
        tenant_id -> Text,
        id -> Text,
        seq -> BigInt,
        event_type -> Text,
        subject_account_id -> Nullable<Text>,
        data_json -> Text,
        request_id -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    webhook_endpoints (tenant_id, id) {
        tenant_id -> Text,
        id -> Text,
        url -> Text,
        description -> Nullable<Text>,
        event_types_json -> Text,
        secret_sealed -> Text,
        enabled -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        deleted_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    webhook_deliveries (tenant_id, id) {
        tenant_id -> Text,
        id -> Text,
        endpoint_id -> Text,
        event_id -> Text,
        event_type -> Text,
        status -> Text,
        attempts -> Integer,
        last_status_code -> Nullable<Integer>,
        last_error -> Nullable<Text>,
        next_attempt_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        delivered_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    webhook_attempts (tenant_id, delivery_id, attempt) {
        tenant_id -> Text,
        delivery_id -> Text,
        attempt -> Integer,
        started_at -> Timestamp,
        duration_ms -> Integer,
        status_code -> Nullable<Integer>,
        error -> Nullable<Text>,
    }
}

diesel::table! {
    schedules (tenant_id, name) {
        tenant_id -> Text,
        name -> Text,
        cron -> Text,
        time_zone -> Text,
        job_kind -> Text,
        payload_json -> Text,
        next_run_at -> Timestamp,
        last_run_at -> Nullable<Timestamp>,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    tenant_data_keys (tenant_id, id) {
        tenant_id -> Text,
        id -> Text,
        generation -> Integer,
        wrapped_key -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    files (tenant_id, id) {
        tenant_id -> Text,
        id -> Text,
        purpose -> Text,
        owner_account_id -> Nullable<Text>,
        content_type -> Text,
        size_bytes -> BigInt,
        sha256 -> Text,
        sensitive -> Bool,
        storage_key -> Text,
        data_key_id -> Nullable<Text>,
        chunk_size -> Nullable<Integer>,
        original_filename -> Nullable<Text>,
        created_by -> Text,
        created_at -> Timestamp,
        deleted_at -> Nullable<Timestamp>,
    }
}

// Scheduling (migration 000008).

diesel::table! {
    locations (tenant_id, id) {
        tenant_id -> Text,
        id -> Text,
        name -> Text,
        address -> Nullable<Text>,
        time_zone -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    rooms (tenant_id, id) {
        tenant_id -> Text,
        id -> Text,
        location_id -> Text,
        name -> Text,
        capacity -> Integer,
        created_at -> Timestamp,
    }
}

diesel::table! {
    services (tenant_id, id) {
        tenant_id -> Text,
        id -> Text,
        name -> Text,
        duration_minutes -> Integer,
        buffer_before_minutes -> Integer,
        buffer_after_minutes -> Integer,
        price_amount -> BigInt,
        price_currency -> Text,
        pro_ids_json -> Text,
        mode -> Text,
        room_id -> Nullable<Text>,
        active -> Bool,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    pro_hours (tenant_id, id) {
        tenant_id -> Text,
        id -> Text,
        pro_id -> Text,
        location_id -> Text,
        weekday -> Integer,
        start_minute -> Integer,
        end_minute -> Integer,
    }
}

diesel::table! {
    pro_exceptions (tenant_id, id) {
        tenant_id -> Text,
        id -> Text,
        pro_id -> Text,
        from_date -> Text,
        until_date -> Text,
        reason -> Nullable<Text>,
    }
}

diesel::table! {
    appointments (tenant_id, id) {
        tenant_id -> Text,
        id -> Text,
        service_id -> Text,
        pro_id -> Text,
        member_id -> Text,
        location_id -> Nullable<Text>,
        room_id -> Nullable<Text>,
        starts_at -> Timestamp,
        ends_at -> Timestamp,
        block_start -> Timestamp,
        block_end -> Timestamp,
        status -> Text,
        price_amount -> BigInt,
        price_currency -> Text,
        membership_id -> Nullable<Text>,
        fee_amount -> Nullable<BigInt>,
        fee_currency -> Nullable<Text>,
        created_by -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        cancelled_at -> Nullable<Timestamp>,
        attendance_at -> Nullable<Timestamp>,
        invoice_id -> Nullable<Text>,
        hold_until -> Nullable<Timestamp>,
    }
}

diesel::table! {
    class_schedules (tenant_id, id) {
        tenant_id -> Text,
        id -> Text,
        class_type -> Text,
        pro_id -> Text,
        location_id -> Text,
        room_id -> Text,
        capacity -> Integer,
        weekday -> Integer,
        start_minute -> Integer,
        duration_minutes -> Integer,
        valid_from -> Text,
        valid_until -> Nullable<Text>,
        active -> Bool,
        created_at -> Timestamp,
    }
}

diesel::table! {
    class_sessions (tenant_id, id) {
        tenant_id -> Text,
        id -> Text,
        schedule_id -> Text,
        class_type -> Text,
        pro_id -> Text,
        location_id -> Text,
        room_id -> Text,
        starts_at -> Timestamp,
        ends_at -> Timestamp,
        capacity -> Integer,
        next_seq -> BigInt,
        status -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    class_bookings (tenant_id, id) {
        tenant_id -> Text,
        id -> Text,
        session_id -> Text,
        member_id -> Text,
        status -> Text,
        seq -> BigInt,
        membership_id -> Nullable<Text>,
        consumed -> Bool,
        price_amount -> BigInt,
        price_currency -> Text,
        fee_amount -> Nullable<BigInt>,
        fee_currency -> Nullable<Text>,
        created_by -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        cancelled_at -> Nullable<Timestamp>,
        checked_in_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    calendar_feeds (tenant_id, account_id) {
        tenant_id -> Text,
        account_id -> Text,
        token_hash -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    clock_entries (tenant_id, id) {
        tenant_id -> Text,
        id -> Text,
        pro_id -> Text,
        clock_in_at -> Timestamp,
        clock_out_at -> Nullable<Timestamp>,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    locations,
    rooms,
    services,
    pro_hours,
    pro_exceptions,
    appointments,
    class_schedules,
    class_sessions,
    class_bookings,
    calendar_feeds,
    clock_entries,
);

diesel::table! {
    invoice_sequences (tenant_id, series) {
        tenant_id -> Text,
        series -> Text,
        last_value -> BigInt,
    }
}

diesel::table! {
    billing_profiles (tenant_id, account_id) {
        tenant_id -> Text,
        account_id -> Text,
        provider -> Text,
        customer_ref -> Nullable<Text>,
        payment_method_ref -> Nullable<Text>,
        method_kind -> Nullable<Text>,
        card_brand -> Nullable<Text>,
        card_last4 -> Nullable<Text>,
        card_exp_month -> Nullable<Integer>,
        card_exp_year -> Nullable<Integer>,
        expiry_notified_on -> Nullable<Date>,
        company_json -> Nullable<Text>,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    invoices (tenant_id, id) {
        tenant_id -> Text,
        id -> Text,
        kind -> Text,
        status -> Text,
        number -> Nullable<Text>,
        series -> Nullable<Text>,
        sequence_no -> Nullable<BigInt>,
        account_id -> Text,
        payer_account_id -> Text,
        buyer_json -> Text,
        membership_id -> Nullable<Text>,
        billing_key -> Nullable<Text>,
        corrects_invoice_id -> Nullable<Text>,
        currency -> Text,
        total_excl -> BigInt,
        total_vat -> BigInt,
        total_incl -> BigInt,
        amount_paid -> BigInt,
        amount_credited -> BigInt,
        locale -> Text,
        issued_on -> Nullable<Date>,
        due_on -> Nullable<Date>,
        period_start -> Nullable<Date>,
        period_end -> Nullable<Date>,
        pdf_file_id -> Nullable<Text>,
        dunning_started_on -> Nullable<Date>,
        attempts -> Integer,
        created_by -> Nullable<Text>,
        created_at -> Timestamp,
        finalised_at -> Nullable<Timestamp>,
        paid_at -> Nullable<Timestamp>,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    invoice_lines (tenant_id, invoice_id, position) {
        tenant_id -> Text,
        invoice_id -> Text,
        position -> Integer,
        item -> Text,
        description -> Text,
        goods -> Bool,
        quantity -> BigInt,
        unit_price -> BigInt,
        vat_code -> Text,
        vat_rate_bps -> BigInt,
        exemption_note -> Nullable<Text>,
        net_amount -> BigInt,
    }
}

diesel::table! {
    payments (tenant_id, id) {
        tenant_id -> Text,
        id -> Text,
        invoice_id -> Text,
        account_id -> Text,
        provider -> Text,
        method -> Text,
        status -> Text,
        amount -> BigInt,
        currency -> Text,
        attempt -> Integer,
        idempotency_key -> Text,
        provider_ref -> Nullable<Text>,
        client_secret -> Nullable<Text>,
        failure_code -> Nullable<Text>,
        failure_message -> Nullable<Text>,
        refunded_amount -> BigInt,
        recorded_by -> Nullable<Text>,
        note -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        settled_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    refunds (tenant_id, id) {
        tenant_id -> Text,
        id -> Text,
        payment_id -> Text,
        invoice_id -> Text,
        credit_note_id -> Nullable<Text>,
        amount -> BigInt,
        currency -> Text,
        status -> Text,
        provider_ref -> Nullable<Text>,
        reason -> Nullable<Text>,
        created_by -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    stripe_events (tenant_id, event_id) {
        tenant_id -> Text,
        event_id -> Text,
        event_type -> Text,
        object_id -> Text,
        received_at -> Timestamp,
    }
}

diesel::table! {
    billing_notices (tenant_id, membership_id, kind, day) {
        tenant_id -> Text,
        membership_id -> Text,
        kind -> Text,
        day -> Date,
        created_at -> Timestamp,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    invoices,
    invoice_lines,
    payments,
    refunds,
    memberships,
    billing_profiles,
);

diesel::table! {
    devices (tenant_id, id) {
        tenant_id -> Text,
        id -> Text,
        kind -> Text,
        name -> Text,
        location_id -> Nullable<Text>,
        status -> Text,
        secret_hash -> Text,
        anti_passback -> Bool,
        nfc_byte_order -> Text,
        firmware -> Nullable<Text>,
        app_version -> Nullable<Text>,
        last_seen_at -> Nullable<Timestamp>,
        config_version -> BigInt,
        paired_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    device_pairings (tenant_id, id) {
        tenant_id -> Text,
        id -> Text,
        code_hash -> Text,
        kind -> Text,
        name -> Text,
        location_id -> Nullable<Text>,
        anti_passback -> Bool,
        nfc_byte_order -> Text,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
        device_id -> Nullable<Text>,
        created_by -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    access_credentials (tenant_id, id) {
        tenant_id -> Text,
        id -> Text,
        member_id -> Text,
        kind -> Text,
        value -> Text,
        status -> Text,
        label -> Nullable<Text>,
        replaced_by -> Nullable<Text>,
        created_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    access_events (tenant_id, id) {
        tenant_id -> Text,
        id -> Text,
        device_id -> Nullable<Text>,
        location_id -> Nullable<Text>,
        member_id -> Nullable<Text>,
        credential_id -> Nullable<Text>,
        credential_kind -> Text,
        direction -> Text,
        decision -> Text,
        reason -> Nullable<Text>,
        source -> Text,
        client_event_id -> Nullable<Text>,
        flagged -> Bool,
        flag_reason -> Nullable<Text>,
        override_of -> Nullable<Text>,
        override_by -> Nullable<Text>,
        override_reason -> Nullable<Text>,
        occurred_at -> Timestamp,
        recorded_at -> Timestamp,
    }
}

diesel::table! {
    access_presence (tenant_id, location_id, member_id) {
        tenant_id -> Text,
        location_id -> Text,
        member_id -> Text,
        entered_at -> Timestamp,
        device_id -> Nullable<Text>,
    }
}

diesel::table! {
    access_qr_uses (tenant_id, credential_id, issued_at) {
        tenant_id -> Text,
        credential_id -> Text,
        issued_at -> BigInt,
        device_id -> Nullable<Text>,
        used_at -> Timestamp,
    }
}

diesel::table! {
    access_versions (tenant_id) {
        tenant_id -> Text,
        version -> BigInt,
    }
}

diesel::table! {
    access_changes (tenant_id, version) {
        tenant_id -> Text,
        version -> BigInt,
        member_id -> Text,
        changed_at -> Timestamp,
    }
}

diesel::table! {
    door_fact_versions (tenant_id) {
        tenant_id -> Text,
        version -> BigInt,
    }
}

diesel::table! {
    door_fact_changes (tenant_id, version, member_id) {
        tenant_id -> Text,
        version -> BigInt,
        member_id -> Text,
    }
}

diesel::table! {
    body_measurements (tenant_id, id) {
        tenant_id -> Text,
        id -> Text,
        member_id -> Nullable<Text>,
        status -> Text,
        source -> Text,
        format -> Text,
        device_id -> Nullable<Text>,
        uploaded_by -> Nullable<Text>,
        member_hint -> Nullable<Text>,
        measured_at -> Timestamp,
        data_key_id -> Text,
        sealed -> Text,
        created_at -> Timestamp,
        matched_at -> Nullable<Timestamp>,
        matched_by -> Nullable<Text>,
    }
}

diesel::table! {
    body_goals (tenant_id, id) {
        tenant_id -> Text,
        id -> Text,
        member_id -> Text,
        metric -> Text,
        target_milli -> BigInt,
        due_on -> Nullable<Date>,
        set_by -> Text,
        created_at -> Timestamp,
    }
}
