/**
 * The public types are the document's: checked at compile time (a regenerated document that
 * breaks the mapping in src/types.ts, e.g. an SSE message whose data no longer decodes to the
 * event, fails `tsc`), and at run time against what a live-looking answer holds.
 */
import assert from "node:assert/strict";
import { test } from "node:test";

import type {
  AllPage,
  AppendResult,
  CheckpointData,
  components,
  Delivery,
  FailureData,
  GroupDescription,
  GroupSettings,
  GroupStart,
  GroupView,
  Health,
  JsonText,
  Settled,
  SubscriptionEvent,
  SubscriptionMessage,
} from "../src/index.js";

type Schemas = components["schemas"];
/** True when `A` and `B` are the same type. */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
/** Compiles only for `true`. */
const same = <T extends true>(_: T): void => undefined;

test("answers, bodies and SSE data are the document's schemas", () => {
  same<Same<SubscriptionEvent, Schemas["RecordedEvent"]>>(true);
  same<Same<CheckpointData, Schemas["Checkpoint"]>>(true);
  same<Same<FailureData, Schemas["ErrorBody"]>>(true);
  same<Same<Schemas["PushMessage"]["data"], JsonText<Schemas["Delivery"]> | JsonText<Schemas["ErrorBody"]>>>(true);
  same<Same<AppendResult, Schemas["AppendResult"]>>(true);
  same<Same<AllPage, Schemas["AllPage"]>>(true);
  same<Same<GroupView, Schemas["GroupView"]>>(true);
  same<Same<GroupDescription, Schemas["GroupDescribed"]>>(true);
  same<Same<GroupSettings, Schemas["GroupRequest"]>>(true);
  same<Same<GroupStart, Schemas["StartAt"]>>(true);
  same<Same<Settled, Schemas["Settled"]>>(true);
  same<Same<Health, Schemas["Health"]>>(true);
  same<Same<Delivery["event"], Schemas["RecordedEvent"]>>(true);
  same<Same<Extract<SubscriptionMessage, { kind: "event" }>["event"], Schemas["RecordedEvent"]>>(true);

  // JsonText is a plain string at run time.
  const text: JsonText<{ position: number }> = '{"position":1}' as JsonText<{ position: number }>;
  assert.equal(typeof text, "string");
  const starts: GroupStart[] = ["start", "end", { position: 1 }, { revision: 2 }, { time: "2026-01-01T00:00:00Z" }];
  assert.equal(starts.length, 5);
});
