/**
 * The spinledger API client: openapi-fetch typed with the generated `paths` (src/schema.d.ts, from the served
 * /openapi.json), plus the one hand-written layer seed 001's client has: a retryable answer is retried with the
 * same X-Request-Id (and, on the routes that take one, the same Idempotency-Key), so a retry is never a second
 * award, cancel or spin.
 */
import createClient, { type Client, type Middleware } from "openapi-fetch";

import type { components, paths } from "./schema.js";

export type { components, operations, paths } from "./schema.js";
export type Schemas = components["schemas"];
export type ErrorEnvelope = components["schemas"]["ErrorEnvelope"];
export type ApiError = components["schemas"]["Error"];
export type SpinledgerClient = Client<paths>;

export const REQUEST_ID_HEADER = "X-Request-Id";
export const IDEMPOTENCY_KEY_HEADER = "Idempotency-Key";

/**
 * The codes the service answers as retryable (seed 001's retry policy, and the back-office API's own): the same
 * request, with the same X-Request-Id and key, may be sent again after `retryAfterMs`. The envelope's own
 * `retryable` flag decides when it is there; these are for an answer that names a code but no flag.
 */
export const RETRYABLE_CODES: ReadonlySet<string> = new Set([
  "SPIN_IN_PROGRESS", // 409, retry after 2 s
  "WALLET_UNAVAILABLE", // 503, retry after 5 s
  "INTERNAL_ERROR", // 500, retry after 3 s
  "CONCURRENT_UPDATE", // 503
  "SERVICE_UNAVAILABLE", // 503
  "RATE_LIMIT", // 429, retryAfterMs until the cap's window ends (often too long to wait: then it is returned)
]);

/**
 * The routes whose idempotency key is optional: a call to one that carries none (no `Idempotency-Key` header, no
 * `idempotency_key` in the body) is given one, once per logical call, so that its retry is a replay of the first
 * cancel rather than a 409. (An award's key is required, and the caller's to choose: the client never makes one up,
 * and an award without one is the API's 400 MISSING_FIELD.)
 */
export const AUTO_IDEMPOTENCY_KEY_ROUTES: ReadonlySet<string> = new Set(["/api/v1/awards/{award_id}/cancel"]);

export interface RetryOptions {
  /** Attempts in all, the first included (default 4: the first and seed 001's three retries). */
  maxAttempts?: number;
  /** The first retry's delay before jitter; each next one doubles (default 1000 ms, as seed 001's client). */
  baseDelayMs?: number;
  /**
   * The longest wait between two attempts (default 30 s). A server asking for longer (a RATE_LIMIT whose window
   * ends in hours) is not waited for: its answer is returned at once.
   */
  maxDelayMs?: number;
  /** Each attempt's own time limit; one that runs out is retried like a network error (default 30 s; 0: none). */
  attemptTimeoutMs?: number;
  /** Retry when no answer came at all (connection refused or reset, an attempt's timeout). Default true. */
  retryNetworkErrors?: boolean;
  /** Called before each retry (for logs and tests). */
  onRetry?: (event: RetryEvent) => void;
  /** How to wait (tests make it instant); default setTimeout. */
  sleep?: (ms: number) => Promise<void>;
  /** In [0, 1): the jitter's source; default Math.random. */
  random?: () => number;
}

export interface RetryEvent {
  /** The attempt that failed, from 1. */
  attempt: number;
  /** What it got: a status, or the network error. */
  status: number | null;
  code: string | null;
  error: unknown;
  delayMs: number;
  requestId: string | null;
}

export interface ClientOptions {
  /** e.g. http://127.0.0.1:8000 (the API's paths begin with /api/v1). */
  baseUrl: string;
  /** A back-office API key (SPINLEDGER_API_KEYS), or a game session's token: sent as Authorization: Bearer. */
  token?: string;
  /** Extra headers on every call, e.g. X-Api-Version. */
  headers?: Record<string, string>;
  /** The retry layer's settings; `false` turns it off. */
  retry?: RetryOptions | false;
  /** The fetch underneath (default globalThis.fetch). */
  fetch?: (input: Request) => Promise<Response>;
}

/** A new X-Request-Id: one per logical call (a spin, an award), re-sent as it is on every retry of that call. */
export function newRequestId(): string {
  return globalThis.crypto.randomUUID();
}

/** The typed client: `client.POST("/api/v1/awards", { body })` and so on, every path of the document. */
export function createSpinledgerClient(options: ClientOptions): SpinledgerClient {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token !== undefined) headers["Authorization"] = `Bearer ${options.token}`;
  const base = options.fetch ?? ((input: Request) => globalThis.fetch(input));
  const client = createClient<paths>({
    baseUrl: options.baseUrl,
    headers,
    fetch: options.retry === false ? base : retryingFetch(base, options.retry ?? {}),
  });
  client.use(requestIdentity);
  return client;
}

/**
 * Gives each logical call its X-Request-Id (crypto.randomUUID(), unless the caller sent one: a game client
 * resending a spin after a lost answer sends the spin's own), and an Idempotency-Key to a call of
 * AUTO_IDEMPOTENCY_KEY_ROUTES that has none. Runs once per call, before the retry layer: every attempt carries the same.
 */
export const requestIdentity: Middleware = {
  async onRequest({ request, schemaPath }) {
    if (!request.headers.has(REQUEST_ID_HEADER)) request.headers.set(REQUEST_ID_HEADER, newRequestId());
    if (
      request.method === "POST" &&
      AUTO_IDEMPOTENCY_KEY_ROUTES.has(schemaPath) &&
      !request.headers.has(IDEMPOTENCY_KEY_HEADER) &&
      !(await bodyNamesIdempotencyKey(request))
    ) {
      request.headers.set(IDEMPOTENCY_KEY_HEADER, newRequestId());
    }
    return request;
  },
};

