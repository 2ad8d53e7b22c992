/**
 * Shared fixtures of the trainer-replica tests: real clinics (`LocalRawSide` and `runClinic`)
 * that talk to trainers through a bus-shaped route (`clinic, encoded request → BusReply`)
 * instead of a Noise channel: the fronts' part (sealing) is not what these tests are about.
 * A 5xx refusal (`NOT_OWNER`, a timed-out bus) is retried as a courier retries it.
 */
import { runClinic } from "../../../runtime/client/clinic.ts";
import type { ClinicConnection } from "../../../runtime/client/clinic.ts";
import { type ReplyFor, ServerRequestError } from "../../../runtime/client/server_connection.ts";
import { LocalRawSide } from "../../../runtime/client/raw_side/mod.ts";
import { runId } from "../../../crypto/seal/sealed_envelope.ts";
import { decodeMessage, encodeMessage, type RequestMessage } from "../../../runtime/protocol/mod.ts";
import { buildSplitModel } from "../../../runtime/server/split_model.ts";
import type { ServerConfig } from "../../../runtime/server/mod.ts";
import type { BusReply } from "../../../runtime/cluster/bus_wire.ts";
import { CLINIC_KEYS, SERVER_KEYS, testEngine, tinyConfig } from "../server/harness.ts";
import { tinySplits } from "../client/fixture.ts";
import type { Tensor } from "../../../models/tensor.ts";

/** Where a clinic's encoded request goes: a trainer's `handle`, or a `RequestSender`. */
export type Route = (clinic: string, payload: Uint8Array) => Promise<BusReply>;

/** A {@linkcode ClinicConnection} over a bus route (no channel), retrying 5xx refusals. */
export class BusConnection implements ClinicConnection {
  readonly clinic: string;
  readonly #route: Route;
  bytesUp = 0;
  bytesDown = 0;
  reconnects = 0;
  /** 5xx refusals retried, by code. */
  readonly retried = new Map<string, number>();
  #chain: Promise<unknown> = Promise.resolve();

  constructor(clinic: string, route: Route) {
    this.clinic = clinic;
    this.#route = route;
  }

  request<M extends RequestMessage>(msg: M): Promise<ReplyFor<M>> {
    const r = this.#chain.then(() => this.#request(msg));
    this.#chain = r.catch(() => {});
    return r;
  }

  async #request<M extends RequestMessage>(msg: M): Promise<ReplyFor<M>> {
    const payload = encodeMessage(msg, { reuseRecords: true });
    const deadline = Date.now() + 60_000;
    for (;;) {
      this.bytesUp += payload.length;
      const r = await this.#route(this.clinic, payload);
      if (r.status === 200 && "payload" in r) {
        this.bytesDown += r.payload.length;
        return decodeMessage(r.payload, { keepRecords: true, int8Views: true }) as ReplyFor<M>;
      }
      const e = (r as { error: { code: string; message: string } }).error;
      if (r.status < 500) throw new ServerRequestError(r.status, e.code, e.message);
      this.retried.set(e.code, (this.retried.get(e.code) ?? 0) + 1);
      if (Date.now() > deadline) throw new ServerRequestError(0, "GAVE_UP", `${msg.type}: still ${e.code} after 60 s: ${e.message}`);
      await new Promise((res) => setTimeout(res, 10));
    }
  }
}

/** The tiny splitfed study of the replica tests. */
export function replicaConfig(extra: Partial<ServerConfig> = {}): ServerConfig {
  return tinyConfig("vanilla", { schedule: "splitfed", epochs: 2, turnTimeoutMs: 60_000, ...extra });
}

/** What one clinic ended with. */
export interface ClinicOutcome {
  name: string;
  front: Map<string, Float32Array>;
  auc: number;
  rollbacks: number;
  conn: BusConnection;
}

/**
 * Runs clinics `names` of the study's clinics `study` (default: all of them) to the end of the
 * study over `route`; `onApplied(name, stepId)` runs after each step a clinic applied (the
 * place to kill a trainer).
 */
export async function runClinics(
  names: readonly string[],
  route: Route,
  onApplied: (clinic: string, stepId: string) => void = () => {},
  study: readonly string[] = names,
): Promise<ClinicOutcome[]> {
  const cfg = replicaConfig();
  const dir = await Deno.makeTempDir();
  const sides: LocalRawSide[] = [];
  try {
    return await Promise.all(names.map(async (name) => {
      const i = study.indexOf(name);
      const { model, cuts } = buildSplitModel(cfg.model, "vanilla", "bce");
      await Deno.mkdir(`${dir}/${name}`);
      const side = await LocalRawSide.create({
        clinic: name,
        data: tinySplits(3 + 10 * i),
        model,
        cuts,
        mode: "vanilla",
        loss: "bce",
        optimizer: cfg.optimizer,
        seed: 7,
        batchSize: 4 + 2 * i,
        engine: await testEngine(),
        checkpointDir: `${dir}/${name}`,
        keyPair: CLINIC_KEYS[name],
      });
      sides.push(side);
      const conn = new BusConnection(name, route);
      const peers = new Map(study.filter((n) => n !== name).map((n) => [n, CLINIC_KEYS[n].publicKey]));
      const r = await runClinic({ side, conn, peers, run: runId(SERVER_KEYS.publicKey), pollMs: 2, leave: true, onApplied: (id) => onApplied(name, id) });
      const front = new Map([...side.weights()].map(([k, v]) => [k, (v.data as Float32Array).slice()]));
      return { name, front, auc: r.eval.test!.auc, rollbacks: r.rollbacks, conn };
    }));
  } finally {
    for (const s of sides) await s.close();
    await Deno.remove(dir, { recursive: true });
  }
}

/** The largest absolute difference between two states' float tensors of one name. */
export function maxStateDiff(a: ReadonlyMap<string, Tensor>, b: ReadonlyMap<string, Tensor>): number {
  let worst = 0;
  for (const [k, t] of a) {
    const u = b.get(k);
    if (!u) return Infinity;
    const x = t.data as Float32Array, y = u.data as Float32Array;
    for (let i = 0; i < x.length; i++) worst = Math.max(worst, Math.abs(Number(x[i]) - Number(y[i])));
  }
  return worst;
}

/** A clinic's front as a state (for {@linkcode maxStateDiff}). */
export function frontState(o: ClinicOutcome): Map<string, Tensor> {
  return new Map([...o.front].map(([k, v]) => [k, { dtype: "float32", dims: [v.length], data: v } as Tensor]));
}

/** (clinic, step id) pairs that occur more than once. */
export function repeats(steps: readonly { clinic: string; stepId: string }[]): string[] {
  const seen = new Set<string>(), twice: string[] = [];
  for (const s of steps) {
    const k = `${s.clinic} ${s.stepId}`;
    if (seen.has(k)) twice.push(k);
    seen.add(k);
  }
  return twice;
}
