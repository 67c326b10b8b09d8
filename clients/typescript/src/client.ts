/**
 * The Eventfold client: appends with idempotent retries, reads, paging through `$all`,
 * subscriptions that resume across disconnects, and consumer groups.
 */
import { DEFAULT_RETRY, parseRetryAfter, retryDelay, sleep, type RetryPolicy } from "./backoff.js";
import { EventfoldError, NackError, isRecord } from "./errors.js";
import { SseParser, type SseMessage } from "./sse.js";
import type {
  AckRequest,
  AllFilter,
  AllPage,
  AppendRequest,
  AppendResult,
  CheckpointData,
  Delivery,
  Direction,
  EventsPage,
  ExpectedRevision,
  FailureData,
  Fetched,
  FetchRequest,
  GroupDescription,
  GroupList,
  GroupSettings,
  GroupView,
  Health,
  NackAction,
  NackRequest,
  NewEvent,
  RecordedEvent,
  RevisionAnswer,
  ServerErrorCode,
  Settled,
  SubscriptionEvent,
} from "./types.js";

/** Settings of a {@link Client}. */
export interface ClientOptions {
  /**
   * How long one attempt of a call may take, in milliseconds (default 30,000). A fetch that
   * long-polls gets its wait on top; a subscription uses it to connect only.
   */
  timeoutMs?: number | undefined;
  /** Headers sent with every request. */
  headers?: Record<string, string> | undefined;
  /** Sent as `Authorization: Bearer <token>`. */
  token?: string | undefined;
  /** How calls retry after network failures, time-outs and 503s (default: 3 retries from 100 ms). */
  retry?: Partial<RetryPolicy> | undefined;
  /** The `fetch` to use (default: the global one). */
  fetch?: typeof globalThis.fetch | undefined;
}

/** Options every call takes. */
export interface CallOptions {
  /** Aborts the call (it then rejects with the signal's reason). */
  signal?: AbortSignal | undefined;
  /** Retries after network failures, time-outs and 503s (default: the client's, 3). */
  retries?: number | undefined;
  /** How long one attempt may take, in milliseconds (default: the client's). */
  timeoutMs?: number | undefined;
}

/** Options of {@link Client.append}. */
export interface AppendOptions extends CallOptions {
  /** `"any"` (default), `"no_stream"`, `"exists"` or the stream's exact current revision. */
  expectedRevision?: ExpectedRevision | undefined;
}

/** Where a read of a stream starts: its first event, its last, or a revision (inclusive). */
export type StreamFrom = "start" | "end" | number;

/** Where a read of `$all` starts: its first event, its end, or a position (inclusive). */
export type AllFrom = "start" | "end" | number;

/** Options of {@link Client.readStream}. */
export interface ReadStreamOptions extends CallOptions {
  /** Default: the start going forward, the end going backward. */
  from?: StreamFrom | undefined;
  /** Default `forward`. */
  direction?: Direction | undefined;
  /** At most this many events (server default 1,000, at most 10,000). */
  limit?: number | undefined;
  /**
   * A byte budget for the page, smaller than the server's (at least 1): the page ends before
   * the event that would exceed it, but always holds at least one event.
   */
  bytesMax?: number | undefined;
}

/** Options of {@link Client.readAll}. */
export interface ReadAllOptions extends CallOptions {
  /** Default: the start going forward, the end going backward. */
  from?: AllFrom | undefined;
  /**
   * Start at the first event recorded at or after this time. With `from` too, the read starts
   * at the later of the two (forward only: the server refuses both going backward).
   */
  since?: string | Date | undefined;
  /** Default `forward`. */
  direction?: Direction | undefined;
  /** At most this many events (server default 1,000, at most 10,000). */
  limit?: number | undefined;
  /** A byte budget for the page, smaller than the server's (see {@link ReadStreamOptions.bytesMax}). */
  bytesMax?: number | undefined;
  /** Only some events. */
  filter?: AllFilter | undefined;
}

/** Options of {@link Client.iterAll}. */
export interface IterAllOptions extends Omit<ReadAllOptions, "limit"> {
  /** Events per page (default 1,000). */
  pageSize?: number | undefined;
}

/** How a subscription reconnects after losing its connection. */
export interface ReconnectOptions {
  /** The wait before the first reconnection, in milliseconds (default 100, or the server's `retry:`). */
  initialDelayMs?: number | undefined;
  /** The longest wait between reconnections, in milliseconds (default 5,000). */
  maxDelayMs?: number | undefined;
  /** Failed connections in a row before the subscription gives up and throws (default: never). */
  maxAttempts?: number | undefined;
}

