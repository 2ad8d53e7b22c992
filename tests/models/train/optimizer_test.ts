import assert from "node:assert/strict";
import { createOptimizer } from "../../../models/train/optimizer.ts";
import { type Tensor, tensor } from "../../../models/tensor.ts";

const f = (xs: number[]) => tensor("float32", [xs.length], Float32Array.from(xs));
const close = (a: ArrayLike<number>, b: number[], tol = 1e-6) =>
  b.forEach((v, i) => assert.ok(Math.abs(a[i] - v) <= tol * Math.max(1, Math.abs(v)), `${i}: ${a[i]} vs ${v}`));

Deno.test("SGD with momentum and weight decay follows torch.optim.SGD", () => {
  const w = f([1, -2]);
  const opt = createOptimizer({ kind: "sgd", lr: 0.1, momentum: 0.9, weightDecay: 0.01 });
  const g = new Map<string, Tensor>([["w", f([0.5, 0.5])]]);
  opt.step(new Map([["w", w]]), g);
  // step 1: d = g + wd·w = [0.51, 0.48]; buf = d; w -= lr·buf
  close(w.data as Float32Array, [1 - 0.051, -2 - 0.048]);
  opt.step(new Map([["w", w]]), g);
  // step 2: d = g + wd·w; buf = 0.9·buf + d
  const d = [0.5 + 0.01 * 0.949, 0.5 + 0.01 * -2.048];
  close(w.data as Float32Array, [0.949 - 0.1 * (0.9 * 0.51 + d[0]), -2.048 - 0.1 * (0.9 * 0.48 + d[1])]);
});

Deno.test("Adam's first step moves each weight by lr·sign(g); AdamW decays weights apart", () => {
  const w = f([1, 1]);
  const adam = createOptimizer({ kind: "adam", lr: 0.01 });
  adam.step(new Map([["w", w]]), new Map([["w", f([3, -0.2])]]));
  close(w.data as Float32Array, [0.99, 1.01], 1e-5);
  const v = f([1]);
  const adamw = createOptimizer({ kind: "adamw", lr: 0.01, weightDecay: 0.1 });
  adamw.step(new Map([["v", v]]), new Map([["v", f([0])]]));
  close(v.data as Float32Array, [1 - 0.01 * 0.1], 1e-6);
});

Deno.test("optimizer state round trips and resumes identically", () => {
  const grads = [f([0.3, -0.1]), f([0.2, 0.4]), f([-0.5, 0.1])];
  const run = (split: boolean) => {
    const w = f([1, 2]);
    let opt = createOptimizer({ kind: "adam", lr: 0.05 });
    grads.forEach((g, i) => {
      if (split && i === 2) {
        const saved = opt.state();
        opt = createOptimizer({ kind: "adam", lr: 0.05 });
        opt.load(saved);
      }
      opt.step(new Map([["w", w]]), new Map([["w", g]]));
    });
    return Array.from(w.data as Float32Array);
  };
  assert.deepEqual(run(true), run(false));
});

Deno.test("optimizer refuses bad settings and mismatched gradients", () => {
  assert.throws(() => createOptimizer({ kind: "sgd", lr: -1 }), /lr must be/);
  assert.throws(() => createOptimizer({ kind: "sgd", lr: 0.1, momentum: 1 }), /momentum must be in \[0, 1\)/);
  assert.throws(() => createOptimizer({ kind: "rmsprop" as "sgd", lr: 0.1 }), /unknown optimizer "rmsprop"/);
  const opt = createOptimizer({ kind: "sgd", lr: 0.1 });
  assert.throws(() => opt.step(new Map([["w", f([1, 2])]]), new Map([["w", f([1])]])), /has 1 elements, parameter has 2/);
});
