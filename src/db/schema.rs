// Diesel table definitions, kept by hand in step with `migrations/`.
// Generated columns that the app only reads (promo_codes.code_key) are
// listed.

diesel::table! {
    brands (id) {
        id -> Int8,
        name -> Text,
        api_account_sid -> Text,
        created_at -> Timestamptz,
        lists_version -> Int8,
    }
}

diesel::table! {
    users (brand_id, id) {
        brand_id -> Int8,
        id -> Int8,
        email -> Text,
        name -> Text,
        role -> Text,
        password_hash -> Text,
        auth_version -> Int4,
        created_at -> Timestamptz,
        last_login_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    programs (brand_id, id) {
        brand_id -> Int8,
        id -> Int8,
        name -> Text,
        time_zone -> Text,
        currency -> Text,
        landing_url -> Text,
        referral_window_days -> Int4,
        tracking_enabled -> Bool,
        locking_days -> Int4,
        created_at -> Timestamptz,
        codes_version -> Int8,
    }
}

diesel::table! {
    partners (brand_id, id) {
        brand_id -> Int8,
        id -> Int8,
        media_id -> Int8,
        name -> Text,
        status -> Text,
        credit_group -> Text,
        payout_percent -> Nullable<Numeric>,
        payout_flat -> Nullable<Numeric>,
        email -> Nullable<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    deals (brand_id, id) {
        brand_id -> Int8,
        id -> Int8,
        program_id -> Int8,
        name -> Text,
        kind -> Text,
        value -> Nullable<Numeric>,
        currency -> Nullable<Text>,
        created_at -> Timestamptz,
    }
}

diesel::table! {
    promo_codes (brand_id, id) {
        brand_id -> Int8,
        id -> Int8,
        program_id -> Int8,
        code -> Text,
        code_type -> Text,
        partner_id -> Nullable<Int8>,
        credit_rule -> Nullable<Text>,
        match_mode -> Text,
        deal_id -> Nullable<Int8>,
        active_start -> Nullable<Timestamptz>,
        active_end -> Nullable<Timestamptz>,
        time_zone -> Text,
        payout_percent -> Nullable<Numeric>,
        payout_flat -> Nullable<Numeric>,
        comments -> Text,
        created_by -> Nullable<Int8>,
        created_at -> Timestamptz,
        updated_by -> Nullable<Int8>,
        updated_at -> Timestamptz,
        code_key -> Text,
        upload_id -> Nullable<Int8>,
    }
}

diesel::table! {
    code_history (brand_id, id) {
        brand_id -> Int8,
        id -> Int8,
        code_id -> Int8,
        changed_at -> Timestamptz,
        changed_by -> Nullable<Int8>,
        action -> Text,
        changes -> Jsonb,
    }
}

diesel::table! {
    clicks (brand_id, id) {
        brand_id -> Int8,
        id -> Int8,
        program_id -> Int8,
        partner_id -> Int8,
        clicked_at -> Timestamptz,
        referrer -> Nullable<Text>,
        token -> Text,
        visitor_id -> Text,
        user_agent -> Nullable<Text>,
    }
}

diesel::table! {
    actions (brand_id, id) {
        brand_id -> Int8,
        id -> Int8,
        program_id -> Int8,
        order_id -> Text,
        event_date -> Timestamptz,
        entered_codes -> Array<Text>,
        entered_code -> Nullable<Text>,
        matched_code_id -> Nullable<Int8>,
        credited_partner_id -> Nullable<Int8>,
        winning_partner_id -> Nullable<Int8>,
        involved_partner_ids -> Array<Int8>,
        credit_reason -> Text,
        valid -> Bool,
        state -> Text,
        reversal_reason -> Nullable<Text>,
        click_id -> Nullable<Int8>,
        customer_id -> Nullable<Text>,
        customer_status -> Nullable<Text>,
        currency -> Text,
        sale_amount -> Numeric,
        discount -> Numeric,
        payout -> Numeric,
        items -> Jsonb,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        payload -> Jsonb,
        event_type -> Nullable<Text>,
        click_ref -> Nullable<Text>,
        visitor_id -> Nullable<Text>,
        journey -> Jsonb,
        chosen_partner_id -> Nullable<Int8>,
        locking_date -> Timestamptz,
        approved_at -> Nullable<Timestamptz>,
        reversed_at -> Nullable<Timestamptz>,
        source -> Text,
        upload_id -> Nullable<Int8>,
        token_id -> Nullable<Int8>,
    }
}

diesel::table! {
    action_updates (brand_id, id) {
        brand_id -> Int8,
        id -> Int8,
        action_id -> Int8,
        changed_at -> Timestamptz,
        kind -> Text,
        reason -> Nullable<Text>,
        author -> Text,
        user_id -> Nullable<Int8>,
        token_id -> Nullable<Int8>,
        changes -> Jsonb,
    }
}

diesel::table! {
    code_misuse (brand_id, id) {
        brand_id -> Int8,
        id -> Int8,
        program_id -> Int8,
        action_id -> Int8,
        entered_code -> Text,
        kind -> Text,
        code_id -> Nullable<Int8>,
        occurred_at -> Timestamptz,
    }
}

diesel::table! {
    uploads (brand_id, id) {
        brand_id -> Int8,
        id -> Int8,
        user_id -> Nullable<Int8>,
        kind -> Text,
        file_name -> Text,
        file_bytes -> Int8,
        status -> Text,
        update_existing -> Bool,
        total_rows -> Int8,
        valid_rows -> Int8,
        create_rows -> Int8,
        update_rows -> Int8,
        error_rows -> Int8,
        warnings -> Jsonb,
        failure -> Nullable<Text>,
        header -> Array<Text>,
        created_at -> Timestamptz,
        accepted_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    upload_errors (brand_id, upload_id, row_number, column_name) {
        brand_id -> Int8,
        upload_id -> Int8,
        row_number -> Int8,
        column_name -> Text,
        value -> Text,
        message -> Text,
    }
}

diesel::table! {
    upload_error_rows (brand_id, upload_id, row_number) {
        brand_id -> Int8,
        upload_id -> Int8,
        row_number -> Int8,
        fields -> Array<Text>,
    }
}

diesel::table! {
    upload_rows (brand_id, upload_id, row_number) {
        brand_id -> Int8,
        upload_id -> Int8,
        row_number -> Int8,
        program_id -> Int8,
        code -> Text,
        code_key -> Text,
        code_type -> Text,
        partner_id -> Nullable<Int8>,
        credit_rule -> Nullable<Text>,
        match_mode -> Text,
        deal_id -> Nullable<Int8>,
        active_start -> Nullable<Timestamptz>,
        active_end -> Nullable<Timestamptz>,
        time_zone -> Text,
        existing_id -> Nullable<Int8>,
        fields -> Array<Text>,
    }
}

diesel::table! {
    alerts (brand_id, id) {
        brand_id -> Int8,
        id -> Int8,
        kind -> Text,
        code_id -> Nullable<Int8>,
        entered_code -> Nullable<Text>,
        details -> Jsonb,
        created_at -> Timestamptz,
        dismissed_at -> Nullable<Timestamptz>,
        dismissed_by -> Nullable<Int8>,
    }
}

diesel::table! {
    api_tokens (brand_id, id) {
        brand_id -> Int8,
        id -> Int8,
        name -> Text,
        token_hash -> Bytea,
        created_at -> Timestamptz,
        created_by -> Nullable<Int8>,
        last_used_at -> Nullable<Timestamptz>,
        revoked_at -> Nullable<Timestamptz>,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    brands,
    users,
    programs,
    partners,
    deals,
    promo_codes,
    code_history,
    clicks,
    actions,
    action_updates,
    code_misuse,
    uploads,
    upload_errors,
    upload_error_rows,
    upload_rows,
    alerts,
    api_tokens,
);
