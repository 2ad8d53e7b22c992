/**
 * The zoo tabular transformer for hospital records (Diabetes 130), in the style of the
 * FT-Transformer (Gorishniy et al. 2021, "Revisiting Deep Learning Models for Tabular Data",
 * §3.3): every column becomes a token, a learned [CLS] token is prepended, pre-norm
 * transformer blocks mix the tokens, and the [CLS] token's output is classified.
 *
 * ```
 * numeric [N,F] → x_j·W_j + b_j per column ────────────┐  (tokens [N, ·, d]; each input
 * categorical [N,C] + offsets → Gather(table) + b_j ───┤   present only when the table has
 * codes [N,3] → Gather(code table) → mean (one token) ─┤   such columns)
 * [CLS] expanded to the batch ─────────────────────────┴→ Concat → tokens [N, T, d]
 *   → block 0: x + MHA(LN(x)), then + FFN(LN(·))   ← default cut (clinic: tokenizer + block 0)
 *   → block 1 …
 *   → [CLS] → LN → ReLU                            ← U-shaped cut (head starts here)
 *   → Linear → logits [N, 1]
 * ```
 *
 * Departures from the paper, to keep the op set to rules splitgate has and training a
 * deterministic function of the seed: a ReLU feed-forward instead of ReGLU, no dropout, and
 * the first block keeps its attention LayerNorm.
 *
 * @example
 * ```ts
 * import { buildFtTransformer } from "./ft_transformer.ts";
 * const { model, cuts } = buildFtTransformer({
 *   random: Math.random, numeric: 3, vocabSizes: [4, 2], codeVocab: 50,
 * });
 * console.log(cuts.default); // ["block0/out"]
 * ```
 * @module
 */
import { floatAttr, intAttr, intsAttr } from "../graph/ir.ts";
import { tensor } from "../tensor.ts";
import { NetBuilder } from "./net_builder.ts";
import type { ZooModel } from "./cnn.ts";

/** Options of {@linkcode buildFtTransformer}. */
export interface FtTransformerOptions {
  random: () => number;
  /** Number of numeric features; 0 for none (no `numeric` input). */
  numeric: number;
  /** Vocabulary size of each categorical column; [] for none (no `categorical` input). */
  vocabSizes: number[];
  /** Number of code indices; 0 for tables without diagnosis codes (no `codes` input). */
  codeVocab: number;
  /** Token width d (default 16). */
  dim?: number;
  /** Attention heads; must divide `dim` (default 2). */
  heads?: number;
  /** Transformer blocks (default 2). */
  blocks?: number;
}

/** `x · W + b` over the last axis of a tensor of any rank (MatMul, then a broadcast Add). */
function dense(b: NetBuilder, x: string, fin: number, fout: number, name: string): string {
  const bound = 1 / Math.sqrt(fin);
  const w = b.weight(`${name}.weight`, b.uniform([fin, fout], bound));
  const bias = b.weight(`${name}.bias`, b.uniform([fout], bound));
  return b.op("Add", [b.op("MatMul", [x, w], `${name}/MatMul_output_0`), bias], `${name}/out`);
}

/** LayerNormalization-17 over the last axis, scale 1 and shift 0 (PyTorch's `nn.LayerNorm`). */
function layerNorm(b: NetBuilder, x: string, d: number, name: string): string {
  const g = b.weight(`${name}.weight`, tensor("float32", [d], new Float32Array(d).fill(1)));
  const beta = b.weight(`${name}.bias`, tensor("float32", [d]));
  return b.op("LayerNormalization", [x, g, beta], `${name}/LayerNormalization_output_0`, {
    axis: intAttr(-1),
    epsilon: floatAttr(1e-5),
  });
}

/**
 * Multi-head self-attention (Vaswani et al. 2017, §3.2.2) on [N, T, d]: heads split by a
 * Reshape to [N, T, h, d/h] (0 keeps N and T, so the batch stays symbolic), softmax of
 * Q·Kᵀ/√(d/h), heads joined back, output projection.
 */
