/**
 * GENERATED FILE: do not edit. Regenerate with `npm run generate -- DOC.json`
 * (scripts/generate.mjs, openapi-typescript 7.13.0) from Eventfold's OpenAPI document
 * (Eventfold 0.1.0, OpenAPI 3.1.0).
 *
 * Not expressed in these types (the server checks them): value constraints (bounds, lengths,
 * patterns, property names) and the conditional rules (if/then/else, not) of:
 *   EventBody
 *   GroupRequest
 *   Webhook
 */

declare const jsonText: unique symbol;
/**
 * A string of JSON text that decodes to `T` (a schema with `contentMediaType: application/json`
 * and `contentSchema: T`). The brand exists in types only: the value is a plain string.
 */
export type JsonText<T> = string & { readonly [jsonText]?: T };
export interface paths {
    "/admin/scavenge": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** `GET /admin/scavenge`. */
        get: operations["admin_status"];
        put?: never;
        /** `POST /admin/scavenge`. */
        post: operations["admin_start"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/all": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get: operations["all_read"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/buses": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** `GET /buses`. */
        get: operations["buses_list"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/buses/{bus}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * `GET /buses/{bus}`: settings, rules, replays, and the sizes of the archive and the replays
         *     stream.
         */
        get: operations["buses_describe"];
        /** `PUT /buses/{bus}`: creates (201) or updates (200). */
        put: operations["buses_put"];
        post?: never;
        /** `DELETE /buses/{bus}`. */
        delete: operations["buses_delete"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/buses/{bus}/events": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** `POST /buses/{bus}/events`: stored durably in the bus's stream, then acknowledged (201). */
        post: operations["buses_put_events"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/buses/{bus}/replays": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** `POST /buses/{bus}/replays`: starts a replay of the archive (202). */
        post: operations["buses_start_replay"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/buses/{bus}/replays/{replay}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** `GET /buses/{bus}/replays/{replay}`. */
        get: operations["buses_replay"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/buses/{bus}/rules": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** `GET /buses/{bus}/rules`. */
        get: operations["buses_rules"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/buses/{bus}/rules/{rule}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** `GET /buses/{bus}/rules/{rule}`: settings and progress. */
        get: operations["buses_describe_rule"];
        /** `PUT /buses/{bus}/rules/{rule}`: creates (201) or replaces (200). */
        put: operations["buses_put_rule"];
        post?: never;
        /** `DELETE /buses/{bus}/rules/{rule}`. */
        delete: operations["buses_delete_rule"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/buses/{bus}/rules/{rule}/dead-letters": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** `GET /buses/{bus}/rules/{rule}/dead-letters`: what the rule could not deliver, and why. */
        get: operations["buses_dead_letters"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/groups": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** `GET /groups`. */
        get: operations["groups_list"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/groups/{group}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** `GET /groups/{group}`: settings and state, lag included. */
        get: operations["groups_describe"];
        /** `PUT /groups/{group}`: creates (201) or updates (200). */
        put: operations["groups_put"];
        post?: never;
        /** `DELETE /groups/{group}`. */
        delete: operations["groups_delete"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/groups/{group}/ack": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** `POST /groups/{group}/ack`. */
        post: operations["groups_ack"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/groups/{group}/fetch": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** `POST /groups/{group}/fetch`: a batch of events to process (long-polls with `wait_ms`). */
        post: operations["groups_fetch"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/groups/{group}/nack": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** `POST /groups/{group}/nack`. */
        post: operations["groups_nack"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/groups/{group}/parked": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** `GET /groups/{group}/parked`: the dead letters, oldest first, with why and where from. */
        get: operations["groups_parked"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/groups/{group}/parked/replay": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /** `POST /groups/{group}/parked/replay`: delivers the parked events again. */
        post: operations["groups_replay_parked"];
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/groups/{group}/subscribe": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * `GET /groups/{group}/subscribe`: push over SSE. Each message is a delivery (`id` is its
         *     `ack_id`); the consumer answers with ack/nack, and holds at most `max_in_flight` at once.
         */
        get: operations["groups_subscribe"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/health": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get: operations["admin_health"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/metrics": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get: operations["admin_metrics"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/openapi.json": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** The OpenAPI document of this API */
        get: operations["admin_openapi"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/snapshots/{stream}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** `GET /snapshots/{stream}`: the latest usable snapshot; 404 `snapshot_not_found` otherwise. */
        get: operations["snapshots_get"];
        /** `PUT /snapshots/{stream}`: keeps a snapshot as the stream's latest. */
        put: operations["snapshots_put"];
        post?: never;
        /**
         * `DELETE /snapshots/{stream}`: forgets the stream's snapshot (204 whether or not there was
         *     one).
         */
        delete: operations["snapshots_delete"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/streams/{stream}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get: operations["streams_read"];
        put?: never;
        post: operations["streams_append"];
        delete: operations["streams_delete"];
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/streams/{stream}/metadata": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get: operations["streams_get_metadata"];
        put: operations["streams_put_metadata"];
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/streams/{stream}/revision": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** `GET /streams/{stream}/revision`: the current revision, or null when the stream does not exist. */
        get: operations["streams_revision"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/subscribe/all": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get: operations["subscriptions_all"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/subscribe/streams/{stream}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get: operations["subscriptions_stream"];
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
}
export type webhooks = Record<string, never>;
export interface components {
    schemas: {
        /** @description What to ack or nack: a number (the event's cursor in the source), or p and a number (a parked event being replayed) */
        AckId: string;
        /** @description The body of `POST /groups/{group}/ack`. */
        AckRequest: {
            /** @description The deliveries' `ack_id`s (at most 10000). */
            ack_ids: components["schemas"]["AckId"][];
        };
        /** @description A page of `$all` (`GET /all`). */
        AllPage: {
            /** @description True when the page reached the end of the log (more may be written later). */
            end_of_log: boolean;
            /** @description The events, in the order read. */
            events: components["schemas"]["RecordedEvent"][];
            next?: null | components["schemas"]["Position"];
        };
        /** @description The body of `POST /streams/{stream}`: events appended atomically, in order. */
        AppendRequest: {
            /** @description The events (at least one). */
            events: components["schemas"]["EventBody"][];
            /** @description The optimistic-concurrency check (`any` when absent). */
            expected_revision?: components["schemas"]["ExpectedRevision"];
        };
        /** @description What an append wrote: the revisions and positions of its first and last events. */
        AppendResult: {
            /** @description Global position of the first event appended. */
            first_position: components["schemas"]["Position"];
            /** @description Revision of the first event appended. */
            first_revision: components["schemas"]["Revision"];
            /** @description Global position of the last event appended. */
            last_position: components["schemas"]["Position"];
            /** @description Revision of the last event appended (the stream's new current revision). */
            last_revision: components["schemas"]["Revision"];
        };
        /** @description `GET /buses/{bus}`: settings, rules, replays and the sizes of its streams. */
        BusDescribed: {
            /** @description Archived events are kept this many days (forever when null). */
            archive_days?: number | null;
            /** @description The stream that holds every event put on the bus. */
            archive_stream: components["schemas"]["StreamName"];
            /** @description Events put on the bus so far. */
            events_put: number;
            /** @description Copies put back by replays so far. */
            events_replayed: number;
            /** @description The bus's name. */
            name: components["schemas"]["Name"];
            /** @description Who may put which events. */
            policy: components["schemas"]["Policy"];
            /** @description The replays this node ran. */
            replays: components["schemas"]["ReplayView"][];
            /** @description The stream that holds the copies replays put back. */
            replays_stream: components["schemas"]["StreamName"];
            /** @description The bus's rules. */
            rules: components["schemas"]["RuleView"][];
        };
        /** @description `GET /buses`. */
        BusList: {
            /** @description The buses, by name. */
            buses: components["schemas"]["BusView"][];
        };
        /** @description A bus's settings (`PUT /buses/{bus}`). */
        BusSettings: {
            /** @description Keep archived events this many days (forever when absent). */
            archive_days?: number | null;
            /** @description Who may put which events. */
            policy?: components["schemas"]["Policy"];
        };
        /** @description A bus as listed: its name and settings. */
        BusView: {
            /** @description Keep archived events this many days (forever when absent). */
            archive_days?: number | null;
            /** @description The bus's name. */
            name: components["schemas"]["Name"];
            /** @description Who may put which events. */
            policy?: components["schemas"]["Policy"];
        };
        /** @description The data of a [`CAUGHT_UP`] message: an empty object. */
        CaughtUp: Record<string, unknown>;
        /** @description The data of a [`CHECKPOINT`] message. */
        Checkpoint: {
            /** @description Every event before this position was read (those that match were sent). */
            position: components["schemas"]["Position"];
        };
        /** @description One consumer seen recently. */
        ConsumerStatus: {
            /**
             * Format: double
             * @description Seconds since its last fetch.
             */
            idle_seconds: number;
            /** @description Events it holds without an answer. */
            in_flight: number;
            /** @description Its name. */
            name: string;
        };
        /** @description Counters since the group's task started. */
        Counters: {
            /** @description Events acknowledged. */
            acked: number;
            /** @description Deliveries made (retries included). */
            delivered: number;
            /** @description Events parked. */
            parked: number;
            /** @description Retries scheduled (nacks and time-outs). */
            retried: number;
            /** @description Events skipped by a consumer. */
            skipped: number;
            /** @description Deliveries that timed out. */
            timed_out: number;
        };
        /** @description One event handed to a consumer. */
        Delivery: {
            /** @description What to ack or nack. */
            ack_id: components["schemas"]["AckId"];
            /** @description 1 for the first delivery, then one more per retry. */
            attempt: number;
            /** @description The event. */
            event: components["schemas"]["RecordedEvent"];
            /** @description True when the event comes back from the parked (dead-letter) stream. */
            replayed: boolean;
        };
        /**
         * @description Which way a read goes.
         * @enum {string}
         */
        Direction: "forward" | "backward";
        /**
         * @description The body of every error answer, and of an SSE `failure` message:
         *     `{"error": code, "message": …}`, plus the revisions for `wrong_expected_revision`.
         */
        ErrorBody: {
            /** @description The stream's last revision, or null when it does not exist. */
            actual?: number | null;
            /** @description The stable code: match on this, never on the message. */
            error: components["schemas"]["ErrorCode"];
            /** @description The expected revision the request named. */
            expected?: components["schemas"]["ExpectedRevision"];
            /** @description What went wrong, for people. */
            message: string;
        };
        /**
         * @description A stable error code:
         *     - `invalid_stream_name` (400): The stream name breaks the naming rules.
         *     - `empty_append` (400): An append with no events.
         *     - `invalid_event` (400): An event breaks a shape rule (the message names the field).
         *     - `invalid_request` (400): A request that is malformed or out of range (the message names what is wrong).
         *     - `too_large` (413): An event, an append or a request body is larger than its limit.
         *     - `wrong_expected_revision` (409): The optimistic-concurrency check failed (`expected` and `actual` say how).
         *     - `event_id_conflict` (409): An event id of the append was already used for a different write.
         *     - `conflict` (409): Someone else changed the same thing at the same time.
         *     - `scavenge_running` (409): A scavenge is running already.
         *     - `stream_deleted` (410): The stream was hard-deleted (tombstoned).
         *     - `stream_not_found` (404): The stream does not exist (never written, or soft-deleted).
         *     - `snapshot_not_found` (404): The stream has no snapshot.
         *     - `group_not_found` (404): No consumer group has this name.
         *     - `bus_not_found` (404): No event bus has this name.
         *     - `rule_not_found` (404): The bus has no rule of this name.
         *     - `replay_not_found` (404): The bus has no replay of this name on this node.
         *     - `scavenge_not_found` (404): No scavenge has run since the server started.
         *     - `not_found` (404): No route has this path.
         *     - `method_not_allowed` (405): The route exists, but not with this method.
         *     - `read_only` (405): The store was opened read-only.
         *     - `reserved_stream` (403): The stream belongs to the server (its name starts with `$`).
         *     - `forbidden_source` (403): The bus's policy refuses this source.
         *     - `forbidden_event_type` (403): The bus's policy refuses this event type.
         *     - `timeout` (408): The request took longer than allowed.
         *     - `unavailable` (503): The server cannot do it now; try again (see `Retry-After`).
         *     - `too_many_subscribers` (503): Too many open subscriptions of one kind; try again later.
         *     - `too_many_connections` (503): Too many open connections; try again later.
         *     - `poisoned` (503): A write or sync failed; the store takes no writes until it is reopened.
         *     - `closed` (503): The store is closed or closing.
         *     - `locked` (503): Another process holds the data directory.
         *     - `corrupted` (500): Stored data failed a check; the store refuses to go on.
         *     - `io` (500): An I/O error from the operating system.
         *     - `backend` (500): The backend is unreachable or failed.
         * @enum {string}
         */
        ErrorCode: "invalid_stream_name" | "empty_append" | "invalid_event" | "invalid_request" | "too_large" | "wrong_expected_revision" | "event_id_conflict" | "conflict" | "scavenge_running" | "stream_deleted" | "stream_not_found" | "snapshot_not_found" | "group_not_found" | "bus_not_found" | "rule_not_found" | "replay_not_found" | "scavenge_not_found" | "not_found" | "method_not_allowed" | "read_only" | "reserved_stream" | "forbidden_source" | "forbidden_event_type" | "timeout" | "unavailable" | "too_many_subscribers" | "too_many_connections" | "poisoned" | "closed" | "locked" | "corrupted" | "io" | "backend";
        /** @description One event of an append. `data` is JSON, or a base64 string when `content_type` is not JSON. */
        EventBody: {
            /**
             * @description The payload's media type (`application/json` when absent): 1 to 128 bytes without
             *     control characters.
             */
            content_type?: string | null;
            /** @description The payload: JSON, or base64 text with another content type. */
            data: unknown;
            /**
             * Format: uuid
             * @description The event's id: a retry with the same ids is recognised and answered as the first
             *     write was (a new one is drawn when absent).
             */
            id?: string | null;
            /** @description A JSON object kept with the event (`{}` when absent). */
            metadata?: Record<string, unknown> | null;
            /**
             * Format: date-time
             * @description When the fact happened, as the writer says.
             */
            occurred_at?: string | null;
            /** @description The event type. */
            type: string;
        };
        /** @description A page of a stream's events (`GET /streams/{stream}`, parked events, dead letters). */
        EventsPage: {
            /** @description The events, in the order read. */
            events: components["schemas"]["RecordedEvent"][];
        };
        /**
         * @description What the writer believes about the stream: `any` (no check), `no_stream`, `exists`, or the
         *     exact revision of the stream's last event.
         */
        ExpectedRevision: ("any" | "no_stream" | "exists") | number;
        /** @description The answer to a fetch. */
        Fetched: {
            /** @description The deliveries, oldest first (empty when the wait ran out). */
            messages: components["schemas"]["Delivery"][];
        };
        /** @description The body of `POST /groups/{group}/fetch`. */
        FetchRequest: {
            /**
             * @description Who fetches (shown in the group's state); `anonymous` when absent. 1 to 128 bytes
             *     without control characters.
             */
            consumer?: string | null;
            /** @description At most this many events (default 100, at most 1000). */
            max?: number | null;
            /**
             * @description Wait up to this long for at least one event (default 0: answer at once; at most
             *     20000).
             */
            wait_ms?: number | null;
        };
        /** @description `GET /groups/{group}`: settings and live state. */
        GroupDescribed: {
            /** @description The group's name. */
            name: components["schemas"]["Name"];
            /** @description Its settings. */
            settings: components["schemas"]["GroupSettings"];
            /** @description Its state on the node that runs it. */
            status: components["schemas"]["GroupStatus"];
        };
        /** @description The filter of a group on `$all`; the same fields as `GET /all`'s query. */
        GroupFilter: {
            /** @description Only streams of this category. */
            category?: string | null;
            /** @description Only streams whose name starts with this. */
            prefix?: string | null;
            /** @description Only these event types. */
            types?: string[];
        };
        /** @description `GET /groups`. */
        GroupList: {
            /** @description The groups, by name. */
            groups: components["schemas"]["GroupView"][];
        };
        /** @description The body of `PUT /groups/{group}`. Every field has a default. */
        GroupRequest: {
            /** @description How long a consumer has to ack or nack a delivery before it counts as failed. */
            ack_timeout_ms?: number | null;
            /** @description Events read ahead and not yet finished, at most. */
            buffer_size?: number | null;
            filter?: null | components["schemas"]["GroupFilter"];
            /** @description Deliveries before an event is parked. */
            max_attempts?: number | null;
            /** @description The longest retry delay (a first delay above it is cut to it). */
            retry_backoff_max_ms?: number | null;
            /** @description The first retry's delay; each later retry doubles it. */
            retry_backoff_ms?: number | null;
            start?: null | components["schemas"]["StartAt"];
            strategy?: null | components["schemas"]["Strategy"];
            stream?: null | components["schemas"]["StreamName"];
        };
        /** @description A group's settings as stored in `$groups` (the start resolved to a cursor at creation). */
        GroupSettings: {
            /** @description Time to ack a delivery, in milliseconds. */
            ack_timeout_ms: number;
            /** @description Events read ahead and not yet finished, at most. */
            buffer_size: number;
            /** @description Which events of `$all`. */
            filter?: components["schemas"]["GroupFilter"];
            /** @description Deliveries before an event is parked. */
            max_attempts: number;
            /** @description The longest retry delay, in milliseconds. */
            retry_backoff_max_ms: number;
            /** @description The first retry's delay, in milliseconds. */
            retry_backoff_ms: number;
            /** @description The first cursor (a position on `$all`, a revision on a stream). */
            start: number;
            /** @description The hand-out strategy. */
            strategy: components["schemas"]["Strategy"];
            stream?: null | components["schemas"]["StreamName"];
        };
        /** @description A group's state, as `GET /groups/{group}` shows it. */
        GroupStatus: {
            /** @description Events read and not yet finished. */
            buffered: number;
            /** @description True once the group has read all history and follows live events. */
            caught_up: boolean;
            /** @description Every event before this cursor is finished. */
            checkpoint: number;
            /** @description Consumers seen in the last five minutes. */
            consumers: components["schemas"]["ConsumerStatus"][];
            /** @description Totals since this node started the group. */
            counters: components["schemas"]["Counters"];
            /** @description Events out with a consumer. */
            in_flight: number;
            /**
             * @description Events not yet finished: buffered ones plus those not yet read (on `$all`, while the
             *     group catches up, positions not yet read count whatever the filter).
             */
            lag_events: number;
            /**
             * Format: double
             * @description Age of the oldest unfinished event, in seconds.
             */
            lag_seconds: number;
            /** @description The next cursor the group will read. */
            read_cursor: number;
            /** @description Parked events being replayed and not yet finished. */
            replaying: number;
            /** @description Events waiting for their retry. */
            retrying: number;
            /** @description The checkpoint last saved. */
            saved_checkpoint: number;
            /** @description True while the source is readable (false after an error, until it is re-opened). */
            source_open: boolean;
        };
        /** @description A group as listed: its name and settings. */
        GroupView: {
            /** @description Time to ack a delivery, in milliseconds. */
            ack_timeout_ms: number;
            /** @description Events read ahead and not yet finished, at most. */
            buffer_size: number;
            /** @description Which events of `$all`. */
            filter?: components["schemas"]["GroupFilter"];
            /** @description Deliveries before an event is parked. */
            max_attempts: number;
            /** @description The group's name. */
            name: components["schemas"]["Name"];
            /** @description The longest retry delay, in milliseconds. */
            retry_backoff_max_ms: number;
            /** @description The first retry's delay, in milliseconds. */
            retry_backoff_ms: number;
            /** @description The first cursor (a position on `$all`, a revision on a stream). */
            start: number;
            /** @description The hand-out strategy. */
            strategy: components["schemas"]["Strategy"];
            stream?: null | components["schemas"]["StreamName"];
        };
        /** @description `GET /health`. */
        Health: {
            /** @description The position the next event will get. */
            head_position: components["schemas"]["Position"];
            /** @description `ok`. */
            status: string;
        };
        /**
         * @description What a consumer does with an event it cannot process.
         * @enum {string}
         */
        NackAction: "retry" | "park" | "skip";
        /** @description The body of `POST /groups/{group}/nack`. */
        NackRequest: {
            /** @description The deliveries' `ack_id`s (at most 10000). */
            ack_ids: components["schemas"]["AckId"][];
            action?: null | components["schemas"]["NackAction"];
            /** @description Why, kept with a parked event (at most 1024 bytes). */
            reason?: string | null;
        };
        /** @description A name: 1 to 64 ASCII letters, digits, `_`, `-` or `.` */
        Name: string;
        /**
         * @description Who may put which events on a bus. An absent list allows everything; an entry ending in
         *     `*` allows every value that starts with what precedes the star.
         */
        Policy: {
            /** @description Allowed sources. */
            sources?: components["schemas"]["PolicyEntry"][] | null;
            /** @description Allowed event types. */
            types?: components["schemas"]["PolicyEntry"][] | null;
        };
        /** @description An exact value, or a prefix followed by `*`: 1 to 256 bytes without control characters */
        PolicyEntry: string;
        /** @description The place of an event in the global log (`$all`): strictly increasing in commit order. */
        Position: number;
        /** @description One message of a consumer group's push stream. */
        PushMessage: {
            data: JsonText<components["schemas"]["Delivery"]>;
            /** @constant */
            event?: "message";
            id: string;
            retry?: number;
        } | {
            data: JsonText<components["schemas"]["ErrorBody"]>;
            /** @constant */
            event: "failure";
            id?: string;
            retry?: number;
        };
        /** @description One event of `POST /buses/{bus}/events`. */
        PutEvent: {
            /** @description Its data (JSON). */
            data: unknown;
            /**
             * Format: uuid
             * @description Its id, for idempotent retries (a new one when absent).
             */
            id?: string | null;
            /** @description The sender's metadata (JSON). */
            metadata?: Record<string, unknown> | null;
            /** @description Who sends it (the bus's policy may restrict it). */
            source: string;
            /** @description Its type. */
            type: string;
        };
        /** @description The body of `POST /buses/{bus}/events`. */
        PutEvents: {
            /** @description The events (at least one), stored atomically in this order. */
            events: components["schemas"]["PutEvent"][];
        };
        /** @description What a put stored. */
        PutResult: {
            /** @description The first event's position in `$all`. */
            first_position: components["schemas"]["Position"];
            /** @description The events' ids, in order. */
            ids: string[];
            /** @description The last event's position. */
            last_position: components["schemas"]["Position"];
        };
        /** @description An event as the store recorded it. */
        RecordedEvent: {
            /** @description The payload's media type. */
            content_type: string;
            /** @description JSON data as it was written; with another content type, the bytes in base64. */
            data: unknown;
            /**
             * Format: uuid
             * @description The event's id (unique in the store).
             */
            id: string;
            /** @description The event's metadata (a JSON object). */
            metadata: {
                [key: string]: unknown;
            };
            /**
             * Format: date-time
             * @description When the fact happened, as the client said.
             */
            occurred_at?: string | null;
            /** @description Its place in the global log, `$all`. */
            position: number;
            /**
             * Format: date-time
             * @description When the store committed it (never decreases along `$all`).
             */
            recorded_at: string;
            /** @description Its place in the stream (0-based). */
            revision: number;
            /** @description The stream it belongs to. */
            stream: string;
            /** @description The event type. */
            type: string;
        };
        /** @description The answer to `POST /groups/{group}/parked/replay`. */
        Replaying: {
            /** @description How many parked events go out again. */
            replaying: number;
        };
        /** @description The body of `POST /buses/{bus}/replays`. */
        ReplayRequest: {
            /**
             * Format: date-time
             * @description Replay events recorded at or after this time.
             */
            from: string;
            /** @description The replay's name (marks the replayed events; running it again resumes it). */
            name: components["schemas"]["Name"];
            /**
             * Format: date-time
             * @description … and before this time (now when absent).
             */
            to?: string | null;
        };
        /**
         * @description Where a replay is.
         * @enum {string}
         */
        ReplayState: "running" | "completed" | "failed" | "stopped";
        /** @description A replay as the API shows it. */
        ReplayView: {
            /** @description The bus. */
            bus: string;
            /** @description Why it failed. */
            error?: string | null;
            /** @description The replay's name. */
            name: string;
            /** @description Events put on the bus again so far. */
            replayed: number;
            /** @description Where it is. */
            state: components["schemas"]["ReplayState"];
        };
        /** @description The place of an event within its stream: gapless from 0. */
        Revision: number;
        /** @description `GET /streams/{stream}/revision`. */
        RevisionAnswer: {
            revision?: null | components["schemas"]["Revision"];
        };
        /** @description The details of a failed optimistic-concurrency check. */
        RevisionConflict: {
            /** @description The stream's last revision, or null when it does not exist. */
            actual?: number | null;
            /** @description The expected revision the request named. */
            expected: components["schemas"]["ExpectedRevision"];
        };
        /** @description `GET /buses/{bus}/rules/{rule}`: settings and progress. */
        RuleDescribed: {
            /** @description The bus. */
            bus: components["schemas"]["Name"];
            /** @description What the rule is for. */
            description?: string | null;
            /** @description False lets events go by. */
            enabled: boolean;
            /** @description The rule's name. */
            name: components["schemas"]["Name"];
            /** @description The event pattern. */
            pattern: Record<string, unknown>;
            /**
             * @description The first revision of the bus's replays stream the rule considers (its end at creation;
             *     0 for rules made when replays were put into the archive).
             */
            replays_start?: number;
            /** @description The first revision of the bus's archive the rule considers (its end at creation). */
            start: number;
            /** @description Its progress. */
            status: components["schemas"]["RuleStatus"];
            /** @description Where matched events go. */
            targets: components["schemas"]["Target"][];
        };
        /** @description `GET /buses/{bus}/rules`. */
        RuleList: {
            /** @description The bus's rules, by name. */
            rules: components["schemas"]["RuleView"][];
        };
        /** @description The body of `PUT /buses/{bus}/rules/{rule}`. */
        RuleRequest: {
            /** @description What the rule is for. */
            description?: string | null;
            /** @description A disabled rule lets events go by without delivering them. */
            enabled?: boolean | null;
            /**
             * @description The event pattern (EventBridge syntax) matched against
             *     `{"source", "type", "data", "metadata", "replay"}`.
             */
            pattern: Record<string, unknown>;
            /** @description Where matched events go, in this order. */
            targets: components["schemas"]["Target"][];
        };
        /** @description The answer to `PUT /buses/{bus}/rules/{rule}`. */
        RuleSaved: {
            /** @description The bus. */
            bus: components["schemas"]["Name"];
            /** @description The rule's name. */
            name: components["schemas"]["Name"];
            /** @description The settings as stored. */
            rule: components["schemas"]["RuleSettings"];
        };
        /** @description A rule as stored in `$buses`. */
        RuleSettings: {
            /** @description What the rule is for. */
            description?: string | null;
            /** @description False lets events go by. */
            enabled: boolean;
            /** @description The event pattern. */
            pattern: Record<string, unknown>;
            /**
             * @description The first revision of the bus's replays stream the rule considers (its end at creation;
             *     0 for rules made when replays were put into the archive).
             */
            replays_start?: number;
            /** @description The first revision of the bus's archive the rule considers (its end at creation). */
            start: number;
            /** @description Where matched events go. */
            targets: components["schemas"]["Target"][];
        };
        /** @description A rule's progress on the node that runs it. */
        RuleStatus: {
            /** @description Events sent to the rule's dead letters. */
            dead_lettered: number;
            /** @description Deliveries that succeeded. */
            delivered: number;
            /** @description Events not delivered because the archive had expired them. */
            expired: number;
            /** @description Events of the bus the rule has not considered yet. */
            lag_events: number;
            /** @description Events that matched the pattern. */
            matched: number;
            /** @description The next revision of the bus's archive the rule reads. */
            next_revision: number;
            /** @description The next revision of the bus's replays stream the rule reads. */
            replays_next_revision: number;
            /** @description Deliveries retried. */
            retried: number;
        };
        /** @description A rule as listed: its name and settings. */
        RuleView: {
            /** @description What the rule is for. */
            description?: string | null;
            /** @description False lets events go by. */
            enabled: boolean;
            /** @description The rule's name. */
            name: components["schemas"]["Name"];
            /** @description The event pattern. */
            pattern: Record<string, unknown>;
            /**
             * @description The first revision of the bus's replays stream the rule considers (its end at creation;
             *     0 for rules made when replays were put into the archive).
             */
            replays_start?: number;
            /** @description The first revision of the bus's archive the rule considers (its end at creation). */
            start: number;
            /** @description Where matched events go. */
            targets: components["schemas"]["Target"][];
        };
        /** @description Where a scavenge is. */
        ScavengeProgress: {
            /** @description Bytes of the rewritten segments after. */
            bytes_after: number;
            /**
             * @description Bytes of the rewritten segments' files before (zeros preallocated after the data
             *     included).
             */
            bytes_before: number;
            /** @description Events erased. */
            events_erased: number;
            /** @description Closed segments examined so far. */
            segments_done: number;
            /** @description Of those, the segments rewritten (the others hid nothing not erased already). */
            segments_rewritten: number;
            /** @description Closed segments to examine. */
            segments_total: number;
        };
        /**
         * @description Where a scavenge job is.
         * @enum {string}
         */
        ScavengeState: "running" | "done" | "failed";
        /** @description What `POST` and `GET /admin/scavenge` show of the last scavenge. */
        ScavengeStatus: {
            /** @description Bytes of the rewritten segments after. */
            bytes_after: number;
            /**
             * @description Bytes of the rewritten segments' files before (zeros preallocated after the data
             *     included).
             */
            bytes_before: number;
            /** @description The disk space given back so far. */
            bytes_reclaimed: number;
            /** @description Why it failed. */
            error?: string | null;
            /** @description Events erased. */
            events_erased: number;
            /**
             * Format: date-time
             * @description When it ended, once it has.
             */
            finished_at?: string | null;
            /** @description Closed segments examined so far. */
            segments_done: number;
            /** @description Of those, the segments rewritten (the others hid nothing not erased already). */
            segments_rewritten: number;
            /** @description Closed segments to examine. */
            segments_total: number;
            /**
             * Format: date-time
             * @description When it started.
             */
            started_at: string;
            /** @description Where it is. */
            state: components["schemas"]["ScavengeState"];
        };
        /** @description The answer to an ack or a nack. */
        Settled: {
            /** @description How many ids were settled. */
            settled: number;
            /** @description Ids that are not out for delivery (already settled, never delivered, or unknown). */
            unknown: string[];
        };
        /**
         * @description A snapshot on the wire (`GET` and `PUT /snapshots/{stream}`): the state is JSON, carried
         *     as is.
         */
        SnapshotBody: {
            /**
             * Format: uuid
             * @description That event's id (a snapshot of a stream that was deleted and written again is refused).
             */
            last_event_id: string;
            /**
             * Format: date-time
             * @description When the snapshot was taken.
             */
            recorded_at: string;
            /** @description The revision of the last event folded into the state. */
            revision: number;
            /** @description The version of the state's shape, as the writer counts. */
            schema_version: number;
            /** @description The folded state. */
            state: unknown;
        };
        /** @description Where a new group starts. */
        StartAt: "start" | "end" | {
            /** @description This position of `$all` (groups on `$all`). */
            position: number;
        } | {
            /** @description This revision of the stream (groups on a stream). */
            revision: number;
        } | {
            /**
             * Format: date-time
             * @description The first event recorded at or after this time (groups on `$all`).
             */
            time: string;
        };
        /**
         * @description How events are handed to the group's consumers.
         * @enum {string}
         */
        Strategy: "round_robin" | "pinned";
        /** @description Per-stream settings. Events hidden by these rules are never returned by any read. */
        StreamMetadata: {
            /** @description The user's own JSON value, stored and returned as is. */
            custom?: unknown;
            /** @description Events older than this many seconds (by `recorded_at`) are hidden. */
            max_age_secs?: number | null;
            /** @description Only the newest this-many events are visible. */
            max_count?: number | null;
            /** @description Events with a revision below this are hidden. */
            truncate_before?: number | null;
        };
        /** @description A stream name: 1 to 256 bytes of UTF-8 without control characters; its category is the part before the first `-`; names starting with `$` belong to the server */
        StreamName: string;
        /** @description A page of one stream (`GET /streams/{stream}`), with where the next one starts. */
        StreamPage: {
            /**
             * @description True when the page reached the end of the stream in its direction (the last event,
             *     forward; the first visible one, backward). Forward, more may be written later.
             */
            end_of_stream: boolean;
            /** @description The events, in the order read. */
            events: components["schemas"]["RecordedEvent"][];
            next?: null | components["schemas"]["Revision"];
        };
        /** @description One message of a live subscription. */
        SubscriptionMessage: {
            data: JsonText<components["schemas"]["RecordedEvent"]>;
            /** @constant */
            event?: "message";
            id: string;
            retry?: number;
        } | {
            data: JsonText<components["schemas"]["Checkpoint"]>;
            /** @constant */
            event: "checkpoint";
            id?: string;
            retry?: number;
        } | {
            data: JsonText<components["schemas"]["CaughtUp"]>;
            /** @constant */
            event: "caught_up";
            id?: string;
            retry?: number;
        } | {
            data: JsonText<components["schemas"]["ErrorBody"]>;
            /** @constant */
            event: "failure";
            id?: string;
            retry?: number;
        };
        /** @description Where a rule sends the events it matches. */
        Target: {
            /** @description Another bus (its policy applies). */
            bus: components["schemas"]["Name"];
        } | {
            /** @description A stream. */
            stream: components["schemas"]["StreamName"];
        } | {
            /**
             * @description The stream a consumer group follows (a group on `$all` is not a target: give it a
             *     prefix filter `$bus:<name>:archive` to read a bus's events).
             */
            group: components["schemas"]["Name"];
        } | {
            /** @description An HTTP endpoint. */
            webhook: components["schemas"]["Webhook"];
        };
        /** @description An HTTP endpoint that receives each event as a JSON `POST`. */
        Webhook: {
            /** @description Extra headers (an API key, say). */
            headers?: {
                [key: string]: string;
            };
            /** @description Attempts before the event goes to the rule's dead-letter stream. */
            max_attempts?: number;
            /** @description The longest retry delay. */
            retry_backoff_max_ms?: number;
            /** @description The first retry's delay; each later retry doubles it. */
            retry_backoff_ms?: number;
            /** @description How long one attempt may take. */
            timeout_ms?: number;
            /** @description `http://host[:port]/path`. */
            url: string;
        };
    };
    responses: never;
    parameters: never;
    requestBodies: never;
    headers: never;
    pathItems: never;
}
export type $defs = Record<string, never>;
export interface operations {
    admin_status: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The last scavenge */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ScavengeStatus"];
                };
            };
            /** @description `invalid_request` */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `scavenge_not_found` */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `timeout` */
            408: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `corrupted`, `io`, `backend` */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `unavailable`, `poisoned`, `closed`, `locked`, `too_many_connections` */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    admin_start: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Started */
            202: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ScavengeStatus"];
                };
            };
            /** @description `invalid_request` */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `read_only` */
            405: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `timeout` */
            408: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `scavenge_running` */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `too_large` */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `corrupted`, `io`, `backend` */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `unavailable`, `poisoned`, `closed`, `locked`, `too_many_connections` */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    all_read: {
        parameters: {
            query?: {
                /** @description A smaller byte budget for the page than the server's. */
                bytes_max?: number;
                /** @description Only streams of this category (the part of the name before the first `-`). */
                category?: string;
                /** @description `forward` (default) or `backward`. */
                direction?: components["schemas"]["Direction"];
                /** @description `start`, `end` or a position (default: start, or end when reading backward). */
                from?: string;
                /** @description At most this many events (default 1000; the server's limit is 10000 unless configured). */
                limit?: number;
                /** @description Only streams whose name starts with this. */
                prefix?: string;
                /**
                 * @description Start at the first event recorded at or after this time; with `from` too, at the
                 *     later of the two (forward only).
                 */
                since?: string;
                /** @description Only these event types, comma-separated. */
                type?: string;
            };
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description A page of $all, with where the next one starts */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["AllPage"];
                };
            };
            /** @description `invalid_request` */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `timeout` */
            408: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `corrupted`, `io`, `backend` */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `unavailable`, `poisoned`, `closed`, `locked`, `too_many_connections` */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    buses_list: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Every bus */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["BusList"];
                };
            };
            /** @description `invalid_request` */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `timeout` */
            408: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `corrupted`, `io`, `backend` */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `unavailable`, `poisoned`, `closed`, `locked`, `too_many_connections` */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    buses_describe: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The bus's name */
                bus: components["schemas"]["Name"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Settings, rules, replays */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["BusDescribed"];
                };
            };
            /** @description `invalid_request` */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `bus_not_found` */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `timeout` */
            408: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `corrupted`, `io`, `backend` */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `unavailable`, `poisoned`, `closed`, `locked`, `too_many_connections` */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    buses_put: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The bus's name */
                bus: components["schemas"]["Name"];
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["BusSettings"];
            };
        };
        responses: {
            /** @description Updated */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["BusView"];
                };
            };
            /** @description Created */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["BusView"];
                };
            };
            /** @description `invalid_request` */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `timeout` */
            408: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `conflict` */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `too_large` */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `corrupted`, `io`, `backend` */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `unavailable`, `poisoned`, `closed`, `locked`, `too_many_connections` */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    buses_delete: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The bus's name */
                bus: components["schemas"]["Name"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Deleted */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description `invalid_request` */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `bus_not_found` */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `timeout` */
            408: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `corrupted`, `io`, `backend` */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `unavailable`, `poisoned`, `closed`, `locked`, `too_many_connections` */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    buses_put_events: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The bus's name */
                bus: components["schemas"]["Name"];
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["PutEvents"];
            };
        };
        responses: {
            /** @description Stored, durably */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["PutResult"];
                };
            };
            /** @description `invalid_request` */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `forbidden_source`, `forbidden_event_type` */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `bus_not_found` */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `timeout` */
            408: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `event_id_conflict` */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `too_large` */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `corrupted`, `io`, `backend` */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `unavailable`, `poisoned`, `closed`, `locked`, `too_many_connections` */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    buses_start_replay: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The bus's name */
                bus: components["schemas"]["Name"];
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["ReplayRequest"];
            };
        };
        responses: {
            /** @description Started (or resumed) */
            202: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ReplayView"];
                };
            };
            /** @description `invalid_request` */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `bus_not_found` */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `timeout` */
            408: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `conflict` */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `too_large` */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `corrupted`, `io`, `backend` */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `unavailable`, `poisoned`, `closed`, `locked`, `too_many_connections` */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    buses_replay: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The bus's name */
                bus: components["schemas"]["Name"];
                /** @description The replay's name */
                replay: components["schemas"]["Name"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The replay's progress */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ReplayView"];
                };
            };
            /** @description `invalid_request` */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `bus_not_found`, `replay_not_found` */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `timeout` */
            408: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `corrupted`, `io`, `backend` */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `unavailable`, `poisoned`, `closed`, `locked`, `too_many_connections` */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    buses_rules: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The bus's name */
                bus: components["schemas"]["Name"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The bus's rules */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["RuleList"];
                };
            };
            /** @description `invalid_request` */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `bus_not_found` */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `timeout` */
            408: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `corrupted`, `io`, `backend` */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `unavailable`, `poisoned`, `closed`, `locked`, `too_many_connections` */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    buses_describe_rule: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The bus's name */
                bus: components["schemas"]["Name"];
                /** @description The rule's name */
                rule: components["schemas"]["Name"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Settings and progress */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["RuleDescribed"];
                };
            };
            /** @description `invalid_request` */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `bus_not_found`, `rule_not_found` */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `timeout` */
            408: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `corrupted`, `io`, `backend` */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `unavailable`, `poisoned`, `closed`, `locked`, `too_many_connections` */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    buses_put_rule: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The bus's name */
                bus: components["schemas"]["Name"];
                /** @description The rule's name */
                rule: components["schemas"]["Name"];
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["RuleRequest"];
            };
        };
        responses: {
            /** @description Replaced */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["RuleSaved"];
                };
            };
            /** @description Created */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["RuleSaved"];
                };
            };
            /** @description `invalid_request` */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `bus_not_found` */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `timeout` */
            408: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `conflict` */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `too_large` */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `corrupted`, `io`, `backend` */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `unavailable`, `poisoned`, `closed`, `locked`, `too_many_connections` */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    buses_delete_rule: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The bus's name */
                bus: components["schemas"]["Name"];
                /** @description The rule's name */
                rule: components["schemas"]["Name"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Deleted */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description `invalid_request` */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `bus_not_found`, `rule_not_found` */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `timeout` */
            408: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `corrupted`, `io`, `backend` */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `unavailable`, `poisoned`, `closed`, `locked`, `too_many_connections` */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    buses_dead_letters: {
        parameters: {
            query?: {
                /** @description The first revision (default 0). */
                from?: number;
                /** @description At most this many events (default 100, at most 1000). */
                limit?: number;
            };
            header?: never;
            path: {
                /** @description The bus's name */
                bus: components["schemas"]["Name"];
                /** @description The rule's name */
                rule: components["schemas"]["Name"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description What the rule could not deliver, oldest first */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["EventsPage"];
                };
            };
            /** @description `invalid_request` */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `bus_not_found`, `rule_not_found` */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `timeout` */
            408: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `corrupted`, `io`, `backend` */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `unavailable`, `poisoned`, `closed`, `locked`, `too_many_connections` */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    groups_list: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Every group */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["GroupList"];
                };
            };
            /** @description `invalid_request` */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `timeout` */
            408: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `corrupted`, `io`, `backend` */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `unavailable`, `poisoned`, `closed`, `locked`, `too_many_connections` */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    groups_describe: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The consumer group's name */
                group: components["schemas"]["Name"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Settings and state */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["GroupDescribed"];
                };
            };
            /** @description `invalid_request` */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `group_not_found` */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `timeout` */
            408: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `corrupted`, `io`, `backend` */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `unavailable`, `poisoned`, `closed`, `locked`, `too_many_connections` */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    groups_put: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The consumer group's name */
                group: components["schemas"]["Name"];
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["GroupRequest"];
            };
        };
        responses: {
            /** @description Updated */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["GroupView"];
                };
            };
            /** @description Created */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["GroupView"];
                };
            };
            /** @description `invalid_request` */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `timeout` */
            408: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `conflict` */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `too_large` */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `corrupted`, `io`, `backend` */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `unavailable`, `poisoned`, `closed`, `locked`, `too_many_connections` */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    groups_delete: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The consumer group's name */
                group: components["schemas"]["Name"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Deleted */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description `invalid_request` */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `group_not_found` */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `timeout` */
            408: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `corrupted`, `io`, `backend` */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `unavailable`, `poisoned`, `closed`, `locked`, `too_many_connections` */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    groups_ack: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The consumer group's name */
                group: components["schemas"]["Name"];
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["AckRequest"];
            };
        };
        responses: {
            /** @description Settled */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Settled"];
                };
            };
            /** @description `invalid_request` */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `group_not_found` */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `timeout` */
            408: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `too_large` */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `corrupted`, `io`, `backend` */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `unavailable`, `poisoned`, `closed`, `locked`, `too_many_connections` */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    groups_fetch: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The consumer group's name */
                group: components["schemas"]["Name"];
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["FetchRequest"];
            };
        };
        responses: {
            /** @description Deliveries (empty when the wait ran out) */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Fetched"];
                };
            };
            /** @description `invalid_request` */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `group_not_found` */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `timeout` */
            408: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `too_large` */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `corrupted`, `io`, `backend` */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `unavailable`, `poisoned`, `closed`, `locked`, `too_many_connections` */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    groups_nack: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The consumer group's name */
                group: components["schemas"]["Name"];
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["NackRequest"];
            };
        };
        responses: {
            /** @description Settled */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Settled"];
                };
            };
            /** @description `invalid_request` */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `group_not_found` */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `timeout` */
            408: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `too_large` */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `corrupted`, `io`, `backend` */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `unavailable`, `poisoned`, `closed`, `locked`, `too_many_connections` */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    groups_parked: {
        parameters: {
            query?: {
                /** @description The first revision (default 0). */
                from?: number;
                /** @description At most this many events (default 100, at most 1000). */
                limit?: number;
            };
            header?: never;
            path: {
                /** @description The consumer group's name */
                group: components["schemas"]["Name"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Parked events, oldest first */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["EventsPage"];
                };
            };
            /** @description `invalid_request` */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `group_not_found` */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `timeout` */
            408: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `corrupted`, `io`, `backend` */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `unavailable`, `poisoned`, `closed`, `locked`, `too_many_connections` */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    groups_replay_parked: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The consumer group's name */
                group: components["schemas"]["Name"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Parked events going out again */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Replaying"];
                };
            };
            /** @description `invalid_request` */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `group_not_found` */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `timeout` */
            408: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `too_large` */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `corrupted`, `io`, `backend` */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `unavailable`, `poisoned`, `closed`, `locked`, `too_many_connections` */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    groups_subscribe: {
        parameters: {
            query?: {
                /** @description Who subscribes; `anonymous` when absent. 1 to 128 bytes without control characters. */
                consumer?: string;
                /** @description Deliveries held without an answer, at most (default 100, at most 1000). */
                max_in_flight?: number;
            };
            header?: never;
            path: {
                /** @description The consumer group's name */
                group: components["schemas"]["Name"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Deliveries pushed as they are ready (SSE: each message is a delivery, its id the ack_id) */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "text/event-stream": components["schemas"]["PushMessage"];
                };
            };
            /** @description `invalid_request` */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `group_not_found` */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `corrupted`, `io`, `backend` */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `too_many_subscribers` */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    admin_health: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The server is up */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["Health"];
                };
            };
            /** @description `invalid_request` */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `timeout` */
            408: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `corrupted`, `io`, `backend` */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `unavailable`, `poisoned`, `closed`, `locked`, `too_many_connections` */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    admin_metrics: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Prometheus text format */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "text/plain": string;
                };
            };
            /** @description `invalid_request` */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `timeout` */
            408: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `corrupted`, `io`, `backend` */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `unavailable`, `poisoned`, `closed`, `locked`, `too_many_connections` */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    admin_openapi: {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description This document */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": unknown;
                };
            };
            /** @description `invalid_request` */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `corrupted`, `io`, `backend` */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `unavailable`, `poisoned`, `closed`, `locked`, `too_many_connections` */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    snapshots_get: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The stream's name */
                stream: components["schemas"]["StreamName"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The latest usable snapshot */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["SnapshotBody"];
                };
            };
            /** @description `invalid_request`, `invalid_stream_name` */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `snapshot_not_found` */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `timeout` */
            408: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `corrupted`, `io`, `backend` */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `unavailable`, `poisoned`, `closed`, `locked`, `too_many_connections` */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    snapshots_put: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The stream's name */
                stream: components["schemas"]["StreamName"];
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["SnapshotBody"];
            };
        };
        responses: {
            /** @description Saved */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description `invalid_request`, `invalid_stream_name` */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `timeout` */
            408: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `conflict`: the stream has no such event (or does not exist) */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `stream_deleted` */
            410: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `too_large` */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `corrupted`, `io`, `backend` */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `unavailable`, `poisoned`, `closed`, `locked`, `too_many_connections` */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    snapshots_delete: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The stream's name */
                stream: components["schemas"]["StreamName"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Deleted (or there was none) */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description `invalid_request`, `invalid_stream_name` */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `timeout` */
            408: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `corrupted`, `io`, `backend` */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `unavailable`, `poisoned`, `closed`, `locked`, `too_many_connections` */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    streams_read: {
        parameters: {
            query?: {
                /** @description A smaller byte budget for the page than the server's. */
                bytes_max?: number;
                /** @description `forward` (default) or `backward`. */
                direction?: components["schemas"]["Direction"];
                /** @description `start`, `end` or a revision (default: start, or end when reading backward). */
                from?: string;
                /** @description At most this many events (default 1000; the server's limit is 10000 unless configured). */
                limit?: number;
            };
            header?: never;
            path: {
                /** @description The stream's name */
                stream: components["schemas"]["StreamName"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description A page of the stream's events, with where the next starts */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["StreamPage"];
                };
            };
            /** @description `invalid_request`, `invalid_stream_name` */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `stream_not_found` */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `timeout` */
            408: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `stream_deleted` */
            410: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `corrupted`, `io`, `backend` */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `unavailable`, `poisoned`, `closed`, `locked`, `too_many_connections` */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    streams_append: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The stream's name */
                stream: components["schemas"]["StreamName"];
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["AppendRequest"];
            };
        };
        responses: {
            /** @description Appended, durably */
            201: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["AppendResult"];
                };
            };
            /** @description `invalid_request`, `invalid_stream_name` */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `reserved_stream` */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `timeout` */
            408: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `wrong_expected_revision`, `event_id_conflict` */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `stream_deleted` */
            410: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `too_large` */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `corrupted`, `io`, `backend` */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `unavailable`, `poisoned`, `closed`, `locked`, `too_many_connections` */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    streams_delete: {
        parameters: {
            query?: {
                /** @description `any` (default), `no_stream`, `exists` or a revision. */
                expected_revision?: string;
                /** @description A hard delete (tombstone): the stream can never be written or read again. */
                hard?: boolean;
            };
            header?: never;
            path: {
                /** @description The stream's name */
                stream: components["schemas"]["StreamName"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Deleted */
            204: {
                headers: {
                    [name: string]: unknown;
                };
                content?: never;
            };
            /** @description `invalid_request`, `invalid_stream_name` */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `reserved_stream` */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `stream_not_found` */
            404: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `timeout` */
            408: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `wrong_expected_revision` */
            409: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `stream_deleted` */
            410: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `corrupted`, `io`, `backend` */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `unavailable`, `poisoned`, `closed`, `locked`, `too_many_connections` */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    streams_get_metadata: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The stream's name */
                stream: components["schemas"]["StreamName"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The stream's metadata */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["StreamMetadata"];
                };
            };
            /** @description `invalid_request`, `invalid_stream_name` */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `timeout` */
            408: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `stream_deleted` */
            410: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `corrupted`, `io`, `backend` */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `unavailable`, `poisoned`, `closed`, `locked`, `too_many_connections` */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    streams_put_metadata: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The stream's name */
                stream: components["schemas"]["StreamName"];
            };
            cookie?: never;
        };
        requestBody: {
            content: {
                "application/json": components["schemas"]["StreamMetadata"];
            };
        };
        responses: {
            /** @description The stream's metadata as stored */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["StreamMetadata"];
                };
            };
            /** @description `invalid_request`, `invalid_stream_name` */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `reserved_stream` */
            403: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `timeout` */
            408: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `stream_deleted` */
            410: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `too_large` */
            413: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `corrupted`, `io`, `backend` */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `unavailable`, `poisoned`, `closed`, `locked`, `too_many_connections` */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    streams_revision: {
        parameters: {
            query?: never;
            header?: never;
            path: {
                /** @description The stream's name */
                stream: components["schemas"]["StreamName"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The revision of the stream's last event */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["RevisionAnswer"];
                };
            };
            /** @description `invalid_request`, `invalid_stream_name` */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `timeout` */
            408: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `stream_deleted` */
            410: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `corrupted`, `io`, `backend` */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `unavailable`, `poisoned`, `closed`, `locked`, `too_many_connections` */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    subscriptions_all: {
        parameters: {
            query?: {
                /** @description Only streams of this category (the part of the name before the first `-`). */
                category?: string;
                /** @description `start` (default), `end` or a position; `Last-Event-ID` overrides it. */
                from?: string;
                /** @description Only streams whose name starts with this. */
                prefix?: string;
                /**
                 * @description Start at the first event recorded at or after this time; with `from` too, at the
                 *     later of the two.
                 */
                since?: string;
                /** @description Only these event types, comma-separated. */
                type?: string;
            };
            header?: {
                /** @description Resume after this position */
                "Last-Event-ID"?: number;
            };
            path?: never;
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description Events of $all as they are written (SSE: default messages are events; checkpoint, caught_up and failure messages) */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "text/event-stream": components["schemas"]["SubscriptionMessage"];
                };
            };
            /** @description `invalid_request` */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `corrupted`, `io`, `backend` */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `too_many_subscribers` */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
    subscriptions_stream: {
        parameters: {
            query?: {
                /** @description `start` (default), `end` or a revision; `Last-Event-ID` overrides it. */
                from?: string;
            };
            header?: {
                /** @description Resume after this revision */
                "Last-Event-ID"?: number;
            };
            path: {
                /** @description The stream's name */
                stream: components["schemas"]["StreamName"];
            };
            cookie?: never;
        };
        requestBody?: never;
        responses: {
            /** @description The stream's events as they are written (SSE) */
            200: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "text/event-stream": components["schemas"]["SubscriptionMessage"];
                };
            };
            /** @description `invalid_request`, `invalid_stream_name` */
            400: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `stream_deleted` */
            410: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `corrupted`, `io`, `backend` */
            500: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
            /** @description `too_many_subscribers` */
            503: {
                headers: {
                    [name: string]: unknown;
                };
                content: {
                    "application/json": components["schemas"]["ErrorBody"];
                };
            };
        };
    };
}