/** What a subscription's `onReconnect` is told. */
export interface ReconnectInfo {
  /** Reconnections in a row without a successful connection, from 1. */
  attempt: number;
  /** The `Last-Event-ID` the reconnection sends, when an event or checkpoint was seen. */
  lastEventId: number | undefined;
  /** Why the connection was lost. */
  error: unknown;
  /** The wait before reconnecting, in milliseconds. */
  delayMs: number;
}

/** Options of every subscription. */
export interface SubscribeOptions {
  /** Stops the subscription: the iteration then ends without an error. */
  signal?: AbortSignal | undefined;
  /**
   * Resume after this event id (a position of `$all`, a revision of a stream), as if the
   * subscription had already seen it; sent as `Last-Event-ID` and wins over `from`.
   */
  lastEventId?: number | undefined;
  /** Reconnection delays and limit. */
  reconnect?: ReconnectOptions | undefined;
  /** Told before each reconnection (for logs and metrics). */
  onReconnect?: ((info: ReconnectInfo) => void) | undefined;
  /**
   * A connection on which nothing arrives for this long is taken as lost and reopened, in
   * milliseconds (default 45,000: the server sends a keep-alive every 15 s). 0 turns it off.
   */
  idleTimeoutMs?: number | undefined;
}

/** Options of {@link Client.subscribeAll}. */
export interface SubscribeAllOptions extends SubscribeOptions {
  /**
   * Default `start`. `end` is resolved to the log's end when the iteration starts, so a
   * reconnection before the first event misses nothing.
   */
  from?: AllFrom | undefined;
  /** Start at the first event recorded at or after this time; with `from` too, at the later of the two. */
  since?: string | Date | undefined;
  /** Only some events (checkpoint messages report progress while it skips). */
  filter?: AllFilter | undefined;
}

/** Options of {@link Client.subscribeStream}. */
export interface SubscribeStreamOptions extends SubscribeOptions {
  /**
   * Default `start`. `end` is resolved to the stream's next revision when the iteration starts, so a
   * reconnection before the first event misses nothing.
   */
  from?: StreamFrom | undefined;
}

/** One message of a subscription. */
export type SubscriptionMessage =
  /** An event; `id` is its position (`$all`) or revision (a stream): what resumes after it. */
  | { kind: "event"; id: number; event: SubscriptionEvent }
  /** The filter skipped every event before `position`. */
  | { kind: "checkpoint"; position: CheckpointData["position"] }
  /** History is delivered; live events follow (sent again after a reconnection). */
  | { kind: "caught_up" };

/** Options of {@link Client.fetch}. */
export interface FetchOptions extends CallOptions {
  /** Who fetches (shown in the group's state; default `anonymous`). */
  consumer?: string | undefined;
  /** At most this many deliveries (default 100, at most 1,000). */
  max?: number | undefined;
  /** Wait up to this long for at least one event, in milliseconds (default 0, at most 20,000). */
  waitMs?: number | undefined;
}

/** Options of {@link Client.consume}. */
export interface ConsumeOptions {
  /** Stops the loop (after the handler in progress; deliveries not yet handled are nacked). */
  signal?: AbortSignal | undefined;
  /** Deliveries per fetch (default 10). */
  max?: number | undefined;
  /** How long each fetch waits for events, in milliseconds (default 5,000). */
  waitMs?: number | undefined;
  /** Told of errors the loop survives: a failed fetch, ack or nack that it retries later. */
  onError?: ((error: EventfoldError) => void) | undefined;
}

/** What a {@link Client.consume} handler gets besides the delivery. */
export interface HandlerContext {
  /** The loop's signal: aborted when the loop is asked to stop. */
  signal: AbortSignal | undefined;
}

/** The handler of {@link Client.consume}: resolve to ack, throw to nack. */
export type DeliveryHandler = (delivery: Delivery, context: HandlerContext) => unknown;

/** The result of {@link Client.saveGroup}. */
export interface SavedGroup {
  /** True when the call created the group (201), false when it updated it (200). */
  created: boolean;
  /** The group's settings as stored. */
  group: GroupView;
}

/** The HTTP status the server answers a code with, for the {@link EventfoldError.status} of a `failure` message (500 for others). */
const STATUS_OF_FAILURE: Readonly<Partial<Record<ServerErrorCode, number>>> = {
  stream_deleted: 410,
  stream_not_found: 404,
  group_not_found: 404,
  too_many_subscribers: 503,
  too_many_connections: 503,
  poisoned: 503,
  closed: 503,
  locked: 503,
  unavailable: 503,
};

/** The longest nack reason the server keeps, in bytes. */
const REASON_BYTES_MAX = 1024;

type Query = Record<string, string | number | boolean | undefined>;