function attention(b: NetBuilder, x: string, d: number, h: number, name: string): string {
  const dh = d / h;
  const split = b.ints(`${name}.split_shape`, [0, 0, h, dh]);
  const heads = (t: string, perm: number[], tag: string) =>
    b.op(
      "Transpose",
      [b.op("Reshape", [dense(b, t, d, d, `${name}.${tag}`), split], `${name}/${tag}_split`)],
      `${name}/${tag}_heads`,
      { perm: intsAttr(perm) },
    );
  const q = heads(x, [0, 2, 1, 3], "q"), k = heads(x, [0, 2, 3, 1], "k");
  const v = heads(x, [0, 2, 1, 3], "v");
  const scale = b.weight(
    `${name}.scale`,
    tensor("float32", [], Float32Array.of(1 / Math.sqrt(dh))),
  );
  const scores = b.op("Mul", [b.op("MatMul", [q, k], `${name}/qk`), scale], `${name}/scores`);
  const attn = b.op("Softmax", [scores], `${name}/softmax`, { axis: intAttr(-1) });
  const mixed = b.op("Transpose", [b.op("MatMul", [attn, v], `${name}/av`)], `${name}/av_t`, {
    perm: intsAttr([0, 2, 1, 3]),
  });
  const joined = b.op(
    "Reshape",
    [mixed, b.ints(`${name}.join_shape`, [0, 0, d])],
    `${name}/joined`,
  );
  return dense(b, joined, d, d, `${name}.out`);
}

/** One pre-norm block: x + MHA(LN(x)), then + FFN(LN(·)) with a 2d ReLU hidden layer. */
function block(b: NetBuilder, x: string, d: number, h: number, name: string): string {
  const a = b.op("Add", [
    x,
    attention(b, layerNorm(b, x, d, `${name}.norm1`), d, h, `${name}.attn`),
  ], `${name}/res1`);
  const hidden = b.relu(
    dense(b, layerNorm(b, a, d, `${name}.norm2`), d, 2 * d, `${name}.ff1`),
    `${name}/ff`,
  );
  return b.op("Add", [a, dense(b, hidden, 2 * d, d, `${name}.ff2`)], `${name}/out`);
}

/** The feature tokenizer: one [N, ·, d] token group per kind of column. */
function tokens(
  b: NetBuilder,
  o: FtTransformerOptions,
  d: number,
): { parts: string[]; batchOf: string } {
  const parts: string[] = [];
  let batchOf = "";
  if (o.numeric > 0) {
    const x = batchOf = b.input("numeric", "float32", ["N", o.numeric]);
    const col = b.op("Unsqueeze", [x, b.ints("tok_num.axis", [2])], "tok_num/col");
    const w = b.weight("tok_num.weight", b.uniform([o.numeric, d], 1 / Math.sqrt(d)));
    const bias = b.weight("tok_num.bias", b.uniform([o.numeric, d], 1 / Math.sqrt(d)));
    parts.push(b.op("Add", [b.op("Mul", [col, w], "tok_num/scaled"), bias], "tok_num/out"));
  }
  if (o.vocabSizes.length > 0) {
    const cat = b.input("categorical", "int64", ["N", o.vocabSizes.length]);
    batchOf ||= cat;
    const offsets: number[] = [];
    let total = 0;
    for (const v of o.vocabSizes) offsets.push(total), total += v;
    const table = b.weight("tok_cat.weight", b.uniform([total, d], 1 / Math.sqrt(d)));
    const rows = b.op("Add", [cat, b.ints("tok_cat.offsets", offsets)], "tok_cat/rows");
    const bias = b.weight("tok_cat.bias", b.uniform([o.vocabSizes.length, d], 1 / Math.sqrt(d)));
    parts.push(
      b.op("Add", [b.op("Gather", [table, rows], "tok_cat/Gather_output_0"), bias], "tok_cat/out"),
    );
  }
  if (o.codeVocab > 0) {
    const codes = b.input("codes", "int64", ["N", 3]);
    batchOf ||= codes;
    const table = b.weight("tok_code.weight", b.uniform([o.codeVocab, d], 1 / Math.sqrt(d)));
    parts.push(
      b.op(
        "ReduceMean",
        [b.op("Gather", [table, codes], "tok_code/Gather_output_0")],
        "tok_code/out",
        {
          axes: intsAttr([1]),
          keepdims: intAttr(1),
        },
      ),
    );
  }
  return { parts, batchOf };
}

