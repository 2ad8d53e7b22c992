/**
 * A nats-server with JetStream on loopback for the demo and the tests (single-machine
 * scale-out; docs/design/scale_out.md). It listens on `127.0.0.1` at a port the kernel picks
 * (`port: -1`), keeps its JetStream store in `storeDir`, and is stopped with `stop()`.
 *
 * The server runs under a small `sh` guard that holds the read end of a pipe from this
 * process: when this process ends for any reason (a failing test, a kill), the pipe closes and
 * the guard terminates the server, so it never outlives its caller. `stop()` closes the pipe
 * itself and waits for both to exit.
 *
 * @example
 * ```ts ignore
 * import { startLocalNats } from "./local_nats.ts";
 * const nats = await startLocalNats({ storeDir: await Deno.makeTempDir() });
 * console.log(nats.url); // nats://127.0.0.1:<port>
 * await nats.stop();
 * ```
 * @module
 */
import { join } from "node:path";
import { ClusterError } from "./cluster_error.ts";

/** Names the nats-server binary to use (then only that one is tried). */
export const NATS_SERVER_ENV = "SPLITGATE_NATS_SERVER";

/** An environment variable, or undefined (also without --allow-env for it). */
function env(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined;
  }
}

/** Where Debian's package installs the server, tried after `PATH`. */
const DEBIAN_PATHS = ["/usr/sbin/nats-server", "/usr/bin/nats-server"];

/** Largest message the local server accepts (request payloads above the inline limit use the object store). */
export const LOCAL_MAX_PAYLOAD = 8 * 1024 * 1024;

/** How long a starting server may take before `startLocalNats` gives up. */
const START_TIMEOUT_MS = 15_000;

/**
 * A running local nats-server.
 *
 * @example
 * ```ts
 * import type { LocalNats } from "./local_nats.ts";
 * function url(n: LocalNats) { return n.url; }
 * ```
 */
export interface LocalNats {
  /** `nats://127.0.0.1:<port>`. */
  url: string;
  /** Terminates the server and waits until it has exited (idempotent). */
  stop(): Promise<void>;
}

/**
 * The path of the `nats-server` binary, or null when it is not installed: the file named by
 * `SPLITGATE_NATS_SERVER` when set, else `nats-server` on `PATH`, in `/usr/sbin` or `/usr/bin`.
 *
 * @example
 * ```ts
 * import { findNatsServer } from "./local_nats.ts";
 * const bin = await findNatsServer(); // "/usr/sbin/nats-server" or null
 * ```
 */
export async function findNatsServer(): Promise<string | null> {
  const chosen = env(NATS_SERVER_ENV);
  const dirs = (env("PATH") ?? "").split(":").filter((d) => d !== "");
  const candidates = chosen !== undefined && chosen !== ""
    ? [chosen]
    : [...dirs.map((d) => join(d, "nats-server")), ...DEBIAN_PATHS];
  for (const path of candidates) {
    try {
      if ((await Deno.stat(path)).isFile) return path;
    } catch {
      // not there (or not readable): try the next
    }
  }
  return null;
}

/** The server's config file: loopback, a kernel-chosen port, JetStream in `storeDir`. */
function configText(storeDir: string, token: string | undefined): string {
  return [
    "listen: 127.0.0.1:-1",
    `max_payload: ${LOCAL_MAX_PAYLOAD}`,
    ...(token === undefined ? [] : [`authorization { token: ${JSON.stringify(token)} }`]),
    `jetstream { store_dir: ${JSON.stringify(storeDir)} }`,
    "",
  ].join("\n");
}

/**
 * Starts a nats-server with JetStream on `127.0.0.1` (a free port), its store under
 * `storeDir`; `log` receives each line the server logs; with `token`, clients must present it.
 *
 * @throws {ClusterError} `NATS_MISSING` when nats-server is not installed;
 *   `NATS_START_FAILED` when it exits or stays silent for 15 s (with its last log lines).
 * @example
 * ```ts ignore
 * import { startLocalNats } from "./local_nats.ts";
 * const nats = await startLocalNats({ storeDir: "/tmp/sg-nats", log: console.log });
 * await nats.stop();
 * ```
 */
export async function startLocalNats(
  o: { storeDir: string; log?: (line: string) => void; token?: string },
): Promise<LocalNats> {
  const bin = await findNatsServer();
  if (bin === null) {
    throw new ClusterError(
      "NATS_MISSING",
      `nats-server not found (${NATS_SERVER_ENV}, PATH, /usr/sbin, /usr/bin): install it (apt-get install nats-server)`,
    );
  }
  await Deno.mkdir(o.storeDir, { recursive: true });
  const config = join(o.storeDir, "nats-server.conf");
  // The token sits in the config file (mode 0600), never on the server's command line.
  await Deno.writeTextFile(config, configText(o.storeDir, o.token), { mode: 0o600 });
  // The guard: start the server, wait for this process's pipe to close, then stop it.
  const guard = '"$0" "$@" & p=$!; cat >/dev/null; kill "$p" 2>/dev/null; wait "$p"';
  const child = new Deno.Command("sh", {
    args: ["-c", guard, bin, "-c", config],
    stdin: "piped",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const stdin = child.stdin.getWriter();
  let stopped: Promise<void> | null = null;
  const stop = () => {
    stopped ??= (async () => {
      await stdin.close().catch(() => {});
      await child.status;
    })();
    return stopped;
  };
  try {
    const url = await waitForListening(child.stderr, o.log ?? (() => {}));
    return { url, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}

/**
 * Reads the server's log until "Server is ready", returning the client URL from "Listening
 * for client connections on"; keeps passing later lines to `log` in the background.
 */
async function waitForListening(
  stderr: ReadableStream<Uint8Array>,
  log: (line: string) => void,
): Promise<string> {
  const lines = stderr.pipeThrough(new TextDecoderStream()).pipeThrough(splitLines()).getReader();
  const tail: string[] = [];
  let url: string | null = null;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(startFailed('no "Server is ready" within 15 s', tail)),
      START_TIMEOUT_MS,
    );
  });
  const read = (async () => {
    for (;;) {
      const { value, done } = await lines.read();
      if (done) throw startFailed("it exited", tail);
      log(value);
      tail.push(value);
      if (tail.length > 8) tail.shift();
      const m = /Listening for client connections on (\S+:\d+)/.exec(value);
      if (m) url = `nats://${m[1]}`;
      if (/Server is ready/.test(value) && url !== null) return url;
    }
  })();
  try {
    return await Promise.race([read, timeout]);
  } finally {
    clearTimeout(timer);
    // Keep draining (and logging) so the server never blocks on a full pipe.
    read.then(() => drain(lines, log), () => {});
  }
}

async function drain(lines: ReadableStreamDefaultReader<string>, log: (line: string) => void) {
  try {
    for (;;) {
      const { value, done } = await lines.read();
      if (done) return;
      log(value);
    }
  } catch {
    // the pipe closed with the process
  }
}

function startFailed(why: string, tail: readonly string[]): ClusterError {
  return new ClusterError(
    "NATS_START_FAILED",
    `nats-server did not start: ${why}; last log lines: ${tail.join(" | ") || "(none)"}`,
  );
}

function splitLines(): TransformStream<string, string> {
  let rest = "";
  return new TransformStream({
    transform(chunk, ctl) {
      const parts = (rest + chunk).split("\n");
      rest = parts.pop()!;
      for (const p of parts) ctl.enqueue(p);
    },
    flush(ctl) {
      if (rest !== "") ctl.enqueue(rest);
    },
  });
}
