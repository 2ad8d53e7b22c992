/**
 * `deno task server --role trainer` (docs/design/scale_out.md): connects to NATS and runs a
 * {@linkcode Trainer} until stopped. The CLI (`runtime/cli/server.ts`) reads the config file
 * and the keys as for a single server and calls {@linkcode runTrainer}; the trainer needs no
 * listening socket (clinics reach it through the fronts and JetStream).
 *
 * @example
 * ```ts
 * import { runTrainer } from "./trainer_main.ts";
 * // const t = await runTrainer(config, { keyPair, allowlist }, { natsUrl: "nats://127.0.0.1:4222", id: "trainer-0", log: console.log });
 * // Deno.addSignalListener("SIGTERM", () => t.stop());
 * ```
 * @module
 */
import type { ServerConfig, ServerDeps } from "../server/server_config.ts";
import { connectNats } from "./nats_link.ts";
import { Trainer } from "./trainer.ts";

/**
 * A running trainer process's handle.
 *
 * @example
 * ```ts
 * import type { TrainerHandle } from "./trainer_main.ts";
 * async function end(t: TrainerHandle) { await t.stop(); }
 * ```
 */
export interface TrainerHandle {
  trainer: Trainer;
  /** Resolves when the study is finished on this trainer (every round done), or it was stopped. */
  finished: Promise<void>;
  /**
   * Resolves when the study is finished and every clinic this trainer serves has left
   * (`LEAVE`), or none of the study's clinics was heard from for `turnTimeoutMs` since the end
   * (as the single server stops: a clinic taken over from a trainer that exited had already
   * left through that one), or it was stopped: the moment a trainer process may exit.
   */
  left: Promise<void>;
  /** Whether the study was already finished when this trainer started (resumed from the store). */
  finishedAtStart: boolean;
  /** Stops the trainer (answering what it pulled), leaves the membership, closes the NATS connection. */
  stop(): Promise<void>;
}

/**
 * Connects to `o.natsUrl` and starts trainer `o.id` of the config's study.
 *
 * @throws {ClusterError} `NATS_UNREACHABLE`, `JETSTREAM_UNAVAILABLE` (from `connectNats`),
 *   `BAD_SCHEDULE` (a schedule replicas cannot run), `BAD_STUDY_NAME`.
 * @example
 * ```ts
 * import { runTrainer } from "./trainer_main.ts";
 * console.log(typeof runTrainer); // "function"
 * ```
 */
export async function runTrainer(
  config: ServerConfig,
  deps: ServerDeps,
  o: {
    natsUrl: string;
    id: string;
    log: (line: string) => void;
    /** NATS auth token, if the server needs one. */
    token?: string;
    /** Study id (default the config's study id, else "splitgate"); fronts must use the same. */
    study?: string;
    /** Shards of the study (default 16); fronts must use the same. */
    shards?: number;
    /** A file to append each applied step to (JSON lines `{"clinic","stepId","round","t"}`). */
    appliedLog?: string;
  },
): Promise<TrainerHandle> {
  const link = await connectNats(o.natsUrl, { name: `splitgate-trainer-${o.id}`, ...(o.token ? { token: o.token } : {}) });
  let trainer: Trainer;
  try {
    trainer = await Trainer.start(config, { ...deps, log: o.log }, { link, id: o.id, study: o.study, shards: o.shards, appliedLog: o.appliedLog });
  } catch (e) {
    await link.close();
    throw e;
  }
  let stopping: Promise<void> | null = null;
  const when = (cond: () => boolean) =>
    new Promise<void>((resolve) => {
      const look = () => (cond() || stopping ? resolve() : setTimeout(look, 250));
      look();
    });
  const { replica } = trainer;
  const finished = when(() => replica.round.finished);
  const idleMs = config.turnTimeoutMs ?? 60_000;
  const left = when(() =>
    replica.round.finished && (
      replica.local.every((c) => !replica.core.end.waitingFor.includes(c)) ||
      replica.core.end.stopReason(replica.core.ctx.now(), idleMs) !== null
    )
  );
  return {
    trainer,
    finished,
    left,
    finishedAtStart: replica.round.finished,
    stop: () =>
      stopping ??= (async () => {
        await trainer.stop();
        await link.close();
      })(),
  };
}
