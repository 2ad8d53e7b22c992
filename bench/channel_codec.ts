/**
 * Channel + codec benchmark: on REAL cut-layer activations — pneumonia_cnn's front
 * segment run on 64 PneumoniaMNIST training images, a 64×32×7×7 float32 tensor — and the
 * gradient that comes back for it, it measures per codec setting:
 *
 * - encode + decode time and throughput (MB/s of raw float32), and the wire size as a share of
 *   the raw float32 bytes;
 * - seal + open time over the Noise channel (64 KiB frames), with the cipher (`--cipher`) and
 *   the implementation that seals frames (`--transport`: `native` = node:crypto, the default,
 *   or `noble` = @noble/ciphers, the pure-JavaScript reference);
 * - the floor under the channel: the AEAD alone (node:crypto, no framing) sealing and opening
 *   the int8 message in the same chunks;
 * - the channel + codec cost of one split training step (activation out, gradient back) as a
 *   share of that step's compute, measured in the same run on the same machine.
 *
 * `--reps` times each codec setting; `--step-reps` (default 200) the pairs of steps, float and
 * quantised in the graphs, that give the step compute and the quantised step's extra time (the
 * median of 60 paired differences moved by ±0.2 ms between runs on the development VM; 200 to
 * 300 pairs held it within ±0.06 ms). Never pass/fail on time: it prints figures.
 *
 * ```sh
 * deno task bench:channel [--engine native|wasm] [--reps 15] [--step-reps 60]
 *   [--cipher chachapoly|aesgcm] [--transport native|noble]
 * ```
 * @module
 */
import { parseArgs } from "node:util";
import { createCipheriv, createDecipheriv } from "node:crypto";
import type { Tensor } from "../models/tensor.ts";
import { readModel } from "../models/onnx/read_model.ts";
import { compileModel } from "../models/train/compile.ts";
import { loadDataset } from "../runtime/data/load_dataset.ts";
import { createEngine, type EngineName } from "../runtime/engine/mod.ts";
import { SegmentRunner } from "../runtime/train/segment_runner.ts";
import { runOneBatch } from "../runtime/train/one_batch.ts";
import {
  type CodecOptions,
  decodeQuantizedTensor,
  decodeTensor,
  encodeQuantizedTensor,
  encodeTensor,
} from "../runtime/codec/mod.ts";
import { quantizeCutTraffic } from "../models/train/quantize_segments.ts";
import { quantizedNames } from "../models/train/quantize_cut.ts";
import type { QuantizedTensor } from "../runtime/codec/mod.ts";
import {
  type ChannelCipher,
  initiatorHandshake,
  responderHandshake,
} from "../crypto/channel/handshake.ts";
import type { CipherBackend } from "../crypto/noise/cipher_functions.ts";
import { describeNoiseCipher } from "../crypto/noise/cipher_select.ts";
import { openChunked, sealChunked } from "../crypto/channel/chunker.ts";
import { generateStaticKeyPair } from "../crypto/keys/key_pair.ts";
import { formatTable, summarize } from "./_timing.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    engine: { type: "string", default: "native" },
    reps: { type: "string", default: "15" },
    "step-reps": { type: "string", default: "200" },
    cipher: { type: "string", default: "chachapoly" },
    transport: { type: "string", default: "native" },
  },
});
const aead = {
  cipher: values.cipher as ChannelCipher,
  transport: values.transport as CipherBackend,
};
const reps = Number(values.reps);
const stepReps = Number(values["step-reps"]);
const engineName = values.engine as EngineName;

const root = new URL("../", import.meta.url);
const fixtureModel = new URL("tests/fixtures/models/pneumonia_cnn.onnx", root);
const model = readModel(await Deno.readFile(fixtureModel), "pneumonia_cnn.onnx");
const cut = "/features/features.5/MaxPool_output_0";
const data = await loadDataset(new URL("data/pneumoniamnist.npz", root).pathname);
const batch = data.train.take(Array.from({ length: 64 }, (_, i) => i));
const engine = await createEngine(engineName);
const segments = compileModel(model, { loss: "bce", cuts: [cut] });
const runners = await Promise.all(segments.map((s) => SegmentRunner.create(engine, s)));
await Promise.all(runners.map((r) => r.warm()));


// The step with the cut and its gradient quantised inside the graphs
// (models/train/quantize_segments.ts): int8 carriers leave the graphs, so the codec only moves
// bytes. Its extra graph time (quantise/dequantise nodes) is charged to the codec below.
const qSegments = quantizeCutTraffic(segments);
const qRunners = await Promise.all(qSegments.map((s) => SegmentRunner.create(engine, s)));
await Promise.all(qRunners.map((r) => r.warm()));
const carried = (out: Record<string, Tensor>): QuantizedTensor => {
  const n = quantizedNames(cut);
  const q = out[n.q];
  return {
    dims: q.dims,
    q: q.data as Int8Array,
    params: { axis: 1, scales: out[n.scale].data as Float32Array, zeroPoints: out[n.zeroPoint].data as Int8Array },
  };
};

