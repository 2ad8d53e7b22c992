/**
 * `deno task bench:hijack-gateway [--seeds 1] [--epochs 8] [--attack-epochs 3] [--every 20] [--flips 8] [--window 3]`
 *
 * The hijack guard through the clinic gateway's own code (`runClinic` driving a `LocalRawSide`,
 * decoys as ordinary `STEP`s over the Noise channel and codec to the production server app, in
 * this process; `runtime/client/decoy_steps.ts`, `runtime/client/raw_side/hijack_watch.ts`) on
 * PneumoniaMNIST with the zoo CNN at the default cut, batch 64 (74 steps an epoch), per seed:
 *
 * 1. against the server with its `ServerModel.step` replaced by the FSHA attacker
 *    (`tests/e2e/fsha_server.ts`; auxiliary data: the validation images): the regular step (and
 *    the server-side step, decoys included) at which `HIJACK_SUSPECTED` stopped the clinic;
 * 2. against the honest server, `--epochs` epochs with the guard on: no alarm expected; the
 *    decoys' lowest score, lowest window mean (the alarm's statistic, alarm below the
 *    threshold 0) and mean, and the test AUC;
 * 3. the same without the guard: the guard's utility cost.
 *
 * The engine is native for speed (a real gateway's raw side runs wasm; the decoy arithmetic is
 * the same). The last line is `hijack guard (gateway): PASS` or `... FAIL (<why>)`.
 *
 * @example
 * ```sh
 * deno task bench:hijack-gateway --seeds 1
 * ```
 * @module
 */
import { hijackFlags } from "./hijack_flags.ts";
import { loadDataset } from "../runtime/data/load_dataset.ts";
import { createEngine, type Engine } from "../runtime/engine/mod.ts";
import { createServerApp } from "../runtime/server/mod.ts";
import { buildSplitModel, type ModelSpec } from "../runtime/server/split_model.ts";
import { LocalRawSide } from "../runtime/client/raw_side/mod.ts";
import { ServerConnection } from "../runtime/client/server_connection.ts";
import { type ClinicResult, runClinic } from "../runtime/client/clinic.ts";
import { RawSideError } from "../runtime/client/raw_side/error.ts";
import { runId } from "../crypto/seal/sealed_envelope.ts";
import type { DefenceConfig } from "../runtime/privacy/defence_config.ts";
import { allowlist, CLINIC_KEYS, SERVER_KEYS } from "../tests/runtime/server/harness.ts";
import { hijackServer } from "../tests/e2e/fsha_server.ts";

const DATA = new URL("../data/pneumoniamnist.npz", import.meta.url).pathname;
const { seeds, epochs, attackEpochs, guard } = hijackFlags(Deno.args, "1");
const data = await loadDataset(DATA);
const engine = await createEngine("native");

interface GatewayRun {
  result?: ClinicResult;
  alarm?: string;
  regularSteps: number;
  serverSteps: number;
  scores: number[];
}

