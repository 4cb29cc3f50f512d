DROP STATISTICS promo_codes_literal_stats;
DROP INDEX promo_codes_literal_idx;
DROP FUNCTION promo_code_literal_key(text, text);
