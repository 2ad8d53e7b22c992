/**
 * a per-clinic warning when a clinic's activation statistics drift far from
 * its running baseline, rate-limited, naming clinic and step but no values of a sample.
 */
import assert from "node:assert/strict";
import { tensor } from "../../../models/tensor.ts";
import { ActivationDrift } from "../../../runtime/server/activation_drift.ts";
import { binaryLabels, CUT_DIMS, randomTensor, RawClinic, startServer } from "./harness.ts";

/** A batch whose RMS is `v`. */
const batch = (v: number) => tensor("float32", [2, 2], Float32Array.of(v, -v, v, -v));

Deno.test("drift: no warning in the warm-up or for batches within the factor; one for a batch 10× off, each way", () => {
  const d = new ActivationDrift({ warmup: 3 });
  assert.equal(d.observe("a", "0:0", batch(100), 0), null, "first batch: the baseline");
  assert.equal(d.observe("a", "0:1", batch(1), 1), null, "in the warm-up, even 100× off");
  for (let i = 2; i < 8; i++) {
    assert.equal(d.observe("a", `0:${i}`, batch(20 + (i % 3)), i), null, `batch ${i}`);
  }
  const base = d.baseline("a")!;
  const up = d.observe("a", "0:8", batch(base * 11), 8);
  assert.match(
    up ?? "",
    /^clinic a: cut activation RMS \S+ at step 0:8 is 11\.0× its running baseline \S+; check that clinic's input normalisation/,
  );
  const other = new ActivationDrift({ warmup: 1 });
  other.observe("b", "0:0", batch(5), 0);
  assert.match(
    other.observe("b", "0:1", batch(0.4), 1) ?? "",
    /^clinic b: .* is 0\.0800× its running baseline 5\.00/,
  );
  assert.equal(d.baseline("b"), null, "baselines are per clinic");
});

Deno.test("drift: warnings about one clinic are rate-limited, and the next one counts those held back", () => {
  const d = new ActivationDrift({ warmup: 1, alpha: 0.001, intervalMs: 60_000 });
  d.observe("a", "0:0", batch(1), 0);
  assert.notEqual(d.observe("a", "0:1", batch(100), 1_000), null);
  for (let i = 2; i < 12; i++) {
    assert.equal(
      d.observe("a", `0:${i}`, batch(100), 1_000 + i),
      null,
      `batch ${i} within the minute`,
    );
  }
  // Another clinic is not held back by a's warning.
  d.observe("b", "0:0", batch(1), 0);
  assert.notEqual(d.observe("b", "0:1", batch(100), 1_500), null);
  assert.match(
    d.observe("a", "0:12", batch(100), 61_000) ?? "",
    /; 10 more such batches since the last warning;/,
  );
});

Deno.test("drift over HTTP: a clinic's scaled batch (within limits.maxActivation) is logged once, its honest batches not at all", async () => {
  const log: string[] = [];
  const server = await startServer("vanilla", {}, { log });
  try {
    const a = await new RawClinic(server, "a").connect();
    await a.send({ type: "TURN_REQUEST" });
    const step = async (i: number, k: number) => {
      const x = randomTensor([4, ...CUT_DIMS], 10 + i);
      for (let j = 0; j < x.data.length; j++) x.data[j] *= k;
      const r = await a.send({
        type: "STEP",
        stepId: `0:${i}`,
        epoch: 0,
        activation: x,
        labels: binaryLabels(4),
      });
      assert.equal(r.type, "STEP_RESULT");
    };
    for (let i = 0; i < 8; i++) await step(i, 1);
    assert.deepEqual(
      log.filter((l) => /activation RMS/.test(l)),
      [],
      "honest batches warned about",
    );
    await step(8, 1000);
    await step(9, 1000);
    const warnings = log.filter((l) => /activation RMS/.test(l));
    assert.equal(warnings.length, 1, warnings.join("\n"));
    assert.match(
      warnings[0],
      /^clinic a: cut activation RMS \S+ at step 0:8 is \S+× its running baseline/,
    );
  } finally {
    await server.close();
  }
});
