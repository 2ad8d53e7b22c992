/**
 * `deno task server --role front|trainer --nats <url>` (docs/design/scale_out.md): runs this
 * process as one scale-out piece instead of the single server. A front serves the handshake
 * and session routes on the listen address and forwards opened requests to the study's
 * JetStream stream (`runtime/cluster/front_main.ts`); a trainer owns one replica of the
 * server segment and answers the requests of the shards assigned to it
 * (`runtime/cluster/trainer_main.ts`). Both run until SIGINT or SIGTERM.
 *
 * @example
 * ```sh
 * deno task server --config deploy/server.json --role front --nats nats://10.0.0.9:4222 --listen 0.0.0.0:8443
 * ```
 * @module
 */
import type { ServerConfig, ServerDeps } from "../server/server_config.ts";
import { runFront } from "../cluster/front_main.ts";
import { runTrainer } from "../cluster/trainer_main.ts";
import { serveHealth } from "../cluster/health_endpoint.ts";
import type { ServerArgs } from "./server_args.ts";
import { listenAt } from "./listen_at.ts";

/**
 * Runs this process in `file.role` (front or trainer) until a stop signal.
 *
 * @throws {ClusterError} `NATS_UNREACHABLE` when no NATS answers at `--nats`
 * @example
 * ```ts
 * import { serveClusterRole } from "./server_cluster.ts";
 * // if (file.role !== "single") await serveClusterRole(file, config, { keyPair, allowlist });
 * ```
 */
export async function serveClusterRole(file: ServerArgs, config: ServerConfig, deps: ServerDeps): Promise<void> {
  if (file.role === "front") return await serveFront(file, config, deps);
  return await serveTrainer(file, config, deps);
}

/** Calls `stop` once on SIGINT or SIGTERM (what systemd and container runtimes send). */
function onStopSignal(stop: () => void): void {
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    try {
      Deno.addSignalListener(signal, stop);
    } catch { /* signals unavailable: stop with the process */ }
  }
}

/**
 * Serves a front on `file`'s listen address until a stop signal.
 *
 * @throws {ClusterError} `NATS_UNREACHABLE` when no NATS answers at `--nats`
 * @example
 * ```ts
 * import { serveFront } from "./server_cluster.ts";
 * // await serveFront(file, config, { keyPair, allowlist });
 * ```
 */
export async function serveFront(file: ServerArgs, config: ServerConfig, deps: ServerDeps): Promise<void> {
  const log = (line: string) => console.log(line);
  const front = await runFront(config, deps, {
    natsUrl: file.nats!.url,
    log,
    name: `front ${file.hostname}:${file.port}`,
    busTimeoutMs: file.busTimeoutMs,
  });
  const http = await listenAt(
    file,
    () => Deno.serve({
      hostname: file.hostname,
      port: file.port,
      onListen: (a) =>
        log(`splitgate front listening on ${a.hostname}:${a.port} (study ${front.study}, NATS ${file.nats!.url}); ` +
          `clinics: ${deps.allowlist.entries.map((e) => e.name).join(", ")}`),
    }, front.app.fetch),
    () => front.stop(),
  );
  let stopping: Promise<void> | undefined;
  onStopSignal(() => {
    stopping ??= (async () => {
      await http.shutdown();
      await front.stop();
    })();
  });
  await http.finished;
  await stopping;
}

/**
 * Runs a trainer until its study is finished and every clinic it serves has left (as the
 * single server exits; with `--serve-finished` it keeps answering instead), or until a stop
 * signal. Its listen address serves only `GET /health` (`serveHealth`: 200 while it is in
 * the study's membership), for a supervisor's probes.
 *
 * @throws {ClusterError} `NATS_UNREACHABLE`, `BAD_SCHEDULE` (replicas need schedule splitfed)
 * @example
 * ```ts
 * import { serveTrainer } from "./server_cluster.ts";
 * // await serveTrainer(file, config, { keyPair, allowlist });
 * ```
 */
export async function serveTrainer(file: ServerArgs, config: ServerConfig, deps: ServerDeps): Promise<void> {
  const log = (line: string) => console.log(line);
  const id = file.trainerId!;
  const t = await runTrainer(config, deps, { natsUrl: file.nats!.url, id, log, appliedLog: file.appliedLog });
  let stopped = false;
  const health = await listenAt(
    file,
    () => serveHealth({ hostname: file.hostname, port: file.port }, () => !stopped && t.trainer.members.includes(id)),
    () => t.stop(),
  );
  log(
    `splitgate trainer ${id} running (NATS ${file.nats!.url}, ${file.mode} mode, ${file.engine} engine); ` +
      `health on ${health.addr.hostname}:${health.addr.port}`,
  );
  if (t.finishedAtStart && !file.serveFinished) {
    // As a restarted single server: a finished study is said and the process ends (exit 0).
    log(`trainer ${id}: study ${t.trainer.names.study} is finished (resumed from the object store); exiting (--serve-finished keeps answering)`);
    await health.stop();
    await t.stop();
    return;
  }
  const stop = new Promise<void>((resolve) => onStopSignal(() => resolve()));
  void t.finished.then(() => {
    if (!stopped) log(`trainer ${id}: training finished; answering evaluations until its clinics leave`);
  });
  const ended = file.serveFinished ? new Promise<void>(() => {}) : t.left.then(() => {
    if (!stopped) log(`trainer ${id}: study finished and its clinics have left (or gone quiet); exiting`);
  });
  await Promise.race([stop, ended]);
  stopped = true;
  await health.stop();
  await t.stop();
}
