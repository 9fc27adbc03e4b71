-- Version 1: the schema as the release before schema migrations (e815cec) left it, each store's tables in
-- turn. Idempotent, so that on a database that release made it changes nothing and only records version 1.
-- The event store's definitions are the eventsourcing library's (9.5.6, table spinledger_events) and the
-- recorder's functions as it rendered them (lock timeout 5 s): their bodies are kept to the letter.

-- The event store: events, snapshots, and the library's composite type and insert function.

CREATE TABLE IF NOT EXISTS public.spinledger_events (
    originator_id uuid NOT NULL,
    originator_version bigint NOT NULL,
    topic text,
    state bytea,
    notification_id bigserial,
    PRIMARY KEY (originator_id, originator_version)
) WITH (
    autovacuum_enabled = true, autovacuum_vacuum_threshold = 100000000, autovacuum_vacuum_scale_factor = 0.5,
    autovacuum_analyze_threshold = 1000, autovacuum_analyze_scale_factor = 0.01
);
CREATE UNIQUE INDEX IF NOT EXISTS spinledger_events_notification_id_idx ON public.spinledger_events (notification_id ASC);

CREATE TABLE IF NOT EXISTS public.spinledger_snapshots (
    originator_id uuid NOT NULL,
    originator_version bigint NOT NULL,
    topic text,
    state bytea,
    PRIMARY KEY (originator_id, originator_version)
) WITH (
    autovacuum_enabled = true, autovacuum_vacuum_threshold = 100000000, autovacuum_vacuum_scale_factor = 0.5,
    autovacuum_analyze_threshold = 1000, autovacuum_analyze_scale_factor = 0.01
);

DO $$ BEGIN  -- CREATE TYPE has no IF NOT EXISTS
    CREATE TYPE public.stored_event_uuid AS (originator_id uuid, originator_version bigint, topic text, state bytea);
EXCEPTION WHEN duplicate_object THEN NULL;
END $$;

-- The library's insert function (used only with POSTGRES_ENABLE_DB_FUNCTIONS, which the service does not set).
CREATE OR REPLACE FUNCTION "public"."es_insert_events_uuid"(events "public"."stored_event_uuid"[]) RETURNS SETOF bigint LANGUAGE plpgsql AS $BODY$BEGIN    SET LOCAL lock_timeout = '5s';    NOTIFY "spinledger_events";    RETURN QUERY    INSERT INTO "public"."spinledger_events" AS t (    originator_id, originator_version, topic, state)    SELECT originator_id, originator_version, topic, state    FROM unnest(events)    RETURNING notification_id;END;$BODY$;

-- The recorder's functions (app/eventstore.py SpinledgerRecorder), each one round trip with binary parameters.
-- An append, as the library's own (lock the table, notify, insert): notification ids become visible in
-- commit order only if writers take turns.
CREATE OR REPLACE FUNCTION "public"."spinledger_events_append"(ids uuid[], versions bigint[], topics text[], states bytea[]) RETURNS TABLE (notification_id bigint) LANGUAGE plpgsql AS $$ BEGIN   SET LOCAL lock_timeout = '5s';  LOCK TABLE "public"."spinledger_events" IN EXCLUSIVE MODE;  NOTIFY "spinledger_events";  RETURN QUERY INSERT INTO "public"."spinledger_events" AS t (originator_id, originator_version, topic, state)   SELECT * FROM unnest(ids, versions, topics, states) RETURNING t.notification_id; END $$;

