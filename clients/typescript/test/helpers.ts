/** Small helpers shared by the tests. */
import { randomUUID } from "node:crypto";

/** A name no other test uses: `prefix` and a random suffix without `-` (so it is one category). */
export function unique(prefix: string): string {
  return `${prefix}${randomUUID().replaceAll("-", "").slice(0, 12)}`;
}

/** Polls `check` until it returns true, failing after `timeoutMs` with `what`. */
export async function eventually(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** `n` events numbered from `from`. */
export function numbered(from: number, n: number, type = "Numbered"): { type: string; data: { n: number } }[] {
  return Array.from({ length: n }, (_, i) => ({ type, data: { n: from + i } }));
}

/** The numbers 0 … n-1 after `from`. */
export function range(from: number, n: number): number[] {
  return Array.from({ length: n }, (_, i) => from + i);
}

/** The `n` of a numbered event's data. */
export function numberOf(data: unknown): number {
  if (typeof data === "object" && data !== null && "n" in data && typeof data.n === "number") return data.n;
  throw new Error(`not a numbered event: ${JSON.stringify(data)}`);
}