async function bodyNamesIdempotencyKey(request: Request): Promise<boolean> {
  try {
    const body: unknown = await request.clone().json();
    return typeof body === "object" && body !== null && "idempotency_key" in body;
  } catch {
    return false; // no body, or not JSON: the service will say what is wrong
  }
}

/**
 * A fetch that retries retryable answers: a network error or an attempt's timeout, a 5xx, a 429, or an error
 * envelope whose `retryable` is true (SPIN_IN_PROGRESS is a 409), waiting exponential backoff with jitter and at
 * least the server's `retryAfterMs` or `Retry-After`. Each attempt sends a copy of the same Request, so the same
 * X-Request-Id and Idempotency-Key. An answer the envelope marks not retryable (any 4xx, GAME_UNDER_MAINTENANCE's
 * 503) is returned at once, as is the last attempt's.
 */
export function retryingFetch(
  fetchOnce: (input: Request) => Promise<Response>,
  options: RetryOptions = {},
): (input: Request) => Promise<Response> {
  const maxAttempts = Math.max(1, options.maxAttempts ?? 4);
  const baseDelayMs = options.baseDelayMs ?? 1000;
  const maxDelayMs = options.maxDelayMs ?? 30_000;
  const attemptTimeoutMs = options.attemptTimeoutMs ?? 30_000;
  const retryNetworkErrors = options.retryNetworkErrors ?? true;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const random = options.random ?? Math.random;

  return async (request: Request): Promise<Response> => {
    const requestId = request.headers.get(REQUEST_ID_HEADER);
    for (let attempt = 1; ; attempt++) {
      const last = attempt >= maxAttempts;
      const backoff = jittered(Math.min(maxDelayMs, baseDelayMs * 2 ** (attempt - 1)), random);
      let response: Response;
      try {
        response = await fetchOnce(withTimeout(request.clone(), attemptTimeoutMs));
      } catch (error) {
        if (last || !retryNetworkErrors || request.signal.aborted) throw error; // the caller's own abort: no retry
        options.onRetry?.({ attempt, status: null, code: null, error, delayMs: backoff, requestId });
        await sleep(backoff);
        continue;
      }
      if (response.ok || last) return response;
      const verdict = await judge(response);
      if (!verdict.retryable) return response;
      const delayMs = Math.max(backoff, verdict.afterMs ?? 0);
      if (delayMs > maxDelayMs) return response; // the server asks for longer than this client waits
      options.onRetry?.({ attempt, status: response.status, code: verdict.code, error: null, delayMs, requestId });
      await response.body?.cancel().catch(() => undefined); // free the connection of the answer not returned
      await sleep(delayMs);
    }
  };
}

interface Verdict {
  retryable: boolean;
  code: string | null;
  afterMs: number | null;
}

/** Whether a non-2xx answer may be retried, and after how long the server wants it: from its error envelope when
 * it has one (the `retryable` flag, else the code), else from its status (429 and 5xx are). */
export async function judge(response: Response): Promise<Verdict> {
  const envelope = await errorOf(response);
  const header = retryAfterHeaderMs(response.headers.get("Retry-After"));
  const afterMs = typeof envelope?.retryAfterMs === "number" ? envelope.retryAfterMs : header;
  const code = typeof envelope?.code === "string" ? envelope.code : null;
  let retryable: boolean;
  if (typeof envelope?.retryable === "boolean") retryable = envelope.retryable;
  else if (code !== null) retryable = RETRYABLE_CODES.has(code) || response.status === 429 || response.status >= 500;
  else retryable = response.status === 429 || response.status >= 500;
  return { retryable, code, afterMs };
}

async function errorOf(response: Response): Promise<Partial<ApiError> | null> {
  try {
    const body: unknown = await response.clone().json();
    if (typeof body === "object" && body !== null && "error" in body) {
      const error = (body as { error: unknown }).error;
      if (typeof error === "object" && error !== null) return error as Partial<ApiError>;
    }
  } catch {
    // not JSON (a proxy's page): judged by its status
  }
  return null;
}

/** Retry-After in milliseconds: delta-seconds, or an HTTP date. */
export function retryAfterHeaderMs(value: string | null, now: number = Date.now()): number | null {
  if (value === null || value.trim() === "") return null;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}

/** "Equal jitter": half the delay fixed, half at random, so retries of many clients spread out. */
function jittered(delayMs: number, random: () => number): number {
  return Math.round(delayMs / 2 + (delayMs / 2) * random());
}

function withTimeout(request: Request, timeoutMs: number): Request {
  if (timeoutMs <= 0) return request;
  return new Request(request, { signal: AbortSignal.any([request.signal, AbortSignal.timeout(timeoutMs)]) });
}

/** Thrown by `unwrap` for an answer that is not a success. */
export class SpinledgerError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    readonly retryable: boolean,
    readonly requestId: string | null,
    readonly body: unknown,
  ) {
    super(`${status} ${code}${requestId ? ` (request ${requestId})` : ""}`);
    this.name = "SpinledgerError";
  }
}

/** The data of a call's result, or a SpinledgerError carrying the error envelope's code. */
export function unwrap<T>(result: { data?: T; error?: unknown; response: Response }): T {
  if (result.response.ok && result.error === undefined) return result.data as T;
  const envelope = result.error as Partial<ErrorEnvelope> | undefined;
  const error = envelope?.error;
  throw new SpinledgerError(
    result.response.status,
    error?.code ?? `HTTP_${result.response.status}`,
    error?.retryable ?? false,
    error?.requestId ?? result.response.headers.get(REQUEST_ID_HEADER),
    result.error,
  );
}
