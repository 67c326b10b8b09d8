#!/usr/bin/env node
// Prints the OpenAPI document a server binary serves at /openapi.json:
//
//   node scripts/served-openapi.mjs EVENTFOLD_BIN > openapi.json
//
// It starts `EVENTFOLD_BIN serve` on a free port of 127.0.0.1 and a temporary data directory,
// fetches the document, and stops the server again.
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

const bin = process.argv[2];
if (bin === undefined) {
  console.error("usage: node scripts/served-openapi.mjs EVENTFOLD_BIN > openapi.json");
  process.exit(2);
}

const port = await new Promise((resolve, reject) => {
  const probe = createServer();
  probe.on("error", reject);
  probe.listen(0, "127.0.0.1", () => {
    const { port } = probe.address();
    probe.close(() => resolve(port));
  });
});
const dir = await mkdtemp(join(tmpdir(), "eventfold-openapi-"));
const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith("EVENTFOLD_")));
const server = spawn(bin, ["serve", "--data", join(dir, "data"), "--listen", `127.0.0.1:${port}`], {
  env,
  stdio: ["ignore", "ignore", "inherit"],
});
const exited = new Promise((resolve) => server.once("exit", resolve));
let failure;
server.once("error", (error) => (failure = error));
try {
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (failure !== undefined) throw failure;
    if (server.exitCode !== null) throw new Error(`${bin} serve exited with ${server.exitCode}`);
    try {
      const response = await fetch(`http://127.0.0.1:${port}/openapi.json`);
      if (response.ok) {
        process.stdout.write(await response.text());
        break;
      }
      throw new Error(`GET /openapi.json: ${response.status}`);
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
} finally {
  if (server.exitCode === null && failure === undefined) {
    server.kill("SIGINT");
    await exited;
  }
  await rm(dir, { recursive: true, force: true });
}
