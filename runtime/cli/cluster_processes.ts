/**
 * Fronts and trainers as child processes on this machine, each started as
 * `deno task server` starts one (`server_launch.ts`: `runtime/cli/server.ts` with exactly
 * the permissions of its config, here the loopback listen address and the NATS server), with
 * `--role front|trainer` (docs/design/scale_out.md). The replica demo
 * (`demo_replicas.ts`), its fault test and `bench:clinics --replicas` use them: a child can
 * be killed like a crashed machine (SIGKILL), which an in-process piece cannot.
 *
 * @example
 * ```ts
 * import { startRole } from "./cluster_processes.ts";
 * // const front = await startRole({ role: "front", name: "front-0", configPath, natsUrl, onLine: console.log });
 * // console.log(front.port); ... front.kill("SIGKILL"); await front.exited;
 * ```
 * @module
 */
import { lines } from "../client/child_streams.ts";
import { parseNatsUrl } from "./server_role.ts";
import { serverCommandArgs } from "./server_launch.ts";

/** How long a front or trainer may take to come up before `startRole` gives up. */
const START_TIMEOUT_MS = 120_000;

/** The lines a front and a trainer print once they are up (`server_cluster.ts`), with the port. */
const UP = {
  front: /splitgate front listening on [^ ]*:(\d+) /,
  trainer: /splitgate trainer .* running .*; health on [^ ]*:(\d+)$/,
};

/**
 * What to start.
 *
 * @example
 * ```ts
 * import type { RoleSpec } from "./cluster_processes.ts";
 * const s: RoleSpec = { role: "trainer", name: "trainer-0", configPath: "/tmp/s.json", natsUrl: "nats://127.0.0.1:4222", onLine: () => {} };
 * ```
 */
export interface RoleSpec {
  role: "front" | "trainer";
  /** The process's name in the log, and a trainer's `--trainer-id`. */
  name: string;
  /** The server config file (the same for every front and trainer of a study). */
  configPath: string;
  natsUrl: string;
  /** Every line the child prints, stdout and stderr. */
  onLine: (line: string) => void;
  /** A trainer's applied-step log (`--applied-log`), absolute. */
  appliedLog?: string;
  /** A front's wait for a trainer's reply (`--bus-timeout-ms`). */
  busTimeoutMs?: number;
}

/**
 * A started front or trainer.
 *
 * @example
 * ```ts
 * import type { RoleProcess } from "./cluster_processes.ts";
 * async function crash(p: RoleProcess) { p.kill("SIGKILL"); await p.exited; }
 * ```
 */
export interface RoleProcess {
  name: string;
  role: "front" | "trainer";
  /** Its port on 127.0.0.1: a front's routes, a trainer's `GET /health`. */
  port: number;
  /** Sends `signal` (nothing if it is gone). */
  kill(signal: Deno.Signal): void;
  /** Its exit status, once its output is read to the end. */
  exited: Promise<Deno.CommandStatus>;
}

/**
 * Starts a front or trainer; it is returned once it is up (a front listens, a trainer has
 * joined the study and serves its health endpoint).
 *
 * @throws {Error} naming the process and its last lines when it exits, or is not up within
 *   120 s
 * @example
 * ```ts
 * import { startRole } from "./cluster_processes.ts";
 * // const t = await startRole({ role: "trainer", name: "trainer-1", configPath, natsUrl, onLine: console.log });
 * ```
 */
export async function startRole(s: RoleSpec): Promise<RoleProcess> {
  const nats = parseNatsUrl("natsUrl", s.natsUrl);
  const args = ["--config", s.configPath, "--role", s.role, "--nats", nats.url, "--listen", "127.0.0.1:0"];
  if (s.role === "trainer") args.push("--trainer-id", s.name);
  if (s.appliedLog !== undefined) args.push("--applied-log", s.appliedLog);
  if (s.busTimeoutMs !== undefined) args.push("--bus-timeout-ms", String(s.busTimeoutMs));
  const child = new Deno.Command(Deno.execPath(), {
    args: serverCommandArgs({ hostname: "127.0.0.1", port: 0, nats, appliedLog: s.appliedLog }, args),
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const last: string[] = [];
  let listening: (port: number) => void = () => {};
  const port = new Promise<number>((resolve) => (listening = resolve));
  const see = (l: string) => {
    last.push(l);
    if (last.length > 20) last.shift();
    const m = UP[s.role].exec(l);
    if (m) listening(Number(m[1]));
    s.onLine(l);
  };
  const exited = Promise.all([lines(child.stdout, see), lines(child.stderr, see)]).then(() => child.status);
  const kill = (signal: Deno.Signal) => {
    try {
      child.kill(signal);
    } catch { /* already gone */ }
  };
  const proc = { name: s.name, role: s.role, kill, exited };
  let timer: ReturnType<typeof setTimeout> | undefined;
  const failed = Promise.race([
    exited.then((st) => `exited with status ${st.code}`),
    new Promise<string>((r) => (timer = setTimeout(() => r(`was not up within ${START_TIMEOUT_MS / 1000} s`), START_TIMEOUT_MS))),
  ]);
  const got = await Promise.race([port, failed]);
  clearTimeout(timer);
  if (typeof got === "string") {
    kill("SIGKILL");
    throw new Error(`${s.name} (${s.role}) ${got}; its last lines:\n${last.join("\n")}`);
  }
  return { ...proc, port: got };
}

/**
 * Stops every process: SIGTERM, then SIGKILL after `graceMs`; resolves once all are gone.
 *
 * @example
 * ```ts
 * import { stopAll } from "./cluster_processes.ts";
 * await stopAll([]);
 * ```
 */
export async function stopAll(ps: readonly RoleProcess[], graceMs = 5_000): Promise<void> {
  for (const p of ps) p.kill("SIGTERM");
  const timer = setTimeout(() => ps.forEach((p) => p.kill("SIGKILL")), graceMs);
  await Promise.all(ps.map((p) => p.exited.catch(() => {})));
  clearTimeout(timer);
}
