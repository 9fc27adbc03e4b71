-- Risk review (projections/risk_review.py): what the rules keep of each player's recent activity, and the reviews
-- their flags opened, with the compliance officer's decision.

CREATE TABLE IF NOT EXISTS risk_watch (
    stream_id uuid PRIMARY KEY,  -- the player's stream
    state jsonb NOT NULL
);

CREATE TABLE IF NOT EXISTS risk_reviews (
    review_id uuid PRIMARY KEY,
    stream_id uuid NOT NULL,
    player_id text NOT NULL,
    rule text NOT NULL,
    evidence jsonb NOT NULL,
    raised_at timestamptz NOT NULL,
    position bigint NOT NULL,  -- the RiskFlagRaised event's: the order reviews are listed in
    status text NOT NULL,
    decision text,
    note text,
    decided_by text,
    decided_at timestamptz
);
CREATE INDEX IF NOT EXISTS risk_reviews_listed ON risk_reviews (status, position DESC);
CREATE INDEX IF NOT EXISTS risk_reviews_player ON risk_reviews (player_id, position DESC);

CREATE TABLE IF NOT EXISTS risk_review_tracking (application_name text, notification_id bigint, PRIMARY KEY (application_name))
    WITH (autovacuum_enabled = true, autovacuum_vacuum_threshold = 100000000, autovacuum_vacuum_scale_factor = 0.5,
          autovacuum_analyze_threshold = 1000, autovacuum_analyze_scale_factor = 0.01);
INSERT INTO risk_review_tracking VALUES ('__migration__', 1) ON CONFLICT DO NOTHING;
