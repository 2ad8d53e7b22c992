/**
 * Runs whole secure-aggregation rounds in memory for the protocol tests: n clinics with fresh
 * static keys and one allowlist, every message passed through its byte encoding, and clinics
 * that drop at a chosen step (they simply stop answering).
 * @module
 */
import { generateKeyPair, type KeyPair } from "../../../crypto/noise/dh.ts";
import { SecAggClient } from "../../../crypto/secagg/secagg_client.ts";
import { type SecAggResult, SecAggServer } from "../../../crypto/secagg/secagg_server.ts";
import {
  decodeSecAggMessage,
  encodeSecAggMessage,
  type SecAggMessage,
} from "../../../crypto/secagg/secagg_messages.ts";
import type { FixedPointParams } from "../../../crypto/secagg/fixed_point.ts";

/** The step before which a clinic stops answering. */
export type DropAt = "advertise" | "shares" | "masked" | "reveal";

export interface RoundSetup {
  names: string[];
  keys: Map<string, KeyPair>;
}

/** n clinics named clinic-01… with fresh static keys. */
export function setup(n: number): RoundSetup {
  const names = Array.from({ length: n }, (_, i) => `clinic-${String(i + 1).padStart(2, "0")}`);
  return { names, keys: new Map(names.map((name) => [name, generateKeyPair()])) };
}

export interface RoundOptions {
  study?: string;
  round?: number;
  weights: Float32Array[];
  samples: number[];
  threshold?: number;
  params?: FixedPointParams;
  drop?: Partial<Record<string, DropAt>>;
  /** Sees every masked input as the server received it. */
  onMasked?: (from: string, words: Uint32Array) => void;
}

const wire = <T extends SecAggMessage>(m: T): T => decodeSecAggMessage(encodeSecAggMessage(m)) as T;

export function runRound(s: RoundSetup, o: RoundOptions): SecAggResult {
  const study = o.study ?? "study-1", round = o.round ?? 1;
  const peerKey = (n: string) => s.keys.get(n)?.publicKey;
  const server = new SecAggServer({
    study,
    round,
    clinics: s.names.map((name) => ({ name, publicKey: peerKey(name)! })),
    vectorLength: o.weights[0].length,
    threshold: o.threshold,
    params: o.params,
  });
  const clients = new Map(
    s.names.map((
      name,
    ) => [
      name,
      new SecAggClient({
        name,
        keyPair: s.keys.get(name)!,
        peerKey,
        study,
        round,
        params: o.params,
      }),
    ]),
  );
  const alive = (name: string, step: DropAt) => {
    const at = o.drop?.[name];
    const order: DropAt[] = ["advertise", "shares", "masked", "reveal"];
    return at === undefined || order.indexOf(step) < order.indexOf(at);
  };
  for (const [name, c] of clients) {
    if (alive(name, "advertise")) server.receive(wire(c.advertise()));
  }
  const roster = wire(server.closeAdvertise());
  for (const e of roster.clinics) {
    if (alive(e.name, "shares")) server.receive(wire(clients.get(e.name)!.shareKeys(roster)));
  }
  const relays = server.closeShares();
  for (const [name, relay] of relays) {
    if (!alive(name, "masked")) continue;
    const i = s.names.indexOf(name);
    const m = wire(clients.get(name)!.maskedInput(wire(relay), o.weights[i], o.samples[i]));
    o.onMasked?.(name, m.masked);
    server.receive(m);
  }
  const request = wire(server.closeMasked());
  for (const name of request.survivors) {
    if (alive(name, "reveal")) server.receive(wire(clients.get(name)!.unmask(request)));
  }
  return server.finish();
}

/** The plain sample-weighted average the secure sum must match. */
export function plainAverage(
  weights: Float32Array[],
  samples: number[],
  include: (i: number) => boolean,
): Float64Array {
  const out = new Float64Array(weights[0].length);
  let total = 0;
  weights.forEach((w, u) => {
    if (!include(u)) return;
    total += samples[u];
    for (let i = 0; i < w.length; i++) out[i] += samples[u] * w[i];
  });
  return out.map((x) => x / total);
}
