import assert from "node:assert/strict";
import { tensor } from "../../../models/tensor.ts";
import { checkImageShape, defaultImageSchema, normaliseImages } from "../../../runtime/data/image_schema.ts";
import { loadDataset } from "../../../runtime/data/load_dataset.ts";
import { DataSchemaError } from "../../../runtime/data/data_schema_error.ts";

const DATA = new URL("../../../data/pneumoniamnist.npz", import.meta.url).pathname;

Deno.test("image schema: a .npz implies its shape and x / 255; a study's shape and normalisation are applied or refused", async () => {
  const d = await loadDataset(DATA);
  assert.deepEqual(d.schema, defaultImageSchema({ channels: 1, height: 28, width: 28 }));
  const study = { kind: "image" as const, shape: { channels: 1, height: 28, width: 28 }, normalisation: { divide: 255, mean: [0.5], std: [0.25] } };
  const n = await loadDataset(DATA, { schema: study });
  const a = d.test.inputs.image.data as Float32Array, b = n.test.inputs.image.data as Float32Array;
  for (let i = 0; i < 50; i++) assert.ok(Math.abs(b[i] - (a[i] - 0.5) / 0.25) < 1e-5);
  await assert.rejects(
    loadDataset(DATA, { schema: { ...study, shape: { channels: 3, height: 28, width: 28 } } }),
    (e: unknown) => e instanceof DataSchemaError && /images are 1x28x28, the study's schema says 3x28x28/.test(e.message),
  );
  assert.throws(() => checkImageShape("x.npz", { channels: 1, height: 8, width: 8 }, study), /x\.npz: images are 1x8x8/);
  const x = tensor("float32", [1, 1, 1, 2], new Float32Array([0, 1]));
  assert.equal(normaliseImages(x, defaultImageSchema({ channels: 1, height: 1, width: 2 })), x);
});
