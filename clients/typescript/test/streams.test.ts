/** Appends, reads, errors and `$all` paging against a live server. */
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, test } from "node:test";

import { Client, EventfoldError } from "../src/index.js";
import { numberOf, numbered, range, unique } from "./helpers.js";
import { TestServer } from "./server.js";

let server: TestServer;
let client: Client;

before(async () => {
  server = await TestServer.start();
  client = new Client(server.url, { timeoutMs: 10_000 });
});

after(async () => {
  await server?.close();
});

/** The EventfoldError a promise rejects with. */
async function failure(promise: Promise<unknown>): Promise<EventfoldError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof EventfoldError) return error;
    throw error;
  }
  assert.fail("the call succeeded");
}

test("append, then read forward and backward", async () => {
  const stream = `${unique("account")}-42`;
  const first = await client.append(stream, [{ type: "Opened", data: { owner: "ann" }, metadata: { by: "teller-7" } }], {
    expectedRevision: "no_stream",
  });
  assert.equal(first.first_revision, 0);
  assert.equal(first.last_revision, 0);
  const second = await client.append(stream, numbered(1, 2, "Deposited"), { expectedRevision: 0 });
  assert.equal(second.first_revision, 1);
  assert.equal(second.last_revision, 2);
  assert.ok(second.first_position > first.last_position);

  const events = await client.readStream(stream);
  assert.deepEqual(
    events.map((e) => [e.revision, e.type]),
    [
      [0, "Opened"],
      [1, "Deposited"],
      [2, "Deposited"],
    ],
  );
  const opened = events[0]!;
  assert.equal(opened.stream, stream);
  assert.deepEqual(opened.data, { owner: "ann" });
  assert.deepEqual(opened.metadata, { by: "teller-7" });
  assert.match(opened.id, /^[0-9a-f-]{36}$/);
  assert.equal(opened.occurred_at, null);
  assert.ok(!Number.isNaN(Date.parse(opened.recorded_at)));

  const last = await client.readStream(stream, { direction: "backward", limit: 1 });
  assert.deepEqual(last.map((e) => e.revision), [2]);
  const fromOne = await client.readStream(stream, { from: 1, limit: 1 });
  assert.deepEqual(fromOne.map((e) => e.revision), [1]);
  assert.equal(await client.streamRevision(stream), 2);
  assert.equal(await client.streamRevision(unique("missing")), null);
});

test("stream names travel percent-encoded", async () => {
  const stream = `${unique("odd")}-a/b ü?#%`;
  await client.append(stream, numbered(0, 1));
  const events = await client.readStream(stream);
  assert.equal(events[0]?.stream, stream);
});

test("a wrong expected revision fails with its code, expected and actual", async () => {
  const stream = `${unique("order")}-1`;
  await client.append(stream, numbered(0, 1), { expectedRevision: "no_stream" });

  const again = await failure(client.append(stream, numbered(1, 1), { expectedRevision: "no_stream" }));
  assert.equal(again.status, 409);
  assert.equal(again.code, "wrong_expected_revision");
  assert.equal(again.expected, "no_stream");
  assert.equal(again.actual, 0);
  assert.ok(again.requestId !== undefined);

  const stale = await failure(client.append(stream, numbered(1, 1), { expectedRevision: 5 }));
  assert.equal(stale.code, "wrong_expected_revision");
  assert.equal(stale.expected, 5);
  assert.equal(stale.actual, 0);

  const missing = await failure(client.append(`${unique("order")}-2`, numbered(0, 1), { expectedRevision: "exists" }));
  assert.equal(missing.code, "wrong_expected_revision");
  assert.equal(missing.actual, null);

  assert.equal((await client.readStream(stream)).length, 1, "nothing was written");
});

test("appending the same ids twice writes one copy", async () => {
  const stream = `${unique("payment")}-1`;
  const events = numbered(0, 3).map((event) => ({ ...event, id: randomUUID() }));
  const first = await client.append(stream, events, { expectedRevision: "no_stream" });
  const retry = await client.append(stream, events, { expectedRevision: "no_stream" });
  assert.deepEqual(retry, first, "the retry answers with the first result");
  const stored = await client.readStream(stream);
  assert.deepEqual(
    stored.map((e) => e.id),
    events.map((e) => e.id),
  );
});

