/** Retries and errors against a scripted `fetch`, without a server. */
import assert from "node:assert/strict";
import { test } from "node:test";

import { Client, EventfoldError } from "../src/index.js";

type Step = (request: { url: string; init: RequestInit }) => Response | Promise<Response>;

/** A `fetch` that answers with `steps` in turn, recording each request. */
function scripted(steps: Step[]): { fetch: typeof globalThis.fetch; requests: { url: string; init: RequestInit }[] } {
  const requests: { url: string; init: RequestInit }[] = [];
  const fetch = async (input: string | URL | Request, init: RequestInit = {}): Promise<Response> => {
    const request = { url: String(input), init };
    requests.push(request);
    const step = steps.shift();
    if (step === undefined) throw new Error("no more scripted answers");
    return step(request);
  };
  return { fetch: fetch as typeof globalThis.fetch, requests };
}

const json = (status: number, body: unknown, headers: Record<string, string> = {}): Response =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json", ...headers } });

const appended = { first_revision: 0, last_revision: 1, first_position: 0, last_position: 1 };
const fast = { retries: 3, initialDelayMs: 1, maxDelayMs: 5 };

test("an append retried after a 503 and a network failure sends the same event ids", async () => {
  const { fetch, requests } = scripted([
    () => json(503, { error: "unavailable", message: "busy" }, { "retry-after": "0" }),
    () => {
      throw new TypeError("fetch failed", { cause: new Error("ECONNRESET") });
    },
    () => json(201, appended),
  ]);
  const client = new Client("http://eventfold.test", { fetch, retry: fast });
  const result = await client.append("order-1", [
    { type: "Placed", data: { n: 1 } },
    { id: "5b0c52a3-8a0e-4a5e-9c1e-0d6b2d1c9a11", type: "Paid", data: { n: 2 } },
  ]);
  assert.deepEqual(result, appended);
  assert.equal(requests.length, 3);
  const bodies = requests.map((r) => JSON.parse(String(r.init.body)) as { events: { id: string }[]; expected_revision: string });
  const ids = bodies.map((body) => body.events.map((event) => event.id));
  assert.match(ids[0]![0]!, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  assert.equal(ids[0]![1], "5b0c52a3-8a0e-4a5e-9c1e-0d6b2d1c9a11");
  assert.deepEqual(ids[1], ids[0]);
  assert.deepEqual(ids[2], ids[0]);
  assert.equal(bodies[0]!.expected_revision, "any");
  assert.equal(requests[0]!.url, "http://eventfold.test/streams/order-1");
});

test("Retry-After is waited out", async () => {
  const { fetch } = scripted([() => json(503, { error: "locked", message: "later" }, { "retry-after": "1" }), () => json(201, appended)]);
  const client = new Client("http://eventfold.test", { fetch, retry: fast });
  const started = performance.now();
  await client.append("a", [{ type: "t", data: 1 }]);
  assert.ok(performance.now() - started >= 950, "waited about a second");
});

test("a conflict is not retried, and carries its code and details", async () => {
  const { fetch, requests } = scripted([
    () =>
      json(
        409,
        { error: "wrong_expected_revision", message: "expected no_stream, actual 4", expected: "no_stream", actual: 4 },
        { "x-request-id": "req-1" },
      ),
  ]);
  const client = new Client("http://eventfold.test", { fetch, retry: fast });
  const error = await client.append("a", [{ type: "t", data: 1 }], { expectedRevision: "no_stream" }).then(
    () => assert.fail("no error"),
    (e: unknown) => e,
  );
  assert.ok(error instanceof EventfoldError);
  assert.equal(error.status, 409);
  assert.equal(error.code, "wrong_expected_revision");
  assert.equal(error.expected, "no_stream");
  assert.equal(error.actual, 4);
  assert.equal(error.requestId, "req-1");
  assert.equal(error.retryable, false);
  assert.equal(requests.length, 1);
});

test("retries stop after the configured number, with the last error", async () => {
  const busy = (): Response => json(503, { error: "unavailable", message: "busy" });
  const { fetch, requests } = scripted([busy, busy, busy]);
  const client = new Client("http://eventfold.test", { fetch, retry: fast });
  await assert.rejects(client.readStream("a", { retries: 2 }), (error: unknown) => {
    assert.ok(error instanceof EventfoldError);
    assert.equal(error.code, "unavailable");
    return true;
  });
  assert.equal(requests.length, 3);
});

test("a time-out is an EventfoldError with code client_timeout, and is retried", async () => {
  // A socket would keep the process alive; AbortSignal.timeout's timer does not.
  const hang: Step = ({ init }) =>
    new Promise((_, reject) => {
      const alive = setTimeout(() => undefined, 10_000);
      init.signal?.addEventListener("abort", () => {
        clearTimeout(alive);
        reject(init.signal?.reason);
      });
    });
  const { fetch, requests } = scripted([hang, hang]);
  const client = new Client("http://eventfold.test", { fetch, retry: { ...fast, retries: 1 }, timeoutMs: 20 });
  await assert.rejects(client.health(), (error: unknown) => error instanceof EventfoldError && error.code === "client_timeout");
  assert.equal(requests.length, 2);
});

test("an aborted call rejects with the signal's reason and is not retried", async () => {
  const controller = new AbortController();
  const hang: Step = ({ init }) =>
    new Promise((_, reject) => init.signal?.addEventListener("abort", () => reject(init.signal?.reason)));
  const { fetch, requests } = scripted([hang]);
  const client = new Client("http://eventfold.test", { fetch, retry: fast });
  const call = client.readAll({ signal: controller.signal });
  controller.abort(new Error("stop"));
  await assert.rejects(call, /stop/);
  assert.equal(requests.length, 1);
});

test("headers, token, names and filters reach the request", async () => {
  const { fetch, requests } = scripted([() => json(200, { events: [], next: 0, end_of_log: true })]);
  const client = new Client("http://eventfold.test/prefix", { fetch, token: "t0k", headers: { "x-tenant": "acme" } });
  await client.readAll({ from: 7, filter: { types: ["A", "B"], category: "order" }, limit: 10 });
  const { url, init } = requests[0]!;
  assert.equal(url, "http://eventfold.test/prefix/all?from=7&limit=10&type=A%2CB&category=order");
  const headers = init.headers as Record<string, string>;
  assert.equal(headers["authorization"], "Bearer t0k");
  assert.equal(headers["x-tenant"], "acme");
  await assert.rejects(client.readStream(".."), RangeError);
});

test("since, bytes_max and a null filter field reach the query; from and since travel together", async () => {
  const page = { events: [], next: 0, end_of_log: true };
  const { fetch, requests } = scripted([() => json(200, page), () => json(200, { events: [] })]);
  const client = new Client("http://eventfold.test", { fetch });
  await client.readAll({ from: 3, since: new Date("2026-01-02T03:04:05.000Z"), bytesMax: 4096, filter: { category: null, prefix: "a" } });
  assert.equal(requests[0]!.url, "http://eventfold.test/all?from=3&since=2026-01-02T03%3A04%3A05.000Z&bytes_max=4096&prefix=a");
  await client.readStream("s", { bytesMax: 1 });
  assert.equal(requests[1]!.url, "http://eventfold.test/streams/s?bytes_max=1");
});

test("group requests send only the documented fields", async () => {
  const settled = { settled: 1, unknown: [] };
  const { fetch, requests } = scripted([
    () => json(200, settled),
    () => json(200, settled),
    () => json(200, settled),
    () => json(200, { messages: [] }),
    () => json(200, { messages: [] }),
  ]);
  const client = new Client("http://eventfold.test", { fetch });
  await client.ack("g", "7");
  await client.nack("g", ["7", "p8"]);
  await client.nack("g", "9", "park", "x".repeat(2_000));
  await client.fetch("g");
  await client.fetch("g", { consumer: "w", max: 5, waitMs: 0 });
  const bodies = requests.map((r) => JSON.parse(String(r.init.body)) as unknown);
  // An ack takes `ack_ids` and nothing else (the server refuses unknown fields with 400).
  assert.deepEqual(bodies[0], { ack_ids: ["7"] });
  assert.deepEqual(bodies[1], { ack_ids: ["7", "p8"], action: "retry" });
  assert.deepEqual(bodies[2], { ack_ids: ["9"], action: "park", reason: "x".repeat(1024) });
  assert.deepEqual(bodies[3], {});
  assert.deepEqual(bodies[4], { consumer: "w", max: 5, wait_ms: 0 });
  assert.deepEqual(
    requests.map((r) => new URL(r.url).pathname),
    ["/groups/g/ack", "/groups/g/nack", "/groups/g/nack", "/groups/g/fetch", "/groups/g/fetch"],
  );
});

test("an event with id null gets a UUID, so its retries are recognised", async () => {
  const { fetch, requests } = scripted([() => json(201, appended)]);
  const client = new Client("http://eventfold.test", { fetch });
  await client.append("a", [{ type: "t", data: null, id: null }]);
  const body = JSON.parse(String(requests[0]!.init.body)) as { events: { id: unknown }[] };
  assert.match(String(body.events[0]!.id), /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
});
