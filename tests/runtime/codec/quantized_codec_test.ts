/**
 * The byte-moving codec for tensors a graph already quantised: the message is byte for byte
 * the one `encodeTensor` makes for int8 with the same codes and parameters, it decodes back to
 * those codes and parameters (and to the same floats through `decodeTensor`), and what is not
 * dense int8 on the wire is refused with a coded error.
 */
import { deepEqual, equal, throws } from "node:assert/strict";
import fc from "fast-check";
import { tensor } from "../../../models/tensor.ts";
import { CodecError } from "../../../runtime/codec/codec_error.ts";
import { quantizeInt8 } from "../../../runtime/codec/quantize.ts";
import {
  decodeQuantizedTensor,
  encodeQuantizedTensor,
} from "../../../runtime/codec/quantized_codec.ts";
import { decodeTensor, encodeTensor } from "../../../runtime/codec/tensor_codec.ts";

const activation = fc.tuple(
  fc.integer({ min: 1, max: 3 }),
  fc.integer({ min: 1, max: 4 }),
  fc.integer({ min: 1, max: 5 }),
).chain(([n, c, hw]) =>
  fc.array(fc.float({ min: -100, max: 100, noNaN: true }), {
    minLength: n * c * hw,
    maxLength: n * c * hw,
  }).map((v) => tensor("float32", [n, c, hw], Float32Array.from(v)))
);

Deno.test("quantised tensors go on the wire as encodeTensor's int8 messages, and come back as codes", () => {
  fc.assert(
    fc.property(
      activation,
      fc.constantFrom(0, 1, 6),
      fc.constantFrom<1 | null>(1, null),
      (t, level, axis) => {
        const { q, params } = quantizeInt8(t.data as Float32Array, t.dims, axis);
        const bytes = encodeQuantizedTensor({ dims: t.dims, q, params }, { level });
        deepEqual(bytes, encodeTensor(t, { dtype: "int8", level, channelAxis: axis }));
        const back = decodeQuantizedTensor(bytes);
        deepEqual(back.dims, t.dims);
        deepEqual(back.q, q);
        deepEqual(back.params, params);
        deepEqual(
          decodeQuantizedTensor(encodeTensor(t, { dtype: "int8", level, channelAxis: axis })),
          back,
        );
        // A receiver without in-graph dequantisation still reads it as float32.
        equal(decodeTensor(bytes).dtype, "float32");
      },
    ),
    { numRuns: 100 },
  );
});

Deno.test("decodeQuantizedTensor refuses what is not dense int8, and the encoder checks its input", () => {
  const t = tensor("float32", [1, 2, 2], new Float32Array([1, 2, 3, 4]));
  const code = (c: string) => (e: unknown) => e instanceof CodecError && e.code === c;
  throws(() => decodeQuantizedTensor(encodeTensor(t, { dtype: "float32" })), code("BAD_DTYPE"));
  throws(
    () => decodeQuantizedTensor(encodeTensor(t, { dtype: "int8", topK: 0.5 })),
    code("UNSUPPORTED"),
  );
  throws(
    () => decodeQuantizedTensor(encodeTensor(t, { dtype: "int8" }), { maxElements: 3 }),
    code("TOO_LARGE"),
  );
  const params = { axis: 1, scales: new Float32Array([1, 1]), zeroPoints: new Int8Array([0, 0]) };
  throws(
    () => encodeQuantizedTensor({ dims: [1, 2, 2], q: new Int8Array(3), params }),
    /q: expected an Int8Array of 4 codes/,
  );
  throws(
    () =>
      encodeQuantizedTensor({
        dims: [1, 2, 2],
        q: new Int8Array(4),
        params: { ...params, scales: new Float32Array([1, 0]) },
      }),
    /params\.scales\[1\] = 0/,
  );
  throws(
    () =>
      encodeQuantizedTensor({
        dims: [1, 2, 3],
        q: new Int8Array(6),
        params: { ...params, axis: 2 },
      }),
    /params: expected 3 scales and zero points, got 2 and 2/,
  );
  throws(
    () =>
      encodeQuantizedTensor({
        dims: [1, 2, 2],
        q: new Int8Array(4),
        params: { ...params, axis: 3 },
      }),
    /params\.axis 3/,
  );
});
