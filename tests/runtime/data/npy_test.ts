import assert from "node:assert/strict";
import fc from "fast-check";
import { type DType, tensor } from "../../../models/tensor.ts";
import { isStringArray, readNpy, type StringArray, writeNpy } from "../../../runtime/data/npy.ts";

const b64 = (s: string) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));

// Files written by numpy 2.4 (np.save / numpy.lib.format.write_array), base64.
const NUMPY_FORTRAN_2x3x4 =
  "k05VTVBZAQB2AHsnZGVzY3InOiAnPGk0JywgJ2ZvcnRyYW5fb3JkZXInOiBUcnVlLCAnc2hhcGUnOiAoMiwgMywgNCksIH0gICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAAAADAAAAAQAAAAQAAAACAAAABQAAAABAAAADQAAAAUAAAARAAAACQAAABUAAAACAAAADgAAAAYAAAASAAAACgAAABYAAAADAAAADwAAAAcAAAATAAAACwAAABcAAAA=";
const NUMPY_UNICODE_2x2 =
  "k05VTVBZAQB2AHsnZGVzY3InOiAnPFU1JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDIsIDIpLCB9ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAphAAAAAAAAAAAAAAAAAAAAAAAAAGgAAADpAAAAbAAAAGwAAABvAAAAAPYBAHgAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==";
const NUMPY_BIG_ENDIAN_F4 =
  "k05VTVBZAQB2AHsnZGVzY3InOiAnPmY0JywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDMsKSwgfSAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAAAAP4AAAEAAAAA=";
const NUMPY_F2 =
  "k05VTVBZAQB2AHsnZGVzY3InOiAnPGYyJywgJ2ZvcnRyYW5fb3JkZXInOiBGYWxzZSwgJ3NoYXBlJzogKDMsKSwgfSAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAPgDA/3s=";
const NUMPY_V2_U2 =
  "k05VTVBZAgB0AAAAeydkZXNjcic6ICc8dTInLCAnZm9ydHJhbl9vcmRlcic6IEZhbHNlLCAnc2hhcGUnOiAoNCwpLCB9ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAAEAAgADAA==";
const NUMPY_V3_U2 =
  "k05VTVBZAwB0AAAAeydkZXNjcic6ICc8dTInLCAnZm9ydHJhbl9vcmRlcic6IEZhbHNlLCAnc2hhcGUnOiAoNCwpLCB9ICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIAoAAAEAAgADAA==";

/** A hand-made version 1.0 .npy file with the given header dict text and data bytes. */
function npy(dict: string, data: Uint8Array = new Uint8Array(0)): Uint8Array {
  const header = new TextEncoder().encode(dict + "\n");
  const out = new Uint8Array(10 + header.length + data.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
  new DataView(out.buffer).setUint16(8, header.length, true);
  out.set(header, 10);
  out.set(data, 10 + header.length);
  return out;
}

const DTYPES: DType[] = [
  "float32",
  "float64",
  "float16",
  "int8",
  "uint8",
  "int16",
  "uint16",
  "int32",
  "uint32",
  "int64",
  "bool",
];

function randomData(dtype: DType, n: number, seed: number) {
  const t = tensor(dtype, [n]);
  const bytes = new Uint8Array(t.data.buffer);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < bytes.length; i++) {
    x ^= x << 13, x ^= x >>> 17, x ^= x << 5;
    bytes[i] = x & 0xff;
  }
  if (dtype === "bool") { for (let i = 0; i < n; i++) bytes[i] &= 1; }
  return t.data;
}

Deno.test("npy: every dtype round-trips through writeNpy/readNpy (arbitrary shapes and bits)", () => {
  fc.assert(
    fc.property(
      fc.constantFrom(...DTYPES),
      fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 4 }),
      fc.integer(),
      (dtype, dims, seed) => {
        const n = dims.reduce((a, d) => a * d, 1);
        const t = tensor(dtype, dims, randomData(dtype, n, seed) as never);
        const back = readNpy(writeNpy(t), "rt.npy");
        assert.ok(!isStringArray(back));
        assert.equal(back.dtype, dtype);
        assert.deepEqual(back.dims, dims);
        // Compare raw bits so NaN payloads and -0 count too.
        assert.deepEqual(
          new Uint8Array(back.data.buffer, back.data.byteOffset, back.data.byteLength),
          new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength),
        );
      },
    ),
    { numRuns: 200 },
  );
});

