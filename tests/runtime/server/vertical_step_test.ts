import assert from "node:assert/strict";
import fc from "fast-check";
import { type Tensor, tensor } from "../../../models/tensor.ts";
import { createOptimizer } from "../../../models/train/optimizer.ts";
import { VerticalServer } from "../../../runtime/server/vertical_step.ts";
import { fuse, fusedWidth, splitGrad } from "../../../runtime/train/vertical_fusion.ts";
import { compileVerticalTop } from "../../../runtime/train/vertical_top.ts";
import { SegmentRunner } from "../../../runtime/train/segment_runner.ts";
import { ProtocolError } from "../../../runtime/protocol/protocol_error.ts";
import { Rng } from "../../../runtime/data/rng.ts";
import { testEngine } from "./harness.ts";

function randn(rows: number, cols: number, rng: Rng): Tensor<"float32"> {
  return tensor(
    "float32",
    [rows, cols],
    Float32Array.from({ length: rows * cols }, () => rng.float() * 2 - 1),
  );
}

Deno.test("concat then splitGrad gives each party back its own block; sum gives every party the whole gradient", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 5 }),
      fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 4 }),
      fc.integer(),
      (n, widths, seed) => {
        const rng = new Rng(seed);
        const parts = widths.map((w) => randn(n, w, rng));
        const fused = fuse(parts, "concat");
        assert.deepEqual(fused.dims, [n, fusedWidth(widths.map((width) => ({ width })), "concat")]);
        parts.forEach((p, k) =>
          assert.deepEqual(splitGrad(fused, widths, k, "concat").data, p.data)
        );
        const same = widths.map(() => widths[0]);
        const eq = same.map((w) => randn(n, w, rng));
        const sum = fuse(eq, "sum");
        for (let i = 0; i < sum.data.length; i++) {
          const want = eq.reduce((a, p) => a + p.data[i], 0);
          assert.ok(Math.abs(sum.data[i] - want) < 1e-5);
        }
        assert.deepEqual(splitGrad(sum, same, same.length - 1, "sum").data, sum.data);
      },
    ),
    { numRuns: 30 },
  );
  assert.throws(
    () => fusedWidth([{ width: 2 }, { width: 3 }], "sum"),
    /every party's cut width must be equal/,
  );
});

const PARTIES = [{ name: "a", width: 3 }, { name: "b", width: 2 }];

Deno.test("a step waits for every party, and the cut gradients are the blocks of the top's input gradient", async () => {
  const engine = await testEngine();
  const vs = await VerticalServer.create({
    engine,
    parties: PARTIES,
    fusion: "concat",
    labels: { holder: "server", party: "a" },
    optimizer: { kind: "sgd", lr: 0 },
    seed: 3,
  });
  const rng = new Rng(1);
  const za = randn(4, 3, rng), zb = randn(4, 2, rng);
  const y = tensor("float32", [4, 1], Float32Array.from([1, 0, 0, 1]));
  let aDone = false;
  const pa = vs.forward("a", "1:0", za, y).then((r) => (aDone = true, r));
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(aDone, false, "a's step must wait for b's part");
  const [ra, rb] = await Promise.all([pa, vs.forward("b", "1:0", zb)]);
  // The reference: the same top (same seed) on the concatenated input, in one piece.
  const [top] = compileVerticalTop({ width: 5, seed: 3, ushaped: false });
  const ref = await (await SegmentRunner.create(engine, top)).step({
    fused: fuse([za, zb], "concat"),
  }, y);
  const g = ref.inputGrads.fused;
  assert.ok(Math.abs(ra.loss! - ref.loss) < 1e-6);
  assert.deepEqual(ra.cutGrad!.data, splitGrad(g, [3, 2], 0, "concat").data);
  assert.deepEqual(rb.cutGrad!.data, splitGrad(g, [3, 2], 1, "concat").data);
  await assert.rejects(() => vs.forward("a", "1:0", za, y), /already applied/);
});

