-- Tracking and crediting (SPEC §6): clicks from tracking links, actions with
-- everything they were credited from, their later changes, and a version of
-- each program's codes that caches of the codes follow.

-- Clicks. `token` is the opaque click id handed to the landing page
-- (`clickid=`): random, unguessable, and resolved only inside its brand.
-- `visitor_id` is the first-party cookie of the visitor, which ties the
-- clicks of one journey together.
DROP INDEX clicks_customer_idx;
ALTER TABLE clicks DROP COLUMN customer_id;
ALTER TABLE clicks
    ADD COLUMN token       TEXT NOT NULL CHECK (token ~ '^[A-Za-z0-9_-]{16,64}$'),
    ADD COLUMN visitor_id  TEXT NOT NULL CHECK (length(visitor_id) BETWEEN 1 AND 64),
    ADD COLUMN user_agent  TEXT CHECK (length(user_agent) <= 1000),
    ADD CONSTRAINT clicks_referrer_length CHECK (length(referrer) <= 2000);
CREATE UNIQUE INDEX clicks_token_key ON clicks (brand_id, token);
-- The journey of a conversion: a visitor's clicks in a program, by time.
CREATE INDEX clicks_visitor_idx ON clicks (brand_id, program_id, visitor_id, clicked_at);

-- Actions: the input as received and what the decision was made from.
ALTER TABLE actions
    ADD COLUMN payload            JSONB NOT NULL DEFAULT '[]'::jsonb,
    ADD COLUMN event_type         TEXT CHECK (length(event_type) <= 255),
    ADD COLUMN click_ref          TEXT CHECK (length(click_ref) <= 64),
    ADD COLUMN visitor_id         TEXT,
    -- [{"partner_id": .., "media_id": .., "clicked_at": .., "click_id": ..}], oldest first
    ADD COLUMN journey            JSONB NOT NULL DEFAULT '[]'::jsonb,
    -- The partner the rules chose but could not credit (partner_inactive).
    ADD COLUMN chosen_partner_id  BIGINT,
    ADD COLUMN locking_date       TIMESTAMPTZ,
    ADD COLUMN approved_at        TIMESTAMPTZ,
    ADD COLUMN reversed_at        TIMESTAMPTZ,
    ADD COLUMN source             TEXT NOT NULL DEFAULT 'api' CHECK (source IN ('api', 'upload', 'demo')),
    ADD COLUMN upload_id          BIGINT,
    ADD COLUMN token_id           BIGINT,
    ADD CONSTRAINT actions_chosen_partner_fkey FOREIGN KEY (brand_id, chosen_partner_id) REFERENCES partners (brand_id, id),
    ADD CONSTRAINT actions_upload_fkey FOREIGN KEY (brand_id, upload_id) REFERENCES uploads (brand_id, id),
    ADD CONSTRAINT actions_token_fkey FOREIGN KEY (brand_id, token_id) REFERENCES api_tokens (brand_id, id);
UPDATE actions a SET locking_date = a.event_date + make_interval(days => p.locking_days)
FROM programs p WHERE p.brand_id = a.brand_id AND p.id = a.program_id;
ALTER TABLE actions ALTER COLUMN locking_date SET NOT NULL;
-- Pending actions by the end of their locking period (automatic approval).
CREATE INDEX actions_locking_idx ON actions (brand_id, locking_date) WHERE state = 'PENDING';

-- Every change to an action after its arrival, with its reason and author.
CREATE TABLE action_updates (
    brand_id    BIGINT NOT NULL,
    id          BIGINT GENERATED ALWAYS AS IDENTITY,
    action_id   BIGINT NOT NULL,
    changed_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    kind        TEXT NOT NULL CHECK (kind IN ('approved', 'auto_approved', 'reversed', 'modified')),
    reason      TEXT CHECK (length(reason) <= 255),
    -- who: a user's email, an API token's name, or "automatic approval"
    author      TEXT NOT NULL,
    user_id     BIGINT,
    token_id    BIGINT,
    -- {"field": [from, to], ...}
    changes     JSONB NOT NULL DEFAULT '{}'::jsonb,
    PRIMARY KEY (brand_id, id),
    FOREIGN KEY (brand_id, action_id) REFERENCES actions (brand_id, id),
    FOREIGN KEY (brand_id, user_id) REFERENCES users (brand_id, id),
    FOREIGN KEY (brand_id, token_id) REFERENCES api_tokens (brand_id, id)
);
CREATE INDEX action_updates_action_idx ON action_updates (brand_id, action_id, changed_at);

-- The version of each program's codes: caches of a program's codes (the
-- conversions API's matcher) are stamped with it and rebuilt when it moves,
-- so every app server honours a code changed a moment ago. Bumped by the
-- statement triggers below; the codes upload's accept, which runs with
-- session_replication_role = replica (no triggers), bumps it itself.
ALTER TABLE programs ADD COLUMN codes_version BIGINT NOT NULL DEFAULT 0;
-- The filter lists (brands.lists_version) hold the programs' settings, not
-- their codes: a new codes_version is no reason to read them again.
DROP TRIGGER programs_lists_version ON programs;
CREATE TRIGGER programs_lists_version
    AFTER INSERT OR DELETE OR UPDATE OF brand_id, id, name, time_zone, currency, landing_url,
        referral_window_days, tracking_enabled, locking_days
    ON programs FOR EACH ROW EXECUTE FUNCTION bump_lists_version();

CREATE FUNCTION bump_codes_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE programs p SET codes_version = p.codes_version + 1
    FROM (SELECT DISTINCT brand_id, program_id FROM changed) c
    WHERE p.brand_id = c.brand_id AND p.id = c.program_id;
    RETURN NULL;
END $$;
-- (A trigger with transition tables serves one event.)
CREATE TRIGGER promo_codes_version_insert AFTER INSERT ON promo_codes
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION bump_codes_version();
CREATE TRIGGER promo_codes_version_update AFTER UPDATE ON promo_codes
    REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION bump_codes_version();
CREATE TRIGGER promo_codes_version_delete AFTER DELETE ON promo_codes
    REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION bump_codes_version();