Deno.test("npy: written header follows NEP 1 (64-byte aligned, descr, 1-tuple comma)", () => {
  const bytes = writeNpy(tensor("float32", [3], new Float32Array([1, 2, 3])));
  const headerLen = new DataView(bytes.buffer).getUint16(8, true);
  assert.equal((10 + headerLen) % 64, 0);
  const text = new TextDecoder().decode(bytes.subarray(10, 10 + headerLen));
  assert.match(text, /^\{'descr': '<f4', 'fortran_order': False, 'shape': \(3,\), \} *\n$/);
  assert.equal(bytes.length, 10 + headerLen + 12);
});

Deno.test("npy: string arrays round-trip, including non-BMP code points and empty strings", () => {
  fc.assert(
    fc.property(fc.array(fc.string({ unit: "grapheme" }), { maxLength: 6 }), (strings) => {
      const clean = strings.map((s) => s.replace(/\0+$/, "")); // NumPy strips trailing NULs too
      const a: StringArray = { dtype: "string", dims: [clean.length], data: clean };
      const back = readNpy(writeNpy(a));
      assert.ok(isStringArray(back));
      assert.deepEqual(back.data, clean);
      assert.deepEqual(back.dims, [clean.length]);
    }),
  );
});

Deno.test("npy: reads numpy-written files: Fortran order, unicode, float16, format 2.0 and 3.0", () => {
  const f = readNpy(b64(NUMPY_FORTRAN_2x3x4), "fortran.npy");
  assert.equal(f.dtype, "int32");
  assert.deepEqual(f.dims, [2, 3, 4]);
  assert.deepEqual([...(f.data as Int32Array)], Array.from({ length: 24 }, (_, i) => i)); // np.arange(24)

  const u = readNpy(b64(NUMPY_UNICODE_2x2), "u.npy");
  assert.ok(isStringArray(u));
  assert.deepEqual(u.dims, [2, 2]);
  assert.deepEqual(u.data, ["a", "héllo", "😀x", ""]);

  const h = readNpy(b64(NUMPY_F2), "h.npy");
  assert.equal(h.dtype, "float16");
  assert.deepEqual([...(h.data as Uint16Array)], [0x3e00, 0xc000, 0x7bff]); // 1.5, -2, 65504

  for (const v of [NUMPY_V2_U2, NUMPY_V3_U2]) {
    const a = readNpy(b64(v), "v.npy");
    assert.equal(a.dtype, "uint16");
    assert.deepEqual([...(a.data as Uint16Array)], [0, 1, 2, 3]);
  }
});

Deno.test("npy: Fortran-order string arrays are transposed too", () => {
  const data = new Uint8Array(4 * 6);
  const dv = new DataView(data.buffer);
  "adbecf".split("").forEach((ch, i) => dv.setUint32(i * 4, ch.charCodeAt(0), true));
  const a = readNpy(
    npy("{'descr': '<U1', 'fortran_order': True, 'shape': (2, 3), }", data),
    "f.npy",
  );
  assert.deepEqual(a.data, ["a", "b", "c", "d", "e", "f"]);
});

Deno.test("npy: '=' native order and '|' one-byte types are accepted", () => {
  const a = readNpy(
    npy("{'descr': '=i2', 'fortran_order': False, 'shape': (1,), }", new Uint8Array([1, 1])),
  );
  assert.deepEqual([...(a.data as Int16Array)], [257]);
  const b = readNpy(
    npy("{'descr': '|b1', 'fortran_order': False, 'shape': (2,), }", new Uint8Array([1, 0])),
  );
  assert.equal(b.dtype, "bool");
});

