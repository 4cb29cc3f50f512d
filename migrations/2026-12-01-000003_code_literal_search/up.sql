-- Regex codes are found by a search of their literal part: `NC` finds
-- `^NCRX[0-9]{3}$` and `^(?i)(NC)[0-9]+`. The literal part is the key
-- without its leading `^`, `(`, `(?i)` and `(?:`; only regex codes that
-- start with `^` or `(` have one (NULL for the others: a regex code that
-- starts with its literal part, and every exact code, is found by its key).
-- So the index is partial: an exact code (nearly all of an upload) only
-- tests its match mode, and a search reads the few regex codes whose
-- literal part starts with the text, in order. The statistics give the
-- planner the number of such codes (a partial index's own are not used).
CREATE FUNCTION promo_code_literal_key(match_mode text, code_key text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT CASE WHEN match_mode = 'RE' AND (code_key LIKE '^%' OR code_key LIKE '(%')
                      THEN regexp_replace(code_key, '^(\^|\(\?i\)|\(\?:|\()+', '') END $$;

CREATE INDEX promo_codes_literal_idx ON promo_codes (brand_id, promo_code_literal_key(match_mode, code_key), id)
    WHERE promo_code_literal_key(match_mode, code_key) IS NOT NULL;

CREATE STATISTICS promo_codes_literal_stats ON (promo_code_literal_key(match_mode, code_key)) FROM promo_codes;

ANALYZE promo_codes;