/**
 * Builds the zoo tabular transformer.
 *
 * @throws {RangeError} for vocabulary sizes that are not positive integers, a negative
 *   `numeric`, a table with neither numeric nor categorical columns, or `heads` not dividing `dim`
 * @example
 * ```ts
 * import { buildFtTransformer } from "./ft_transformer.ts";
 * buildFtTransformer({ random: Math.random, numeric: 2, vocabSizes: [3], codeVocab: 0 }).cuts.ushaped;
 * // ["block0/out", "head/relu/Relu_output_0"]
 * ```
 */
export function buildFtTransformer(o: FtTransformerOptions): ZooModel {
  const d = o.dim ?? 16, h = o.heads ?? 2, nBlocks = o.blocks ?? 2;
  if (o.vocabSizes.some((v) => !Number.isInteger(v) || v < 1)) {
    throw new RangeError(
      `zoo ft_transformer: vocabulary sizes must be positive integers, got [${o.vocabSizes}]`,
    );
  }
  if (!Number.isInteger(o.numeric) || o.numeric < 0) {
    throw new RangeError(`zoo ft_transformer: numeric must be an integer >= 0, got ${o.numeric}`);
  }
  if (o.numeric === 0 && o.vocabSizes.length === 0) {
    throw new RangeError("zoo ft_transformer: needs at least one numeric or categorical column");
  }
  if (!Number.isInteger(d / h)) {
    throw new RangeError(`zoo ft_transformer: ${h} heads do not divide dim ${d}`);
  }
  const b = new NetBuilder("splitgate_ft_transformer", o.random);
  const { parts, batchOf } = tokens(b, o, d);
  // [CLS] expanded to [N, 1, d]: the batch size read from an input's shape.
  const cls = b.weight("cls", b.uniform([1, 1, d], 1 / Math.sqrt(d)));
  const n = b.op("Slice", [
    b.op("Shape", [batchOf], "cls/shape"),
    b.ints("cls.s0", [0]),
    b.ints("cls.s1", [1]),
  ], "cls/n");
  const target = b.op("Concat", [n, b.ints("cls.rest", [1, d])], "cls/target", {
    axis: intAttr(0),
  });
  const clsTok = b.op("Expand", [cls, target], "cls/expanded");
  let x = b.op("Concat", [clsTok, ...parts], "tokens/Concat_output_0", { axis: intAttr(1) });
  const outs: string[] = [];
  for (let i = 0; i < nBlocks; i++) outs.push(x = block(b, x, d, h, `block${i}`));
  const first = b.op(
    "Gather",
    [x, b.weight("head.index", tensor("int64", [], BigInt64Array.of(0n)))],
    "head/cls",
    {
      axis: intAttr(1),
    },
  );
  const z = b.relu(layerNorm(b, first, d, "head.norm"), "head/relu");
  const logits = b.linear(z, d, 1, "head.fc");
  return {
    model: b.finish(logits, "logits", ["N", 1]),
    // The deep alternate keeps every block at the clinic: more clinic compute, same traffic.
    cuts: { default: [outs[0]], ushaped: [outs[0], z], alternate: [outs[outs.length - 1]] },
    alternateName: "deep",
  };
}