-- The first read under the award lock. The lock is a session's advisory lock, let go of inside the append,
-- before that statement commits. So the next holder, once it has the lock, waits for that commit (a ROW SHARE
-- lock on the events table conflicts with the appender's EXCLUSIVE one, and with nothing else) before it reads.
CREATE OR REPLACE FUNCTION "public"."spinledger_events_lock_and_read"(lock_key bigint, ids uuid[], after_versions bigint[]) RETURNS TABLE (originator_id uuid, originator_version bigint, topic text, state bytea, kind integer) LANGUAGE plpgsql SET lock_timeout = '5s' AS $$ #variable_conflict use_column
 BEGIN  PERFORM pg_advisory_lock(lock_key);  LOCK TABLE "public"."spinledger_events" IN ROW SHARE MODE;  RETURN QUERY SELECT x.* FROM unnest(ids, after_versions) AS w(originator_id, after_version) LEFT JOIN LATERAL (SELECT s.originator_version AS version FROM "public"."spinledger_snapshots" s  WHERE s.originator_id = w.originator_id AND s.originator_version > w.after_version  ORDER BY s.originator_version DESC LIMIT 1) latest ON true CROSS JOIN LATERAL (  (SELECT s.originator_id, s.originator_version, s.topic, s.state, 0 AS kind FROM "public"."spinledger_snapshots" s   WHERE s.originator_id = w.originator_id AND s.originator_version = latest.version)  UNION ALL  (SELECT e.originator_id, e.originator_version, e.topic, e.state, 1 AS kind FROM "public"."spinledger_events" e   WHERE e.originator_id = w.originator_id   AND e.originator_version > GREATEST(w.after_version, COALESCE(latest.version, 0)))) x; END $$;

-- The append under the award lock, which lets go of it.
CREATE OR REPLACE FUNCTION "public"."spinledger_events_append_and_unlock"(ids uuid[], versions bigint[], topics text[], states bytea[], lock_key bigint) RETURNS TABLE (notification_id bigint) LANGUAGE plpgsql AS $$ BEGIN   SET LOCAL lock_timeout = '5s';  LOCK TABLE "public"."spinledger_events" IN EXCLUSIVE MODE;  NOTIFY "spinledger_events";  RETURN QUERY INSERT INTO "public"."spinledger_events" AS t (originator_id, originator_version, topic, state)   SELECT * FROM unnest(ids, versions, topics, states) RETURNING t.notification_id;  PERFORM pg_advisory_unlock(lock_key); END $$;

-- An award group's append without the award lock: only if each promotion it reserves on has recorded nothing
-- but reservations since the read, within the room left, its reservation going after those (it returns no
-- rows, and appends nothing, otherwise). It takes the lock shared, for its transaction: never while a group
-- holds it, so a group under the lock still reads and appends with no other award group in between.
CREATE OR REPLACE FUNCTION "public"."spinledger_events_append_reserving"(lock_key bigint, ids uuid[], versions bigint[], topics text[], states bytea[], claimed uuid[], read_versions bigint[], rooms bigint[], reservation_topic text) RETURNS TABLE (originator_id uuid, originator_version bigint) LANGUAGE plpgsql AS $$ DECLARE others_changes bigint; others_spins bigint; latest bigint; BEGIN  SET LOCAL lock_timeout = '5s';  PERFORM pg_advisory_xact_lock_shared(lock_key);  LOCK TABLE "public"."spinledger_events" IN EXCLUSIVE MODE;  FOR i IN 1 .. coalesce(cardinality(claimed), 0) LOOP   SELECT count(*) FILTER (WHERE e.topic <> reservation_topic),    coalesce(sum((convert_from(e.state, 'UTF8')::jsonb ->> 'spins')::bigint) FILTER (WHERE e.topic = reservation_topic), 0),    max(e.originator_version)    INTO others_changes, others_spins, latest    FROM "public"."spinledger_events" e WHERE e.originator_id = claimed[i] AND e.originator_version > read_versions[i];   IF others_changes > 0 OR others_spins > rooms[i] THEN RETURN; END IF;   IF latest IS NOT NULL THEN    FOR j IN 1 .. cardinality(ids) LOOP     IF ids[j] = claimed[i] THEN versions[j] := versions[j] + latest - read_versions[i]; END IF;    END LOOP;   END IF;  END LOOP;  NOTIFY "spinledger_events";  RETURN QUERY INSERT INTO "public"."spinledger_events" AS t (originator_id, originator_version, topic, state)   SELECT * FROM unnest(ids, versions, topics, states) RETURNING t.originator_id, t.originator_version; END $$;

-- The read models (projections/): each view's tables (their tracking tables come after the webhooks').

