-- Gold coins (social-casino play) and smoke-test data.
-- A game session plays in the player's currency (NULL) or in gold coins ('GC').
ALTER TABLE spinledger_sessions ADD COLUMN IF NOT EXISTS currency text;

-- The wallet view keeps the gold-coin figures beside the money, never in the same columns; and whether the
-- player is a smoke test's, whose figures the reconciliation's money totals leave out.
ALTER TABLE wallet
    ADD COLUMN IF NOT EXISTS coin_balance numeric(18, 2) NOT NULL DEFAULT 0,
    ADD COLUMN IF NOT EXISTS coins_awarded numeric(18, 2) NOT NULL DEFAULT 0,
    ADD COLUMN IF NOT EXISTS coin_bets numeric(18, 2) NOT NULL DEFAULT 0,
    ADD COLUMN IF NOT EXISTS coin_wins numeric(18, 2) NOT NULL DEFAULT 0,
    ADD COLUMN IF NOT EXISTS coin_spins bigint NOT NULL DEFAULT 0,
    ADD COLUMN IF NOT EXISTS test boolean NOT NULL DEFAULT false;

-- The promotions view: a gold-coins promotion's budget and reservations in coins; test promotions, which the
-- liability report and the reconciliation's money totals leave out.
ALTER TABLE promotion_totals
    ADD COLUMN IF NOT EXISTS award_type text NOT NULL DEFAULT 'FREE_SPINS',
    ADD COLUMN IF NOT EXISTS budget_coins numeric(18, 2),
    ADD COLUMN IF NOT EXISTS coins_reserved numeric(18, 2) NOT NULL DEFAULT 0,
    ADD COLUMN IF NOT EXISTS test boolean NOT NULL DEFAULT false;

-- An award of gold coins is listed with the awards of spins (no spins, no expiry, currency GC) and carries its coins.
ALTER TABLE award_status ADD COLUMN IF NOT EXISTS coins_awarded numeric(18, 2);
ALTER TABLE promotion_awards ADD COLUMN IF NOT EXISTS coins_awarded numeric(18, 2);
ALTER TABLE bonus_awards ADD COLUMN IF NOT EXISTS coins_awarded numeric(18, 2);