interface RequestSpec extends CallOptions {
  method: "GET" | "POST" | "PUT" | "DELETE";
  path: readonly string[];
  query?: Query | undefined;
  body?: unknown;
  /** The statuses that are a success. */
  ok: readonly number[];
}

interface Answer<T> {
  status: number;
  body: T;
}

/**
 * A client of one Eventfold server.
 *
 * ```ts
 * const client = new Client("http://127.0.0.1:7117");
 * await client.append("account-42", [{ type: "Deposited", data: { amount: 100 } }]);
 * for await (const event of client.iterAll({ filter: { category: "account" } })) console.log(event);
 * ```
 *
 * Every call rejects with an {@link EventfoldError} (its `code` is the server's stable code),
 * or with the signal's reason when its `signal` aborts.
 */
export class Client {
  private readonly base: URL;
  private readonly timeoutMs: number;
  private readonly headers: Record<string, string>;
  private readonly retry: RetryPolicy;
  private readonly fetchImpl: typeof globalThis.fetch;

  /**
   * @param baseUrl the server, e.g. `http://127.0.0.1:7117` (a path prefix is kept).
   */
  constructor(baseUrl: string | URL, options: ClientOptions = {}) {
    const base = new URL(baseUrl);
    if (!base.pathname.endsWith("/")) base.pathname += "/";
    this.base = base;
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.headers = { ...options.headers };
    if (options.token !== undefined) this.headers["authorization"] = `Bearer ${options.token}`;
    this.retry = {
      retries: options.retry?.retries ?? DEFAULT_RETRY.retries,
      initialDelayMs: options.retry?.initialDelayMs ?? DEFAULT_RETRY.initialDelayMs,
      maxDelayMs: options.retry?.maxDelayMs ?? DEFAULT_RETRY.maxDelayMs,
    };
    this.fetchImpl = options.fetch ?? globalThis.fetch.bind(globalThis);
  }

  // ---------------------------------------------------------------------------------------
  // Streams

  /**
   * Appends events to a stream, atomically, if `expectedRevision` holds.
   *
   * Each event without an `id` gets a random UUID here, before the first attempt, so the
   * retries after a network failure, a time-out or a 503 send the same ids: the server
   * recognises them and answers with the first result instead of writing the events twice.
   *
   * @throws {EventfoldError} `wrong_expected_revision` (with `expected` and `actual`),
   *   `event_id_conflict`, `stream_deleted`, `invalid_event`, `reserved_stream`, …
   */
  async append(stream: string, events: readonly NewEvent[], options: AppendOptions = {}): Promise<AppendResult> {
    const { expectedRevision = "any", ...call } = options;
    // `id: null` would make the server draw the id, so retries would no longer be recognised.
    const withIds = events.map((event) =>
      event.id === undefined || event.id === null ? { ...event, id: globalThis.crypto.randomUUID() } : event,
    );
    const body: AppendRequest = { expected_revision: expectedRevision, events: withIds };
    const answer = await this.request<AppendResult>({
      ...call,
      method: "POST",
      path: ["streams", stream],
      body,
      ok: [201],
    });
    return answer.body;
  }

  /**
   * Reads one page of a stream.
   *
   * @throws {EventfoldError} `stream_not_found`, `stream_deleted`, `invalid_request`, …
   */
  async readStream(stream: string, options: ReadStreamOptions = {}): Promise<RecordedEvent[]> {
    const { from, direction, limit, bytesMax, ...call } = options;
    const answer = await this.request<EventsPage>({
      ...call,
      method: "GET",
      path: ["streams", stream],
      query: { from: from === undefined ? undefined : String(from), direction, limit, bytes_max: bytesMax },
      ok: [200],
    });
    return answer.body.events;
  }

  /** The stream's current revision (its last event's), or `null` when it does not exist. */
  async streamRevision(stream: string, options: CallOptions = {}): Promise<number | null> {
    const answer = await this.request<RevisionAnswer>({
      ...options,
      method: "GET",
      path: ["streams", stream, "revision"],
      ok: [200],
    });
    return answer.body.revision ?? null;
  }

  /**
   * Deletes a stream: soft (hidden; writing again continues its revisions) or, with `hard`,
   * for ever (a tombstone).
   */
  async deleteStream(
    stream: string,
    options: CallOptions & { hard?: boolean | undefined; expectedRevision?: ExpectedRevision | undefined } = {},
  ): Promise<void> {
    const { hard, expectedRevision, ...call } = options;
    await this.request<undefined>({
      ...call,
      method: "DELETE",
      path: ["streams", stream],
      query: {
        hard: hard === true ? true : undefined,
        expected_revision: expectedRevision === undefined ? undefined : String(expectedRevision),
      },
      ok: [204],
    });
  }

