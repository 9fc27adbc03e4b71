-- The promotions view keeps each promotion's figures as running totals, so that the liability report reads one
-- row per promotion instead of summing every award. Only what depends on the instant asked at is worked out
-- when the view is read: the awards past their expiry whose AwardExpired is not recorded yet (few: the expiry
-- job records them within minutes), and, for an instant in the past, recorded expiries that had not come yet.
--   open_spins / open_liability: unplayed spins (and × bet) of the awards neither cancelled nor recorded expired
--   spins_expired_recorded: unplayed spins of the awards recorded expired
ALTER TABLE promotion_totals
    ADD COLUMN IF NOT EXISTS spins_awarded bigint NOT NULL DEFAULT 0,
    ADD COLUMN IF NOT EXISTS spins_used bigint NOT NULL DEFAULT 0,
    ADD COLUMN IF NOT EXISTS spins_cancelled bigint NOT NULL DEFAULT 0,
    ADD COLUMN IF NOT EXISTS spins_expired_recorded bigint NOT NULL DEFAULT 0,
    ADD COLUMN IF NOT EXISTS open_spins bigint NOT NULL DEFAULT 0,
    ADD COLUMN IF NOT EXISTS open_liability numeric(18, 2) NOT NULL DEFAULT 0,
    ADD COLUMN IF NOT EXISTS wins_paid numeric(18, 2) NOT NULL DEFAULT 0;

-- A database made by an older release: its totals from the award rows it already holds, once.
UPDATE promotion_totals t SET
    spins_awarded = f.spins_awarded, spins_used = f.spins_used, spins_cancelled = f.spins_cancelled,
    spins_expired_recorded = f.spins_expired_recorded, open_spins = f.open_spins, open_liability = f.open_liability,
    wins_paid = f.wins_paid
FROM (
    SELECT promo_id,
           sum(coalesce(spins_awarded, 0)) AS spins_awarded,
           sum(spins_used) AS spins_used,
           coalesce(sum(spins_forfeited) FILTER (WHERE cancelled_at IS NOT NULL), 0) AS spins_cancelled,
           coalesce(sum(coalesce(spins_awarded, 0) - spins_used - spins_forfeited)
                    FILTER (WHERE cancelled_at IS NULL AND expiry_recorded_at IS NOT NULL), 0) AS spins_expired_recorded,
           coalesce(sum(coalesce(spins_awarded, 0) - spins_used - spins_forfeited)
                    FILTER (WHERE cancelled_at IS NULL AND expiry_recorded_at IS NULL), 0) AS open_spins,
           coalesce(sum((coalesce(spins_awarded, 0) - spins_used - spins_forfeited) * coalesce(bet_per_spin, 0))
                    FILTER (WHERE cancelled_at IS NULL AND expiry_recorded_at IS NULL), 0) AS open_liability,
           sum(total_win) AS wins_paid
    FROM promotion_awards GROUP BY promo_id
) f
WHERE f.promo_id = t.promo_id;

-- The awards the report works out at read time, found without scanning the rest.
CREATE INDEX IF NOT EXISTS promotion_awards_expiry_due ON promotion_awards (expires_at)
    WHERE cancelled_at IS NULL AND expiry_recorded_at IS NULL AND spins_used < spins_awarded;
CREATE INDEX IF NOT EXISTS promotion_awards_expiry_recorded ON promotion_awards (expires_at)
    WHERE cancelled_at IS NULL AND expiry_recorded_at IS NOT NULL;