Deno.test("npy: unsupported dtypes are named in the error", () => {
  assert.throws(
    () => readNpy(b64(NUMPY_BIG_ENDIAN_F4), "be.npy"),
    (e: Error) =>
      e instanceof TypeError && e.message.includes("be.npy") && e.message.includes("'>f4'") &&
      e.message.includes("big-endian"),
  );
  assert.throws(
    () =>
      readNpy(
        npy("{'descr': '|O', 'fortran_order': False, 'shape': (2,), }", new Uint8Array(16)),
        "obj.npy",
      ),
    (e: Error) =>
      e instanceof TypeError && e.message.includes("obj.npy") && e.message.includes("'|O'") &&
      e.message.includes("pickle"),
  );
  assert.throws(
    () =>
      readNpy(
        npy("{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }", new Uint8Array(8)),
        "c.npy",
      ),
    /c\.npy: unsupported dtype '<c8'/,
  );
  assert.throws(
    () =>
      readNpy(
        npy("{'descr': '<u8', 'fortran_order': False, 'shape': (1,), }", new Uint8Array(8)),
        "u8.npy",
      ),
    /u8\.npy: unsupported dtype '<u8'/,
  );
  assert.throws(
    () =>
      readNpy(
        npy("{'descr': '|i4', 'fortran_order': False, 'shape': (1,), }", new Uint8Array(4)),
        "p.npy",
      ),
    /'\|i4'.*only valid for one-byte/,
  );
  assert.throws(
    () =>
      readNpy(
        npy(
          "{'descr': [('a', '<i4')], 'fortran_order': False, 'shape': (1,), }",
          new Uint8Array(4),
        ),
        "s.npy",
      ),
    /s\.npy: unsupported dtype .*structured/,
  );
});

Deno.test("npy: truncated data is refused before allocating, with sizes in the message", () => {
  const full = writeNpy(tensor("float64", [4, 5]));
  const cut = full.subarray(0, full.length - 7);
  assert.throws(
    () => readNpy(cut, "w.npy"),
    (e: Error) =>
      e instanceof RangeError &&
      e.message === "w.npy: truncated: header says 160 bytes of data, file has 153",
  );
  // A header claiming an enormous shape must fail on the size check, not try to allocate it.
  const huge = npy(
    "{'descr': '<f8', 'fortran_order': False, 'shape': (100000000000, 1000), }",
    new Uint8Array(8),
  );
  assert.throws(
    () => readNpy(huge, "huge.npy"),
    /huge\.npy: truncated: header says \d+ bytes of data, file has 8/,
  );
  // Trailing garbage is refused too.
  const extra = new Uint8Array(full.length + 3);
  extra.set(full);
  assert.throws(() => readNpy(extra, "x.npy"), /x\.npy: 3 unexpected trailing bytes/);
});

Deno.test("npy: malformed preambles and headers give clear errors", () => {
  assert.throws(
    () => readNpy(new Uint8Array([1, 2, 3]), "junk.npy"),
    /junk\.npy: not a \.npy file/,
  );
  const good = writeNpy(tensor("uint8", [2]));
  const v9 = good.slice();
  v9[6] = 9;
  assert.throws(() => readNpy(v9, "v9.npy"), /v9\.npy: unsupported \.npy format version 9\.0/);
  assert.throws(
    () => readNpy(good.subarray(0, 40), "short.npy"),
    /short\.npy: truncated: header length says \d+ bytes/,
  );
  assert.throws(
    () => readNpy(npy("{'descr': '<f4', 'shape': (1,), }", new Uint8Array(4)), "nokey.npy"),
    /nokey\.npy: malformed \.npy header: missing key 'fortran_order'/,
  );
  assert.throws(
    () => readNpy(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }"), "neg.npy"),
    /neg\.npy: malformed \.npy header/,
  );
  assert.throws(
    () => readNpy(npy("__import__('os').system('x')"), "evil.npy"),
    (e: Error) =>
      e instanceof SyntaxError && e.message.startsWith("evil.npy: malformed .npy header"),
  );
  assert.throws(
    () =>
      readNpy(
        npy("{'descr': '|b1', 'fortran_order': False, 'shape': (1,), }", new Uint8Array([7])),
      ),
    /bool element 0 is 7/,
  );
});

Deno.test("npy: fuzzed bytes never crash with anything but a named, built-in error", () => {
  const base = writeNpy(tensor("int16", [3, 2], new Int16Array([1, 2, 3, 4, 5, 6])));
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: base.length - 1 }),
      fc.integer({ min: 0, max: 255 }),
      (at, byte) => {
        const b = base.slice();
        b[at] = byte;
        try {
          readNpy(b, "fuzz.npy");
        } catch (e) {
          assert.ok(
            e instanceof TypeError || e instanceof RangeError || e instanceof SyntaxError,
            String(e),
          );
          assert.ok(
            (e as Error).message.startsWith("fuzz.npy") ||
              /shape|dimension/.test((e as Error).message),
            (e as Error).message,
          );
        }
      },
    ),
    { numRuns: 500 },
  );
});
