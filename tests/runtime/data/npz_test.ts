import assert from "node:assert/strict";
import fc from "fast-check";
import { unzipSync, zipSync } from "fflate";
import { tensor } from "../../../models/tensor.ts";
import { isStringArray, writeNpy } from "../../../runtime/data/npy.ts";
import { listNpz, readNpz, writeNpz } from "../../../runtime/data/npz.ts";
import { readNpzFile, writeNpzFile } from "../../../runtime/data/npz_file.ts";

const PNEUMONIA = new URL("../../../data/pneumoniamnist.npz", import.meta.url);
const GOLDEN = new URL("../../fixtures/models/pneumonia_cnn.golden.npz", import.meta.url);
const haveGolden = (() => {
  try {
    return Deno.statSync(GOLDEN).isFile;
  } catch {
    return false;
  }
})();

Deno.test("npz: data/pneumoniamnist.npz has the MedMNIST arrays with the documented shapes", async () => {
  const a = await readNpzFile(PNEUMONIA);
  assert.deepEqual([...a.keys()].sort(), [
    "test_images",
    "test_labels",
    "train_images",
    "train_labels",
    "val_images",
    "val_labels",
  ]);
  const expect: Record<string, number> = { train: 4708, val: 524, test: 624 };
  for (const [split, n] of Object.entries(expect)) {
    const images = a.get(`${split}_images`)!, labels = a.get(`${split}_labels`)!;
    assert.equal(images.dtype, "uint8");
    assert.deepEqual(images.dims, [n, 28, 28]);
    assert.equal(labels.dtype, "uint8");
    assert.deepEqual(labels.dims, [n, 1]);
  }
  // The README's class counts: train 1214 normal / 3494 pneumonia, test 234 / 390.
  const sum = (k: string) => (a.get(k)!.data as Uint8Array).reduce((s, x) => s + x, 0);
  assert.equal(sum("train_labels"), 3494);
  assert.equal(sum("test_labels"), 390);
});

Deno.test({
  name: "npz: reads the PyTorch golden file, cut.name as a string",
  ignore: !haveGolden,
  fn: async () => {
    const g = await readNpzFile(GOLDEN);
    const name = g.get("cut.name")!;
    assert.ok(isStringArray(name));
    assert.deepEqual(name.dims, []);
    assert.deepEqual(name.data, ["/features/features.5/MaxPool_output_0"]);
    assert.deepEqual(g.get("input.image")!.dims, [8, 1, 28, 28]);
    assert.deepEqual(g.get("cut.grad")!.dims, [8, 32, 7, 7]);
    const loss = g.get("loss")!;
    assert.equal(loss.dtype, "float32");
    assert.deepEqual(loss.dims, []);
    assert.ok((loss.data as Float32Array)[0] > 0);
  },
});

Deno.test("npz: writeNpz/readNpz round-trip tensors and strings; output is deterministic", () => {
  fc.assert(
    fc.property(
      fc.uniqueArray(fc.stringMatching(/^[a-z][a-z0-9._]{0,12}$/), { minLength: 1, maxLength: 5 }),
      fc.array(fc.float({ noNaN: true }), { maxLength: 20 }),
      (keys, values) => {
        const arrays: Record<
          string,
          ReturnType<typeof tensor> | { dtype: "string"; dims: number[]; data: string[] }
        > = {};
        keys.forEach((k, i) => {
          arrays[k] = i === 0
            ? { dtype: "string", dims: [], data: [`name-${k}`] }
            : tensor("float32", [values.length], Float32Array.from(values));
        });
        const zip = writeNpz(arrays);
        assert.deepEqual(writeNpz(arrays), zip); // fixed member times
        const back = readNpz(zip, "rt.npz");
        assert.deepEqual([...back.keys()].sort(), [...keys].sort());
        for (const k of keys) {
          assert.deepEqual(back.get(k)!.dims, arrays[k].dims);
          assert.deepEqual([...back.get(k)!.data as ArrayLike<unknown> as unknown[]], [
            ...arrays[k].data as ArrayLike<unknown> as unknown[],
          ]);
        }
      },
    ),
    { numRuns: 50 },
  );
});

Deno.test("npz: writeNpz accepts a Map, deflates, and names members <key>.npy", () => {
  const zeros = tensor("float32", [1000]);
  const zip = writeNpz(new Map([["z", zeros]]));
  assert.ok(zip.length < 400, `expected deflate to shrink 4 KB of zeros, got ${zip.length} bytes`);
  assert.deepEqual(Object.keys(unzipSync(zip)), ["z.npy"]);
  assert.throws(() => writeNpz({ "": zeros }), /must not be empty/);
});