test("an append whose answer is lost is retried with the same ids and lands once", async () => {
  const stream = `${unique("invoice")}-1`;
  let dropped = 0;
  // Delivers the request to the server, then loses the answer: a network failure after the write.
  const lossy: typeof globalThis.fetch = async (input, init) => {
    const response = await fetch(input, init);
    if (init?.method === "POST" && dropped === 0) {
      dropped += 1;
      await response.arrayBuffer();
      throw new TypeError("fetch failed", { cause: new Error("socket hang up (simulated)") });
    }
    return response;
  };
  const flaky = new Client(server.url, { fetch: lossy, retry: { initialDelayMs: 10 } });
  const result = await flaky.append(stream, numbered(0, 2)); // expectedRevision "any": ids alone make it safe
  assert.equal(dropped, 1);
  assert.equal(result.first_revision, 0);
  const stored = await client.readStream(stream);
  assert.deepEqual(stored.map((e) => numberOf(e.data)), [0, 1]);
});

test("bad requests fail with the server's codes", async () => {
  const cases: [string, () => Promise<unknown>, number, string][] = [
    ["limit above the maximum", () => client.readAll({ limit: 20_000 }), 400, "invalid_request"],
    ["a control character in a name", () => client.append("bad\u0007name", numbered(0, 1)), 400, "invalid_stream_name"],
    ["no events", () => client.append(unique("empty"), []), 400, "empty_append"],
    ["an empty type", () => client.append(unique("typeless"), [{ type: "", data: 1 }]), 400, "invalid_event"],
    ["a server stream", () => client.append("$groups", numbered(0, 1)), 403, "reserved_stream"],
    ["a missing stream", () => client.readStream(unique("nothing")), 404, "stream_not_found"],
    ["a missing group", () => client.fetch(unique("nogroup")), 404, "group_not_found"],
    ["a bad group setting", () => client.saveGroup(unique("g"), { max_attempts: 0 }), 400, "invalid_request"],
  ];
  for (const [what, call, status, code] of cases) {
    const error = await failure(call());
    assert.equal(error.code, code, what);
    assert.equal(error.status, status, what);
    assert.ok(error.message.length > 0, what);
  }
  const bad = await failure(client.saveGroup(unique("g"), { max_attempts: 0 }));
  assert.match(bad.message, /max_attempts/, "the field is named");
});

test("$all pages through several pages with next and end_of_log", async () => {
  const category = unique("paging");
  const total = 23;
  // Three streams of one category, interleaved, with another category's events in between.
  for (const n of range(0, total)) {
    await client.append(`${category}-${n % 3}`, numbered(n, 1));
    if (n % 5 === 0) await client.append(`${unique("noise")}-1`, numbered(0, 1));
  }

  // Page by page.
  const pages: number[][] = [];
  let page = await client.readAll({ filter: { category }, limit: 5 });
  for (;;) {
    pages.push(page.events.map((e) => numberOf(e.data)));
    if (page.end_of_log) break;
    assert.ok(page.next !== null);
    page = await client.readAll({ from: page.next, filter: { category }, limit: 5 });
  }
  assert.ok(pages.length >= 5, `at least 5 pages, got ${pages.length}`);
  assert.ok(pages.slice(0, 4).every((p) => p.length === 5), "full pages before the last");
  assert.deepEqual(pages.flat(), range(0, total));

  // The iterator, counting its requests.
  let requests = 0;
  const counting = new Client(server.url, {
    fetch: (input, init) => {
      requests += 1;
      return fetch(input, init);
    },
  });
  const seen: number[] = [];
  const positions: number[] = [];
  for await (const event of counting.iterAll({ filter: { category }, pageSize: 4 })) {
    seen.push(numberOf(event.data));
    positions.push(event.position);
  }
  assert.deepEqual(seen, range(0, total));
  assert.ok(requests >= Math.ceil(total / 4), `paged (${requests} requests)`);
  assert.ok(positions.every((p, i) => i === 0 || p > positions[i - 1]!), "positions increase");

  // Backward, from the end to the start.
  const backward: number[] = [];
  for await (const event of client.iterAll({ filter: { category }, direction: "backward", pageSize: 7 })) {
    backward.push(numberOf(event.data));
  }
  assert.deepEqual(backward, range(0, total).reverse());

  // From a position in the middle.
  const middle = positions[10]!;
  const rest: number[] = [];
  for await (const event of client.iterAll({ from: middle, filter: { category }, pageSize: 6 })) rest.push(numberOf(event.data));
  assert.deepEqual(rest, range(10, total - 10));
});

