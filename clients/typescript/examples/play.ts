/**
 * Awards free spins and plays them, through the typed client:
 *
 *   SPINLEDGER_URL=http://127.0.0.1:8000 SPINLEDGER_API_KEY=dev-key npm run play
 *
 * The key needs players:write, promotions:write and awards:write. Each run makes its own player and promotion,
 * prints one line a step, and exits non-zero at the first failure. Its last line is the award's id and status as
 * JSON (`{"award_id": ..., "spins_used": ...}`), for a script to check.
 */
import { createSpinledgerClient, newRequestId, SpinledgerError, unwrap, type Schemas } from "../src/index.js";

const GAME = "crystal-forge-v1";
const SPINS = 3;

function env(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

function step(name: string, detail: string): void {
  console.log(`ok    ${name.padEnd(22)} ${detail}`);
}

const iso = (ms: number): string => new Date(ms).toISOString();

async function main(): Promise<void> {
  const baseUrl = env("SPINLEDGER_URL");
  const api = createSpinledgerClient({ baseUrl, token: env("SPINLEDGER_API_KEY") });
  const run = `${Date.now().toString(36)}-${newRequestId().slice(0, 8)}`;
  const playerId = `ts-player-${run}`;
  const promoId = `ts-promo-${run}`;
  const now = Date.now();

  const player = unwrap(
    await api.PUT("/api/v1/players/{player_id}", {
      params: { path: { player_id: playerId } },
      body: { region: "CA-ON", birth_date: "1990-04-01", currency: "CAD" },
    }),
  );
  step("define player", `${player.player_id} (${player.region}, ${player.currency})`);

  const terms: Schemas["PromotionTerms"] = {
    name: "TypeScript client example",
    award_type: "FREE_SPINS",
    game_codes: [GAME],
    max_spins_per_award: 10,
    bet_per_spin: "0.20",
    currency: "CAD",
    starts_at: iso(now - 3600_000),
    ends_at: iso(now + 7 * 86400_000),
    budget_spins: 100,
    allowed_regions: ["CA"],
    award_ttl_seconds: 86400,
  };
  const promotion = unwrap(
    await api.PUT("/api/v1/promotions/{promo_id}", { params: { path: { promo_id: promoId } }, body: terms }),
  );
  step("define promotion", `${promotion.promo_id}, budget ${promotion.budget_spins} spins`);

  const award = unwrap(
    await api.POST("/api/v1/awards", {
      body: {
        player_id: playerId,
        promo_id: promoId,
        award_type: "FREE_SPINS",
        award_value: SPINS,
        game_code: GAME,
        issued_at: iso(now),
        expires_at: iso(now + 6 * 3600_000),
        idempotency_key: `ts-example-${run}`,
      },
    }),
  );
  step("award free spins", `${award.awarded_count} spins, award ${award.award_id}, until ${award.expires_at}`);

  const session = unwrap(await api.POST("/api/v1/sessions", { body: { player_id: playerId } }));
  step("open session", `${session.currency} session until ${session.expires_at}`);

  const game = createSpinledgerClient({ baseUrl, token: session.token });
  const config = unwrap(await game.GET("/api/v1/game/config"));
  const held = config.session.freeSpinAwards.find((a) => a.awardId === award.award_id);
  if (!held) throw new Error(`the game's config does not list award ${award.award_id}`);
  step("game config", `${held.spinsRemaining} free spins of award ${held.awardId} at ${held.betAmount}`);

  for (let played = 1; played <= SPINS; played++) {
    const spin = unwrap(
      await game.POST("/api/v1/game/spin", {
        params: { header: { "X-Request-Id": newRequestId() } },
        body: { awardId: award.award_id },
      }),
    );
    if (spin.funding !== "award" || spin.awardId !== award.award_id) {
      throw new Error(`spin ${spin.spinId} was funded by ${spin.funding} ${spin.awardId ?? ""}, not by the award`);
    }
    step(`free spin ${played}/${SPINS}`, `spin ${spin.spinId}, won ${spin.totalWin} ${spin.currency}`);
    if (spin.bonusTriggered && spin.bonusData) await playBlock(game, spin.bonusData);
  }

  const status = unwrap(
    await api.GET("/api/v1/awards/{award_id}", { params: { path: { award_id: award.award_id } } }),
  );
  if (status.spins_used !== SPINS || status.spins_remaining !== 0 || status.status !== "completed") {
    throw new Error(`award ${status.award_id}: ${status.spins_used} used, ${status.spins_remaining} left, ${status.status}`);
  }
  step("award completed", `${status.spins_used} of ${status.spins_awarded} spins used, won ${status.total_win}`);
  console.log(JSON.stringify({ award_id: status.award_id, player_id: playerId, spins_used: status.spins_used, status: status.status }));
}

/** A free spin that opened a free-spins block: its bonus spins are played to the end before the next spin. */
async function playBlock(game: ReturnType<typeof createSpinledgerClient>, bonus: Schemas["BonusData"]): Promise<void> {
  for (let n = 1; ; n++) {
    const spin = unwrap(
      await game.POST("/api/v1/game/bonus/spin", {
        params: { header: { "X-Request-Id": newRequestId() } },
        body: { blockId: bonus.blockId },
      }),
    );
    step(`  bonus spin ${n}`, `won ${spin.totalWin} ${spin.currency}${spin.state === "bonus_complete" ? ", block complete" : ""}`);
    if (spin.state === "bonus_complete") return;
  }
}

main().catch((error: unknown) => {
  if (error instanceof SpinledgerError) console.error(`FAIL  ${error.message}: ${JSON.stringify(error.body)}`);
  else console.error(`FAIL  ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});
