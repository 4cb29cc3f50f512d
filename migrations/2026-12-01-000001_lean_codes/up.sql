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
