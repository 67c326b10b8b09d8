/**
 * A live Eventfold server for the tests: `$EVENTFOLD_BIN serve` (default `eventfold` on PATH)
 * on a free port of 127.0.0.1 and a temporary data directory, removed at the end.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** The binary the tests run. */
export const EVENTFOLD_BIN = process.env["EVENTFOLD_BIN"] ?? "eventfold";

/** How long a start may take before the tests give up. */
const START_TIMEOUT_MS = 30_000;
/** How long a stop may take before the process is killed. */
const STOP_TIMEOUT_MS = 15_000;
/** How much of the server's standard error is kept for failure messages. */
const LOG_CHARS_MAX = 20_000;

/** A port nothing listens on now. */
async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.unref();
    probe.on("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const address = probe.address();
      probe.close(() => {
        if (address !== null && typeof address === "object") resolve(address.port);
        else reject(new Error("no port"));
      });
    });
  });
}

/** The environment without EVENTFOLD_* settings (a developer's would change the server). */
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith("EVENTFOLD_")) env[key] = value;
  }
  return env;
}

export class TestServer {
  private process: ChildProcess | undefined;
  private log = "";

  private constructor(
    readonly dataDir: string,
    readonly port: number,
    private readonly tempRoot: string,
  ) {}

  /** The server's base URL. */
  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** The end of the server's standard error, for failure messages. */
  get logTail(): string {
    return this.log;
  }

  /** Starts a server on a new data directory and a free port, and waits until it answers. */
  static async start(): Promise<TestServer> {
    const tempRoot = await mkdtemp(join(tmpdir(), "eventfold-ts-"));
    const server = new TestServer(join(tempRoot, "data"), await freePort(), tempRoot);
    try {
      await server.launch();
    } catch (error) {
      await rm(tempRoot, { recursive: true, force: true });
      throw error;
    }
    return server;
  }

  /** Stops the server: `SIGINT` (a clean stop) or `SIGKILL` (a crash). */
  async stop(signal: "SIGINT" | "SIGTERM" | "SIGKILL" = "SIGINT"): Promise<void> {
    const child = this.process;
    this.process = undefined;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
    child.kill(signal);
    const timer = setTimeout(() => child.kill("SIGKILL"), STOP_TIMEOUT_MS);
    await exited;
    clearTimeout(timer);
  }

  /** Stops the server and starts it again on the same data directory and port. */
  async restart(signal: "SIGINT" | "SIGTERM" | "SIGKILL" = "SIGINT"): Promise<void> {
    await this.stop(signal);
    await this.launch();
  }

  /** Stops the server and removes its data. */
  async close(): Promise<void> {
    await this.stop("SIGINT");
    await rm(this.tempRoot, { recursive: true, force: true });
  }

  private async launch(): Promise<void> {
    const args = ["serve", "--data", this.dataDir, "--listen", `127.0.0.1:${this.port}`];
    const child = spawn(EVENTFOLD_BIN, args, { env: cleanEnv(), stdio: ["ignore", "ignore", "pipe"] });
    this.process = child;
    child.stderr?.setEncoding("utf8");
    child.stderr?.on("data", (chunk: string) => {
      this.log = (this.log + chunk).slice(-LOG_CHARS_MAX);
    });
    const failed = new Promise<never>((_, reject) => {
      child.once("error", (error) => reject(new Error(`cannot run ${EVENTFOLD_BIN} (set EVENTFOLD_BIN): ${error.message}`)));
      child.once("exit", (code, signal) =>
        reject(new Error(`${EVENTFOLD_BIN} serve exited (${code ?? signal}) before answering:\n${this.log}`)),
      );
    });
    failed.catch(() => undefined); // observed below; no unhandled rejection once started
    await Promise.race([this.waitUntilHealthy(), failed]);
  }

  /** Polls `/health` until it answers 200. */
  private async waitUntilHealthy(): Promise<void> {
    const deadline = Date.now() + START_TIMEOUT_MS;
    for (;;) {
      try {
        const response = await fetch(`${this.url}/health`, { signal: AbortSignal.timeout(1_000) });
        await response.arrayBuffer();
        if (response.ok) return;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`the server did not answer within ${START_TIMEOUT_MS} ms:\n${this.log}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
}
