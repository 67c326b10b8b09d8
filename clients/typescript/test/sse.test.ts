/** The SSE parser, without a server. */
import assert from "node:assert/strict";
import { test } from "node:test";

import { SseParser, type SseMessage } from "../src/index.js";

function parseAll(chunks: readonly string[]): SseMessage[] {
  const parser = new SseParser();
  return chunks.flatMap((chunk) => parser.push(chunk));
}

const STREAM =
  'id: 0\ndata: {"n":0}\n\n' + ": keep-alive\n\n" + "event: caught_up\ndata: {}\n\n" + 'event: checkpoint\nid: 41\ndata: {"position":42}\n\n';

const EXPECTED: SseMessage[] = [
  { event: "message", data: '{"n":0}', id: "0" },
  { event: "caught_up", data: "{}" },
  { event: "checkpoint", data: '{"position":42}', id: "41" },
];

test("parses events, named messages and comments", () => {
  assert.deepEqual(parseAll([STREAM]), EXPECTED);
});

test("gives the same messages however the text is split", () => {
  for (let size = 1; size <= 7; size += 1) {
    const chunks: string[] = [];
    for (let at = 0; at < STREAM.length; at += size) chunks.push(STREAM.slice(at, at + size));
    assert.deepEqual(parseAll(chunks), EXPECTED, `chunks of ${size}`);
  }
});

test("takes CRLF and CR line ends, also split between chunks", () => {
  const crlf = STREAM.replaceAll("\n", "\r\n");
  assert.deepEqual(parseAll([crlf]), EXPECTED);
  assert.deepEqual(parseAll(crlf.split("")), EXPECTED);
  assert.deepEqual(parseAll([STREAM.replaceAll("\n", "\r")]), EXPECTED);
});

test("joins data lines, strips one space, keeps retry, drops an unfinished message", () => {
  const messages = parseAll(["data:a\ndata:  b\nretry: 250\nfield-unknown: x\n\n", "data: open"]);
  assert.deepEqual(messages, [{ event: "message", data: "a\n b", retry: 250 }]);
});

test("refuses a message longer than its limit", () => {
  const parser = new SseParser(16);
  assert.throws(() => parser.push("data: " + "x".repeat(32)), /longer than 16/);
});
