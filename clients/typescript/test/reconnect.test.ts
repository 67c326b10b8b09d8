/** Subscription reconnection against scripted SSE answers, without a server. */
import assert from "node:assert/strict";
import { test } from "node:test";

import { Client, EventfoldError, type SubscriptionMessage } from "../src/index.js";

/** An SSE answer that sends `text` and then, unless `end`, stays open until aborted. */
function sse(text: string, signal: AbortSignal | null | undefined, end = false): Response {
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(new TextEncoder().encode(text));
      if (end) controller.close();
      else signal?.addEventListener("abort", () => controller.error(signal.reason));
    },
  });
  return new Response(body, { status: 200, headers: { "content-type": "text/event-stream" } });
}

function event(id: number): string {
  return `id: ${id}\ndata: ${JSON.stringify({ stream: "s", revision: id, position: id, id: `e${id}`, type: "T", data: { n: id } })}\n\n`;
}

/** A client whose subscription requests get `answers` in turn; records their Last-Event-IDs. */
function scripted(answers: ((signal: AbortSignal | null | undefined) => Response)[]): {
  client: Client;
  lastEventIds: (string | undefined)[];
} {
  const lastEventIds: (string | undefined)[] = [];
  const fetch = async (_input: string | URL | Request, init: RequestInit = {}): Promise<Response> => {
    lastEventIds.push((init.headers as Record<string, string>)["last-event-id"]);
    const answer = answers.shift();
    if (answer === undefined) throw new TypeError("fetch failed (no more answers)");
    return answer(init.signal);
  };
  return { client: new Client("http://eventfold.test", { fetch: fetch as typeof globalThis.fetch }), lastEventIds };
}

async function take(iterator: AsyncIterable<SubscriptionMessage>, count: number): Promise<SubscriptionMessage[]> {
  const messages: SubscriptionMessage[] = [];
  for await (const message of iterator) {
    messages.push(message);
    if (messages.length === count) break;
  }
  return messages;
}

const ids = (messages: SubscriptionMessage[]): (number | string)[] =>
  messages.map((m) => (m.kind === "event" ? m.id : m.kind));

test("a silent connection is dropped after idleTimeoutMs and resumed after the last event", async () => {
  const { client, lastEventIds } = scripted([
    (signal) => sse(event(0) + event(1), signal), // then silence
    (signal) => sse(event(2) + "event: caught_up\ndata: {}\n\n", signal),
  ]);
  const messages = await take(client.subscribeAll({ idleTimeoutMs: 50, reconnect: { initialDelayMs: 1 } }), 4);
  assert.deepEqual(ids(messages), [0, 1, 2, "caught_up"]);
  assert.deepEqual(lastEventIds, [undefined, "1"]);
});

test("events a server sends again after a reconnection are dropped", async () => {
  const { client } = scripted([
    (signal) => sse(event(0) + event(1), signal, true), // the server ends the stream
    (signal) => sse(event(0) + event(1) + event(2), signal), // and replays from the start
  ]);
  const messages = await take(client.subscribeAll({ reconnect: { initialDelayMs: 1 } }), 3);
  assert.deepEqual(ids(messages), [0, 1, 2]);
});

test("a checkpoint moves the resume point; a retryable failure reconnects; others are thrown", async () => {
  const { client, lastEventIds } = scripted([
    (signal) => sse('event: checkpoint\nid: 41\ndata: {"position":42}\n\n' + 'event: failure\ndata: {"error":"unavailable","message":"busy"}\n\n', signal),
    (signal) => sse(event(50) + 'event: failure\ndata: {"error":"stream_deleted","message":"gone"}\n\n', signal),
  ]);
  const messages: SubscriptionMessage[] = [];
  await assert.rejects(
    (async () => {
      for await (const message of client.subscribeAll({ reconnect: { initialDelayMs: 1 } })) messages.push(message);
    })(),
    (error: unknown) => error instanceof EventfoldError && error.code === "stream_deleted" && error.status === 410,
  );
  assert.deepEqual(messages, [
    { kind: "checkpoint", position: 42 },
    { kind: "event", id: 50, event: JSON.parse(event(50).split("data: ")[1]!) },
  ]);
  assert.deepEqual(lastEventIds, [undefined, "41"]);
});

test("a 503 answer is retried; a 400 answer is thrown", async () => {
  const refuse = (status: number, code: string) => (): Response =>
    new Response(JSON.stringify({ error: code, message: code }), { status, headers: { "retry-after": "0" } });
  const { client } = scripted([refuse(503, "too_many_subscribers"), (signal) => sse(event(7), signal)]);
  const messages = await take(client.subscribeAll({ reconnect: { initialDelayMs: 1 } }), 1);
  assert.deepEqual(ids(messages), [7]);

  const { client: refused } = scripted([refuse(400, "invalid_request")]);
  await assert.rejects(take(refused.subscribeAll(), 1), { code: "invalid_request", status: 400 });
});
