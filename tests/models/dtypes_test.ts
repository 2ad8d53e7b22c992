import * as assert from "node:assert/strict";
import {
  type DType,
  DTYPE_ARRAYS,
  DTYPE_BYTES,
  DTYPE_OF_ONNX_CODE,
  DTYPE_TABLE,
  FLOAT_DTYPES,
  isFloatDType,
  ONNX_DTYPE_CODES,
} from "../../models/dtypes.ts";
import * as tensorModule from "../../models/tensor.ts";
import { DTYPE_CODE, DTYPE_OF_CODE } from "../../runtime/codec/wire_format.ts";

// onnx/onnx.proto, `message TensorProto { enum DataType }`, written out here by hand from
// the spec so that the table is checked against something it was not derived from.
const ONNX_SPEC: Readonly<Record<string, number>> = {
  UNDEFINED: 0,
  FLOAT: 1,
  UINT8: 2,
  INT8: 3,
  UINT16: 4,
  INT16: 5,
  INT32: 6,
  INT64: 7,
  STRING: 8,
  BOOL: 9,
  FLOAT16: 10,
  DOUBLE: 11,
  UINT32: 12,
  UINT64: 13,
  COMPLEX64: 14,
  COMPLEX128: 15,
  BFLOAT16: 16,
};

// The ONNX type each splitgate dtype stands for, and its element width in bytes.
const EXPECTED: Readonly<Record<DType, [string, number]>> = {
  float32: ["FLOAT", 4],
  float64: ["DOUBLE", 8],
  float16: ["FLOAT16", 2],
  int8: ["INT8", 1],
  uint8: ["UINT8", 1],
  int16: ["INT16", 2],
  uint16: ["UINT16", 2],
  int32: ["INT32", 4],
  uint32: ["UINT32", 4],
  int64: ["INT64", 8],
  bool: ["BOOL", 1],
};

Deno.test("DTYPE_TABLE: every entry has the ONNX spec's code, name and element width", () => {
  assert.deepEqual(Object.keys(DTYPE_TABLE).sort(), Object.keys(EXPECTED).sort());
  for (
    const [dtype, row] of Object.entries(DTYPE_TABLE) as [DType, (typeof DTYPE_TABLE)[DType]][]
  ) {
    const [name, bytes] = EXPECTED[dtype];
    assert.equal(row.onnxName, name, dtype);
    assert.equal(row.onnx, ONNX_SPEC[name], `${dtype}: ONNX ${name} is ${ONNX_SPEC[name]}`);
    assert.equal(row.bytes, bytes, dtype);
    assert.equal(row.array.BYTES_PER_ELEMENT, bytes, `${dtype}: ${row.array.name}`);
  }
  // float16 is held as raw binary16 bits, bool as one byte.
  assert.equal(DTYPE_TABLE.float16.array, Uint16Array);
  assert.equal(DTYPE_TABLE.bool.array, Uint8Array);
  assert.equal(DTYPE_TABLE.int64.array, BigInt64Array);
});

Deno.test("derived tables agree with DTYPE_TABLE", () => {
  const codes = Object.values(ONNX_DTYPE_CODES);
  assert.equal(new Set(codes).size, codes.length, "two dtypes share an ONNX code");
  assert.deepEqual(codes, [...codes].sort((a, b) => a - b), "ONNX_DTYPE_CODES is in code order");
  for (const d of Object.keys(DTYPE_TABLE) as DType[]) {
    assert.equal(ONNX_DTYPE_CODES[d], DTYPE_TABLE[d].onnx, d);
    assert.equal(DTYPE_OF_ONNX_CODE.get(DTYPE_TABLE[d].onnx), d, d);
    assert.equal(DTYPE_BYTES[d], DTYPE_TABLE[d].bytes, d);
    assert.equal(DTYPE_ARRAYS[d], DTYPE_TABLE[d].array, d);
    assert.equal(new DTYPE_ARRAYS[d](3).byteLength, 3 * DTYPE_BYTES[d], d);
  }
  assert.equal(DTYPE_OF_ONNX_CODE.size, Object.keys(DTYPE_TABLE).length);
  for (const code of [0, 8, 13, 14, 15, 16]) {
    assert.equal(DTYPE_OF_ONNX_CODE.get(code), undefined, `${code}`);
  }
  assert.deepEqual([...FLOAT_DTYPES].sort(), ["float16", "float32", "float64"]);
  assert.ok(isFloatDType("float16") && !isFloatDType("int8") && !isFloatDType("string"));
  // models/tensor.ts, where the rooms import them from, re-exports the same tables.
  assert.equal(tensorModule.DTYPE_BYTES, DTYPE_BYTES);
  assert.equal(tensorModule.DTYPE_ARRAYS, DTYPE_ARRAYS);
});

