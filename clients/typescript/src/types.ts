/**
 * The client's public types, derived from the generated OpenAPI types in `schema.ts`.
 *
 * This is the one place that names the document's schemas and operations: if a regenerated
 * document renames one, only this file changes. Answers and request bodies are taken from the
 * operations the client calls (so a document that changes what an operation answers changes
 * the client's types with it). Where the document is narrower than what the server accepts,
 * the type is widened here, and says so.
 */
import type { components, JsonText, operations } from "./schema.js";

type Schemas = components["schemas"];

/** The JSON body of an operation's request. */
type RequestJson<Op> = Op extends { requestBody: { content: { "application/json": infer Body } } }
  ? Body
  : Op extends { requestBody?: { content: { "application/json": infer Body } } }
    ? Body
    : never;

/** The JSON body of an operation's response with status `Status`. */
type ResponseJson<Op, Status extends number> = Op extends {
  responses: { [S in Status]: { content: { "application/json": infer Body } } };
}
  ? Body
  : never;

/** The query parameters of an operation. */
type QueryOf<Op> = Op extends { parameters: { query?: infer Query } } ? NonNullable<Query> : never;

/** What a `JsonText<T>` decodes to. */
type Decoded<Text> = Text extends JsonText<infer T> ? T : never;

/**
 * The decoded `data` of the SSE message of type `Event` among `Messages` (the document
 * describes an SSE answer as a oneOf of `{event, id, data}` objects).
 */
type SseData<Messages, Event extends string> = Messages extends { event?: infer E; data: infer Data }
  ? Event extends E
    ? Decoded<Data>
    : never
  : never;

// ---------------------------------------------------------------------------------------------
// Errors

/** The stable error codes the server documents (`{"error": code}`). */
export type ServerErrorCode = Schemas["ErrorCode"];

/** An error body as the server sends it (also the data of an SSE `failure` message). */
export type ErrorBody = Schemas["ErrorBody"];

// ---------------------------------------------------------------------------------------------
// Streams and $all

/** `"any"` (no check), `"no_stream"`, `"exists"`, or the stream's exact current revision. */
export type ExpectedRevision = Schemas["ExpectedRevision"];

/**
 * One event to append (the document's `EventBody`). Without an `id` (or with `id: null`) the
 * client gives it a random UUID.
 *
 * `data` is any JSON value, or a base64 string with a `content_type` other than JSON. (The
 * document types `data` as an object, which is narrower than what the server takes: it stores
 * `1`, `[1, 2]` and `null` as well; and its `then` branch for other content types asks for a
 * string on top of the object, which no value satisfies.)
 */
export type NewEvent = Omit<Schemas["EventBody"], "data"> & { data: unknown };

/** The body of an append: `events` are {@link NewEvent}s (see there why). */
export type AppendRequest = Omit<RequestJson<operations["streams_append"]>, "events"> & { events: NewEvent[] };

/** Where an append's events landed. */
export type AppendResult = ResponseJson<operations["streams_append"], 201>;

/**
 * An event as stored: its stream, revision in that stream, position in `$all`, id, type, data
 * (JSON as written; a base64 string for other content types), metadata and times.
 */
export type RecordedEvent = Schemas["RecordedEvent"];

/** A page of a stream (`GET /streams/{stream}`). */
export type EventsPage = ResponseJson<operations["streams_read"], 200>;

/** `GET /streams/{stream}/revision`. */
export type RevisionAnswer = ResponseJson<operations["streams_revision"], 200>;

/** A page of `$all`: the events, where the next page starts (`null` going backward past the start), and whether the log ended. */
export type AllPage = ResponseJson<operations["all_read"], 200>;

/** Reading direction. */
export type Direction = Schemas["Direction"];

/** The query of `GET /all` (the client builds it from its options). */
export type AllQuery = QueryOf<operations["all_read"]>;

/**
 * A filter of `$all`: only these event types, only this category, only this stream-name prefix
 * (the `type`, `category` and `prefix` query parameters; `types` travel comma-separated).
 */
export interface AllFilter {
  /** Only events of these types. */
  types?: readonly string[] | undefined;
  /** Only streams of this category (the part of the name before the first `-`). */
  category?: AllQuery["category"] | null | undefined;
  /** Only streams whose name starts with this. */
  prefix?: AllQuery["prefix"] | null | undefined;
}

// ---------------------------------------------------------------------------------------------
// Subscriptions (SSE)

/** The data of a subscription's event message: the event. */
export type SubscriptionEvent = SseData<Schemas["SubscriptionMessage"], "message">;

/** The data of a subscription's `checkpoint` message. */
export type CheckpointData = SseData<Schemas["SubscriptionMessage"], "checkpoint">;

/** The data of a subscription's `failure` message: an error body. */
export type FailureData = SseData<Schemas["SubscriptionMessage"], "failure">;

// ---------------------------------------------------------------------------------------------
// Consumer groups

/**
 * Where a new consumer group starts (ignored when the group exists): the first event, the end
 * (the default), a position of `$all`, a revision of the group's stream, or a time.
 */
export type GroupStart = Schemas["StartAt"];

/**
 * The body of `PUT /groups/{group}`: every field has a default on the server. The source
 * (`stream` and `filter`) cannot change: saving an existing group with another one (leaving
 * `filter` out counts as the empty filter) fails with `conflict`.
 */
export type GroupSettings = RequestJson<operations["groups_put"]>;

/** The filter of a group on `$all`. */
export type GroupFilter = Schemas["GroupFilter"];

/** The hand-out strategy of a group. */
export type GroupStrategy = Schemas["Strategy"];

/** A group's settings as the server keeps them (`start` resolved to a cursor). */
export type StoredGroupSettings = Schemas["GroupSettings"];

/** A group as `PUT /groups/{group}` and `GET /groups` return it: its name beside its settings. */
export type GroupView = ResponseJson<operations["groups_put"], 200 | 201>;

/** `GET /groups`. */
export type GroupList = ResponseJson<operations["groups_list"], 200>;

/** A group's progress, as `GET /groups/{group}` reports it. */
export type GroupStatus = Schemas["GroupStatus"];

/** `GET /groups/{group}`: settings and state (the document's `GroupDescribed`). */
export type GroupDescription = ResponseJson<operations["groups_describe"], 200>;

/** The body of a fetch (`consumer`, `max`, `wait_ms`). */
export type FetchRequest = RequestJson<operations["groups_fetch"]>;

/** The answer to a fetch. */
export type Fetched = ResponseJson<operations["groups_fetch"], 200>;

/** One event handed to a consumer of a group: `ack_id` is what to ack or nack. */
export type Delivery = Schemas["Delivery"];

/** The body of an ack: the `ack_id`s, nothing else. */
export type AckRequest = RequestJson<operations["groups_ack"]>;

/** The body of a nack. */
export type NackRequest = RequestJson<operations["groups_nack"]>;

/** What a consumer does with an event it cannot process. */
export type NackAction = Schemas["NackAction"];

/** What an ack or a nack settled; `unknown` lists ids that were not out for delivery. */
export type Settled = ResponseJson<operations["groups_ack"], 200>;

// ---------------------------------------------------------------------------------------------
// Server

/** `GET /health`: `{"status": "ok", "head_position": …}`. */
export type Health = ResponseJson<operations["admin_health"], 200>;