Deno.test("U-shaped: the label party's head gives the same cut gradients as the server holding the labels", async () => {
  const engine = await testEngine();
  const common = {
    engine,
    parties: [{ name: "a", width: 2 }, { name: "b", width: 2 }],
    fusion: "sum" as const,
    optimizer: { kind: "adam" as const, lr: 1e-2 },
    seed: 5,
  };
  const vanilla = await VerticalServer.create({
    ...common,
    labels: { holder: "server", party: "b" },
  });
  const ushaped = await VerticalServer.create({
    ...common,
    labels: { holder: "party", party: "b" },
  });
  const headSeg = compileVerticalTop({ width: 2, seed: 5, ushaped: true })[1];
  const head = await SegmentRunner.create(engine, headSeg);
  const headOpt = createOptimizer({ kind: "adam", lr: 1e-2 });
  const rng = new Rng(2);
  for (let s = 0; s < 3; s++) {
    const za = randn(6, 2, rng), zb = randn(6, 2, rng);
    const y = tensor(
      "float32",
      [6, 1],
      Float32Array.from({ length: 6 }, () => (rng.float() < 0.5 ? 1 : 0)),
    );
    const [va, vb] = await Promise.all([
      vanilla.forward("a", `1:${s}`, za),
      vanilla.forward("b", `1:${s}`, zb, y),
    ]);
    const ua = ushaped.forward("a", `1:${s}`, za);
    const ub = await ushaped.forward("b", `1:${s}`, zb);
    assert.ok(ub.headInput && !ub.cutGrad, "the label party gets the head input first");
    const h = await head.step({ [headSeg.inputs[0].name]: ub.headInput }, y);
    headOpt.step(head.params, h.paramGrads);
    const gb = await ushaped.headBackward("b", `1:${s}`, h.inputGrads[headSeg.inputs[0].name]);
    const close = (x: Tensor, z: Tensor) =>
      (x.data as Float32Array).every((v, i) => Math.abs(v - (z.data as Float32Array)[i]) < 1e-5);
    assert.ok(Math.abs(h.loss - vb.loss!) < 1e-5, `step ${s}: loss ${h.loss} vs ${vb.loss}`);
    assert.ok(close(gb, vb.cutGrad!), `step ${s}: label party's cut gradient`);
    assert.ok(close((await ua).cutGrad!, va.cutGrad!), `step ${s}: other party's cut gradient`);
  }
});

Deno.test("refusals name the party and what was expected", async () => {
  const engine = await testEngine();
  const vs = await VerticalServer.create({
    engine,
    parties: PARTIES,
    fusion: "concat",
    labels: { holder: "server", party: "a" },
    optimizer: { kind: "sgd", lr: 0.1 },
    seed: 0,
  });
  const rng = new Rng(0);
  const y = tensor("float32", [2, 1]);
  const code = (c: string) => (e: unknown) => e instanceof ProtocolError && e.code === c;
  await assert.rejects(() => vs.forward("x", "1:0", randn(2, 3, rng)), code("BAD_MESSAGE"));
  await assert.rejects(
    () => vs.forward("a", "1:0", randn(2, 2, rng), y),
    (e) => code("WRONG_SHAPE")(e) && /expected float32 \[N, 3\]/.test((e as Error).message),
  );
  await assert.rejects(() => vs.forward("a", "1:0", randn(2, 3, rng)), /did not send labels/);
  await assert.rejects(() => vs.forward("b", "1:0", randn(2, 2, rng), y), /sent labels/);
  void vs.forward("a", "1:1", randn(2, 3, rng), y);
  await assert.rejects(
    () => vs.forward("b", "1:1", randn(3, 2, rng)),
    /has 3 rows, another party's 2/,
  );
  await assert.rejects(() => vs.forward("a", "1:1", randn(2, 3, rng), y), /twice/);
  await assert.rejects(() => vs.headBackward("a", "1:1", randn(2, 3, rng)), code("WRONG_MODE"));
  await assert.rejects(
    () =>
      VerticalServer.create({
        engine,
        parties: PARTIES,
        fusion: "concat",
        labels: { holder: "server", party: "z" },
        optimizer: { kind: "sgd", lr: 0.1 },
        seed: 0,
      }),
    /labels.party "z"/,
  );
});

Deno.test("labelProtection norm-equalise: every row of a returned cut gradient has the same norm", async () => {
  const engine = await testEngine();
  const vs = await VerticalServer.create({
    engine,
    parties: PARTIES,
    fusion: "concat",
    labels: { holder: "server", party: "a" },
    optimizer: { kind: "sgd", lr: 0 },
    seed: 3,
    labelProtection: "norm-equalise",
  });
  const rng = new Rng(4);
  const y = tensor("float32", [5, 1], Float32Array.from([1, 0, 0, 1, 0]));
  const [ra, rb] = await Promise.all([
    vs.forward("a", "1:0", randn(5, 3, rng), y),
    vs.forward("b", "1:0", randn(5, 2, rng)),
  ]);
  for (const g of [ra.cutGrad!, rb.cutGrad!]) {
    const d = g.dims[1], x = g.data as Float32Array;
    const norms = Array.from(
      { length: g.dims[0] },
      (_, r) => Math.hypot(...x.subarray(r * d, (r + 1) * d)),
    );
    assert.ok(norms.every((n) => Math.abs(n - norms[0]) < 1e-5), `row norms ${norms}`);
  }
});
