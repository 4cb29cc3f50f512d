ALTER TABLE brands ADD COLUMN api_token_hash TEXT;
DROP TABLE api_tokens;
