-- Promodesk schema. Every tenant table carries brand_id and its primary key,
-- unique constraints, foreign keys and indexes lead with brand_id, so the
-- schema can later be distributed by brand. Exceptions (global lookups done
-- before a brand is known): users' login email and brands' API account SID.

CREATE EXTENSION IF NOT EXISTS btree_gist;
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE EXTENSION IF NOT EXISTS btree_gin;

CREATE TABLE brands (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name             TEXT NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 200),
    api_account_sid  TEXT NOT NULL UNIQUE CHECK (api_account_sid ~ '^[A-Za-z0-9]{8,64}$'),
    api_token_hash   TEXT,
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE users (
    brand_id       BIGINT NOT NULL REFERENCES brands (id) ON DELETE CASCADE,
    id             BIGINT GENERATED ALWAYS AS IDENTITY,
    email          TEXT NOT NULL CHECK (email ~ '^[^@\s]+@[^@\s]+$' AND length(email) <= 254),
    name           TEXT NOT NULL DEFAULT '',
    role           TEXT NOT NULL CHECK (role IN ('admin', 'manager', 'viewer')),
    password_hash  TEXT NOT NULL,
    auth_version   INTEGER NOT NULL DEFAULT 1,
    created_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    last_login_at  TIMESTAMPTZ,
    PRIMARY KEY (brand_id, id)
);
-- Login looks a user up by email before the brand is known.
CREATE UNIQUE INDEX users_email_key ON users (lower(email));

CREATE TABLE programs (
    brand_id              BIGINT NOT NULL REFERENCES brands (id) ON DELETE CASCADE,
    id                    BIGINT GENERATED ALWAYS AS IDENTITY,
    name                  TEXT NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 200),
    time_zone             TEXT NOT NULL DEFAULT 'UTC',
    currency              TEXT NOT NULL DEFAULT 'USD' CHECK (currency ~ '^[A-Z]{3}$'),
    landing_url           TEXT NOT NULL CHECK (landing_url ~ '^https?://'),
    referral_window_days  INTEGER NOT NULL DEFAULT 30 CHECK (referral_window_days BETWEEN 1 AND 365),
    tracking_enabled      BOOLEAN NOT NULL DEFAULT false,
    locking_days          INTEGER NOT NULL DEFAULT 30 CHECK (locking_days BETWEEN 0 AND 365),
    created_at            TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (brand_id, id),
    UNIQUE (brand_id, name)
);

CREATE TABLE partners (
    brand_id        BIGINT NOT NULL REFERENCES brands (id) ON DELETE CASCADE,
    id              BIGINT GENERATED ALWAYS AS IDENTITY,
    media_id        BIGINT NOT NULL CHECK (media_id > 0),
    name            TEXT NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 200),
    status          TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'inactive')),
    credit_group    TEXT NOT NULL DEFAULT 'PREFERRED'
                    CHECK (credit_group IN ('PREFERRED', 'STANDARD', 'NON_PREFERRED')),
    payout_percent  NUMERIC(7, 4) CHECK (payout_percent >= 0 AND payout_percent <= 100),
    payout_flat     NUMERIC(14, 2) CHECK (payout_flat >= 0),
    email           TEXT,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (brand_id, id),
    UNIQUE (brand_id, media_id),
    CHECK (payout_percent IS NULL OR payout_flat IS NULL)
);
CREATE INDEX partners_name_idx ON partners (brand_id, lower(name));

CREATE TABLE deals (
    brand_id    BIGINT NOT NULL,
    id          BIGINT GENERATED ALWAYS AS IDENTITY,
    program_id  BIGINT NOT NULL,
    name        TEXT NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 200),
    kind        TEXT NOT NULL CHECK (kind IN ('PERCENT_OFF', 'AMOUNT_OFF', 'FREE_SHIPPING', 'BOGO', 'GIFT', 'OTHER')),
    value       NUMERIC(14, 2) CHECK (value >= 0),
    currency    TEXT CHECK (currency ~ '^[A-Z]{3}$'),
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (brand_id, id),
    UNIQUE (brand_id, program_id, name),
    FOREIGN KEY (brand_id, program_id) REFERENCES programs (brand_id, id)
);

