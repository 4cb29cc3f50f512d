DROP TRIGGER promo_codes_version_delete ON promo_codes;
DROP TRIGGER promo_codes_version_update ON promo_codes;
DROP TRIGGER promo_codes_version_insert ON promo_codes;
DROP FUNCTION bump_codes_version();
DROP TRIGGER programs_lists_version ON programs;
CREATE TRIGGER programs_lists_version AFTER INSERT OR UPDATE OR DELETE ON programs
    FOR EACH ROW EXECUTE FUNCTION bump_lists_version();
ALTER TABLE programs DROP COLUMN codes_version;

DROP TABLE action_updates;
DROP INDEX actions_locking_idx;
ALTER TABLE actions
    DROP CONSTRAINT actions_token_fkey,
    DROP CONSTRAINT actions_upload_fkey,
    DROP CONSTRAINT actions_chosen_partner_fkey,
    DROP COLUMN token_id,
    DROP COLUMN upload_id,
    DROP COLUMN source,
    DROP COLUMN reversed_at,
    DROP COLUMN approved_at,
    DROP COLUMN locking_date,
    DROP COLUMN chosen_partner_id,
    DROP COLUMN journey,
    DROP COLUMN visitor_id,
    DROP COLUMN click_ref,
    DROP COLUMN event_type,
    DROP COLUMN payload;

DROP INDEX clicks_visitor_idx;
DROP INDEX clicks_token_key;
ALTER TABLE clicks
    DROP CONSTRAINT clicks_referrer_length,
    DROP COLUMN user_agent,
    DROP COLUMN visitor_id,
    DROP COLUMN token;
ALTER TABLE clicks ADD COLUMN customer_id TEXT;
CREATE INDEX clicks_customer_idx ON clicks (brand_id, program_id, customer_id, clicked_at) WHERE customer_id IS NOT NULL;
