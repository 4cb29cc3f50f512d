-- A leaner promo_codes table, so that a bulk upload of 1,000,000 codes
-- commits in seconds (measured in docs/PERFORMANCE.md):
-- * the list's (brand_id, id DESC) index duplicated the primary key, which
--   PostgreSQL reads backwards just as well;
-- * the trigram index (about 11 s per 1,000,000 inserted codes) goes: code
--   search is by prefix on the key index, `*` in a search is a wildcard;
-- * the stored active_range column (1.7 s per 1,000,000) is computed in the
--   exclusion constraint's index instead;
-- * code_key compares bytewise (COLLATE "C"), so the key index answers
--   prefix searches (LIKE 'abc%') and sorts by code;
-- * the exclusion constraint is keyed by one 64-bit hash of (program, value)
--   and the range: two columns instead of four, about 1.3x cheaper to
--   maintain; its pages are filled up before they split (fillfactor 100:
--   about 5% cheaper inserts, measured). Program ids are unique across brands, so equal keys mean the
--   same program; a hash collision between different values (about 1 in
--   10^7 for a million-code program) is told apart by comparing the values;
-- * the partner index is ascending by id (read backwards for the list):
--   new codes then land at the end of each partner's range, where B-tree
--   page splits leave full pages; descending, every split left two
--   half-empty pages (153 MB against the primary key's 66 MB at 2.2 million
--   codes);
-- * an uploaded code records its upload: that is its creation's history
--   (who and when are created_by and created_at), instead of one history
--   row per uploaded code.
DROP INDEX promo_codes_list_idx;
DROP INDEX promo_codes_trgm_idx;
DROP INDEX promo_codes_partner_idx;
CREATE INDEX promo_codes_partner_idx ON promo_codes (brand_id, partner_id, id);
ALTER TABLE promo_codes DROP CONSTRAINT promo_codes_no_overlap;
ALTER TABLE promo_codes DROP COLUMN active_range;
ALTER TABLE promo_codes DROP COLUMN code_key;
ALTER TABLE promo_codes
    ADD COLUMN code_key TEXT COLLATE "C" NOT NULL GENERATED ALWAYS AS (lower(btrim(code))) STORED,
    ADD COLUMN upload_id BIGINT,
    ADD FOREIGN KEY (brand_id, upload_id) REFERENCES uploads (brand_id, id);
-- exact lookups (brand, code_key, program), prefix search, and the list sorted by code
CREATE INDEX promo_codes_key_idx ON promo_codes (brand_id, code_key, program_id);
ALTER TABLE promo_codes ADD CONSTRAINT promo_codes_no_overlap EXCLUDE USING gist (
    (hashtextextended(code_key, program_id)) WITH =,
    (tstzrange(active_start, active_end, '[)')) WITH &&
) WITH (fillfactor = 100) WHERE (match_mode = 'LI');

-- The code list's filters show the brand's programs, partners and deals.
-- The app keeps them in memory by brand and lists_version, which every change
-- to those tables bumps; the session check reads the version with the user,
-- so a changed list is read again on the next page, by every app server.
ALTER TABLE brands ADD COLUMN lists_version BIGINT NOT NULL DEFAULT 0;
CREATE FUNCTION bump_lists_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE brands SET lists_version = lists_version + 1
    WHERE id = (CASE WHEN TG_OP = 'DELETE' THEN OLD.brand_id ELSE NEW.brand_id END);
    RETURN NULL;
END $$;
CREATE TRIGGER programs_lists_version AFTER INSERT OR UPDATE OR DELETE ON programs
    FOR EACH ROW EXECUTE FUNCTION bump_lists_version();
CREATE TRIGGER partners_lists_version AFTER INSERT OR UPDATE OR DELETE ON partners
    FOR EACH ROW EXECUTE FUNCTION bump_lists_version();
CREATE TRIGGER deals_lists_version AFTER INSERT OR UPDATE OR DELETE ON deals
    FOR EACH ROW EXECUTE FUNCTION bump_lists_version();