CREATE TABLE promo_codes (
    brand_id        BIGINT NOT NULL,
    id              BIGINT GENERATED ALWAYS AS IDENTITY,
    program_id      BIGINT NOT NULL,
    code            TEXT NOT NULL CHECK (length(btrim(code)) BETWEEN 1 AND 500),
    -- exact codes compare case-folded and trimmed
    code_key        TEXT NOT NULL GENERATED ALWAYS AS (lower(btrim(code))) STORED,
    code_type       TEXT NOT NULL CHECK (code_type IN ('TRACKING', 'RESTRICTED')),
    partner_id      BIGINT,
    credit_rule     TEXT CHECK (credit_rule IN ('ALWAYS', 'INVOLVED', 'WINNER')),
    match_mode      TEXT NOT NULL CHECK (match_mode IN ('LI', 'RE')),
    deal_id         BIGINT,
    active_start    TIMESTAMPTZ,
    active_end      TIMESTAMPTZ,
    time_zone       TEXT NOT NULL DEFAULT 'UTC',
    payout_percent  NUMERIC(7, 4) CHECK (payout_percent >= 0 AND payout_percent <= 100),
    payout_flat     NUMERIC(14, 2) CHECK (payout_flat >= 0),
    comments        TEXT NOT NULL DEFAULT '',
    created_by      BIGINT,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_by      BIGINT,
    updated_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    active_range    TSTZRANGE NOT NULL GENERATED ALWAYS AS
                    (tstzrange(coalesce(active_start, '-infinity'), coalesce(active_end, 'infinity'), '[)')) STORED,
    PRIMARY KEY (brand_id, id),
    FOREIGN KEY (brand_id, program_id) REFERENCES programs (brand_id, id),
    FOREIGN KEY (brand_id, partner_id) REFERENCES partners (brand_id, id),
    FOREIGN KEY (brand_id, deal_id) REFERENCES deals (brand_id, id),
    -- end = start: a code expired before it began (never active)
    CHECK (active_start IS NULL OR active_end IS NULL OR active_end >= active_start),
    CHECK (payout_percent IS NULL OR payout_flat IS NULL),
    CHECK ((code_type = 'TRACKING' AND partner_id IS NOT NULL AND credit_rule IS NOT NULL)
        OR (code_type = 'RESTRICTED' AND partner_id IS NULL AND credit_rule IS NULL)),
    -- Two exact codes with the same case-folded value may not be active at
    -- overlapping times in one program. Keyed by a 64-bit hash of the value:
    -- about 3x cheaper to maintain than the text (measured on 1,000,000 rows);
    -- a hash collision between different values is told apart by the app,
    -- which compares the values when it reports the conflict.
    CONSTRAINT promo_codes_no_overlap EXCLUDE USING gist (
        brand_id WITH =,
        program_id WITH =,
        (hashtextextended(lower(btrim(code)), 0)) WITH =,
        active_range WITH &&
    ) WHERE (match_mode = 'LI')
);
CREATE INDEX promo_codes_list_idx ON promo_codes (brand_id, id DESC);
-- exact lookups (brand, code_key, program) and the list sorted by code
CREATE INDEX promo_codes_key_idx ON promo_codes (brand_id, code_key, program_id);
CREATE INDEX promo_codes_partner_idx ON promo_codes (brand_id, partner_id, id DESC);
CREATE INDEX promo_codes_deal_idx ON promo_codes (brand_id, deal_id) WHERE deal_id IS NOT NULL;
CREATE INDEX promo_codes_trgm_idx ON promo_codes USING gin (brand_id, code_key gin_trgm_ops);

CREATE TABLE code_history (
    brand_id    BIGINT NOT NULL,
    id          BIGINT GENERATED ALWAYS AS IDENTITY,
    code_id     BIGINT NOT NULL,
    changed_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    changed_by  BIGINT,
    action      TEXT NOT NULL CHECK (action IN ('created', 'updated', 'expired', 'reactivated', 'uploaded', 'upload_updated', 'dates_changed', 'deal_applied')),
    -- {"field": ["from", "to"], ...}
    changes     JSONB NOT NULL DEFAULT '{}'::jsonb,
    PRIMARY KEY (brand_id, id),
    FOREIGN KEY (brand_id, code_id) REFERENCES promo_codes (brand_id, id)
);
CREATE INDEX code_history_code_idx ON code_history (brand_id, code_id, changed_at DESC);

