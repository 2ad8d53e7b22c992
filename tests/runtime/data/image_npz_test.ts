import assert from "node:assert/strict";
import { tensor } from "../../../models/tensor.ts";
import { loadImageNpz } from "../../../runtime/data/image_npz.ts";
import { writeNpz } from "../../../runtime/data/npz.ts";

const PNEUMONIA = new URL("../../../data/pneumoniamnist.npz", import.meta.url);

Deno.test("image_npz: PneumoniaMNIST becomes float32 NCHW in [0,1] with float [N,1] labels", () => {
  const raw = Deno.readFileSync(PNEUMONIA);
  const d = loadImageNpz(raw, "pneumoniamnist.npz");
  assert.deepEqual(d.shape, { channels: 1, height: 28, width: 28 });
  assert.deepEqual(d.train.images.dims, [4708, 1, 28, 28]);
  assert.deepEqual(d.val!.images.dims, [524, 1, 28, 28]);
  assert.deepEqual(d.test.images.dims, [624, 1, 28, 28]);
  assert.equal(d.train.labels.dtype, "float32");
  assert.deepEqual(d.train.labels.dims, [4708, 1]);
  let min = Infinity, max = -Infinity;
  for (const v of d.test.images.data) {
    min = Math.min(min, v);
    max = Math.max(max, v);
  }
  assert.ok(min >= 0 && max <= 1 && max > 0.9, `pixel range [${min}, ${max}]`);
  assert.equal((d.test.labels.data as Float32Array).reduce((s, x) => s + x, 0), 390);
  // Normalisation shifts and scales the same pixels.
  const n = loadImageNpz(raw, "p.npz", { normalize: { mean: 0.5, std: 0.25 } });
  assert.ok(Math.abs(n.test.images.data[300] - (d.test.images.data[300] - 0.5) / 0.25) < 1e-6);
});

Deno.test("image_npz: NHWC colour images are transposed to NCHW; multiclass labels are int64", () => {
  // 1 image, 2×2 pixels, 3 channels: value = 100·channel + pixel.
  const px = new Uint8Array(12);
  for (let p = 0; p < 4; p++) for (let c = 0; c < 3; c++) px[p * 3 + c] = 100 * c + p;
  const zip = writeNpz({
    train_images: tensor("uint8", [1, 2, 2, 3], px),
    train_labels: tensor("uint8", [1, 1], new Uint8Array([2])),
    test_images: tensor("uint8", [1, 2, 2, 3], px),
    test_labels: tensor("int64", [1], new BigInt64Array([0n])),
  });
  const d = loadImageNpz(zip, "rgb.npz", { labels: "multiclass" });
  assert.equal(d.val, undefined);
  assert.deepEqual(d.train.images.dims, [1, 3, 2, 2]);
  const expect = [0, 1, 2, 3, 100, 101, 102, 103, 200, 201, 202, 203].map((v) =>
    Math.fround(v / 255)
  );
  assert.deepEqual([...d.train.images.data], expect);
  assert.equal(d.train.labels.dtype, "int64");
  assert.deepEqual([...d.train.labels.data], [2n]);
  assert.throws(
    () => loadImageNpz(zip, "rgb.npz"),
    /rgb\.npz:train_labels: label 0 is 2: binary labels must be 0 or 1/,
  );
});

Deno.test("image_npz: wrong keys list what was found; bad shapes are named", () => {
  const zip = writeNpz({ x_train: tensor("uint8", [1, 2, 2]), y_train: tensor("uint8", [1]) });
  assert.throws(
    () => loadImageNpz(zip, "keras.npz"),
    (e: Error) =>
      e instanceof RangeError && e.message.includes("keras.npz: missing 'train_images'") &&
      e.message.includes("found 'x_train', 'y_train'"),
  );
  const mismatch = writeNpz({
    train_images: tensor("uint8", [2, 2, 2]),
    train_labels: tensor("uint8", [3, 1]),
    test_images: tensor("uint8", [1, 2, 2]),
    test_labels: tensor("uint8", [1, 1]),
  });
  assert.throws(
    () => loadImageNpz(mismatch, "m.npz"),
    /m\.npz:train_labels: labels of shape \[3, 1\]: expected \[2, 1\]/,
  );
  const wrongType = writeNpz({
    train_images: tensor("int32", [1, 2, 2]),
    train_labels: tensor("uint8", [1, 1]),
    test_images: tensor("int32", [1, 2, 2]),
    test_labels: tensor("uint8", [1, 1]),
  });
  assert.throws(
    () => loadImageNpz(wrongType, "w.npz"),
    /w\.npz:train_images: images of dtype int32/,
  );
});
