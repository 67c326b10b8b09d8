/** Subscriptions against a live server, across restarts and crashes. */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import { Client, EventfoldError, type ReconnectInfo, type SubscriptionMessage } from "../src/index.js";
import { eventually, numberOf, numbered, range, unique } from "./helpers.js";
import { TestServer } from "./server.js";

let server: TestServer;
let client: Client;

before(async () => {
  server = await TestServer.start();
  client = new Client(server.url, { timeoutMs: 5_000 });
});

after(async () => {
  await server?.close();
});

/** Runs a subscription in the background, collecting its messages. */
function collect(subscription: AsyncIterable<SubscriptionMessage>): {
  messages: SubscriptionMessage[];
  numbers: () => number[];
  done: Promise<unknown>;
} {
  const messages: SubscriptionMessage[] = [];
  const done = (async () => {
    for await (const message of subscription) messages.push(message);
  })().then(
    () => undefined,
    (error: unknown) => error,
  );
  const numbers = (): number[] => messages.flatMap((m) => (m.kind === "event" ? [numberOf(m.event.data)] : []));
  return { messages, numbers, done };
}

const restarts = [
  { kind: "$all", how: "a clean restart", signal: "SIGINT" },
  { kind: "a stream", how: "a crash", signal: "SIGKILL" },
] as const;

for (const { kind, how, signal } of restarts) {
  test(`a subscription to ${kind} resumes after ${how} without duplicates or gaps`, async () => {
    const category = unique("resume");
    const stream = `${category}-1`;
    await client.append(stream, numbered(0, 5));

    // Records the Last-Event-ID of every subscription request.
    const sent: (string | undefined)[] = [];
    const recording = new Client(server.url, {
      timeoutMs: 5_000,
      fetch: (input, init) => {
        const headers = (init?.headers ?? {}) as Record<string, string>;
        if (String(input).includes("/subscribe/")) sent.push(headers["last-event-id"]);
        return fetch(input, init);
      },
    });
    const controller = new AbortController();
    const reconnects: ReconnectInfo[] = [];
    const options = {
      signal: controller.signal,
      reconnect: { initialDelayMs: 20, maxDelayMs: 200 },
      onReconnect: (info: ReconnectInfo) => reconnects.push(info),
    };
    const subscription =
      kind === "$all"
        ? recording.subscribeAll({ ...options, filter: { category } })
        : recording.subscribeStream(stream, options);
    const run = collect(subscription);

    await eventually("the history", () => run.numbers().length === 5);
    await eventually("caught up", () => run.messages.some((m) => m.kind === "caught_up"));
    await client.append(stream, numbered(5, 2)); // live, before the restart
    await eventually("the live events", () => run.numbers().length === 7);
    const lastSeen = run.messages.filter((m) => m.kind === "event").at(-1);
    assert.ok(lastSeen?.kind === "event");

    await server.restart(signal);
    await client.append(stream, numbered(7, 5)); // after the restart, maybe before the reconnection
    await eventually("the events after the restart", () => run.numbers().length >= 12);
    await client.append(stream, numbered(12, 1));
    await eventually("one more live event", () => run.numbers().length >= 13);

    controller.abort();
    assert.equal(await run.done, undefined, "an abort ends the subscription without an error");
    assert.deepEqual(run.numbers(), range(0, 13), "every event once, in order");
    assert.ok(reconnects.length >= 1, "it reconnected");
    assert.equal(reconnects[0]?.lastEventId, lastSeen.id, "resumed after the last event seen");
    assert.equal(sent[0], undefined, "the first connection sends no Last-Event-ID");
    assert.equal(sent.at(-1), String(lastSeen.id), "the reconnection sends the last id seen");
    const expectedId = kind === "$all" ? lastSeen.event.position : lastSeen.event.revision;
    assert.equal(lastSeen.id, expectedId);
  });
}

test("from end delivers only events appended after the call, even across a reconnection", async () => {
  const category = unique("tail");
  const stream = `${category}-1`;
  await client.append(stream, numbered(0, 3));
  const controller = new AbortController();
  let reconnected = false;
  const run = collect(
    client.subscribeAll({
      from: "end",
      filter: { category },
      signal: controller.signal,
      // Slow enough that the events below are written before the subscription is back.
      reconnect: { initialDelayMs: 1_000, maxDelayMs: 1_000 },
      onReconnect: () => {
        reconnected = true;
      },
    }),
  );
  await eventually("caught up", () => run.messages.some((m) => m.kind === "caught_up"));
  await server.restart("SIGINT");
  await client.append(stream, numbered(3, 2));
  await eventually("the events written while it was away", () => run.numbers().length === 2);
  controller.abort();
  await run.done;
  assert.ok(reconnected, "it reconnected");
  assert.deepEqual(run.numbers(), [3, 4]);

  const stop = new AbortController();
  const streamRun = collect(client.subscribeStream(stream, { from: "end", signal: stop.signal }));
  await eventually("caught up", () => streamRun.messages.some((m) => m.kind === "caught_up"));
  await client.append(stream, numbered(5, 1));
  await eventually("the new event", () => streamRun.numbers().length === 1);
  stop.abort();
  await streamRun.done;
  assert.deepEqual(streamRun.numbers(), [5]);
});

test("lastEventId resumes a subscription after a saved id", async () => {
  const stream = `${unique("saved")}-1`;
  await client.append(stream, numbered(0, 6));
  const numbers: number[] = [];
  for await (const message of client.subscribeStream(stream, { lastEventId: 3 })) {
    if (message.kind === "caught_up") break; // breaking closes the connection
    if (message.kind === "event") numbers.push(numberOf(message.event.data));
  }
  assert.deepEqual(numbers, [4, 5]);
});

test("a deleted stream ends its subscription with stream_deleted", async () => {
  const stream = `${unique("doomed")}-1`;
  await client.append(stream, numbered(0, 1));
  const run = collect(client.subscribeStream(stream, { reconnect: { maxAttempts: 0 } }));
  await eventually("caught up", () => run.messages.some((m) => m.kind === "caught_up"));
  await client.deleteStream(stream, { hard: true });
  const error = await run.done;
  assert.ok(error instanceof EventfoldError, `an EventfoldError, got ${String(error)}`);
  assert.equal(error.code, "stream_deleted");
  assert.equal(error.status, 410);

  // Subscribing to it again is refused at once.
  const again = collect(client.subscribeStream(stream));
  const refused = await again.done;
  assert.ok(refused instanceof EventfoldError);
  assert.equal(refused.code, "stream_deleted");
});

test("a subscription the server refuses throws its code", async () => {
  const run = collect(client.subscribeAll({ filter: { types: Array.from({ length: 40 }, (_, i) => `T${i}`) } }));
  const error = await run.done;
  assert.ok(error instanceof EventfoldError, `an EventfoldError, got ${String(error)}`);
  assert.equal(error.code, "invalid_request");
});

test("a subscription that cannot connect gives up after maxAttempts", async () => {
  const nowhere = new Client("http://127.0.0.1:9", { timeoutMs: 1_000 });
  const attempts: number[] = [];
  const run = collect(
    nowhere.subscribeAll({
      reconnect: { initialDelayMs: 1, maxDelayMs: 2, maxAttempts: 2 },
      onReconnect: (info) => attempts.push(info.attempt),
    }),
  );
  const error = await run.done;
  assert.ok(error instanceof EventfoldError);
  assert.equal(error.code, "unreachable");
  assert.deepEqual(attempts, [1, 2]);
});