CREATE TABLE clicks (
    brand_id     BIGINT NOT NULL,
    id           BIGINT GENERATED ALWAYS AS IDENTITY,
    program_id   BIGINT NOT NULL,
    partner_id   BIGINT NOT NULL,
    clicked_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    customer_id  TEXT,
    referrer     TEXT,
    PRIMARY KEY (brand_id, id),
    FOREIGN KEY (brand_id, program_id) REFERENCES programs (brand_id, id),
    FOREIGN KEY (brand_id, partner_id) REFERENCES partners (brand_id, id)
);
CREATE INDEX clicks_customer_idx ON clicks (brand_id, program_id, customer_id, clicked_at) WHERE customer_id IS NOT NULL;

CREATE TABLE actions (
    brand_id              BIGINT NOT NULL,
    id                    BIGINT GENERATED ALWAYS AS IDENTITY,
    program_id            BIGINT NOT NULL,
    order_id              TEXT NOT NULL CHECK (length(order_id) BETWEEN 1 AND 200),
    event_date            TIMESTAMPTZ NOT NULL,
    entered_codes         TEXT[] NOT NULL DEFAULT '{}',
    entered_code          TEXT,
    matched_code_id       BIGINT,
    credited_partner_id   BIGINT,
    winning_partner_id    BIGINT,
    involved_partner_ids  BIGINT[] NOT NULL DEFAULT '{}',
    credit_reason         TEXT NOT NULL CHECK (credit_reason IN (
                            'code_always', 'code_involved', 'code_winner', 'credit_group',
                            'click_winner', 'restricted_code', 'code_owned_by_other_partner',
                            'partner_inactive', 'unattributed', 'tracking_disabled')),
    valid                 BOOLEAN NOT NULL DEFAULT true,
    state                 TEXT NOT NULL DEFAULT 'PENDING' CHECK (state IN ('PENDING', 'APPROVED', 'REVERSED')),
    reversal_reason       TEXT,
    click_id              BIGINT,
    customer_id           TEXT,
    customer_status       TEXT CHECK (customer_status IN ('New', 'Returning')),
    currency              TEXT NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    sale_amount           NUMERIC(14, 2) NOT NULL DEFAULT 0 CHECK (sale_amount >= 0),
    discount              NUMERIC(14, 2) NOT NULL DEFAULT 0 CHECK (discount >= 0),
    payout                NUMERIC(14, 2) NOT NULL DEFAULT 0 CHECK (payout >= 0),
    items                 JSONB NOT NULL DEFAULT '[]'::jsonb,
    created_at            TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at            TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (brand_id, id),
    UNIQUE (brand_id, program_id, order_id),
    FOREIGN KEY (brand_id, program_id) REFERENCES programs (brand_id, id),
    FOREIGN KEY (brand_id, matched_code_id) REFERENCES promo_codes (brand_id, id),
    FOREIGN KEY (brand_id, credited_partner_id) REFERENCES partners (brand_id, id),
    FOREIGN KEY (brand_id, winning_partner_id) REFERENCES partners (brand_id, id),
    FOREIGN KEY (brand_id, click_id) REFERENCES clicks (brand_id, id),
    CHECK (state <> 'REVERSED' OR reversal_reason IS NOT NULL)
);
CREATE INDEX actions_event_idx ON actions (brand_id, event_date DESC);
CREATE INDEX actions_code_idx ON actions (brand_id, matched_code_id, event_date) WHERE matched_code_id IS NOT NULL;
CREATE INDEX actions_partner_idx ON actions (brand_id, credited_partner_id, event_date) WHERE credited_partner_id IS NOT NULL;

-- Entered codes that matched nothing, or matched only outside their dates.
CREATE TABLE code_misuse (
    brand_id      BIGINT NOT NULL,
    id            BIGINT GENERATED ALWAYS AS IDENTITY,
    program_id    BIGINT NOT NULL,
    action_id     BIGINT NOT NULL,
    entered_code  TEXT NOT NULL,
    kind          TEXT NOT NULL CHECK (kind IN ('unknown', 'expired', 'not_yet_active')),
    code_id       BIGINT,
    occurred_at   TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (brand_id, id),
    FOREIGN KEY (brand_id, program_id) REFERENCES programs (brand_id, id),
    FOREIGN KEY (brand_id, action_id) REFERENCES actions (brand_id, id),
    FOREIGN KEY (brand_id, code_id) REFERENCES promo_codes (brand_id, id)
);
CREATE INDEX code_misuse_kind_idx ON code_misuse (brand_id, kind, occurred_at DESC);

