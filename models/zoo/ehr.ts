/**
 * The zoo EHR network for tabular hospital records (Diabetes 130): embeddings for the
 * categorical columns and the ICD-9 diagnosis codes, concatenated with the numeric
 * features, then an MLP.
 *
 * ```
 * numeric [N,F] ───────────────────────────────┐   (each input present only when the
 *                                                │    table has such columns)
 * categorical [N,C] + column offsets → Gather(cat table) → Flatten ─┤→ Concat
 * codes [N,3] → Gather(code table) → mean over the 3 codes ─────────┘
 *   → Linear → ReLU                 ← default cut (clinic: embeddings + first layer)
 *   → Linear → ReLU                 ← U-shaped cut (head starts here)
 *   → Linear → logits
 * ```
 *
 * @example
 * ```ts
 * import { buildEhr } from "./ehr.ts";
 * const { model } = buildEhr({ random: Math.random, numeric: 12, vocabSizes: [4, 3], codeVocab: 100 });
 * ```
 * @module
 */
import { NetBuilder } from "./net_builder.ts";
import type { ZooModel } from "./cnn.ts";

/** Options of {@linkcode buildEhr}. */
export interface EhrOptions {
  random: () => number;
  /** Number of numeric features; 0 for a table without numeric columns (no `numeric` input). */
  numeric: number;
  /** Vocabulary size of each categorical column (indices 0..size−1); [] for none (no `categorical` input). */
  vocabSizes: number[];
  /** Number of code indices; 0 for tables without diagnosis codes (no `codes` input). */
  codeVocab: number;
  /** Width of each categorical embedding (default 4). */
  catDim?: number;
  /** Width of the code embedding (default 16). */
  codeDim?: number;
  /** Hidden widths (default 64, 32). */
  hidden?: [number, number];
}

/**
 * Builds the zoo EHR network.
 *
 * @example
 * ```ts
 * import { buildEhr } from "./ehr.ts";
 * buildEhr({ random: Math.random, numeric: 2, vocabSizes: [3], codeVocab: 10 }).cuts.default;
 * ```
 */
export function buildEhr(opts: EhrOptions): ZooModel {
  const catDim = opts.catDim ?? 4, codeDim = opts.codeDim ?? 16;
  const [h1, h2] = opts.hidden ?? [64, 32];
  const nCat = opts.vocabSizes.length;
  if (opts.vocabSizes.some((v) => !Number.isInteger(v) || v < 1)) {
    throw new RangeError(
      `zoo ehr: vocabulary sizes must be positive integers, got [${opts.vocabSizes}]`,
    );
  }
  if (!Number.isInteger(opts.numeric) || opts.numeric < 0) {
    throw new RangeError(`zoo ehr: numeric must be an integer >= 0, got ${opts.numeric}`);
  }
  if (opts.numeric === 0 && nCat === 0) {
    throw new RangeError("zoo ehr: needs at least one numeric or categorical column");
  }
  const b = new NetBuilder("splitgate_ehr", opts.random);
  // A table with no numeric (or no categorical) columns gets no such input: an empty
  // [N, 0] input fails ONNX shape inference at the Concat (Inferred=30 Declared=0).
  const parts: string[] = [];
  if (opts.numeric > 0) parts.push(b.input("numeric", "float32", ["N", opts.numeric]));
  const withCodes = opts.codeVocab > 0;
  if (nCat > 0) {
    const categorical = b.input("categorical", "int64", ["N", nCat]);
    // One table for all categorical columns: column j's index i lives at row offset_j + i.
    const offsets: number[] = [];
    let total = 0;
    for (const v of opts.vocabSizes) {
      offsets.push(total);
      total += v;
    }
    // Embeddings are initialised N(0, 1) in PyTorch; a uniform of the same variance is used.
    const catTable = b.weight("emb_cat.weight", b.uniform([total, catDim], Math.sqrt(3)));
    const rows = b.op("Add", [categorical, b.ints("emb_cat.offsets", offsets)], "emb_cat/rows");
    parts.push(b.flatten(b.op("Gather", [catTable, rows], "emb_cat/Gather_output_0"), "emb_cat"));
  }
  if (withCodes) {
    const codes = b.input("codes", "int64", ["N", 3]);
    const codeTable = b.weight(
      "emb_code.weight",
      b.uniform([opts.codeVocab, codeDim], Math.sqrt(3)),
    );
    parts.push(
      b.reduceMean(b.op("Gather", [codeTable, codes], "emb_code/Gather_output_0"), [1], "emb_code"),
    );
  }
  const joined = b.op("Concat", parts, "concat/Concat_output_0", {
    axis: { type: "int", value: 1 },
  });
  const width = opts.numeric + nCat * catDim + (withCodes ? codeDim : 0);
  const z1 = b.relu(b.linear(joined, width, h1, "body.fc1"), "body/relu1");
  // No dropout, so that training is a deterministic function of the seed (see cnn.ts).
  const z2 = b.relu(b.linear(z1, h1, h2, "body.fc2"), "body/relu2");
  const logits = b.linear(z2, h2, 1, "body.fc3");
  return {
    model: b.finish(logits, "logits", ["N", 1]),
    // The shallow alternate sends the joined features, which include the raw numeric
    // columns: it is there to show the compute/traffic trade-off, not for deployment.
    cuts: { default: [z1], ushaped: [z1, z2], alternate: [joined] },
    alternateName: "shallow",
  };
}
