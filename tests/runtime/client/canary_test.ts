/**
 * Canary test: a unique byte pattern planted in every record image must never appear in
 * anything the sandboxed raw side sends towards the courier — neither as the stored uint8
 * pixels nor as the float32 pixels the model reads — over training steps, evaluation and a
 * weight export. Labels do travel in vanilla mode, so the canary is in the pixels only.
 * Controls show the same search finds the pattern wherever it is present.
 */
import assert from "node:assert/strict";
import { compileModel } from "../../../models/train/compile.ts";
import { readModel } from "../../../models/onnx/read_model.ts";
import type { Tensor } from "../../../models/tensor.ts";
import { generateKeyPair } from "../../../crypto/noise/dh.ts";
import { createEngine } from "../../../runtime/engine/mod.ts";
import { loadDataset } from "../../../runtime/data/load_dataset.ts";
import { SegmentRunner } from "../../../runtime/train/segment_runner.ts";
import { RawSideProcess } from "../../../runtime/client/raw_side/process.ts";
import {
  decodeFrame,
  encodeFrame,
  FRAME_KIND,
  FrameReader,
} from "../../../runtime/client/raw_side/wire.ts";
import { makeClinicDir } from "./sandbox_env.ts";
import { type ImageSet, SIZE } from "./fixture.ts";

const engine = await createEngine("wasm");

function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((s, c) => s + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

function indexOf(hay: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

/** The canary's needles: its 16 stored bytes, and each 4-pixel run of its float32 form (x/255). */
function needles(canary: Uint8Array): Uint8Array[] {
  const f32 = new Uint8Array(Float32Array.from(canary, (v) => v / 255).buffer);
  return [canary, ...[0, 16, 32, 48].map((o) => f32.slice(o, o + 16))];
}

function found(hay: Uint8Array, canary: Uint8Array): boolean {
  return needles(canary).some((n) => indexOf(hay, n) >= 0);
}

/** Every image is the canary repeated; labels alternate (they may travel). */
function planted(n: number, canary: Uint8Array): ImageSet {
  const images = new Uint8Array(n * SIZE * SIZE);
  for (let i = 0; i < images.length; i++) images[i] = canary[i % canary.length];
  return { images, labels: Uint8Array.from({ length: n }, (_, i) => i % 2) };
}

Deno.test("canary: no byte the raw side emits carries the planted record pattern", async () => {
  const canary = crypto.getRandomValues(new Uint8Array(16));
  const c = await makeClinicDir({
    train: planted(20, canary),
    val: planted(6, canary),
    test: planted(7, canary),
  });
  const fromRawSide: Uint8Array[] = [];
  const proc = await RawSideProcess.start(c.config, {
    onStderr: () => {},
    onBytes: (dir, b) => {
      if (dir === "fromRawSide") fromRawSide.push(b.slice());
    },
  });
  try {
    const segments = compileModel(readModel(await Deno.readFile(c.modelFile)), {
      loss: "bce",
      cuts: c.config.cuts,
      seed: c.config.seed,
    });
    const server = await SegmentRunner.create(engine, segments[1]);
    const cut = c.config.cuts[0];
    const info = await proc.info();
    for (let b = 0; b < info.stepsPerEpoch; b++) {
      const f = await proc.forward(`1:${b}`, 1, b);
      const s = await server.step({ [cut]: f.activation }, f.labels!);
      await proc.backward(`1:${b}`, s.inputGrads[cut]);
    }
    await proc.forward("2:0", 2, 0);
    for (const split of ["val", "test"] as const) {
      const rows = split === "val" ? info.valSize : info.testSize;
      for (let b = 0; b * info.evalBatchSize < rows; b++) await proc.evalForward(split, b);
    }
    await proc.exportWeights({ name: "clinic-b", publicKey: generateKeyPair().publicKey }, { run: new Uint8Array(32), epoch: 1 });
    await proc.checkpoint(1);
    await server.release();
  } finally {
    await proc.close();
  }
  try {
    const stream = concat(fromRawSide);
    assert.ok(stream.length > 5_000, `captured ${stream.length} bytes`);
    assert.equal(found(stream, canary), false, "the canary leaked into the raw side's output");

    // Every frame holds only what may leave: cut activations, labels (vanilla), sealed weights.
    const reader = new FrameReader(ReadableStream.from([stream]));
    const names = new Set<string>();
    for (let body = await reader.next(); body; body = await reader.next()) {
      const m = decodeFrame(body);
      assert.notEqual(m.kind, FRAME_KIND.error, JSON.stringify(m.header));
      for (const k of m.tensors.keys()) names.add(k);
    }
    assert.deepEqual([...names].sort(), ["activation", "labels", "sealed"]);

    // Controls: the same search finds the canary where it is — in the record file, and in a
    // frame that would carry the images as the model sees them (float32 after scaling).
    assert.equal(found(c.dataBytes, canary), true, "control: canary in the .npz");
    const data = await loadDataset(c.dataFile);
    const leaky = encodeFrame({
      id: 1,
      kind: FRAME_KIND.reply,
      method: "forward",
      header: {},
      tensors: new Map<string, Tensor>([["activation", data.train.take([3]).inputs.image]]),
    });
    assert.equal(
      found(concat([stream, leaky]), canary),
      true,
      "control: a leaked image would be caught",
    );
    assert.equal(
      indexOf(leaky, needles(canary)[1]) >= 0,
      true,
      "control: float32 form of the pixels",
    );
  } finally {
    await c.remove();
  }
});
