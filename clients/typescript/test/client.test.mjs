// Run by tests/test_client_typescript.py against a live service (REELFORGE_SERVER) and a proxy in
// front of it that fails on cue (REELFORGE_PROXY): the faults are armed before this file runs.
import assert from "node:assert/strict";
import { test } from "node:test";

import { ReelforgeError, createReelforgeClient, serverAdviceMs, unwrap, waitForRender } from "../dist/index.js";

const apiKey = process.env.REELFORGE_API_KEY;
const direct = createReelforgeClient({ baseUrl: process.env.REELFORGE_SERVER, apiKey });
const viaProxy = (extra = {}) =>
  createReelforgeClient({ baseUrl: process.env.REELFORGE_PROXY, apiKey, initialDelayMs: 50, maxDelayMs: 200, ...extra });

const edit = {
  timeline: { tracks: [{ clips: [{ asset: { type: "color", color: "purple" }, length: 1 }] }] },
  outputs: [{ resolution: "360p", quality: "draft", fps: 25, audio: false }],
};

test("retries a 503, a dropped connection and a 502 until the server answers", async () => {
  const projects = await unwrap(viaProxy().GET("/v1/projects", { params: { query: { limit: 5 } } }));
  assert.equal(projects.object, "list");
});

test("a create retried after a client timeout makes one render", async () => {
  const render = await unwrap(viaProxy({ timeoutMs: 1000 }).POST("/v1/renders", { body: { edit } }));
  const listed = await unwrap(direct.GET("/v1/renders"));
  assert.deepEqual(
    listed.data.map((r) => r.id),
    [render.id],
  );
  const done = await waitForRender(direct, render.id, { intervalMs: 200, timeoutMs: 180_000 });
  assert.equal(done.state, "succeeded");
  assert.ok(done.outputs.length >= 1);
});

test("refusals are typed errors with the problem and the request id", async () => {
  await assert.rejects(
    unwrap(direct.GET("/v1/renders/{render_id}", { params: { path: { render_id: "rnd_0000000000000000000000000" } } })),
    (error) => error instanceof ReelforgeError && error.status === 404 && error.requestId?.startsWith("req_"),
  );
  await assert.rejects(
    unwrap(direct.POST("/v1/renders", { body: { edit: { ...edit, outputs: [{ fps: -1 }] } } })),
    (error) =>
      error instanceof ReelforgeError &&
      error.status === 422 &&
      error.errors.some((e) => String(e.pointer).startsWith("#/edit")),
  );
  const stranger = createReelforgeClient({ baseUrl: process.env.REELFORGE_SERVER, apiKey: "rf_wrong", maxRetries: 0 });
  await assert.rejects(unwrap(stranger.GET("/v1/renders")), (error) => error.status === 401);
});

test("the server's advice on waiting", () => {
  assert.equal(serverAdviceMs(new Response(null, { status: 429, headers: { "Retry-After": "7" } })), 7000);
  assert.equal(
    serverAdviceMs(new Response(null, { status: 429, headers: { RateLimit: '"default";r=0;t=4' } })),
    4000,
  );
  assert.equal(serverAdviceMs(new Response(null, { status: 429 })), null);
});