  // ---------------------------------------------------------------------------------------
  // $all

  /**
   * Reads one page of the global log. Pass `next` as `from` for the following page;
   * `end_of_log` says there is nothing after this page (yet).
   *
   * @throws {EventfoldError} `invalid_request` for a bad limit or filter, or for `from` with
   *   `since` going backward, …
   */
  async readAll(options: ReadAllOptions = {}): Promise<AllPage> {
    const { from, since, direction, limit, bytesMax, filter, ...call } = options;
    const answer = await this.request<AllPage>({
      ...call,
      method: "GET",
      path: ["all"],
      query: {
        from: from === undefined ? undefined : String(from),
        since: timeText(since),
        direction,
        limit,
        bytes_max: bytesMax,
        ...filterQuery(filter),
      },
      ok: [200],
    });
    return answer.body;
  }

  /**
   * Every event of the global log from `from` (default: the start; with `since`, the later of
   * the two) to its end as it is while paging, page by page (`next` / `end_of_log`). Backward,
   * it goes to the start.
   */
  async *iterAll(options: IterAllOptions = {}): AsyncGenerator<RecordedEvent, void, undefined> {
    const { pageSize = 1000, from, since, ...rest } = options;
    let cursor: AllFrom | undefined = from;
    let page = await this.readAll({ ...rest, from: cursor, since, limit: pageSize });
    for (;;) {
      yield* page.events;
      if (page.end_of_log || page.next === null || page.next === undefined) return;
      if (page.events.length === 0 && page.next === cursor) {
        throw new EventfoldError({
          status: 200,
          code: "invalid_response",
          message: `a page of $all made no progress (next = ${page.next})`,
        });
      }
      cursor = page.next;
      page = await this.readAll({ ...rest, from: cursor, limit: pageSize });
    }
  }

  // ---------------------------------------------------------------------------------------
  // Subscriptions

  /**
   * Follows the global log: history from `from` (default: the start), then live events.
   *
   * The iteration reconnects by itself when the connection is lost (a network failure, a
   * server restart, silence longer than `idleTimeoutMs`), with `Last-Event-ID` set to the last
   * event or checkpoint seen, so it resumes right after it: no event is missed or repeated. It
   * ends when `signal` aborts (or the loop breaks), and throws an {@link EventfoldError} when
   * the server refuses the subscription (`invalid_request`, …) or ends it with a `failure`
   * that retrying would not cure.
   */
  subscribeAll(options: SubscribeAllOptions = {}): AsyncGenerator<SubscriptionMessage, void, undefined> {
    const { from, since, filter } = options;
    const query: Query = { since: timeText(since), ...filterQuery(filter) };
    return this.subscription(["subscribe", "all"], options, async () => {
      if (from !== "end" || options.lastEventId !== undefined) {
        return { ...query, from: from === undefined ? undefined : String(from) };
      }
      const end = await this.readAll({ from: "end", limit: 0, signal: options.signal });
      return { ...query, from: String(end.next ?? "end") };
    });
  }

  /**
   * Follows one stream: its history from `from` (default: the start), then live events. A
   * stream that does not exist yet may be followed. Reconnects and ends as
   * {@link Client.subscribeAll} does; throws `stream_deleted` when the stream is deleted.
   */
  subscribeStream(stream: string, options: SubscribeStreamOptions = {}): AsyncGenerator<SubscriptionMessage, void, undefined> {
    const { from } = options;
    return this.subscription(["subscribe", "streams", stream], options, async () => {
      if (from !== "end" || options.lastEventId !== undefined) {
        return { from: from === undefined ? undefined : String(from) };
      }
      const revision = await this.streamRevision(stream, { signal: options.signal });
      return { from: revision === null ? "start" : String(revision + 1) };
    });
  }

