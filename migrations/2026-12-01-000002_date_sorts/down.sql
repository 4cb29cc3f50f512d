DROP INDEX promo_codes_end_idx;
DROP INDEX promo_codes_start_idx;
