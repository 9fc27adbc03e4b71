-- The console's signing key (app/console): one secret shared by every process of a deployment, so that a session
-- cookie signed by one web process is accepted by the others and survives a restart. Made here, once, from
-- gen_random_uuid(), which PostgreSQL draws from its strong random source (two of them: 244 random bits).
-- CONSOLE_SECRET_KEY, when set, is used instead.

CREATE TABLE IF NOT EXISTS console_secret (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    secret bytea NOT NULL
);

INSERT INTO console_secret (secret)
VALUES (decode(replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', ''), 'hex'))
ON CONFLICT (singleton) DO NOTHING;

-- The console's sessions: the signed cookie names one; signing out (or its expiry) ends it for good, so a cookie
-- copied before sign-out opens nothing after it.
CREATE TABLE IF NOT EXISTS console_sessions (
    session_id text PRIMARY KEY,  -- SHA-256 of the random id the cookie holds, hex
    key_name text NOT NULL,
    signed_in_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    signed_out_at timestamptz
);
CREATE INDEX IF NOT EXISTS console_sessions_expiry ON console_sessions (expires_at);
