/**
 * The server's `labelProtection` (vanilla mode): every STEP_RESULT cut gradient leaves with
 * equal per-sample norms, directions kept; refused in U-shape; parsed from the config file.
 */
import assert from "node:assert/strict";
import type { Tensor } from "../../../models/tensor.ts";
import { parseServerConfigFile } from "../../../runtime/server/config_file.ts";
import { rowNorms as rowNormsOf } from "../../../runtime/privacy/metrics.ts";
import { binaryLabels, CUT_DIMS, randomTensor, RawClinic, startServer } from "./harness.ts";

/** Per-sample L2 norms, by the audit's own metric (runtime/privacy/metrics.ts). */
const rowNorms = (t: Tensor) => rowNormsOf({ data: t.data as Float32Array, rows: t.dims[0] });

async function oneStep(labelProtection?: "none" | "norm-equalise"): Promise<Tensor> {
  const server = await startServer("vanilla", labelProtection ? { labelProtection } : {});
  try {
    const a = await new RawClinic(server, "a").connect();
    await a.send({ type: "TURN_REQUEST" });
    const r = await a.send({
      type: "STEP",
      stepId: "0:0",
      epoch: 0,
      activation: randomTensor([6, ...CUT_DIMS], 21),
      labels: binaryLabels(6),
    });
    assert.equal(r.type, "STEP_RESULT");
    if (r.type !== "STEP_RESULT") throw new Error("unreachable");
    return r.cutGrad;
  } finally {
    await server.close();
  }
}

Deno.test("vanilla norm-equalise: returned per-sample gradient norms are equal, directions kept", async () => {
  const plain = await oneStep();
  const none = await oneStep("none");
  assert.deepEqual(none, plain);
  const prot = await oneStep("norm-equalise");
  const before = rowNorms(plain), after = rowNorms(prot);
  assert.ok(Math.max(...before) - Math.min(...before) > 1e-5, `unprotected norms differ (${before})`);
  const mean = before.reduce((x, y) => x + y, 0) / before.length;
  for (const v of after) assert.ok(Math.abs(v - mean) <= 1e-5 * Math.max(mean, 1e-3), `norm ${v} vs mean ${mean}`);
  const n = before.length, d = prot.data.length / n;
  const a = prot.data as Float32Array, b = plain.data as Float32Array;
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < d; k++) {
      assert.ok(Math.abs(a[i * d + k] - b[i * d + k] * (mean / before[i])) <= 1e-6 * Math.max(1, mean), `row ${i} element ${k}`);
    }
  }
});

Deno.test("labelProtection is refused in U-shape and for unknown values", async () => {
  await assert.rejects(startServer("ushaped", { labelProtection: "norm-equalise" }), RangeError);
  // deno-lint-ignore no-explicit-any
  await assert.rejects(startServer("vanilla", { labelProtection: "max-norm" as any }), RangeError);
});

Deno.test("config file: labelProtection parsed, defaulted and checked", () => {
  const base = {
    serverKey: "s.key", allowlist: "a.json", model: "cnn", data: { image: { channels: 1, size: 28 } },
    mode: "vanilla", loss: "bce", optimizer: { kind: "sgd", lr: 0.1 },
  };
  assert.equal(parseServerConfigFile(JSON.stringify(base), "/x").labelProtection, "none");
  assert.equal(
    parseServerConfigFile(JSON.stringify({ ...base, labelProtection: "norm-equalise" }), "/x").labelProtection,
    "norm-equalise",
  );
  assert.throws(
    () => parseServerConfigFile(JSON.stringify({ ...base, labelProtection: "max" }), "/x"),
    /config\.labelProtection: expected "none" or "norm-equalise", got "max"/,
  );
  assert.throws(
    () => parseServerConfigFile(JSON.stringify({ ...base, mode: "ushaped", labelProtection: "norm-equalise" }), "/x"),
    /config\.labelProtection/,
  );
});
