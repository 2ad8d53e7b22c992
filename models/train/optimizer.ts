/**
 * Optimizers over named float32 parameters, updated in place: SGD with momentum and
 * (coupled, L2) weight decay as in PyTorch's `torch.optim.SGD`, and Adam / AdamW as in
 * `torch.optim.Adam` / `AdamW` (Kingma & Ba 2015; Loshchilov & Hutter 2019: decoupled
 * decay). State (moments, step count) can be saved and restored as tensors.
 *
 * @example
 * ```ts
 * import { createOptimizer } from "./optimizer.ts";
 * import { tensor } from "../tensor.ts";
 * const w = tensor("float32", [2], new Float32Array([1, 2]));
 * const opt = createOptimizer({ kind: "sgd", lr: 0.1 });
 * opt.step(new Map([["w", w]]), new Map([["w", tensor("float32", [2], new Float32Array([1, 1]))]]));
 * console.log(w.data); // Float32Array [0.9, 1.9]
 * ```
 * @module
 */
import { type Tensor, tensor } from "../tensor.ts";

/** Optimizer settings. */
export type OptimizerConfig =
  | { kind: "sgd"; lr: number; momentum?: number; weightDecay?: number; nesterov?: boolean }
  | {
    kind: "adam" | "adamw";
    lr: number;
    beta1?: number;
    beta2?: number;
    eps?: number;
    weightDecay?: number;
  };

/** An optimizer instance: owns its state, updates parameters in place. */
export interface Optimizer {
  readonly config: OptimizerConfig;
  /** Steps taken so far. */
  readonly steps: number;
  /**
   * Applies one update. Parameters without a gradient are left as they are.
   * @throws {RangeError} when a gradient's length differs from its parameter's
   */
  step(params: Map<string, Tensor>, grads: Map<string, Tensor>): void;
  /** The state as named tensors (for checkpoints). */
  state(): Map<string, Tensor>;
  /**
   * The live moment arrays by key (the keys of {@linkcode Optimizer.state} but `steps`), not
   * copies: for a caller that checks or backs up the state at every step without allocating
   * (allocating fresh typed arrays costs far more than copying into kept ones). Read only.
   */
  slots(): ReadonlyMap<string, Float32Array>;
  /** Restores state written by {@linkcode Optimizer.state}. */
  load(state: Map<string, Tensor>): void;
}

/** The settings each kind takes: a misspelt one ("momentun") would otherwise be ignored. */
const SETTINGS: Record<string, readonly string[]> = {
  sgd: ["kind", "lr", "momentum", "weightDecay", "nesterov"],
  adam: ["kind", "lr", "beta1", "beta2", "eps", "weightDecay"],
  adamw: ["kind", "lr", "beta1", "beta2", "eps", "weightDecay"],
};

/**
 * Checks optimizer settings: a known kind, only that kind's settings, values in range.
 *
 * @throws {TypeError} for an unknown kind or setting; {@link RangeError} for a value out of range
 * @example
 * ```ts
 * import { checkOptimizerConfig } from "./optimizer.ts";
 * checkOptimizerConfig({ kind: "sgd", lr: 0.1, momentum: 0.9 });
 * ```
 */
export function checkOptimizerConfig(c: OptimizerConfig): void {
  const known = SETTINGS[(c as { kind: string }).kind];
  if (known) {
    for (const k of Object.keys(c)) {
      if (!known.includes(k)) {
        throw new TypeError(`optimizer ${c.kind}: unknown setting ${JSON.stringify(k)}; expected one of ${known.join(", ")}`);
      }
    }
  }
  const bad = (what: string, v: unknown) => {
    throw new RangeError(`optimizer ${c.kind}: ${what} must be a finite number >= 0, got ${v}`);
  };
  if (!(c.lr >= 0) || !Number.isFinite(c.lr)) bad("lr", c.lr);
  if (c.weightDecay !== undefined && !(c.weightDecay >= 0)) bad("weightDecay", c.weightDecay);
  if (c.kind === "sgd") {
    if (c.momentum !== undefined && !(c.momentum >= 0 && c.momentum < 1)) {
      throw new RangeError(`optimizer sgd: momentum must be in [0, 1), got ${c.momentum}`);
    }
  } else if (c.kind === "adam" || c.kind === "adamw") {
    for (const [k, v] of [["beta1", c.beta1], ["beta2", c.beta2]] as const) {
      if (v !== undefined && !(v >= 0 && v < 1)) {
        throw new RangeError(`optimizer ${c.kind}: ${k} must be in [0, 1), got ${v}`);
      }
    }
  } else {
    throw new TypeError(
      `unknown optimizer ${
        JSON.stringify((c as { kind: string }).kind)
      }: expected sgd, adam or adamw`,
    );
  }
}