/** One clinic gateway trained against the in-process server app (FSHA or honest). */
async function gatewayRun(
  engine: Engine,
  seed: number,
  fsha: boolean,
  defence: DefenceConfig,
  n: number,
): Promise<GatewayRun> {
  const spec: ModelSpec = { zoo: "cnn", data: { image: data.image! }, seed };
  const optimizer = { kind: "adam" as const, lr: 1e-3 };
  const server = await createServerApp(
    {
      mode: "vanilla",
      model: spec,
      loss: "bce",
      optimizer,
      limits: { maxBatch: 64 },
      turnTimeoutMs: 3_600_000,
      epochs: n,
    },
    { keyPair: SERVER_KEYS, allowlist: allowlist(["a"]), engine, log: () => {} },
  );
  if (fsha) hijackServer(server, seed + 0xf5, data.val.inputs.image);
  const { model, cuts } = buildSplitModel(spec, "vanilla", "bce");
  const checkpointDir = await Deno.makeTempDir({ prefix: "bench_hijack_gateway_" });
  const side = await LocalRawSide.create({
    clinic: "a",
    data: { train: data.train, val: data.val, test: data.test },
    model,
    cuts,
    mode: "vanilla",
    loss: "bce",
    optimizer,
    seed,
    batchSize: 64,
    evalBatchSize: 64,
    engine,
    defence,
    checkpointDir,
  });
  let regularSteps = 0;
  try {
    const conn = await ServerConnection.connect({
      url: "http://server:1",
      serverPublicKey: SERVER_KEYS.publicKey,
      clinicKeyPair: CLINIC_KEYS.a,
      fetch: ((url: string, init?: RequestInit) => server.app.request(url, init)) as typeof fetch,
    });
    const out: GatewayRun = { regularSteps: 0, serverSteps: 0, scores: [] };
    try {
      out.result = await runClinic({
        side,
        conn,
        peers: new Map(),
        run: runId(SERVER_KEYS.publicKey),
        pollMs: 1,
        onApplied: () => regularSteps++,
      });
    } catch (e) {
      if (!(e instanceof RawSideError && e.code === "HIJACK_SUSPECTED")) throw e;
      out.alarm = e.message;
    }
    conn.close();
    out.regularSteps = regularSteps;
    out.serverSteps = server.status().clinics[0].steps;
    out.scores = side.guardScores().map((s) => s.score);
    return out;
  } finally {
    await side.close();
    await server.close();
    await Deno.remove(checkpointDir, { recursive: true });
  }
}

const fails: string[] = [];
const lines: string[] = [];
const t0 = performance.now();
console.log(
  `bench:hijack-gateway — ${data.description}; guard every ${guard.every}, ${guard.flips} flipped labels, window ${guard.window}, threshold 0; seeds ${
    seeds.join(", ")
  }`,
);
try {
  for (const seed of seeds) {
    const a = await gatewayRun(engine, seed, true, { hijackGuard: guard }, attackEpochs);
    if (!a.alarm || a.regularSteps > 200) {
      fails.push(
        `seed ${seed}: FSHA ${a.alarm ? `flagged after ${a.regularSteps} steps` : "not flagged"}`,
      );
    }
    const h = await gatewayRun(engine, seed, false, { hijackGuard: guard }, epochs);
    if (h.alarm) fails.push(`seed ${seed}: honest run stopped: ${h.alarm}`);
    const s = h.scores, w = guard.window;
    const windows = s.slice(w - 1).map((_, i) => s.slice(i, i + w).reduce((p, q) => p + q, 0) / w);
    const plain = await gatewayRun(engine, seed, false, {}, epochs);
    const auc = (r: GatewayRun) => r.result?.eval.test?.auc ?? NaN;
    const line =
      `| ${seed} | ${a.alarm ? `${a.regularSteps} (${a.serverSteps})` : "none"} | ${
        a.scores.map((x) => x.toFixed(2)).join(", ")
      } | ` +
      `${h.alarm ? "ALARM" : "none"} | ${h.result?.decoys ?? 0} | ${Math.min(...s).toFixed(3)} | ${
        Math.min(...windows).toFixed(3)
      } | ` +
      `${(s.reduce((p, q) => p + q, 0) / s.length).toFixed(3)} | ${auc(h).toFixed(4)} | ${
        auc(plain).toFixed(4)
      } | ${(auc(h) - auc(plain)).toFixed(4)} |`;
    lines.push(line);
    console.log(line);
  }
} finally {
  await engine.dispose();
}
console.log(
  `\nPneumoniaMNIST, zoo CNN, default cut, batch 64, Adam 1e-3, one clinic through runClinic + LocalRawSide + the server app; FSHA run ${attackEpochs} epochs at most, honest runs ${epochs} epochs; ${
    ((performance.now() - t0) / 1000).toFixed(0)
  } s in all\n`,
);
console.log(
  "| seed | FSHA flagged after regular steps (server steps) | FSHA decoy scores | honest alarm | honest decoys | lowest score | lowest window mean | mean score | test AUC with guard | without | cost |",
);
console.log("| ---: | ---: | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
for (const l of lines) console.log(l);
console.log(
  fails.length
    ? `hijack guard (gateway): FAIL (${fails.join("; ")})`
    : "hijack guard (gateway): PASS",
);
