/**
 * The TypeScript client of the Reelforge API: openapi-fetch over the types openapi-typescript
 * generates from the service's OpenAPI document (`src/schema.ts`), with the reliability users
 * expect from a hosted API's SDK: retries with exponential backoff and jitter on network errors,
 * timeouts, 408, 429 (honouring `Retry-After` and `RateLimit`), 502, 503 and 504; an
 * `Idempotency-Key` generated for every POST and reused across its retries; typed errors
 * carrying the problem and its `request_id`.
 *
 *   const rf = createReelforgeClient({ baseUrl: "http://127.0.0.1:8000", apiKey: "rf_..." });
 *   const render = await unwrap(rf.POST("/v1/renders", { body: { edit } }));
 *   const done = await waitForRender(rf, render.id);
 */
import createClient, { type Client } from "openapi-fetch";

import type { components, operations, paths } from "./schema.js";

export type { components, operations, paths };
export type Schemas = components["schemas"];
export type ReelforgeClient = Client<paths>;

export interface ReelforgeOptions {
  /** The server, e.g. `http://127.0.0.1:8000`. */
  baseUrl: string;
  /** An API key of the workspace (`rf_...`). */
  apiKey: string;
  /** Retries after the first attempt (default 3). */
  maxRetries?: number;
  /** Each attempt's timeout in milliseconds (default 60000). */
  timeoutMs?: number;
  /** The first backoff, doubled on each retry up to `maxDelayMs` (defaults 500 and 8000). */
  initialDelayMs?: number;
  maxDelayMs?: number;
  /** A server asking to wait longer than this gets its answer returned, not a sleeping caller (default 60000). */
  maxRetryAfterMs?: number;
  /** The fetch to send with (default: globalThis.fetch). */
  fetch?: (input: Request) => Promise<Response>;
}

const RETRY_STATUSES = new Set([408, 429, 502, 503, 504]);
const TERMINAL = new Set(["succeeded", "failed", "cancelled"]);

/** A refusal of the server: its problem+json, stable `code`, located `errors` and `requestId`. */
export class ReelforgeError extends Error {
  readonly status: number;
  readonly problem: Record<string, unknown>;
  readonly code: string | undefined;
  readonly requestId: string | undefined;
  readonly errors: Array<Record<string, unknown>>;

