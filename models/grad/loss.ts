/**
 * Loss heads appended to a training graph, each with its closed-form gradient (so the
 * numerically delicate parts — log-sum-exp, log(1 + e^−|x|) — are written once, stably):
 *
 * - `bce`: mean binary cross-entropy on logits (PyTorch `BCEWithLogitsLoss`):
 *   ℓ = mean(max(x, 0) − x·t + log(1 + e^−|x|)),  dℓ/dx = (σ(x) − t) / |x|
 * - `ce`: softmax cross-entropy with integer class targets (PyTorch `CrossEntropyLoss`):
 *   ℓ = −mean_n log softmax(x)[n, tₙ],  dℓ/dx = (softmax(x) − onehot(t)) / N
 * - `mse`: mean squared error: ℓ = mean((x − t)²),  dℓ/dx = 2(x − t) / |x|
 *
 * @example
 * ```ts
 * import { appendLoss } from "./loss.ts";
 * import { GradContext } from "./context.ts";
 * const t = { dtype: "float32" as const, shape: ["N", 1] };
 * const ctx = new GradContext(new Map([["logits", t], ["target", t]]), 17);
 * const nodes = appendLoss(ctx, "bce", "logits", "target");
 * console.log(ctx.shape(nodes.loss)); // []
 * ```
 * @module
 */
import { type Dim, intAttr } from "../graph/ir.ts";
import { tensor } from "../tensor.ts";
import { type GradContext, GradError } from "./context.ts";

/** Supported losses. */
export type LossKind = "bce" | "ce" | "mse";

/** Names of the loss scalar and of dLoss/dLogits. */
export interface LossNodes {
  loss: string;
  dlogits: string;
}

/** The dtype and shape the target of a loss must have, for logits of shape `logits`. */
export function targetInfo(
  kind: LossKind,
  logits: Dim[],
): { dtype: "float32" | "int64"; shape: Dim[] } {
  return kind === "ce"
    ? { dtype: "int64", shape: [logits[0]] }
    : { dtype: "float32", shape: [...logits] };
}

/**
 * Appends `kind` loss nodes on `logits` against `target` to `ctx`.
 *
 * @example
 * ```ts
 * import { appendLoss } from "./loss.ts";
 * import { GradContext } from "./context.ts";
 * const ctx = new GradContext(new Map([
 *   ["logits", { dtype: "float32" as const, shape: ["N", 3] }],
 *   ["labels", { dtype: "int64" as const, shape: ["N"] }],
 * ]), 17);
 * console.log(ctx.shape(appendLoss(ctx, "ce", "logits", "labels").dlogits)); // ["N", 3]
 * ```
 */
export function appendLoss(
  ctx: GradContext,
  kind: LossKind,
  logits: string,
  target: string,
): LossNodes {
  const dt = ctx.dtype(logits);
  const count = (t: string) => ctx.cast(ctx.emit1("Size", [t]), dt);
  const mean = (t: string) => ctx.reduceMean(t, [...Array(ctx.rank(t)).keys()], false);
  switch (kind) {
    case "bce": {
      const zero = ctx.scalar(0, dt), one = ctx.scalar(1, dt);
      const relu = ctx.emit1("Max", [logits, zero]);
      const xt = ctx.emit1("Mul", [logits, target]);
      const soft = ctx.emit1("Log", [
        ctx.emit1("Add", [one, ctx.emit1("Exp", [ctx.emit1("Neg", [ctx.emit1("Abs", [logits])])])]),
      ]);
      const loss = mean(ctx.emit1("Add", [ctx.emit1("Sub", [relu, xt]), soft]));
      const diff = ctx.emit1("Sub", [ctx.emit1("Sigmoid", [logits]), target]);
      return { loss, dlogits: ctx.emit1("Div", [diff, count(logits)]) };
    }
    case "mse": {
      const diff = ctx.emit1("Sub", [logits, target]);
      const loss = mean(ctx.emit1("Mul", [diff, diff]));
      const two = ctx.scalar(2, dt);
      return { loss, dlogits: ctx.emit1("Div", [ctx.emit1("Mul", [diff, two]), count(logits)]) };
    }
    case "ce": {
      const shape = ctx.shape(logits);
      const classes = shape[1];
      if (shape.length !== 2 || typeof classes !== "number") {
        throw new GradError(
          "UNKNOWN_SHAPE",
          `ce loss needs logits of shape [N, C] with C static, got [${shape}]`,
        );
      }
      const lsm = ctx.emit1("LogSoftmax", [logits], { axis: intAttr(1) });
      const t1 = ctx.emit1("Unsqueeze", [target, ctx.ints([1])]);
      const picked = ctx.emit1("GatherElements", [lsm, t1], { axis: intAttr(1) });
      const loss = ctx.emit1("Neg", [mean(picked)]);
      const range = ctx.constant(
        tensor("int64", [1, classes], BigInt64Array.from({ length: classes }, (_, i) => BigInt(i))),
        "classes",
      );
      const onehot = ctx.cast(ctx.emit1("Equal", [t1, range]), dt);
      const n = ctx.cast(ctx.emit1("Size", [target]), dt);
      const dlogits = ctx.emit1("Div", [ctx.emit1("Sub", [ctx.emit1("Exp", [lsm]), onehot]), n]);
      return { loss, dlogits };
    }
    default:
      throw new GradError(
        "UNSUPPORTED_LOSS",
        `unknown loss ${JSON.stringify(kind)}: expected bce, ce or mse`,
      );
  }
}