/**
 * Makes an optimizer.
 *
 * @example
 * ```ts
 * import { createOptimizer } from "./optimizer.ts";
 * const adam = createOptimizer({ kind: "adam", lr: 1e-3 });
 * ```
 */
export function createOptimizer(config: OptimizerConfig): Optimizer {
  checkOptimizerConfig(config);
  const slots = new Map<string, Float32Array>();
  let steps = 0;
  const slot = (key: string, n: number) => {
    let s = slots.get(key);
    if (!s) slots.set(key, s = new Float32Array(n));
    return s;
  };
  return {
    config,
    get steps() {
      return steps;
    },
    step(params, grads) {
      steps++;
      for (const [name, p] of params) {
        const g = grads.get(name);
        if (!g) continue;
        const w = p.data as Float32Array, gd = g.data as Float32Array;
        if (gd.length !== w.length) {
          throw new RangeError(
            `gradient of ${
              JSON.stringify(name)
            } has ${gd.length} elements, parameter has ${w.length}`,
          );
        }
        if (config.kind === "sgd") {
          const mu = config.momentum ?? 0, wd = config.weightDecay ?? 0, lr = config.lr;
          const buf = mu > 0 ? slot(`${name}.momentum`, w.length) : undefined;
          for (let i = 0; i < w.length; i++) {
            let d = gd[i] + wd * w[i];
            if (buf) {
              // PyTorch: the first step initialises the buffer with the gradient itself.
              buf[i] = steps === 1 ? d : mu * buf[i] + d;
              d = config.nesterov ? d + mu * buf[i] : buf[i];
            }
            w[i] -= lr * d;
          }
        } else {
          const b1 = config.beta1 ?? 0.9, b2 = config.beta2 ?? 0.999, eps = config.eps ?? 1e-8;
          const wd = config.weightDecay ?? (config.kind === "adamw" ? 0.01 : 0);
          const lr = config.lr;
          const m = slot(`${name}.m`, w.length), v = slot(`${name}.v`, w.length);
          const bc1 = 1 - b1 ** steps, bc2 = 1 - b2 ** steps;
          const stepSize = lr / bc1, sqrtBc2 = Math.sqrt(bc2);
          for (let i = 0; i < w.length; i++) {
            let gi = gd[i];
            if (config.kind === "adamw") w[i] *= 1 - lr * wd;
            else gi += wd * w[i];
            m[i] = b1 * m[i] + (1 - b1) * gi;
            v[i] = b2 * v[i] + (1 - b2) * gi * gi;
            w[i] -= stepSize * m[i] / (Math.sqrt(v[i]) / sqrtBc2 + eps);
          }
        }
      }
    },
    slots() {
      return slots;
    },
    state() {
      const out = new Map<string, Tensor>();
      out.set("steps", tensor("float64", [1], new Float64Array([steps])));
      for (const [k, s] of slots) out.set(k, tensor("float32", [s.length], s.slice()));
      return out;
    },
    load(state) {
      const st = state.get("steps");
      if (!st || st.dtype !== "float64" || st.data.length !== 1) {
        throw new TypeError("optimizer state has no valid 'steps' entry");
      }
      slots.clear();
      steps = (st.data as Float64Array)[0];
      for (const [k, t] of state) {
        if (k === "steps") continue;
        if (t.dtype !== "float32") {
          throw new TypeError(
            `optimizer state ${JSON.stringify(k)}: expected float32, got ${t.dtype}`,
          );
        }
        slots.set(k, (t.data as Float32Array).slice());
      }
    },
  };
}