CREATE TABLE uploads (
    brand_id         BIGINT NOT NULL,
    id               BIGINT GENERATED ALWAYS AS IDENTITY,
    user_id          BIGINT,
    kind             TEXT NOT NULL DEFAULT 'codes' CHECK (kind IN ('codes', 'orders')),
    file_name        TEXT NOT NULL,
    file_bytes       BIGINT NOT NULL DEFAULT 0 CHECK (file_bytes >= 0),
    status           TEXT NOT NULL DEFAULT 'reviewing'
                     CHECK (status IN ('reviewing', 'accepted', 'failed', 'discarded')),
    update_existing  BOOLEAN NOT NULL DEFAULT false,
    total_rows       BIGINT NOT NULL DEFAULT 0,
    valid_rows       BIGINT NOT NULL DEFAULT 0,
    create_rows      BIGINT NOT NULL DEFAULT 0,
    update_rows      BIGINT NOT NULL DEFAULT 0,
    error_rows       BIGINT NOT NULL DEFAULT 0,
    warnings         JSONB NOT NULL DEFAULT '[]'::jsonb,
    failure          TEXT,
    -- the file's header, for the error report
    header           TEXT[] NOT NULL DEFAULT '{}',
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    accepted_at      TIMESTAMPTZ,
    PRIMARY KEY (brand_id, id)
);
CREATE INDEX uploads_created_idx ON uploads (brand_id, created_at DESC);

CREATE TABLE upload_errors (
    brand_id     BIGINT NOT NULL,
    upload_id    BIGINT NOT NULL,
    row_number   BIGINT NOT NULL,
    column_name  TEXT NOT NULL,
    value        TEXT NOT NULL DEFAULT '',
    message      TEXT NOT NULL,
    PRIMARY KEY (brand_id, upload_id, row_number, column_name),
    FOREIGN KEY (brand_id, upload_id) REFERENCES uploads (brand_id, id) ON DELETE CASCADE
);

-- The original fields of each row with an error, for the error report.
CREATE TABLE upload_error_rows (
    brand_id     BIGINT NOT NULL,
    upload_id    BIGINT NOT NULL,
    row_number   BIGINT NOT NULL,
    fields       TEXT[] NOT NULL,
    PRIMARY KEY (brand_id, upload_id, row_number),
    FOREIGN KEY (brand_id, upload_id) REFERENCES uploads (brand_id, id) ON DELETE CASCADE
);

-- Valid rows of an upload under review, loaded by COPY. Unlogged: it is a
-- staging area (a crash empties it, which accept detects by the count).
CREATE UNLOGGED TABLE upload_rows (
    brand_id      BIGINT NOT NULL,
    upload_id     BIGINT NOT NULL,
    row_number    BIGINT NOT NULL,
    program_id    BIGINT NOT NULL,
    code          TEXT NOT NULL,
    code_key      TEXT NOT NULL,
    code_type     TEXT NOT NULL,
    partner_id    BIGINT,
    credit_rule   TEXT,
    match_mode    TEXT NOT NULL,
    deal_id       BIGINT,
    active_start  TIMESTAMPTZ,
    active_end    TIMESTAMPTZ,
    time_zone     TEXT NOT NULL,
    existing_id   BIGINT,
    -- the row as the file gave it, for the error report
    fields        TEXT[] NOT NULL,
    PRIMARY KEY (brand_id, upload_id, row_number)
);

CREATE TABLE alerts (
    brand_id      BIGINT NOT NULL,
    id            BIGINT GENERATED ALWAYS AS IDENTITY,
    kind          TEXT NOT NULL CHECK (kind IN ('unknown_code', 'outside_dates', 'leak', 'spike')),
    code_id       BIGINT,
    entered_code  TEXT,
    details       JSONB NOT NULL DEFAULT '{}'::jsonb,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    dismissed_at  TIMESTAMPTZ,
    dismissed_by  BIGINT,
    PRIMARY KEY (brand_id, id),
    FOREIGN KEY (brand_id, code_id) REFERENCES promo_codes (brand_id, id)
);
CREATE INDEX alerts_open_idx ON alerts (brand_id, created_at DESC) WHERE dismissed_at IS NULL;