  /** The messages of a subscription, across as many connections as it takes. */
  private async *subscription(
    path: readonly string[],
    options: SubscribeOptions,
    resolveQuery: () => Promise<Query>,
  ): AsyncGenerator<SubscriptionMessage, void, undefined> {
    const { signal, onReconnect, idleTimeoutMs = 45_000 } = options;
    const reconnect = {
      initialDelayMs: options.reconnect?.initialDelayMs ?? 100,
      maxDelayMs: options.reconnect?.maxDelayMs ?? 5_000,
      maxAttempts: options.reconnect?.maxAttempts ?? Infinity,
    };
    let lastId = options.lastEventId;
    let failures = 0;
    let serverRetryMs: number | undefined;
    let query: Query;
    try {
      query = await resolveQuery();
    } catch (error) {
      if (signal?.aborted) return;
      throw error;
    }
    const url = this.url(path, query);
    while (!aborted(signal)) {
      const connection = new Connection(signal);
      let lost: unknown;
      try {
        const response = await connection.open(() => {
          const headers: Record<string, string> = { ...this.headers, accept: "text/event-stream" };
          if (lastId !== undefined) headers["last-event-id"] = String(lastId);
          return this.fetchImpl(url, { method: "GET", headers, signal: connection.signal });
        }, this.timeoutMs);
        if (response.status !== 200) throw await errorOf(response);
        if (response.body === null) throw new EventfoldError({ status: 200, code: "invalid_response", message: "a subscription without a body" });
        failures = 0;
        for await (const sse of connection.messages(response.body, idleTimeoutMs)) {
          if (sse.retry !== undefined) serverRetryMs = sse.retry;
          const message = subscriptionMessage(sse, lastId);
          if (sse.id !== undefined && sse.id !== "") {
            const id = Number(sse.id);
            if (Number.isSafeInteger(id) && (lastId === undefined || id > lastId)) lastId = id;
          }
          if (message !== undefined) yield message;
        }
        lost = new EventfoldError({ status: 0, code: "unreachable", message: "the server ended the subscription" });
      } catch (error) {
        if (aborted(signal)) return;
        const cause = connection.failure(error);
        if (!(cause instanceof EventfoldError) || !cause.retryable) throw cause;
        lost = cause;
      } finally {
        connection.close();
      }
      failures += 1;
      if (failures > reconnect.maxAttempts) throw lost;
      const policy = {
        retries: Infinity,
        initialDelayMs: serverRetryMs ?? reconnect.initialDelayMs,
        maxDelayMs: reconnect.maxDelayMs,
      };
      const retryAfterMs = lost instanceof EventfoldError ? lost.retryAfterMs : undefined;
      const delayMs = retryDelay(policy, failures, retryAfterMs);
      onReconnect?.({ attempt: failures, lastEventId: lastId, error: lost, delayMs });
      try {
        await sleep(delayMs, signal);
      } catch {
        return; // aborted while waiting
      }
    }
  }

  // ---------------------------------------------------------------------------------------
  // Consumer groups

  /**
   * Creates a consumer group (`created: true`) or updates its settings. `start` only matters
   * when the group is created. Its source never changes: an update must name the same `stream`
   * and `filter` (leaving them out means `$all` and no filter).
   *
   * @throws {EventfoldError} `conflict` (409) when the update names another stream or filter;
   *   `invalid_request` for a setting out of range or a `start` that does not fit the source.
   */
  async saveGroup(group: string, settings: GroupSettings = {}, options: CallOptions = {}): Promise<SavedGroup> {
    const answer = await this.request<GroupView>({
      ...options,
      method: "PUT",
      path: ["groups", group],
      body: settings,
      ok: [200, 201],
    });
    return { created: answer.status === 201, group: answer.body };
  }

  /** A group's settings and state: checkpoint, lag, in flight, counters, consumers. */
  async describeGroup(group: string, options: CallOptions = {}): Promise<GroupDescription> {
    return (await this.request<GroupDescription>({ ...options, method: "GET", path: ["groups", group], ok: [200] })).body;
  }

  /** Every group, with its settings. */
  async listGroups(options: CallOptions = {}): Promise<GroupView[]> {
    return (await this.request<GroupList>({ ...options, method: "GET", path: ["groups"], ok: [200] })).body.groups;
  }

  /** Deletes a group with its checkpoints and parked events. */
  async deleteGroup(group: string, options: CallOptions = {}): Promise<void> {
    await this.request<undefined>({ ...options, method: "DELETE", path: ["groups", group], ok: [204] });
  }

  /**
   * Takes up to `max` ready deliveries of a group, waiting up to `waitMs` for one. Each must be
   * acked or nacked before the group's ack time-out, or it is delivered again.
   */
  async fetch(group: string, options: FetchOptions = {}): Promise<Delivery[]> {
    const { consumer, max, waitMs, ...call } = options;
    const body: FetchRequest = {
      ...(consumer === undefined ? {} : { consumer }),
      ...(max === undefined ? {} : { max }),
      ...(waitMs === undefined ? {} : { wait_ms: waitMs }),
    };
    const answer = await this.request<Fetched>({
      ...call,
      timeoutMs: (call.timeoutMs ?? this.timeoutMs) + (waitMs ?? 0),
      method: "POST",
      path: ["groups", group, "fetch"],
      body,
      ok: [200],
    });
    return answer.body.messages;
  }

