DROP TRIGGER programs_lists_version ON programs;
DROP TRIGGER partners_lists_version ON partners;
DROP TRIGGER deals_lists_version ON deals;
DROP FUNCTION bump_lists_version();
ALTER TABLE brands DROP COLUMN lists_version;
ALTER TABLE promo_codes DROP CONSTRAINT promo_codes_no_overlap;
ALTER TABLE promo_codes DROP COLUMN upload_id;
ALTER TABLE promo_codes DROP COLUMN code_key;
ALTER TABLE promo_codes
    ADD COLUMN code_key TEXT NOT NULL GENERATED ALWAYS AS (lower(btrim(code))) STORED,
    ADD COLUMN active_range TSTZRANGE NOT NULL GENERATED ALWAYS AS
        (tstzrange(coalesce(active_start, '-infinity'), coalesce(active_end, 'infinity'), '[)')) STORED;
ALTER TABLE promo_codes ADD CONSTRAINT promo_codes_no_overlap EXCLUDE USING gist (
    brand_id WITH =,
    program_id WITH =,
    (hashtextextended(lower(btrim(code)), 0)) WITH =,
    active_range WITH &&
) WHERE (match_mode = 'LI');
DROP INDEX promo_codes_partner_idx;
CREATE INDEX promo_codes_partner_idx ON promo_codes (brand_id, partner_id, id DESC);
CREATE INDEX promo_codes_list_idx ON promo_codes (brand_id, id DESC);
CREATE INDEX promo_codes_key_idx ON promo_codes (brand_id, code_key, program_id);
CREATE INDEX promo_codes_trgm_idx ON promo_codes USING gin (brand_id, code_key gin_trgm_ops);
