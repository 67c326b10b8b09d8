/**
 * A parser of Server-Sent Events (the `text/event-stream` format of the WHATWG HTML standard,
 * "Parsing an event stream"), fed text as it arrives.
 */

/** One dispatched SSE message. */
export interface SseMessage {
  /** The `event:` field; `message` when the message has none. */
  event: string;
  /** The `data:` lines, joined with `\n`. */
  data: string;
  /**
   * The `id:` field of this message, when it has one. (The standard's "last event ID" carries
   * over to later messages; the subscription keeps that itself.)
   */
  id?: string;
  /** The `retry:` field, in milliseconds, when this message has a valid one. */
  retry?: number;
}

/** The default longest message, in characters: an event is at most a few MiB of JSON. */
export const SSE_MESSAGE_CHARS_MAX = 64 * 1024 * 1024;

/**
 * Splits a stream of text into SSE messages. Lines end with `\n`, `\r\n` or `\r`, also when
 * the two characters of `\r\n` arrive in different chunks; comments (`:`) and blank messages
 * are skipped; a message still open when the stream ends is dropped, as the standard says.
 */
export class SseParser {
  private buffer = "";
  /** True when the previous chunk ended with `\r` (a `\n` starting this one belongs to it). */
  private pendingCr = false;
  private data: string[] = [];
  private event = "";
  private id: string | undefined;
  private retry: number | undefined;
  private hasFields = false;

  constructor(private readonly maxChars: number = SSE_MESSAGE_CHARS_MAX) {}

  /** Feeds a chunk of text; returns the messages it completed, in order. */
  push(chunk: string): SseMessage[] {
    let text = chunk;
    if (this.pendingCr && text.startsWith("\n")) text = text.slice(1);
    this.pendingCr = false;
    this.buffer += text;
    const messages: SseMessage[] = [];
    let start = 0;
    for (;;) {
      const lf = this.buffer.indexOf("\n", start);
      const cr = this.buffer.indexOf("\r", start);
      let end: number;
      let next: number;
      if (cr !== -1 && (lf === -1 || cr < lf)) {
        end = cr;
        if (cr + 1 === this.buffer.length) {
          // `\r` at the end of the chunk: the line ends here; a `\n` may follow in the next one.
          this.pendingCr = true;
          next = cr + 1;
        } else {
          next = this.buffer[cr + 1] === "\n" ? cr + 2 : cr + 1;
        }
      } else if (lf !== -1) {
        end = lf;
        next = lf + 1;
      } else {
        break;
      }
      const message = this.line(this.buffer.slice(start, end));
      if (message !== undefined) messages.push(message);
      start = next;
    }
    this.buffer = this.buffer.slice(start);
    if (this.buffer.length + this.pendingChars() > this.maxChars) {
      throw new Error(`an SSE message is longer than ${this.maxChars} characters`);
    }
    return messages;
  }

  /** Characters held for the message being assembled. */
  private pendingChars(): number {
    return this.data.reduce((sum, line) => sum + line.length + 1, 0);
  }

  /** Processes one line; returns a message when the line is blank and ends one. */
  private line(line: string): SseMessage | undefined {
    if (line === "") return this.dispatch();
    if (line.startsWith(":")) return undefined; // a comment (keep-alive)
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    switch (field) {
      case "data":
        this.data.push(value);
        this.hasFields = true;
        break;
      case "event":
        this.event = value;
        this.hasFields = true;
        break;
      case "id":
        if (!value.includes("\0")) {
          this.id = value;
          this.hasFields = true;
        }
        break;
      case "retry":
        if (/^[0-9]+$/.test(value)) {
          this.retry = Number(value);
          this.hasFields = true;
        }
        break;
      default:
        break; // unknown fields are ignored
    }
    return undefined;
  }

  /** Ends the message being assembled. */
  private dispatch(): SseMessage | undefined {
    const message: SseMessage = { event: this.event === "" ? "message" : this.event, data: this.data.join("\n") };
    if (this.id !== undefined) message.id = this.id;
    if (this.retry !== undefined) message.retry = this.retry;
    const dispatch = this.hasFields;
    this.data = [];
    this.event = "";
    this.id = undefined;
    this.retry = undefined;
    this.hasFields = false;
    return dispatch ? message : undefined;
  }
}
