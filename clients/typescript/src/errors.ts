import type { ExpectedRevision, NackAction, ServerErrorCode } from "./types.js";

/**
 * Codes of failures that happen before the server answers (status 0):
 * - `unreachable`: the connection failed or broke (refused, reset, DNS, …);
 * - `client_timeout`: no complete answer within the client's `timeoutMs`;
 * - `invalid_response`: the server answered with something that is not the API's JSON.
 */
export type ClientErrorCode = "unreachable" | "client_timeout" | "invalid_response";

/**
 * Any error code: the server's stable codes, the client's own, or a code a newer server
 * added (kept as the string it sent).
 */
// `string & {}` keeps editor completion for the known codes while accepting new ones.
export type ErrorCode = ServerErrorCode | ClientErrorCode | (string & {});

/** Status codes that ask a client to try again later (the server sends `Retry-After`). */
const RETRYABLE_STATUSES: ReadonlySet<number> = new Set([408, 502, 503, 504]);

/** What an {@link EventfoldError} is built from. */
export interface EventfoldErrorInit {
  /** The HTTP status; 0 when no answer came. */
  status: number;
  /** The stable code. */
  code: ErrorCode;
  /** What went wrong, for people. */
  message: string;
  /** The error body as the server sent it, when it sent one. */
  body?: Record<string, unknown>;
  /** The `x-request-id` of the answer, to find the request in the server's log. */
  requestId?: string;
  /** How long the server asked to wait before trying again (`Retry-After`), in milliseconds. */
  retryAfterMs?: number;
  /** The underlying error (a network failure, a JSON syntax error). */
  cause?: unknown;
}

/**
 * An error answered by the server (`{"error": code, "message": …}`) or met on the way to it.
 *
 * Branch on {@link EventfoldError.code}, the server's stable code (`wrong_expected_revision`,
 * `stream_not_found`, `invalid_request`, …; see the README's table), never on the message.
 */
export class EventfoldError extends Error {
  /** The HTTP status; 0 when no answer came (see {@link ClientErrorCode}). */
  readonly status: number;
  /** The stable code: the server's `error` field, or one of {@link ClientErrorCode}. */
  readonly code: ErrorCode;
  /** With `wrong_expected_revision`: the expectation that was sent. */
  readonly expected?: ExpectedRevision;
  /** With `wrong_expected_revision`: the stream's current revision (`null`: no stream). */
  readonly actual?: number | null;
  /** The whole error body as the server sent it (other details live here). */
  readonly body?: Record<string, unknown>;
  /** The answer's `x-request-id`. */
  readonly requestId?: string;
  /** The server's `Retry-After`, in milliseconds. */
  readonly retryAfterMs?: number;

  constructor(init: EventfoldErrorInit) {
    super(init.message, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = "EventfoldError";
    this.status = init.status;
    this.code = init.code;
    if (init.body !== undefined) this.body = init.body;
    if (init.requestId !== undefined) this.requestId = init.requestId;
    if (init.retryAfterMs !== undefined) this.retryAfterMs = init.retryAfterMs;
    const expected = init.body?.["expected"];
    if (typeof expected === "string" || typeof expected === "number") {
      this.expected = expected as ExpectedRevision;
    }
    const actual = init.body?.["actual"];
    if (actual === null || typeof actual === "number") this.actual = actual;
  }

  /**
   * True when trying the same request again may succeed: no answer came (a network failure or
   * a time-out), or the server is busy or restarting (408, 502, 503, 504).
   */
  get retryable(): boolean {
    return this.code === "unreachable" || this.code === "client_timeout" || RETRYABLE_STATUSES.has(this.status);
  }

  /** The error of a server's error body (also what a subscription's `failure` message carries). */
  static fromBody(
    status: number,
    body: unknown,
    extra: { requestId?: string; retryAfterMs?: number } = {},
  ): EventfoldError {
    if (isRecord(body) && typeof body["error"] === "string") {
      const message = typeof body["message"] === "string" ? body["message"] : body["error"];
      return new EventfoldError({ status, code: body["error"], message, body, ...extra });
    }
    return new EventfoldError({
      status,
      code: "invalid_response",
      message: `HTTP ${status} without an Eventfold error body`,
      ...extra,
    });
  }
}

/**
 * Thrown by a {@link Client.consume} handler to choose what happens to the delivery: `park`
 * (to the group's dead letters now), `skip` (drop it) or `retry` (the default for any other
 * error). The message becomes the nack's reason.
 */
export class NackError extends Error {
  /** What the nack asks for. */
  readonly action: NackAction;

  constructor(action: NackAction, reason: string, options?: { cause?: unknown }) {
    super(reason, options);
    this.name = "NackError";
    this.action = action;
  }
}

/** True for a plain JSON object. */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