  /** Acknowledges deliveries by their `ack_id`: they are done. */
  async ack(group: string, ackIds: string | readonly string[], options: CallOptions = {}): Promise<Settled> {
    const body: AckRequest = { ack_ids: typeof ackIds === "string" ? [ackIds] : [...ackIds] };
    const answer = await this.request<Settled>({
      ...options,
      method: "POST",
      path: ["groups", group, "ack"],
      body,
      ok: [200],
    });
    return answer.body;
  }

  /**
   * Refuses deliveries: `retry` them after the group's back-off (parked once its attempts are
   * used up), `park` them now (the group's dead letters), or `skip` them. `reason` (at most
   * 1,024 bytes; longer is cut) is kept with a parked event.
   */
  async nack(
    group: string,
    ackIds: string | readonly string[],
    action: NackAction = "retry",
    reason?: string | undefined,
    options: CallOptions = {},
  ): Promise<Settled> {
    const body: NackRequest = {
      ack_ids: typeof ackIds === "string" ? [ackIds] : [...ackIds],
      action,
      ...(reason === undefined ? {} : { reason: truncateUtf8(reason, REASON_BYTES_MAX) }),
    };
    const answer = await this.request<Settled>({
      ...options,
      method: "POST",
      path: ["groups", group, "nack"],
      body,
      ok: [200],
    });
    return answer.body;
  }

  /**
   * Runs a consumer of a group until `signal` aborts: fetches (long-polling), calls `handler`
   * for each delivery in turn, acks it when the handler resolves, and nacks it when the handler
   * throws (`retry`, or the action of a {@link NackError}, with the error's message as the
   * reason). Network failures and 503s are waited out; it rejects only on errors that retrying
   * cannot cure (such as `group_not_found`). Resolves once stopped.
   */
  async consume(group: string, consumer: string, handler: DeliveryHandler, options: ConsumeOptions = {}): Promise<void> {
    const { signal, max = 10, waitMs = 5_000, onError } = options;
    let failures = 0;
    /** Waits out a retryable error; rethrows others. */
    const survive = async (error: unknown): Promise<void> => {
      if (!(error instanceof EventfoldError) || !error.retryable) throw error;
      onError?.(error);
      failures += 1;
      await sleep(retryDelay(this.retry, failures, error.retryAfterMs), signal).catch(() => undefined);
    };
    while (!aborted(signal)) {
      let deliveries: Delivery[];
      try {
        deliveries = await this.fetch(group, { consumer, max, waitMs, signal });
        failures = 0;
      } catch (error) {
        if (aborted(signal)) return;
        await survive(error);
        continue;
      }
      for (const [index, delivery] of deliveries.entries()) {
        if (aborted(signal)) {
          // Hand the rest back now rather than after the ack time-out.
          const rest = deliveries.slice(index).map((d) => d.ack_id);
          await this.nack(group, rest, "retry", "the consumer stopped").catch(() => undefined);
          return;
        }
        let settle: () => Promise<Settled>;
        try {
          await handler(delivery, { signal });
          settle = () => this.ack(group, delivery.ack_id);
        } catch (error) {
          const action = error instanceof NackError ? error.action : "retry";
          settle = () => this.nack(group, delivery.ack_id, action, reasonOf(error));
        }
        try {
          await settle();
        } catch (error) {
          await survive(error); // the delivery comes back after the ack time-out
        }
      }
    }
  }

  // ---------------------------------------------------------------------------------------
  // Server

  /** The server's health: `{"status": "ok", "head_position": …}`. */
  async health(options: CallOptions = {}): Promise<Health> {
    return (await this.request<Health>({ ...options, method: "GET", path: ["health"], ok: [200] })).body;
  }

  // ---------------------------------------------------------------------------------------
  // Requests

  /** The URL of `path` (segments, each percent-encoded) with `query` (undefined values left out). */
  private url(path: readonly string[], query: Query = {}): URL {
    const segments = path.map((segment) => {
      if (segment === "." || segment === "..") {
        // URLs resolve these (even percent-encoded) instead of sending them.
        throw new RangeError(`the name ${JSON.stringify(segment)} cannot be addressed in a URL`);
      }
      return encodeURIComponent(segment);
    });
    const url = new URL(segments.join("/"), this.base);
    for (const [key, value] of Object.entries(query)) {
      if (value !== undefined) url.searchParams.set(key, String(value));
    }
    return url;
  }

