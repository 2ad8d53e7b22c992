import assert from "node:assert/strict";
import { type Tensor, tensor } from "../../../models/tensor.ts";
import { createOptimizer, type OptimizerConfig } from "../../../models/train/optimizer.ts";
import { ProtocolError } from "../../../runtime/protocol/mod.ts";
import { FiniteUpdate } from "../../../runtime/server/finite_state.ts";

const f32 = (...v: number[]) => tensor("float32", [v.length], Float32Array.from(v));
const params = () => new Map<string, Tensor>([["a", f32(1, 2, 3)], ["b", f32(-1, 0.5)]]);
const grads = (g: number) =>
  new Map<string, Tensor>([["a", f32(0.1, g, 0.3)], ["b", f32(0.2, -0.1)]]);
const plain = (m: Map<string, Tensor>) =>
  new Map([...m].map(([k, t]) => [k, Array.from(t.data as Float32Array)]));

const CONFIGS: OptimizerConfig[] = [
  { kind: "sgd", lr: 0.1 },
  { kind: "sgd", lr: 0.1, momentum: 0.9 },
  { kind: "adam", lr: 1e-2 },
  { kind: "adamw", lr: 1e-2 },
];

Deno.test("FiniteUpdate: a finite update is exactly the optimizer's, step after step", () => {
  for (const c of CONFIGS) {
    const p = params(), q = params();
    const o = createOptimizer(c), r = createOptimizer(c);
    const guard = new FiniteUpdate();
    for (let k = 0; k < 3; k++) {
      o.step(p, grads(0.5 + k));
      guard.apply(`step ${k}`, r, q, grads(0.5 + k));
    }
    assert.deepEqual(plain(q), plain(p), c.kind);
    assert.deepEqual(plain(r.state()), plain(o.state()), `${c.kind} state`);
  }
});

Deno.test("FiniteUpdate: a non-finite update is refused naming the tensor; parameters and optimizer state are as before, including moments it created", () => {
  for (const c of CONFIGS) {
    for (const first of [true, false]) {
      const p = params(), o = createOptimizer(c), guard = new FiniteUpdate();
      if (!first) guard.apply("0:0", o, p, grads(0.5));
      const before = plain(p), state = plain(o.state()), steps = o.steps;
      // 1e30 is finite, and so is the parameter step lr·m/√v; Adam's g² overflows float32.
      const bad = c.kind === "sgd" ? [Infinity, NaN] : [Infinity, NaN, 1e30];
      for (const g of bad) {
        assert.throws(
          () => guard.apply("STEP 0:1", o, p, grads(g)),
          (e: unknown) =>
            e instanceof ProtocolError && e.code === "NON_FINITE" &&
            /^STEP 0:1 refused: it would make (param\/a|opt\/a\.\w+) \(element 1 is (-?Infinity|NaN)\) non-finite; the server keeps its previous state$/
              .test(e.message),
        );
        assert.deepEqual(plain(p), before, `${c.kind} first=${first} g=${g}: parameters`);
        assert.deepEqual(
          plain(o.state()),
          state,
          `${c.kind} first=${first} g=${g}: optimizer state`,
        );
        assert.equal(o.steps, steps);
      }
    }
  }
});
