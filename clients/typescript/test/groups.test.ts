/** Consumer groups against a live server: fetch, ack, nack and the consume loop. */
import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import { Client, NackError, type Delivery, type GroupSettings } from "../src/index.js";
import { eventually, numberOf, numbered, range, unique } from "./helpers.js";
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

/** Quick retries, so a nacked event comes back within the test. */
const QUICK = { retry_backoff_ms: 20, retry_backoff_max_ms: 20 } as const;

/** Fetches until `count` deliveries arrived (the group reads ahead in the background). */
async function fetchAtLeast(group: string, count: number): Promise<Delivery[]> {
  const deliveries: Delivery[] = [];
  await eventually(`${count} deliveries of ${group}`, async () => {
    deliveries.push(...(await client.fetch(group, { consumer: "tester", max: 100, waitMs: 500 })));
    return deliveries.length >= count;
  });
  return deliveries;
}

test("fetch, ack, nack to retry and nack to park", async () => {
  const category = unique("billing");
  const group = unique("group");
  const saved = await client.saveGroup(group, { filter: { category }, start: "start", max_attempts: 3, ...QUICK });
  assert.equal(saved.created, true);
  assert.equal(saved.group.name, group);
  assert.equal(saved.group.max_attempts, 3);
  assert.deepEqual(saved.group.filter, { category });
  const updated = await client.saveGroup(group, { filter: { category }, max_attempts: 4, ...QUICK });
  assert.equal(updated.created, false);
  assert.equal(updated.group.max_attempts, 4);
  assert.ok((await client.listGroups()).some((g) => g.name === group));

  await client.append(`${category}-1`, numbered(0, 3));
  const first = await fetchAtLeast(group, 3);
  assert.deepEqual(first.map((d) => numberOf(d.event.data)), [0, 1, 2]);
  assert.ok(first.every((d) => d.attempt === 1 && !d.replayed));
  const [done, again, poison] = first as [Delivery, Delivery, Delivery];

  assert.deepEqual(await client.ack(group, done.ack_id), { settled: 1, unknown: [] });
  assert.deepEqual(await client.nack(group, again.ack_id, "retry", "try later"), { settled: 1, unknown: [] });
  assert.deepEqual(await client.nack(group, [poison.ack_id], "park", "cannot parse"), { settled: 1, unknown: [] });
  assert.deepEqual(await client.ack(group, [done.ack_id]), { settled: 0, unknown: [done.ack_id] }, "settled already");

  const retried = await fetchAtLeast(group, 1);
  assert.equal(retried.length, 1);
  assert.equal(retried[0]?.ack_id, again.ack_id);
  assert.equal(retried[0]?.attempt, 2);
  await client.ack(group, retried[0]!.ack_id);

  await eventually("the group to settle", async () => {
    const { status } = await client.describeGroup(group);
    return status.in_flight === 0 && status.counters.acked === 2 && status.counters.parked === 1;
  });
  const { status } = await client.describeGroup(group);
  assert.equal(status.counters.retried, 1);
  assert.equal(status.counters.delivered, 4);
  assert.ok(status.consumers.some((c) => c.name === "tester"));

  await client.deleteGroup(group);
  await assert.rejects(client.describeGroup(group), { code: "group_not_found", status: 404 });
});

test("consume acks what the handler takes, retries what it throws, parks on NackError", async () => {
  const category = unique("shipping");
  const group = unique("group");
  await client.saveGroup(group, { filter: { category }, start: "start", ...QUICK });
  await client.append(`${category}-1`, numbered(0, 6));

  const controller = new AbortController();
  const handled = new Map<number, number[]>(); // n → attempts seen
  const finished = new Set<number>();
  const consuming = client.consume(
    group,
    "worker-1",
    (delivery) => {
      const n = numberOf(delivery.event.data);
      handled.set(n, [...(handled.get(n) ?? []), delivery.attempt]);
      if (n === 5) {
        finished.add(n);
        throw new NackError("park", "poison");
      }
      if (n % 2 === 1 && delivery.attempt === 1) throw new Error(`flaky on ${n}`);
      finished.add(n);
    },
    { signal: controller.signal, waitMs: 200 },
  );

  await eventually("every event handled", () => finished.size === 6);
  await eventually("the acks to land", async () => {
    const { status } = await client.describeGroup(group);
    return status.counters.acked === 5 && status.counters.parked === 1 && status.in_flight === 0;
  });
  controller.abort();
  await consuming; // resolves once stopped

  assert.deepEqual([...handled.keys()].sort((a, b) => a - b), range(0, 6));
  for (const n of [0, 2, 4]) assert.deepEqual(handled.get(n), [1], `event ${n} once`);
  for (const n of [1, 3]) assert.deepEqual(handled.get(n), [1, 2], `event ${n} retried once`);
  assert.deepEqual(handled.get(5), [1], "parked at once");
  const { status } = await client.describeGroup(group);
  assert.equal(status.counters.retried, 2);
  assert.equal(status.lag_events, 0);
});

