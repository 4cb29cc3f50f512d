-- API credentials: several auth tokens per brand, each with a name, shown
-- once when created and kept only as its SHA-256 hash (tokens are 32 random
-- bytes: a slow password hash would only add latency to every API call).
-- A request authenticates with the brand's Account SID and one of its live
-- (not revoked) tokens: one query finds the brand by SID and its live
-- hashes (brands_api_account_sid_key, then this table's primary key), and
-- the app compares them in constant time.
CREATE TABLE api_tokens (
    brand_id      BIGINT NOT NULL REFERENCES brands (id) ON DELETE CASCADE,
    id            BIGINT GENERATED ALWAYS AS IDENTITY,
    name          TEXT NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 100),
    token_hash    BYTEA NOT NULL CHECK (length(token_hash) = 32),
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    created_by    BIGINT,
    -- Written at most once a minute per token and app server.
    last_used_at  TIMESTAMPTZ,
    revoked_at    TIMESTAMPTZ,
    PRIMARY KEY (brand_id, id),
    UNIQUE (brand_id, token_hash),
    FOREIGN KEY (brand_id, created_by) REFERENCES users (brand_id, id) ON DELETE SET NULL (created_by)
);

-- The single token hash of the first schema was never used.
ALTER TABLE brands DROP COLUMN api_token_hash;