CREATE TABLE IF NOT EXISTS players (
    stream_id uuid PRIMARY KEY,
    player_id text,
    region text,
    birth_date date,
    currency text,
    self_excluded_until timestamptz,
    version bigint NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX IF NOT EXISTS players_player_id ON players (player_id);

CREATE TABLE IF NOT EXISTS wallet (
    stream_id uuid PRIMARY KEY,
    player_id text,
    currency text,
    balance numeric(18, 2) NOT NULL DEFAULT 0,
    deposits numeric(18, 2) NOT NULL DEFAULT 0,
    withdrawals numeric(18, 2) NOT NULL DEFAULT 0,
    bets numeric(18, 2) NOT NULL DEFAULT 0,
    wins numeric(18, 2) NOT NULL DEFAULT 0,
    spins bigint NOT NULL DEFAULT 0,
    version bigint NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX IF NOT EXISTS wallet_player_id ON wallet (player_id);

CREATE TABLE IF NOT EXISTS bonus_blocks (
    stream_id uuid PRIMARY KEY,
    player_id text,
    block jsonb,
    version bigint NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX IF NOT EXISTS bonus_blocks_player_id ON bonus_blocks (player_id);

CREATE TABLE IF NOT EXISTS promotion_totals (
    stream_id uuid PRIMARY KEY,
    promo_id text,
    name text,
    currency text,
    budget_spins bigint,
    spins_reserved bigint NOT NULL DEFAULT 0,
    ended_at timestamptz,
    version bigint NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX IF NOT EXISTS promotion_totals_promo_id ON promotion_totals (promo_id);

CREATE TABLE IF NOT EXISTS award_status (
    award_id uuid PRIMARY KEY,
    player_id text,
    promo_id text,
    game_code text,
    spins_awarded integer,
    spins_used integer NOT NULL DEFAULT 0,
    spins_forfeited integer NOT NULL DEFAULT 0,
    bet_per_spin numeric(18, 2),
    currency text,
    total_win numeric(18, 2) NOT NULL DEFAULT 0,
    issued_at timestamptz,
    expires_at timestamptz,
    cancelled_at timestamptz,
    expired_use_attempts integer NOT NULL DEFAULT 0,
    version bigint NOT NULL DEFAULT 0,
    issued_position bigint,
    expiry_recorded_at timestamptz,
    expiry_noticed_at timestamptz
);

-- The bonus and promotions views keep their own rows of each award, with the same columns.
CREATE TABLE IF NOT EXISTS bonus_awards (LIKE award_status INCLUDING DEFAULTS, PRIMARY KEY (award_id));
CREATE TABLE IF NOT EXISTS promotion_awards (LIKE award_status INCLUDING DEFAULTS, PRIMARY KEY (award_id));

-- Columns the award tables gained after they were first made: a database last started by an older release
-- lacks them (that release's start added them; a rebuild fills them in).
ALTER TABLE award_status ADD COLUMN IF NOT EXISTS issued_position bigint, ADD COLUMN IF NOT EXISTS expiry_recorded_at timestamptz,
    ADD COLUMN IF NOT EXISTS expiry_noticed_at timestamptz;
ALTER TABLE bonus_awards ADD COLUMN IF NOT EXISTS issued_position bigint, ADD COLUMN IF NOT EXISTS expiry_recorded_at timestamptz,
    ADD COLUMN IF NOT EXISTS expiry_noticed_at timestamptz;
ALTER TABLE promotion_awards ADD COLUMN IF NOT EXISTS issued_position bigint, ADD COLUMN IF NOT EXISTS expiry_recorded_at timestamptz,
    ADD COLUMN IF NOT EXISTS expiry_noticed_at timestamptz;

CREATE INDEX IF NOT EXISTS award_status_player ON award_status (player_id, issued_at);
CREATE INDEX IF NOT EXISTS award_status_player_listed ON award_status (player_id, issued_position);
CREATE INDEX IF NOT EXISTS award_status_promo ON award_status (promo_id);
CREATE INDEX IF NOT EXISTS award_status_expiry_due ON award_status (expires_at)
    WHERE cancelled_at IS NULL AND expiry_recorded_at IS NULL AND spins_used < spins_awarded;
CREATE INDEX IF NOT EXISTS bonus_awards_player ON bonus_awards (player_id);
CREATE INDEX IF NOT EXISTS promotion_awards_promo ON promotion_awards (promo_id);

CREATE TABLE IF NOT EXISTS event_index (
    position bigint PRIMARY KEY,
    type text NOT NULL,
    stream_id uuid NOT NULL,
    version bigint NOT NULL,
    occurred_at timestamptz NOT NULL,
    player_id text,
    promo_id text,
    award_id text,
    payload jsonb NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS event_index_stream_first ON event_index (stream_id) WHERE version = 1;
DROP TABLE IF EXISTS event_index_streams;  -- what the first rows remembered before the index above
CREATE INDEX IF NOT EXISTS event_index_player ON event_index (player_id, position);
CREATE INDEX IF NOT EXISTS event_index_promo ON event_index (promo_id, position);
CREATE INDEX IF NOT EXISTS event_index_award ON event_index (award_id, position);
CREATE INDEX IF NOT EXISTS event_index_type ON event_index (type, position);
CREATE INDEX IF NOT EXISTS event_index_time ON event_index (occurred_at, position);
CREATE INDEX IF NOT EXISTS event_index_spin ON event_index ((payload -> 'spin' ->> 'spin_id')) WHERE type = 'SpinSettled';

-- Webhooks: the subscriptions, and the outbox of deliveries its follower fills (a view, with a tracking table).

CREATE TABLE IF NOT EXISTS webhook_subscriptions (
    id uuid PRIMARY KEY,
    url text NOT NULL,
    event_types text[] NOT NULL,
    description text,
    secret text NOT NULL,
    key_name text,
    created_at timestamptz NOT NULL,
    from_position bigint NOT NULL,
    deleted_at timestamptz
);
CREATE TABLE IF NOT EXISTS webhook_deliveries (
    id uuid PRIMARY KEY,
    subscription_id uuid NOT NULL REFERENCES webhook_subscriptions (id),
    event_id uuid NOT NULL,
    event_type text NOT NULL,
    position bigint NOT NULL,
    body text NOT NULL,
    status text NOT NULL,
    attempts integer NOT NULL DEFAULT 0,
    created_at timestamptz NOT NULL,
    retrying_since timestamptz NOT NULL,
    next_attempt_at timestamptz NOT NULL,
    last_attempt_at timestamptz,
    last_status integer,
    last_error text,
    delivered_at timestamptz
);
CREATE INDEX IF NOT EXISTS webhook_deliveries_due ON webhook_deliveries (subscription_id, next_attempt_at) WHERE status = 'pending';
CREATE INDEX IF NOT EXISTS webhook_deliveries_listed ON webhook_deliveries (subscription_id, position DESC, id);

-- Each view's tracking table (the webhook outbox's too): the position it has applied, written with each batch.
-- The library marks a tracking table it made with the row '__migration__', and would rename one without it
-- aside (taking it for an older layout) if it ever created it again.
DO $$
DECLARE tracking text;
BEGIN
    FOREACH tracking IN ARRAY ARRAY['players', 'wallet', 'bonus', 'awards', 'promotions', 'event_index', 'webhook_outbox'] LOOP
        EXECUTE format('CREATE TABLE IF NOT EXISTS public.%I (application_name text, notification_id bigint, PRIMARY KEY (application_name))'
            ' WITH (autovacuum_enabled = true, autovacuum_vacuum_threshold = 100000000, autovacuum_vacuum_scale_factor = 0.5,'
            ' autovacuum_analyze_threshold = 1000, autovacuum_analyze_scale_factor = 0.01)', tracking || '_tracking');
        EXECUTE format('INSERT INTO public.%I VALUES (''__migration__'', 1) ON CONFLICT DO NOTHING', tracking || '_tracking');
    END LOOP;
END $$;

-- Game sessions (app/sessions.py).

CREATE TABLE IF NOT EXISTS spinledger_sessions (
    token_digest bytea PRIMARY KEY,
    player_id text NOT NULL,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS spinledger_sessions_expires_at ON spinledger_sessions (expires_at);

-- The raw audit log (app/audit_log.py).

CREATE TABLE IF NOT EXISTS audit_requests (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at timestamptz NOT NULL,
    method text NOT NULL,
    route text NOT NULL,
    path text NOT NULL,
    status smallint NOT NULL,
    key_name text,
    session_id text,
    idempotency_key text,
    request_id text NOT NULL,
    player_ids text[] NOT NULL,
    latency_ms numeric(12, 3) NOT NULL,
    request_body jsonb,
    request_text text,
    request_bytes integer NOT NULL,
    request_truncated boolean NOT NULL,
    response_body jsonb,
    response_text text,
    response_bytes integer NOT NULL,
    response_truncated boolean NOT NULL,
    bodies_purged_at timestamptz
);
CREATE INDEX IF NOT EXISTS audit_requests_at ON audit_requests (at DESC, id DESC);
CREATE INDEX IF NOT EXISTS audit_requests_route ON audit_requests (route, at DESC, id DESC);
CREATE INDEX IF NOT EXISTS audit_requests_key_name ON audit_requests (key_name, at DESC, id DESC) WHERE key_name IS NOT NULL;
CREATE INDEX IF NOT EXISTS audit_requests_players ON audit_requests USING gin (player_ids);
CREATE INDEX IF NOT EXISTS audit_requests_bodies_kept ON audit_requests (at) WHERE bodies_purged_at IS NULL;

-- A group's rows, as one JSON array, in one statement and its own transaction. The rows record what was
-- asked; the events, committed durably, record what happened. Not waiting for the disk here spares every
-- audited call a second flush of the log (its caller waits for this commit): a crash of the service loses no
-- row, and only a crash of the database server itself could take back the last fraction of a second of them.
-- (set_config(..., true) lasts until the statement's transaction has committed, as long as the function has
-- no SET clause of its own.) A body is taken as the JSON value it is (a body of null is the JSONB null); a row
-- without the key has no JSON body. The rows are turned into JSONB once, after the json parameter's own check
-- of the text: worked on as json, a row's text was parsed again by every function and operator applied to it
-- (about six times in all), which made up a fifth of the statement's time in the database.
CREATE OR REPLACE FUNCTION audit_requests_append(rows json) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('synchronous_commit', 'off', true);
    INSERT INTO audit_requests (at, method, route, path, status, key_name, session_id, idempotency_key, request_id, player_ids, latency_ms, request_body, request_text, request_bytes, request_truncated, response_body, response_text, response_bytes, response_truncated)
    SELECT r.at, r.method, r.route, r.path, r.status, r.key_name, r.session_id, r.idempotency_key, r.request_id, r.player_ids, r.latency_ms, e -> 'request_body', r.request_text, r.request_bytes, r.request_truncated, e -> 'response_body', r.response_text, r.response_bytes, r.response_truncated
    FROM jsonb_array_elements(rows::jsonb) AS e, jsonb_populate_record(NULL::audit_requests, e) AS r;
END $$;