Deno.test("the wire format's dtype codes stay the ONNX spec's numbers", () => {
  // A capture names its dtypes by ONNX code (runtime/codec/wire_format.ts): pinned to the
  // spec here, so a change to the shared table cannot silently change the wire format.
  const wire: Record<string, number> = {};
  for (const [d, [name]] of Object.entries(EXPECTED)) wire[d] = ONNX_SPEC[name];
  assert.deepEqual({ ...DTYPE_CODE }, wire);
  for (const [d, c] of Object.entries(wire)) assert.equal(DTYPE_OF_CODE.get(c), d);
  assert.equal(DTYPE_OF_CODE.size, Object.keys(wire).length);
});

// Ways a module would write its own dtype mapping: `float16: 10` or `float16: 2` (a code or
// width by name), `10: "float16"` (a name by code), `dt === "float64" ? 11 : 1` (a code by
// ternary). Comment lines are skipped (documentation may quote the spec).
const NAMES = "float16|float32|float64|bfloat16|int8|uint8|int16|uint16|int32|uint32|int64|bool|" +
  "FLOAT16|BFLOAT16|FLOAT|DOUBLE|INT8|UINT8|INT16|UINT16|INT32|UINT32|INT64|BOOL";
const OWN_MAPPING = [
  new RegExp(`\\b(${NAMES})"?\\s*:\\s*\\d+\\b`),
  new RegExp(`\\b\\d+\\s*:\\s*"(${NAMES})"`),
  new RegExp(`"(${NAMES})"\\s*\\?\\s*\\d+\\s*:\\s*\\d+\\b`),
];

async function* sources(dir: URL): AsyncGenerator<URL> {
  for await (const e of Deno.readDir(dir)) {
    const u = new URL(e.name + (e.isDirectory ? "/" : ""), dir);
    if (e.isDirectory) yield* sources(u);
    else if (e.name.endsWith(".ts")) yield u;
  }
}

function ownMappings(text: string): string[] {
  return text.split("\n").flatMap((line, i) => {
    const code = line.trimStart();
    if (code.startsWith("*") || code.startsWith("//") || code.startsWith("/*")) return [];
    return OWN_MAPPING.some((re) => re.test(line)) ? [`${i + 1}: ${code}`] : [];
  });
}

Deno.test("the scan for own dtype mappings finds the shapes it looks for", () => {
  // The patterns the eight former copies used; the scan below would miss them otherwise.
  for (
    const line of [
      "const DTYPE_CODE: Record<string, number> = { float32: 1, float16: 10, float64: 11 };",
      "  float16: 2,",
      '        10: "float16",',
      '    const code = dt === "float64" ? 11 : 1;',
      "  FLOAT16: 10,",
    ]
  ) assert.equal(ownMappings(line).length, 1, line);
  for (
    const line of [
      "const code = ONNX_DTYPE_CODES[dt];",
      " * float16: 10 (a comment quoting the spec)",
      'if (t.dtype === "float16") return 2;',
      'const scale = a.dtype === "uint8" ? 1 / 255 : 1;',
      'const wire = { dtype: "float16", level: 9 };',
    ]
  ) assert.deepEqual(ownMappings(line), [], line);
});

Deno.test("no module but models/dtypes.ts defines its own dtype mapping", async () => {
  const root = new URL("../../", import.meta.url);
  const table = new URL("models/dtypes.ts", root).href;
  const found: string[] = [];
  for (const dir of ["models/", "runtime/", "crypto/", "bench/"]) {
    for await (const file of sources(new URL(dir, root))) {
      if (file.href === table) continue;
      for (const hit of ownMappings(await Deno.readTextFile(file))) {
        found.push(`${file.href.slice(root.href.length)}:${hit}`);
      }
    }
  }
  assert.deepEqual(found, [], `derive these from models/dtypes.ts instead:\n${found.join("\n")}`);
});