  /** Sends a request, retrying on network failures, time-outs and 503s. */
  private async request<T>(spec: RequestSpec): Promise<Answer<T>> {
    const policy: RetryPolicy = { ...this.retry, retries: spec.retries ?? this.retry.retries };
    const url = this.url(spec.path, spec.query);
    const body = spec.body === undefined ? undefined : JSON.stringify(spec.body);
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await this.attempt<T>(url, spec, body);
      } catch (error) {
        if (spec.signal !== undefined && aborted(spec.signal)) throw spec.signal.reason;
        if (!(error instanceof EventfoldError) || !error.retryable || attempt > policy.retries) throw error;
        await sleep(retryDelay(policy, attempt, error.retryAfterMs), spec.signal);
      }
    }
  }

  /** One attempt of a request. */
  private async attempt<T>(url: URL, spec: RequestSpec, body: string | undefined): Promise<Answer<T>> {
    const timeout = AbortSignal.timeout(spec.timeoutMs ?? this.timeoutMs);
    const signal = spec.signal === undefined ? timeout : AbortSignal.any([spec.signal, timeout]);
    const headers: Record<string, string> = { ...this.headers, accept: "application/json" };
    if (body !== undefined) headers["content-type"] = "application/json";
    let response: Response;
    let text: string;
    try {
      response = await this.fetchImpl(url, { method: spec.method, headers, body: body ?? null, signal });
      text = await response.text();
    } catch (error) {
      if (spec.signal !== undefined && aborted(spec.signal)) throw spec.signal.reason;
      if (timeout.aborted) {
        throw new EventfoldError({
          status: 0,
          code: "client_timeout",
          message: `${spec.method} ${url.pathname}: no answer within ${spec.timeoutMs ?? this.timeoutMs} ms`,
          cause: error,
        });
      }
      throw unreachable(`${spec.method} ${url.pathname}`, error);
    }
    const json = parseJson(text);
    if (!spec.ok.includes(response.status)) {
      throw EventfoldError.fromBody(response.status, json.ok ? json.value : undefined, answerDetails(response));
    }
    if (text === "") return { status: response.status, body: undefined as T };
    if (!json.ok) {
      throw new EventfoldError({
        status: response.status,
        code: "invalid_response",
        message: `${spec.method} ${url.pathname}: the answer is not JSON`,
        cause: json.error,
        ...answerDetails(response),
      });
    }
    return { status: response.status, body: json.value as T };
  }
}

/** One connection of a subscription: its abort controller, connect time-out and idle time-out. */
class Connection {
  private readonly controller = new AbortController();
  private readonly detach: () => void;
  /** Why the client itself cut the connection, when it did. */
  private cut: EventfoldError | undefined;

  constructor(outer: AbortSignal | undefined) {
    const onAbort = (): void => this.controller.abort(outer?.reason);
    outer?.addEventListener("abort", onAbort, { once: true });
    this.detach = () => outer?.removeEventListener("abort", onAbort);
  }

  /** The signal the connection's fetch uses. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** Opens the connection, giving up after `timeoutMs` without an answer. */
  async open(connect: () => Promise<Response>, timeoutMs: number): Promise<Response> {
    const timer = setTimeout(
      () => this.abort(new EventfoldError({ status: 0, code: "client_timeout", message: `no answer to a subscription within ${timeoutMs} ms` })),
      timeoutMs,
    );
    try {
      return await connect();
    } finally {
      clearTimeout(timer);
    }
  }

  /** The SSE messages of the body, cutting the connection after `idleMs` without a byte. */
  async *messages(body: ReadableStream<Uint8Array>, idleMs: number): AsyncGenerator<SseMessage, void, undefined> {
    const reader = body.getReader();
    const decoder = new TextDecoder();
    const parser = new SseParser();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const arm = (): void => {
      if (idleMs <= 0) return;
      clearTimeout(timer);
      timer = setTimeout(
        () => this.abort(new EventfoldError({ status: 0, code: "client_timeout", message: `nothing arrived for ${idleMs} ms` })),
        idleMs,
      );
    };
    try {
      for (;;) {
        arm();
        const { done, value } = await reader.read();
        if (done) break;
        let messages: SseMessage[];
        try {
          messages = parser.push(decoder.decode(value, { stream: true }));
        } catch (error) {
          throw new EventfoldError({ status: 200, code: "invalid_response", message: String(error), cause: error });
        }
        clearTimeout(timer); // the consumer may take its time with the messages
        yield* messages;
      }
    } finally {
      clearTimeout(timer);
      reader.releaseLock();
    }
  }

  /** What a failure of the connection means: the client's own cut, or a network failure. */
  failure(error: unknown): unknown {
    if (this.cut !== undefined) return this.cut;
    if (error instanceof EventfoldError) return error;
    return unreachable("subscription", error);
  }

  /** Cuts the connection for `reason`. */
  private abort(reason: EventfoldError): void {
    this.cut ??= reason;
    this.controller.abort(reason);
  }