// One split step's compute (front forward, server step, front backward), no network: the float
// graphs and the in-graph-quantised ones in turn, so that a busy machine's drift hits both.
let activation: Tensor | undefined, gradient: Tensor | undefined;
let qActivation: QuantizedTensor | undefined, qGradient: QuantizedTensor | undefined;
const stepMs: number[] = [], qStepMs: number[] = [];
const floatStep = async () => {
  const t0 = performance.now();
  const r = await runOneBatch(engine, segments, batch.inputs, batch.target, runners);
  activation = r.cuts[0].activation;
  gradient = r.cuts[0].grad;
  return performance.now() - t0;
};
const quantisedStep = async () => {
  const t0 = performance.now();
  const f = await qRunners[0].forward(batch.inputs);
  const st = await qRunners[1].step(f.outputs, batch.target);
  await qRunners[0].backward(f.saved, st.inputGrads);
  const ms = performance.now() - t0;
  qActivation = carried(f.outputs);
  qGradient = carried(st.inputGrads);
  return ms;
};
for (let i = 0; i < stepReps + 3; i++) {
  // Which of the pair runs first alternates, so neither always finds the caches the other left.
  let a: number, b: number;
  if (i % 2 === 0) {
    a = await floatStep();
    b = await quantisedStep();
  } else {
    b = await quantisedStep();
    a = await floatStep();
  }
  if (i >= 3) {
    stepMs.push(a);
    qStepMs.push(b);
  }
}
const step = summarize(stepMs).median;
const rawBytes = activation!.data.byteLength;
const qStep = summarize(qStepMs).median;
// The quantise/dequantise nodes' own time: the median of the paired differences (each
// quantised step against the float step beside it, so both see the same load), never
// below 0. The difference of the fastest runs is printed beside it: on a busy machine the two
// disagree by more than these nodes cost, so read either as a bound only there.
const inGraphMs = Math.max(0, summarize(qStepMs.map((q, i) => q - stepMs[i])).median);
const fastestGap = summarize(qStepMs).min - summarize(stepMs).min;

// A real IK channel pair.
const serverKeys = generateStaticKeyPair(), clinicKeys = generateStaticKeyPair();
const hs = initiatorHandshake({
  staticKeyPair: clinicKeys,
  serverPublicKey: serverKeys.publicKey,
  ...aead,
});
const resp = responderHandshake(
  { staticKeyPair: serverKeys, lookupPeer: () => ({ name: "clinic" }), ...aead },
  hs.message1,
);
const cipherInfo = describeNoiseCipher(
  aead.cipher === "aesgcm" ? "AESGCM" : "ChaChaPoly",
  aead.transport,
);
const clinic = hs.finish(resp.message2), server = resp.channel;

/**
 * The AEAD alone, no framing: node:crypto seals and opens `message` in the channel's chunks
 * (fresh cipher objects per chunk, as the channel's native cipher makes them); median ms of
 * seal + open over `reps`. What the channel cannot go below with this cipher on this machine.
 */
function rawAeadMs(message: Uint8Array, chunk: number): number {
  const algorithm = aead.cipher === "aesgcm" ? "aes-256-gcm" : "chacha20-poly1305";
  const key = new Uint8Array(32), iv = new Uint8Array(12), options = { authTagLength: 16 };
  const ms: number[] = [];
  for (let i = 0; i < reps + 3; i++) {
    const t0 = performance.now();
    for (let off = 0; off < message.length; off += chunk) {
      const part = message.subarray(off, Math.min(off + chunk, message.length));
      const c = createCipheriv(algorithm as "chacha20-poly1305", key, iv, options);
      const body = c.update(part);
      c.final();
      const d = createDecipheriv(algorithm as "chacha20-poly1305", key, iv, options);
      d.setAuthTag(c.getAuthTag());
      d.update(body);
      d.final();
    }
    if (i >= 3) ms.push(performance.now() - t0);
  }
  return summarize(ms).median;
}

const settings: [string, CodecOptions][] = [
  ["float32, no deflate", { dtype: "float32", level: 0 }],
  ["float32, deflate 1", { dtype: "float32", level: 1 }],
  ["float16, deflate 1", { dtype: "float16", level: 1 }],
  ["int8, no deflate", { dtype: "int8", level: 0 }],
  ["int8, deflate 1", { dtype: "int8", level: 1 }],
  ["int8, deflate 6", { dtype: "int8", level: 6 }],
  ["int8 + top-10%, deflate 6", { dtype: "int8", level: 6, topK: 0.1 }],
];

const IN_GRAPH = "int8 in the graph, no deflate";
settings.push([IN_GRAPH, { dtype: "int8", level: 0 }]);

