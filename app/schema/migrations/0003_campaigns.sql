-- Campaigns (issue 21): what a campaign's events only count, kept beside the event store.
-- campaign_audience: the players an upload added, numbered in upload order (a repeated id is kept once).
-- campaign_chunks: the runs of positions a launch cut the audience into, one job of the queue each, with what
-- the chunk came to once issued (its figures are recounted from its results, so a chunk issued twice counts once).
-- campaign_results: each player's outcome, written once: the first issue of a player decides it.

CREATE TABLE "public"."campaign_audience" (
    campaign_id text NOT NULL,
    position bigint NOT NULL,
    player_id text NOT NULL,
    PRIMARY KEY (campaign_id, position),
    UNIQUE (campaign_id, player_id)
);

CREATE TABLE "public"."campaign_chunks" (
    campaign_id text NOT NULL,
    chunk integer NOT NULL,
    first_position bigint NOT NULL,
    last_position bigint NOT NULL,
    launch integer NOT NULL,
    status text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'running', 'done', 'skipped')),
    attempts integer NOT NULL DEFAULT 0,
    job_id bigint,  -- the queue's job that issues it (procrastinate_jobs.id): a chunk waiting for none gets one
    started_at timestamptz,
    finished_at timestamptz,
    awarded integer NOT NULL DEFAULT 0,
    replayed integer NOT NULL DEFAULT 0,
    refused integer NOT NULL DEFAULT 0,
    refused_by_code jsonb NOT NULL DEFAULT '{}',
    PRIMARY KEY (campaign_id, chunk)
);

CREATE TABLE "public"."campaign_results" (
    campaign_id text NOT NULL,
    position bigint NOT NULL,
    player_id text NOT NULL,
    outcome text NOT NULL CHECK (outcome IN ('awarded', 'replayed', 'refused')),
    award_id uuid,
    error_code text,
    recorded_at timestamptz NOT NULL,
    PRIMARY KEY (campaign_id, position)
);

CREATE INDEX "campaign_results_by_outcome" ON "public"."campaign_results" (campaign_id, outcome, position);
