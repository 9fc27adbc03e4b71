/**
 * Drives the retry layer against a scripted HTTP server (tests/e2e/test_typescript_client.py runs one): each
 * scenario is one logical call through the typed client, on a path the server answers as the scenario says.
 * Prints one JSON line per scenario: what the call returned and the retries the layer reported. The server
 * records what each attempt sent; the Python test checks both.
 *
 *   node build/tests/retry.js http://127.0.0.1:PORT
 */
import { createSpinledgerClient, type RetryEvent } from "../src/index.js";

const baseUrl = process.argv[2];
if (!baseUrl) {
  console.error("usage: node build/tests/retry.js BASE_URL");
  process.exit(2);
}

let retries: RetryEvent[] = [];
const client = createSpinledgerClient({
  baseUrl,
  token: "test-key",
  // Short waits, so the scenarios take milliseconds; a server's longer retryAfterMs is still honoured up to 5 s.
  retry: { maxAttempts: 4, baseDelayMs: 20, maxDelayMs: 5000, attemptTimeoutMs: 3000, onRetry: (event) => retries.push(event) },
});

interface Outcome {
  status: number;
  code: string | null;
}

function codeOf(error: unknown): string | null {
  if (typeof error === "object" && error !== null && "error" in error) {
    const inner = (error as { error: { code?: unknown } }).error;
    return typeof inner.code === "string" ? inner.code : null;
  }
  return null;
}

async function scenario(name: string, call: () => Promise<{ error?: unknown; response: Response }>): Promise<void> {
  retries = [];
  const started = performance.now();
  let outcome: Outcome;
  try {
    const result = await call();
    outcome = { status: result.response.status, code: codeOf(result.error) };
  } catch (error) {
    outcome = { status: 0, code: error instanceof Error ? error.name : String(error) };
  }
  const elapsedMs = Math.round(performance.now() - started);
  const reported = retries.map(({ attempt, status, code, delayMs, requestId }) => ({ attempt, status, code, delayMs, requestId }));
  console.log(JSON.stringify({ scenario: name, ...outcome, elapsedMs, retries: reported }));
}

const player = (id: string) => client.GET("/api/v1/players/{player_id}", { params: { path: { player_id: id } } });

await scenario("503 then 200", () => player("p-503"));
await scenario("spin in progress then 200", () =>
  client.POST("/api/v1/game/spin", {
    params: { header: { "X-Request-Id": "spin-request-0001" } },
    body: { awardId: "9a91545d-d1f5-5a34-a30c-97b40b6c7dbb" },
  }),
);
await scenario("400 not retried", () =>
  client.PUT("/api/v1/players/{player_id}", {
    params: { path: { player_id: "p-400" } },
    body: { region: "ZZ-99", birth_date: "1990-04-01", currency: "CAD" },
  }),
);
await scenario("maintenance not retried", () => client.GET("/api/v1/game/config"));
await scenario("connection dropped then 200", () => player("p-reset"));
await scenario("plain 502 then 200", () => player("p-502"));
await scenario("429 honours Retry-After", () => player("p-429"));
await scenario("429 with a long wait returned", () => player("p-429-long"));
await scenario("cancel 503 then 200", () =>
  client.POST("/api/v1/awards/{award_id}/cancel", {
    params: { path: { award_id: "9a91545d-d1f5-5a34-a30c-97b40b6c7dbb" } },
    body: { reason: "campaign withdrawn" },
  }),
);
await scenario("award without a key not given one", () =>
  client.POST("/api/v1/awards", {
    body: { player_id: "12345", promo_id: "promo-free-5", award_type: "FREE_SPINS", award_value: 5, game_code: "crystal-forge-v1" },
  }),
);
await scenario("always 503 gives up", () => player("p-down"));