test("consume stops on abort while it long-polls, and fails on a missing group", async () => {
  const group = unique("group");
  await client.saveGroup(group, { filter: { category: unique("quiet") } });
  const controller = new AbortController();
  const started = Date.now();
  const consuming = client.consume(group, "idle", () => assert.fail("no events"), { signal: controller.signal, waitMs: 10_000 });
  setTimeout(() => controller.abort(), 100);
  await consuming;
  assert.ok(Date.now() - started < 5_000, "stopped without waiting out the poll");

  await assert.rejects(
    client.consume(unique("missing"), "w", () => undefined),
    { code: "group_not_found" },
  );
});

test("a group's source cannot change: a save naming another filter or stream is a conflict", async () => {
  const category = unique("audit");
  const group = unique("group");
  await client.saveGroup(group, { filter: { category }, start: "start" });
  const changes: [string, GroupSettings][] = [
    ["another filter", { filter: { category: unique("other") } }],
    ["no filter (the empty one)", { max_attempts: 2 }],
    ["a stream", { stream: `${category}-1` }],
  ];
  for (const [what, settings] of changes) {
    await assert.rejects(client.saveGroup(group, settings), { code: "conflict", status: 409 }, what);
  }
  const same = await client.saveGroup(group, { filter: { category }, max_attempts: 2 });
  assert.equal(same.created, false);
  assert.equal(same.group.max_attempts, 2);
  assert.deepEqual(same.group.filter, { category });
  await client.deleteGroup(group);
});

test("start: a revision of a stream, a position or a time of $all, resolved to a cursor", async () => {
  const category = unique("start");
  const stream = `${category}-1`;
  await client.append(stream, numbered(0, 2));
  await new Promise((resolve) => setTimeout(resolve, 5)); // a later recorded_at for the next batch
  await client.append(stream, numbered(2, 3));
  const events = await client.readStream(stream);

  const onStream = await client.saveGroup(unique("group"), { stream, start: { revision: 3 } });
  assert.equal(onStream.group.stream, stream);
  assert.equal(onStream.group.start, 3);
  const atRevision = await fetchAtLeast(onStream.group.name, 2);
  assert.deepEqual(atRevision.map((d) => numberOf(d.event.data)), [3, 4]);

  const atPosition = await client.saveGroup(unique("group"), { filter: { category }, start: { position: events[1]!.position } });
  assert.equal(atPosition.group.start, events[1]!.position);
  assert.deepEqual((await fetchAtLeast(atPosition.group.name, 4)).map((d) => numberOf(d.event.data)), [1, 2, 3, 4]);

  const atTime = await client.saveGroup(unique("group"), { filter: { category }, start: { time: events[2]!.recorded_at } });
  assert.equal(atTime.group.start, events[2]!.position, "the first event recorded at or after the time");

  const { settings } = await client.describeGroup(atTime.group.name);
  assert.equal(settings.start, events[2]!.position);
  assert.equal(settings.strategy, "round_robin");

  // A start that does not fit the source.
  await assert.rejects(client.saveGroup(unique("group"), { stream, start: { position: 0 } }), { code: "invalid_request", status: 400 });
  await assert.rejects(client.saveGroup(unique("group"), { start: { revision: 0 } }), { code: "invalid_request", status: 400 });
  for (const group of [onStream, atPosition, atTime]) await client.deleteGroup(group.group.name);
});