test("data may be any JSON value, or base64 with another content type", async () => {
  const stream = `${unique("payload")}-1`;
  await client.append(stream, [
    { type: "Scalar", data: 1 },
    { type: "List", data: [1, 2] },
    { type: "Nothing", data: null },
    { type: "Blob", data: "aGVsbG8=", content_type: "application/octet-stream" },
  ]);
  const events = await client.readStream(stream);
  assert.deepEqual(
    events.map((e) => [e.data, e.content_type]),
    [
      [1, "application/json"],
      [[1, 2], "application/json"],
      [null, "application/json"],
      ["aGVsbG8=", "application/octet-stream"],
    ],
  );
  const error = await failure(client.append(stream, [{ type: "Blob", data: { a: 1 }, content_type: "text/plain" }]));
  assert.equal(error.code, "invalid_request");
  assert.match(error.message, /base64/);
});

test("$all with from and since starts at the later of the two; backward refuses both", async () => {
  const category = unique("since");
  const stream = `${category}-1`;
  await client.append(stream, numbered(0, 3));
  await new Promise((resolve) => setTimeout(resolve, 5)); // a later recorded_at for the next batch
  await client.append(stream, numbered(3, 3));
  const events = await client.readStream(stream);
  const position = (n: number): number => events[n]!.position;
  const since = events[3]!.recorded_at;
  assert.ok(events[2]!.recorded_at < since, "the batches were recorded apart");
  const filter = { category };
  const numbers = (page: { events: { data: unknown }[] }): number[] => page.events.map((e) => numberOf(e.data));

  assert.deepEqual(numbers(await client.readAll({ since, filter })), [3, 4, 5], "since alone");
  assert.deepEqual(numbers(await client.readAll({ from: position(1), since, filter })), [3, 4, 5], "since is later");
  assert.deepEqual(numbers(await client.readAll({ from: position(4), since, filter })), [4, 5], "from is later");
  const iterated: number[] = [];
  for await (const event of client.iterAll({ from: position(1), since, filter, pageSize: 1 })) iterated.push(numberOf(event.data));
  assert.deepEqual(iterated, [3, 4, 5], "iterAll keeps the start across pages");

  const backward = await failure(client.readAll({ from: "end", since, direction: "backward" }));
  assert.equal(backward.status, 400);
  assert.equal(backward.code, "invalid_request");

  const subscribed: number[] = [];
  for await (const message of client.subscribeAll({ from: position(4), since, filter })) {
    if (message.kind === "caught_up") break;
    if (message.kind === "event") subscribed.push(numberOf(message.event.data));
  }
  assert.deepEqual(subscribed, [4, 5], "a subscription takes both too");
});

test("bytesMax cuts a page short, never below one event", async () => {
  const category = unique("budget");
  const stream = `${category}-1`;
  await client.append(stream, numbered(0, 4));
  assert.deepEqual((await client.readStream(stream, { bytesMax: 1, limit: 10 })).map((e) => numberOf(e.data)), [0]);
  const page = await client.readAll({ filter: { category }, bytesMax: 1, limit: 10 });
  assert.deepEqual(page.events.map((e) => numberOf(e.data)), [0]);
  assert.equal(page.end_of_log, false);
  const all: number[] = [];
  for await (const event of client.iterAll({ filter: { category }, bytesMax: 1 })) all.push(numberOf(event.data));
  assert.deepEqual(all, range(0, 4));
  const error = await failure(client.readStream(stream, { bytesMax: 0 }));
  assert.equal(error.code, "invalid_request");
});
