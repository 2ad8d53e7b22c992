/**
 * `codec.quantize` (runtime/config/quantize_mode.ts): parsed from a config file, refused when
 * misspelt, and where int8 runs in the graphs.
 */
import assert from "node:assert/strict";
import { parseServerConfigFile } from "../../../runtime/server/config_file.ts";
import {
  DEFAULT_QUANTIZE_MODE,
  describeInt8Placement,
  quantizesInGraph,
} from "../../../runtime/config/quantize_mode.ts";

const base = {
  serverKey: "keys/server.key",
  allowlist: "/etc/allow.json",
  model: "cnn",
  data: { image: { channels: 1, size: 28 } },
  mode: "vanilla",
  loss: "bce",
  optimizer: { kind: "adam", lr: 0.001 },
};

Deno.test("codec.quantize: graph or codec, default graph on the server and codec on a clinic, int8 dense along axis 1 only", () => {
  const parse = (codec: unknown) =>
    parseServerConfigFile(JSON.stringify({ ...base, codec }), "/srv").codec;
  assert.deepEqual(parse({ dtype: "int8", quantize: "codec" }), {
    dtype: "int8",
    level: 0,
    quantize: "codec",
  });
  assert.deepEqual(parse({ dtype: "int8" }), { dtype: "int8", level: 0 });
  assert.throws(
    () => parse({ dtype: "int8", quantize: "gpu" }),
    /config\.codec: expected \{"quantize": "graph" \| "codec"\}/,
  );
  for (const dtype of [undefined, "float32", "float16"]) {
    assert.throws(
      () => parse({ dtype, quantize: "graph" }),
      /config\.codec: expected "quantize" only with \{"dtype": "int8"\}/,
      String(dtype),
    );
  }
  assert.deepEqual(DEFAULT_QUANTIZE_MODE, { server: "graph", clinic: "codec" });
  assert.equal(quantizesInGraph({ dtype: "int8" }, "clinic"), false);
  assert.equal(quantizesInGraph({ dtype: "int8" }, "server"), true);
  assert.equal(quantizesInGraph({ dtype: "int8", quantize: "graph" }, "clinic"), true);
  assert.equal(quantizesInGraph({ dtype: "int8", quantize: "codec" }, "clinic"), false);
  assert.equal(quantizesInGraph({ dtype: "float32", quantize: "graph" }, "clinic"), false);
  assert.equal(
    quantizesInGraph({ dtype: "int8", quantize: "graph", channelAxis: 1 }, "clinic"),
    true,
  );
  assert.equal(
    quantizesInGraph({ dtype: "int8", quantize: "graph", channelAxis: null }, "clinic"),
    false,
  );
  assert.equal(
    quantizesInGraph({ dtype: "int8", quantize: "graph", channelAxis: 2 }, "clinic"),
    false,
  );
  assert.equal(quantizesInGraph({ dtype: "int8", quantize: "graph", topK: 0.1 }, "clinic"), false);
  assert.equal(quantizesInGraph(undefined, "clinic"), false);
});

Deno.test("the start-up line's note on the cut: where int8 is quantised, nothing for another dtype", () => {
  assert.equal(describeInt8Placement({ dtype: "int8" }, "server"), "int8 cut quantised in the graphs");
  assert.equal(describeInt8Placement({ dtype: "int8" }, "clinic"), "int8 cut quantised by the codec");
  assert.equal(
    describeInt8Placement({ dtype: "int8", quantize: "codec" }, "server"),
    "int8 cut quantised by the codec",
  );
  assert.equal(describeInt8Placement({ dtype: "float16" }, "server"), "");
  assert.equal(describeInt8Placement(undefined, "server"), "");
});
