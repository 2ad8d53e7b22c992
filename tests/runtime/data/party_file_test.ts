import assert from "node:assert/strict";
import { tensor } from "../../../models/tensor.ts";
import { readPartyFile, writePartyFile } from "../../../runtime/data/party_file.ts";
import { firstEncounters, selectColumns } from "../../../runtime/data/vertical_columns.ts";

Deno.test("a party file round-trips its columns, identifiers and (optional) labels", () => {
  const split = (n: number, withLabel: boolean) => ({
    inputs: {
      numeric: tensor("float32", [n, 2], Float32Array.from({ length: 2 * n }, (_, i) => i / 2)),
      categorical: tensor("int64", [n, 1], BigInt64Array.from({ length: n }, (_, i) => BigInt(i))),
    },
    ids: Array.from({ length: n }, (_, i) => String(100 + i)),
    ...(withLabel
      ? { label: tensor("float32", [n, 1], Float32Array.from({ length: n }, (_, i) => i % 2)) }
      : {}),
  });
  for (const withLabel of [true, false]) {
    const d = {
      splits: { train: split(5, withLabel), val: split(2, withLabel), test: split(3, withLabel) },
      encoding: { numeric: 2, vocabSizes: [5], codeVocab: 0 },
    };
    const back = readPartyFile(writePartyFile(d), "p.npz");
    assert.deepEqual(back.encoding, d.encoding);
    assert.deepEqual(back.splits.train.ids, d.splits.train.ids);
    assert.deepEqual(back.splits.test.inputs.numeric.data, d.splits.test.inputs.numeric.data);
    assert.deepEqual(back.splits.val.inputs.categorical.data, d.splits.val.inputs.categorical.data);
    assert.equal(back.splits.train.label !== undefined, withLabel);
    assert.equal(back.splits.train.inputs.codes, undefined);
  }
});

Deno.test("selectColumns and firstEncounters", () => {
  const t = tensor("int64", [2, 3], BigInt64Array.from([1n, 2n, 3n, 4n, 5n, 6n]));
  assert.deepEqual([...selectColumns(t, [2, 0]).data], [3n, 1n, 6n, 4n]);
  assert.throws(() => selectColumns(t, [3]), /column 3 out of range \[0, 3\)/);
  assert.deepEqual(firstEncounters({ patientIds: ["9", "8", "9", "7", "8"] }), [0, 1, 3]);
});
