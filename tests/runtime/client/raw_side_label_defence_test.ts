/**
 * The label defences and the privacy budget inside the clinic's raw side: randomised response
 * on the labels a vanilla clinic sends, Marvell noise on the head-input gradient a U-shaped
 * clinic sends, and the refusal of an epoch that would overspend the budget.
 */
import assert from "node:assert/strict";
import { compileModel } from "../../../models/train/compile.ts";
import { generateKeyPair } from "../../../crypto/noise/dh.ts";
import { createEngine } from "../../../runtime/engine/mod.ts";
import { SegmentRunner } from "../../../runtime/train/segment_runner.ts";
import { LocalRawSide, type LocalRawSideConfig, RawSideError, type RawSideMode } from "../../../runtime/client/raw_side/mod.ts";
import { batchIndices } from "../../../runtime/client/batch_order.ts";
import { RAW_SIDE_SEED, rawSideTestConfig } from "./fixture.ts";

const engine = await createEngine("wasm");
const KEYS = generateKeyPair();
const config = (mode: RawSideMode, over: Partial<LocalRawSideConfig> = {}) => rawSideTestConfig(engine, mode, { keyPair: KEYS, ...over });
const isCode = (code: string, re: RegExp) => (e: unknown) => e instanceof RawSideError && e.code === code && re.test(e.message);

Deno.test("vanilla randomised response: a fraction of the labels sent is flipped, the same records the same way in every epoch", async () => {
  const rr = { defence: { labelDefence: { kind: "rr" as const, epsilon: 0.5 } } };
  const plain = await LocalRawSide.create(config("vanilla"));
  const side = await LocalRawSide.create(config("vanilla", rr));
  const twin = await LocalRawSide.create(config("vanilla", rr));
  try {
    const c = config("vanilla");
    const flips = new Map<number, boolean>();
    let flipped = 0;
    for (const epoch of [1, 2]) {
      for (let b = 0; b < 3; b++) {
        const id = `${epoch}:${b}`;
        const y = (await plain.forward(id, epoch, b)).labels!.data as Float32Array;
        const sent = (await side.forward(id, epoch, b)).labels!.data as Float32Array;
        assert.deepEqual((await twin.forward(id, epoch, b)).labels!.data, sent, "same key, same records: same flips");
        const idx = batchIndices(c.seed, epoch, c.data.train.size, c.batchSize, b);
        idx.forEach((r, i) => {
          const f = y[i] !== sent[i];
          if (flips.has(r)) assert.equal(flips.get(r), f, `record ${r} flipped in one epoch only`);
          else (flips.set(r, f), flipped += f ? 1 : 0);
        });
      }
    }
    assert.equal(flips.size, c.data.train.size);
    // p = 1/(1 + e^0.5) ≈ 0.38 over 20 records.
    assert.ok(flipped >= 1 && flipped <= 15, `${flipped} of ${flips.size} flipped`);
  } finally {
    await plain.close();
    await side.close();
    await twin.close();
  }
});

Deno.test("U-shape Marvell: the head-input gradient sent is perturbed, the head's own loss is not; a retried head is the same", async () => {
  const c = config("ushaped");
  const plain = await LocalRawSide.create(c);
  const side = await LocalRawSide.create(config("ushaped", { defence: { labelDefence: { kind: "marvell", scale: 4 } } }));
  const middle = await SegmentRunner.create(engine, compileModel(c.model, { loss: "bce", cuts: c.cuts, seed: RAW_SIDE_SEED })[1]);
  try {
    const f = await side.forward("1:0", 1, 0);
    await plain.forward("1:0", 1, 0);
    const headInput = (await middle.infer({ [c.cuts[0]]: f.activation }))[c.cuts[1]];
    const h = await side.head("1:0", headInput), hp = await plain.head("1:0", headInput);
    assert.equal(h.loss, hp.loss);
    assert.notDeepEqual(h.gradHeadInput.data, hp.gradHeadInput.data);
    assert.deepEqual(await side.head("1:0", headInput), h);
  } finally {
    await middle.release();
    await plain.close();
    await side.close();
  }
});

Deno.test("budget: the forward of an epoch that would overspend is refused with BUDGET_SPENT; config misuse refused", async () => {
  // σ = 4: ε ≈ 3.19 after two epochs, ≈ 4.2 after three (δ = 1e-5); budget 4.
  const side = await LocalRawSide.create(config("vanilla", { defence: { noise: { clip: 5, sigma: 4 }, budget: { epsilon: 4, delta: 1e-5 } } }));
  try {
    await side.forward("0:0", 0, 0);
    await side.forward("1:0", 1, 0);
    await assert.rejects(side.forward("2:0", 2, 0), isCode("BUDGET_SPENT", /epoch 3 would bring the cut noise to ε = 4\.\d+ .* over the budget ε = 4/));
  } finally {
    await side.close();
  }
  await assert.rejects(
    LocalRawSide.create(config("ushaped", { defence: { labelDefence: { kind: "rr", epsilon: 1 } } })),
    isCode("CONFIG_INVALID", /needs mode vanilla/),
  );
  await assert.rejects(LocalRawSide.create(config("ushaped", { defence: { hijackGuard: {} } })), isCode("CONFIG_INVALID", /hijackGuard needs mode vanilla/));
});