  constructor(status: number, problem: Record<string, unknown>, requestId?: string | null) {
    const code = typeof problem.code === "string" ? problem.code : undefined;
    const detail = (problem.detail ?? problem.title ?? `HTTP ${status}`) as string;
    const id = (problem.request_id as string | undefined) ?? requestId ?? undefined;
    super(`${status} ${code ?? "error"}: ${detail}${id ? ` [request ${id}]` : ""}`);
    this.name = "ReelforgeError";
    this.status = status;
    this.problem = problem;
    this.code = code;
    this.requestId = id;
    this.errors = Array.isArray(problem.errors) ? (problem.errors as Array<Record<string, unknown>>) : [];
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Seconds the server asks to wait: `Retry-After`, else the largest `t` of an exhausted `RateLimit` item. */
export function serverAdviceMs(response: Response): number | null {
  const retryAfter = response.headers.get("retry-after");
  if (retryAfter !== null && retryAfter.trim() !== "" && !Number.isNaN(Number(retryAfter))) {
    return Math.max(0, Number(retryAfter) * 1000);
  }
  let wait: number | null = null;
  for (const item of (response.headers.get("ratelimit") ?? "").split(",")) {
    const params = Object.fromEntries(
      item
        .split(";")
        .slice(1)
        .map((p) => p.trim().split("=", 2)),
    );
    if (params.r !== undefined && Number(params.r) <= 0 && params.t !== undefined) {
      wait = Math.max(wait ?? 0, Number(params.t) * 1000);
    }
  }
  return wait;
}

async function retryable(response: Response): Promise<boolean> {
  if (RETRY_STATUSES.has(response.status)) return true;
  if (response.status !== 409) return false;
  // Our own create still running under the same key: it answers once that one is done.
  try {
    const body = (await response.clone().json()) as { code?: string };
    return body.code === "idempotency-request-in-progress";
  } catch {
    return false;
  }
}

/** A fetch that retries (see the module's comment); every POST gets an Idempotency-Key kept across its retries. */
export function retryingFetch(options: ReelforgeOptions): (input: Request) => Promise<Response> {
  const send = options.fetch ?? ((input: Request) => globalThis.fetch(input));
  const maxRetries = options.maxRetries ?? 3;
  const timeoutMs = options.timeoutMs ?? 60_000;
  const initial = options.initialDelayMs ?? 500;
  const maxDelay = options.maxDelayMs ?? 8_000;
  const maxRetryAfter = options.maxRetryAfterMs ?? 60_000;
  const backoff = (attempt: number) => Math.min(maxDelay, initial * 2 ** attempt) * (1 - 0.25 * Math.random());

  return async (input: Request) => {
    let request = input;
    if (request.method === "POST" && !request.headers.has("idempotency-key")) {
      const headers = new Headers(request.headers);
      headers.set("Idempotency-Key", `rf-${crypto.randomUUID()}`);
      request = new Request(request, { headers });
    }
    for (let attempt = 0; ; attempt++) {
      const signal = AbortSignal.any([AbortSignal.timeout(timeoutMs), ...(input.signal ? [input.signal] : [])]);
      let response: Response;
      try {
        response = await send(new Request(request.clone(), { signal }));
      } catch (error) {
        if (input.signal?.aborted || attempt >= maxRetries) throw error;
        await sleep(backoff(attempt));
        continue;
      }
      if (attempt >= maxRetries || !(await retryable(response))) return response;
      const advised = serverAdviceMs(response);
      if (advised !== null && advised > maxRetryAfter) return response;
      await response.body?.cancel();
      await sleep(advised ?? backoff(attempt));
    }
  };
}

/** An openapi-fetch client of the Reelforge API, typed by the generated `paths`, retrying. */
export function createReelforgeClient(options: ReelforgeOptions): ReelforgeClient {
  return createClient<paths>({
    baseUrl: options.baseUrl.replace(/\/+$/, ""),
    headers: { Authorization: `Bearer ${options.apiKey}`, "User-Agent": "reelforge-typescript/0.1.0" },
    fetch: retryingFetch(options),
  });
}

/** The `data` of an openapi-fetch result, or a {@link ReelforgeError} for its problem. */
export async function unwrap<T>(
  call: Promise<{ data?: T; error?: unknown; response: Response }>,
): Promise<T> {
  const { data, error, response } = await call;
  if (response.ok && data !== undefined) return data;
  const problem =
    error && typeof error === "object" ? (error as Record<string, unknown>) : { detail: String(error ?? "") };
  throw new ReelforgeError(response.status, problem, response.headers.get("x-request-id"));
}

/** Poll a render until it has ended (`succeeded`, `failed` or `cancelled`); the render then. */
export async function waitForRender(
  client: ReelforgeClient,
  renderId: string,
  { intervalMs = 1000, timeoutMs = 30 * 60_000, onUpdate }: {
    intervalMs?: number;
    timeoutMs?: number;
    onUpdate?: (render: Schemas["RenderOut"]) => void;
  } = {},
): Promise<Schemas["RenderOut"]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const render = await unwrap(
      client.GET("/v1/renders/{render_id}", { params: { path: { render_id: renderId } } }),
    );
    onUpdate?.(render as Schemas["RenderOut"]);
    if (TERMINAL.has(render.state)) return render as Schemas["RenderOut"];
    if (Date.now() >= deadline) throw new Error(`render ${renderId} is still ${render.state} after ${timeoutMs} ms`);
    await sleep(intervalMs);
  }
}
