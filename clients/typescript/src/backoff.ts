/** Delays between attempts, and waiting for them. */

/** How a call retries: how often, and how long it waits in between. */
export interface RetryPolicy {
  /** Attempts after the first. */
  retries: number;
  /** The wait before the first retry, in milliseconds; doubled for each later one. */
  initialDelayMs: number;
  /** The longest wait, in milliseconds (a longer `Retry-After` is still honoured). */
  maxDelayMs: number;
}

/** The default: 3 retries after 100, 200 and 400 ms (with jitter), at most 5 s apart. */
export const DEFAULT_RETRY: RetryPolicy = { retries: 3, initialDelayMs: 100, maxDelayMs: 5_000 };

/**
 * The wait before retry number `attempt` (1-based): exponential with "equal jitter" (half fixed,
 * half random) so that clients failing together do not retry together; at least what the
 * server asked for with `Retry-After`.
 */
export function retryDelay(policy: RetryPolicy, attempt: number, retryAfterMs?: number): number {
  const exponential = Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** Math.max(0, attempt - 1));
  const jittered = exponential / 2 + Math.random() * (exponential / 2);
  return Math.max(jittered, retryAfterMs ?? 0);
}

/**
 * A `Retry-After` header in milliseconds: delay-seconds or an HTTP date; `undefined` when
 * absent or unreadable.
 */
export function parseRetryAfter(value: string | null, now: number = Date.now()): number | undefined {
  if (value === null) return undefined;
  const text = value.trim();
  if (/^[0-9]+$/.test(text)) return Number(text) * 1000;
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** Waits `ms` milliseconds; rejects with the signal's reason if it aborts first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