  /** Closes the connection (its body with it) and forgets the outer signal. */
  close(): void {
    this.detach();
    this.controller.abort();
  }
}

/** True once `signal` has aborted (a function, so TypeScript does not narrow it across awaits). */
function aborted(signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true;
}

/** A subscription message of an SSE message; `undefined` for kinds to skip. */
function subscriptionMessage(sse: SseMessage, lastId: number | undefined): SubscriptionMessage | undefined {
  switch (sse.event) {
    // `message` (the default type) since events use it; `event` from older servers.
    case "message":
    case "event": {
      if (sse.data === "") return undefined; // only an id or a retry
      const id = Number(sse.id);
      if (!Number.isSafeInteger(id)) throw badMessage(`an event without a numeric id (${JSON.stringify(sse.id)})`);
      if (lastId !== undefined && id <= lastId) return undefined; // seen before a reconnection
      return { kind: "event", id, event: parseMessageJson(sse) as SubscriptionEvent };
    }
    case "checkpoint": {
      const body = parseMessageJson(sse) as Partial<CheckpointData> | null;
      const position = isRecord(body) ? body.position : undefined;
      if (typeof position !== "number") throw badMessage("a checkpoint without a position");
      return { kind: "checkpoint", position };
    }
    case "caught_up":
      return { kind: "caught_up" };
    // `failure` since browsers' EventSource keeps `error` for itself; `error` from older servers.
    case "failure":
    case "error": {
      const body = parseMessageJson(sse) as Partial<FailureData> | null;
      const code = isRecord(body) && typeof body.error === "string" ? body.error : undefined;
      throw EventfoldError.fromBody((code === undefined ? undefined : STATUS_OF_FAILURE[code]) ?? 500, body);
    }
    default:
      return undefined; // a kind this client does not know yet
  }
}

function parseMessageJson(sse: SseMessage): unknown {
  const json = parseJson(sse.data);
  if (!json.ok) throw badMessage(`a ${sse.event} message whose data is not JSON`, json.error);
  return json.value;
}

function badMessage(message: string, cause?: unknown): EventfoldError {
  return new EventfoldError({ status: 200, code: "invalid_response", message: `subscription: ${message}`, cause });
}

function unreachable(what: string, error: unknown): EventfoldError {
  const detail = error instanceof Error ? (error.cause instanceof Error ? error.cause.message : error.message) : String(error);
  return new EventfoldError({ status: 0, code: "unreachable", message: `${what}: ${detail}`, cause: error });
}

/** The error of a response that is not a success. */
async function errorOf(response: Response): Promise<EventfoldError> {
  const text = await response.text().catch(() => "");
  const json = parseJson(text);
  return EventfoldError.fromBody(response.status, json.ok ? json.value : undefined, answerDetails(response));
}

/** The request id and `Retry-After` of an answer. */
function answerDetails(response: Response): { requestId?: string; retryAfterMs?: number } {
  const details: { requestId?: string; retryAfterMs?: number } = {};
  const requestId = response.headers.get("x-request-id");
  if (requestId !== null) details.requestId = requestId;
  const retryAfterMs = parseRetryAfter(response.headers.get("retry-after"));
  if (retryAfterMs !== undefined) details.retryAfterMs = retryAfterMs;
  return details;
}

type Parsed = { ok: true; value: unknown } | { ok: false; error: unknown };

function parseJson(text: string): Parsed {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (error) {
    return { ok: false, error };
  }
}

/** The query of a filter of `$all`. */
function filterQuery(filter: AllFilter | undefined): Query {
  if (filter === undefined) return {};
  const types = filter.types ?? [];
  const bad = types.find((type) => type.includes(",") || type === "");
  if (bad !== undefined) {
    throw new RangeError(`filter.types: ${JSON.stringify(bad)} cannot be filtered on (types travel comma-separated)`);
  }
  return {
    type: types.length === 0 ? undefined : types.join(","),
    category: filter.category ?? undefined,
    prefix: filter.prefix ?? undefined,
  };
}

function timeText(time: string | Date | undefined): string | undefined {
  return time instanceof Date ? time.toISOString() : time;
}

function reasonOf(error: unknown): string {
  return error instanceof Error ? error.message || error.name : String(error);
}

/** `text` cut to at most `max` bytes of UTF-8, on a character boundary. */
function truncateUtf8(text: string, max: number): string {
  const encoder = new TextEncoder();
  if (encoder.encode(text).length <= max) return text;
  let out = "";
  let bytes = 0;
  for (const char of text) {
    const size = encoder.encode(char).length;
    if (bytes + size > max) break;
    out += char;
    bytes += size;
  }
  return out;
}
