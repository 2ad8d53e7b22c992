/**
 * Benchmark of the tensor wire codec on a real-valued cut activation: the
 * pneumonia_cnn cut activation from the golden file (8×32×7×7 float32) tiled
 * to batch 64 (64×32×7×7, 392 KiB raw). For each setting it prints the
 * encode + decode throughput (MB of raw float32 per second, median of several
 * timed repetitions after warm-up) and the size ratio (encoded bytes, padding
 * included, / raw float32 bytes).
 *
 * Caveat printed with the table: tiling repeats the 8 real samples 8 times.
 * DEFLATE's 32 KiB window can match those repeats when one tiled period of
 * the wire bytes fits in it (int8: 12.25 KiB, float16: 24.5 KiB; float32's
 * 49 KiB does not), which flatters the ratio. The last column therefore also
 * gives the ratio on the untiled 8-sample tensor, which has no repeats.
 *
 * Run: npx -y deno@2.9.6 run -A bench/codec.ts
 *
 * @example
 * ```ts
 * // deno run -A bench/codec.ts   (prints a table; never passes or fails)
 * ```
 * @module
 */

import { unzipSync } from "fflate";
import { type CodecOptions, decodeTensor, encodeTensor } from "../runtime/codec/mod.ts";
import { type Tensor, tensor } from "../models/tensor.ts";

const GOLDEN = new URL("../tests/fixtures/models/pneumonia_cnn.golden.npz", import.meta.url).pathname;

/** Reads the '<f4' C-order `cut.activation.npy` from the golden npz (NEP 1 .npy layout). */
function goldenActivation(): Tensor<"float32"> {
  const name = "cut.activation.npy";
  const npy = unzipSync(Deno.readFileSync(GOLDEN), { filter: (f) => f.name === name })[name];
  const dv = new DataView(npy.buffer, npy.byteOffset, npy.byteLength);
  const v1 = npy[6] === 1;
  const headerLen = v1 ? dv.getUint16(8, true) : dv.getUint32(8, true);
  const start = v1 ? 10 : 12;
  const header = new TextDecoder().decode(npy.subarray(start, start + headerLen));
  if (!header.includes("'<f4'") || !header.includes("False")) {
    throw new Error(`unexpected header ${header}`);
  }
  const dims = /\(([^)]*)\)/.exec(header)![1].split(",").filter((s) => s.trim()).map(Number);
  return tensor("float32", dims, new Float32Array(npy.slice(start + headerLen).buffer));
}

function tile(a: Tensor<"float32">, batch: number): Tensor<"float32"> {
  const out = new Float32Array((a.data.length / a.dims[0]) * batch);
  for (let o = 0; o < out.length; o += a.data.length) {
    out.set(a.data.subarray(0, out.length - o), o);
  }
  return tensor("float32", [batch, ...a.dims.slice(1)], out);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}

function time(f: () => void, reps: number): number {
  const ts: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    f();
    ts.push(performance.now() - t0);
  }
  return median(ts);
}

const settings: [string, CodecOptions][] = [];
for (const dtype of ["float32", "float16", "int8"] as const) {
  for (const level of [0, 1, 6]) settings.push([`${dtype} L${level}`, { dtype, level }]);
}
settings.push(["int8 + top-k 10% L6", { dtype: "int8", topK: 0.1, level: 6 }]);
settings.push(["int8 + top-k 10% L1", { dtype: "int8", topK: 0.1, level: 1 }]);

const small = goldenActivation();
const act = tile(small, 64);
const rawBytes = act.data.byteLength;
const WARMUP = 5, REPS = 15;

console.log(
  `tensor codec bench: ${
    act.dims.join("×")
  } float32 (${rawBytes} bytes raw), Deno ${Deno.version.deno}`,
);
console.log(
  `median of ${REPS} runs after ${WARMUP} warm-up runs; default Padmé padding included in sizes\n`,
);
const rows: string[][] = [[
  "setting",
  "encode ms",
  "decode ms",
  "enc MB/s",
  "dec MB/s",
  "enc+dec MB/s",
  "bytes",
  "ratio",
  "ratio 8×",
]];
for (const [name, opts] of settings) {
  let bytes = encodeTensor(act, opts);
  for (let i = 0; i < WARMUP; i++) decodeTensor(encodeTensor(act, opts));
  const enc = time(() => {
    bytes = encodeTensor(act, opts);
  }, REPS);
  const dec = time(() => decodeTensor(bytes), REPS);
  const mb = rawBytes / 1e6;
  const ratioSmall = encodeTensor(small, opts).length / small.data.byteLength;
  rows.push([
    name,
    enc.toFixed(2),
    dec.toFixed(2),
    (mb / (enc / 1e3)).toFixed(0),
    (mb / (dec / 1e3)).toFixed(0),
    (mb / ((enc + dec) / 1e3)).toFixed(0),
    String(bytes.length),
    `${(bytes.length / rawBytes * 100).toFixed(1)} %`,
    `${(ratioSmall * 100).toFixed(1)} %`,
  ]);
}
const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
for (const [i, r] of rows.entries()) {
  console.log(
    r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join("  "),
  );
  if (i === 0) console.log(widths.map((w) => "-".repeat(w)).join("  "));
}
console.log(
  "\nratio = encoded bytes / raw float32 bytes of the 64-batch; ratio 8× = the same on the untiled 8×32×7×7\n" +
    "activation (no repeated samples for DEFLATE to exploit). Target: int8 + DEFLATE ≤ 25 %.",
);