const rows: string[][] = [];
const shareOf = new Map<string, number>();
// Two passes: the first only warms up the JIT for every code path, the second is measured.
for (const pass of [0, 1]) for (const [name, opts] of settings) {
  const codecMs: number[] = [], channelMs: number[] = [];
  let wire = 0, gradWire = 0;
  for (let i = 0; i < reps + 3; i++) {
    const inGraph = name === IN_GRAPH;
    const t0 = performance.now();
    const a = inGraph ? encodeQuantizedTensor(qActivation!) : encodeTensor(activation!, opts);
    const g = inGraph ? encodeQuantizedTensor(qGradient!) : encodeTensor(gradient!, opts);
    const t1 = performance.now();
    const fa = sealChunked(clinic, 1, a);
    const ra = openChunked(server, fa);
    const fg = sealChunked(server, 2, g);
    const rg = openChunked(clinic, fg);
    const t2 = performance.now();
    if (inGraph) {
      decodeQuantizedTensor(ra.payload);
      decodeQuantizedTensor(rg.payload);
    } else {
      decodeTensor(ra.payload);
      decodeTensor(rg.payload);
    }
    const t3 = performance.now();
    if (i >= 3) {
      codecMs.push(t1 - t0 + (t3 - t2));
      channelMs.push(t2 - t1);
    }
    wire = fa.reduce((s, f) => s + f.length, 0);
    gradWire = fg.reduce((s, f) => s + f.length, 0);
  }
  if (pass === 0) continue;
  // In the graph, the quantise/dequantise nodes' extra step time is codec time too.
  const codec = summarize(codecMs).median + (name === IN_GRAPH ? inGraphMs : 0);
  const chan = summarize(channelMs).median;
  shareOf.set(name, (100 * (codec + chan)) / step);
  rows.push([
    name,
    (codec / 2).toFixed(2),
    ((2 * rawBytes) / 1e6 / (codec / 1000)).toFixed(0),
    (chan / 2).toFixed(2),
    ((2 * rawBytes) / 1e6 / (chan / 1000)).toFixed(0),
    `${((100 * wire) / rawBytes).toFixed(1)}%`,
    `${((100 * gradWire) / rawBytes).toFixed(1)}%`,
    `${((100 * (codec + chan)) / step).toFixed(1)}%`,
  ]);
}

console.log(`machine: ${navigator.hardwareConcurrency} CPUs, ${Deno.build.os}/${Deno.build.arch}; engine ${engineName}`);
console.log(`activation: [${activation!.dims}] float32 = ${rawBytes} bytes (real: pneumonia_cnn front on 64 PneumoniaMNIST images)`);
console.log(`one split training step (compute only, batch 64, ${engineName}): ${step.toFixed(1)} ms median of ${stepReps}`);
console.log(
  `the same step with the cut quantised in the graphs: ${qStep.toFixed(1)} ms median; paired ` +
    `difference ${inGraphMs.toFixed(2)} ms (median; fastest runs differ by ${fastestGap.toFixed(2)} ms), ` +
    `charged to that setting's codec`,
);
console.log(
  `channel: ${cipherInfo.cipher} via ${cipherInfo.implementation}` +
    (cipherInfo.fallbackReason ? ` (native not used: ${cipherInfo.fallbackReason})` : ""),
);
if (cipherInfo.backend === "native") {
  const message = encodeQuantizedTensor(qActivation!);
  console.log(
    `floor: ${cipherInfo.cipher} in node:crypto alone seals and opens the int8 message ` +
      `(${message.length} bytes, ${clinic.maxPayloadSize}-byte chunks) in ` +
      `${rawAeadMs(message, clinic.maxPayloadSize).toFixed(3)} ms per tensor (median; no framing)`,
  );
}
console.log("per tensor: codec = encode + decode; channel = seal + open (64 KiB frames). Medians; wire = sealed bytes.");
console.log(formatTable(
  ["setting", "codec ms", "codec MB/s", "channel ms", "channel MB/s", "wire act.", "wire grad", "share of step"],
  rows,
));
console.log("share of step = (codec + channel, activation and gradient) / step compute; target <= 5%.");
console.log("wire act. = sealed activation bytes / raw float32 bytes; target for int8+deflate <= 25%.");
for (const r of [...runners, ...qRunners]) await r.release();
await engine.dispose();
console.log(
  `int8 through the JavaScript codec (quantise/dequantise in JavaScript): ` +
    `${shareOf.get("int8, no deflate")!.toFixed(1)} % of a ${engineName} step`,
);
// The summary line, last: int8 quantised in the graphs, and float32, both without deflate
// (goal x <= 5, y <= 15).
console.log(
  `channel+codec: ${shareOf.get(IN_GRAPH)!.toFixed(1)} % of a ${engineName} step (int8), ` +
    `${shareOf.get("float32, no deflate")!.toFixed(1)} % (float32)`,
);