Deno.test("npz: file helpers write and read back", async () => {
  const path = await Deno.makeTempFile({ suffix: ".npz" });
  try {
    await writeNpzFile(path, { x: tensor("int64", [2], new BigInt64Array([1n, -2n])) });
    const back = await readNpzFile(path);
    assert.deepEqual([...(back.get("x")!.data as BigInt64Array)], [1n, -2n]);
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("npz: a corrupt zip is an error naming the file", () => {
  const good = writeNpz({ x: tensor("float32", [64]) });
  const cases: Uint8Array[] = [
    new TextEncoder().encode("this is not a zip archive at all, just some text"),
    good.subarray(0, good.length - 30), // end-of-central-directory cut off
    new Uint8Array(0),
  ];
  for (const bytes of cases) {
    assert.throws(
      () => readNpz(bytes, "broken.npz"),
      (e: Error) =>
        e instanceof TypeError &&
        e.message.startsWith("broken.npz: not a valid .npz (ZIP) archive"),
    );
  }
  // A damaged deflate stream inside an intact directory.
  const damaged = good.slice();
  for (let i = 40; i < 60; i++) damaged[i] ^= 0xff;
  assert.throws(() => readNpz(damaged, "damaged.npz"), /damaged\.npz/);
});

Deno.test("npz: a truncated .npy member is named by archive and member", () => {
  const full = writeNpy(tensor("float32", [10]));
  const zip = zipSync({ "w.npy": full.subarray(0, full.length - 4) });
  assert.throws(
    () => readNpz(zip, "t.npz"),
    (e: Error) => e.message === "t.npz:w.npy: truncated: header says 40 bytes of data, file has 36",
  );
});

Deno.test("npz: keys and maxBytes options; listNpz does not inflate", () => {
  const zip = writeNpz({ a: tensor("uint8", [100]), b: tensor("uint8", [100]) });
  assert.deepEqual(listNpz(zip).sort(), ["a", "b"]);
  assert.deepEqual([...readNpz(zip, "k.npz", { keys: ["b"] }).keys()], ["b"]);
  assert.throws(
    () => readNpz(zip, "k.npz", { keys: ["c"] }),
    /k\.npz: no array 'c'; found 'a', 'b'/,
  );
  assert.throws(
    () => readNpz(zip, "big.npz", { maxBytes: 150 }),
    (e: Error) =>
      e instanceof RangeError && e.message.includes("big.npz") && e.message.includes("maxBytes"),
  );
  // Non-.npy members (e.g. a README) are skipped, as numpy.load only exposes them raw.
  const mixed = zipSync({
    "x.npy": writeNpy(tensor("uint8", [1])),
    "notes.txt": new Uint8Array([65]),
  });
  assert.deepEqual([...readNpz(mixed).keys()], ["x"]);
});

Deno.test("readNpz checks each array's stored CRC-32: a damaged byte is named, not loaded", () => {
  const n = 4096;
  const arrays = { weights: tensor("float32", [n], Float32Array.from({ length: n }, (_, i) => Math.sin(i))), step: tensor("int32", [1], Int32Array.of(7)) };
  for (const level of [0, 6] as const) {
    const bytes = writeNpz(arrays, { level });
    assert.deepEqual(readNpz(bytes).get("step")!.data, Int32Array.of(7)); // whole: reads
    // Damage one byte in the middle of the archive (inside the weights member's data).
    const bad = bytes.slice();
    bad[Math.floor(bad.length / 2)] ^= 0x5a;
    assert.throws(
      () => readNpz(bad, "ck.npz"),
      (e: unknown) => e instanceof TypeError && /^ck\.npz: (array 'weights' fails its CRC-32 check \(stored 0x[0-9a-f]{8}, read 0x[0-9a-f]{8}\): the file is damaged|not a valid \.npz)/.test(e.message),
      `level ${level}`,
    );
  }
  // Stored (level 0), the damage inflates without complaint: only the CRC-32 catches it.
  const stored = writeNpz(arrays, { level: 0 }).slice();
  stored[Math.floor(stored.length / 2)] ^= 0x5a;
  assert.throws(() => readNpz(stored, "ck.npz"), /array 'weights' fails its CRC-32 check/);
});
