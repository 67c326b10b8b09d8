/**
 * `@eventfold/client`: the TypeScript client of Eventfold's HTTP API.
 *
 * @packageDocumentation
 */
export { Client } from "./client.js";
export type {
  AllFrom,
  AppendOptions,
  CallOptions,
  ClientOptions,
  ConsumeOptions,
  DeliveryHandler,
  FetchOptions,
  HandlerContext,
  IterAllOptions,
  ReadAllOptions,
  ReadStreamOptions,
  ReconnectInfo,
  ReconnectOptions,
  SavedGroup,
  StreamFrom,
  SubscribeAllOptions,
  SubscribeOptions,
  SubscribeStreamOptions,
  SubscriptionMessage,
} from "./client.js";
export { EventfoldError, NackError } from "./errors.js";
export type { ClientErrorCode, ErrorCode, EventfoldErrorInit } from "./errors.js";
export { DEFAULT_RETRY } from "./backoff.js";
export type { RetryPolicy } from "./backoff.js";
export { SseParser } from "./sse.js";
export type { SseMessage } from "./sse.js";
export type * from "./types.js";
export type { components, JsonText, operations, paths } from "./schema.js";
