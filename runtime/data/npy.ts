/**
 * Reading and writing NumPy `.npy` files (format versions 1.0, 2.0 and 3.0) as
 * splitgate {@linkcode Tensor}s, plus a minimal string-array type for NumPy
 * unicode arrays (`<U…`).
 *
 * Format reference: NumPy Enhancement Proposal 1, "A Simple File Format for
 * NumPy Arrays" (numpy.lib.format):
 * - magic string `\x93NUMPY`, then one byte major and one byte minor version;
 * - version 1.0: a little-endian uint16 HEADER_LEN; versions 2.0 and 3.0: a
 *   little-endian uint32 HEADER_LEN;
 * - the header: an ASCII (1.0, 2.0) or UTF-8 (3.0) Python dict literal with the
 *   keys `descr`, `fortran_order` and `shape`, padded with spaces and ended by
 *   `\n` so that the data starts on a 64-byte boundary;
 * - then the raw array data, C order unless `fortran_order` is `True`.
 *
 * @example
 * ```ts
 * import { readNpy, writeNpy } from "./npy.ts";
 * import { tensor } from "../../models/tensor.ts";
 * const bytes = writeNpy(tensor("float32", [2], new Float32Array([1, 2])));
 * const back = readNpy(bytes, "x.npy");
 * console.log(back.dims); // [2]
 * ```
 * @module
 */

import { type DType, DTYPE_ARRAYS, DTYPE_BYTES, sizeOf, type Tensor, tensor } from "../../models/tensor.ts";

/**
 * A NumPy unicode string array (`<U…` dtype), decoded to JavaScript strings.
 * NumPy pads each element to a fixed number of UTF-32 code units; the padding
 * (trailing NULs) is removed here, as NumPy itself does when reading.
 *
 * @example
 * ```ts
 * import type { StringArray } from "./npy.ts";
 * const s: StringArray = { dtype: "string", dims: [], data: ["/body.1/Relu_output_0"] };
 * ```
 */
export interface StringArray {
  /** Marks a string array (not a numeric {@linkcode Tensor}). */
  readonly dtype: "string";
  /** Dimensions; `[]` is a scalar (one string). */
  readonly dims: readonly number[];
  /** Row-major elements. */
  readonly data: readonly string[];
}

/**
 * What a `.npy` file holds: a numeric {@linkcode Tensor} or a {@linkcode StringArray}.
 *
 * @example
 * ```ts
 * import { isStringArray, type NpyArray } from "./npy.ts";
 * function describe(a: NpyArray): string {
 *   return isStringArray(a) ? a.data.join(",") : a.dtype;
 * }
 * ```
 */
export type NpyArray = Tensor | StringArray;

/**
 * True when `a` is a {@linkcode StringArray}.
 *
 * @example
 * ```ts
 * import { isStringArray } from "./npy.ts";
 * isStringArray({ dtype: "string", dims: [1], data: ["a"] }); // true
 * ```
 */
export function isStringArray(a: NpyArray): a is StringArray {
  return a.dtype === "string";
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // "\x93NUMPY"

/**
 * NumPy type codes (the part of `descr` after the byte-order character) and the
 * splitgate dtype each maps to. NEP 1 uses the `numpy.dtype.str` spelling.
 */
const CODE_TO_DTYPE: Readonly<Record<string, DType>> = {
  f4: "float32",
  f8: "float64",
  f2: "float16",
  u1: "uint8",
  i1: "int8",
  i2: "int16",
  u2: "uint16",
  i4: "int32",
  u4: "uint32",
  i8: "int64",
  b1: "bool",
};

/** `descr` written for each dtype (little-endian; byte order irrelevant for 1-byte types). */
const DTYPE_TO_DESCR: Readonly<Record<DType, string>> = {
  float32: "<f4",
  float64: "<f8",
  float16: "<f2",
  uint8: "|u1",
  int8: "|i1",
  int16: "<i2",
  uint16: "<u2",
  int32: "<i4",
  uint32: "<u4",
  int64: "<i8",
  bool: "|b1",
};

/** Parsed `descr`: a numeric dtype, or a unicode string of `chars` UTF-32 units. */
type Descr = { kind: "numeric"; dtype: DType } | { kind: "unicode"; chars: number };

function parseDescr(descr: unknown, name: string): Descr {
  if (typeof descr !== "string") {
    // A list `descr` is a structured (record) dtype.
    throw new TypeError(
      `${name}: unsupported dtype ${pyRepr(descr)}: structured dtypes are not supported, ` +
        `expected a plain numeric dtype such as '<f4' or a unicode string dtype '<U…'`,
    );
  }
  const m = /^([<>|=]?)([a-zA-Z])(\d*)$/.exec(descr);
  if (!m) throw new TypeError(`${name}: unsupported dtype '${descr}': not a NumPy type string`);
  const [, order, kind, width] = m;
  if (order === ">") {
    throw new TypeError(
      `${name}: unsupported dtype '${descr}': big-endian data is not supported, ` +
        `save it little-endian (e.g. arr.astype('<${kind}${width}'))`,
    );
  }
  if (kind === "U") {
    const chars = Number(width);
    if (width === "" || !Number.isSafeInteger(chars)) {
      throw new TypeError(`${name}: unsupported dtype '${descr}': unicode dtype without a width`);
    }
    return { kind: "unicode", chars };
  }
  if (kind === "O") {
    throw new TypeError(
      `${name}: unsupported dtype '${descr}': object arrays are Python pickles and are never loaded`,
    );
  }
  const dtype = CODE_TO_DTYPE[kind + width];
  if (!dtype) {
    throw new TypeError(
      `${name}: unsupported dtype '${descr}': expected one of ` +
        Object.values(DTYPE_TO_DESCR).join(" ") + " or '<U…'",
    );
  }
  // '|' (not applicable) is only meaningful for one-byte types; '=' (native) means
  // little-endian on every platform Deno runs on (x86-64, AArch64).
  if (order === "|" && DTYPE_BYTES[dtype] !== 1) {
    throw new TypeError(
      `${name}: unsupported dtype '${descr}': byte order '|' is only valid for one-byte types`,
    );
  }
  return { kind: "numeric", dtype };
}

// ---------------------------------------------------------------------------
// Header: a Python literal (dict of str, bool, int and tuples), NEP 1 §"Format".
// The reader accepts the subset numpy.lib.format writes and nothing that would
// need evaluating code.

type PyValue = string | number | boolean | null | PyValue[] | { [k: string]: PyValue };

function parsePyLiteral(src: string, name: string): PyValue {
  let i = 0;
  const fail = (what: string): never => {
    throw new SyntaxError(
      `${name}: malformed .npy header at offset ${i}: ${what} in ${JSON.stringify(src.trim())}`,
    );
  };
  const ws = () => {
    while (i < src.length && /\s/.test(src[i])) i++;
  };
  const value = (): PyValue => {
    ws();
    const c = src[i];
    if (c === "{") {
      i++;
      const obj: { [k: string]: PyValue } = {};
      for (;;) {
        ws();
        if (src[i] === "}") {
          i++;
          return obj;
        }
        const key = value();
        if (typeof key !== "string") fail("dict key is not a string");
        ws();
        if (src[i] !== ":") fail("expected ':'");
        i++;
        obj[key as string] = value();
        ws();
        if (src[i] === ",") i++;
        else if (src[i] !== "}") fail("expected ',' or '}'");
      }
    }
    if (c === "(" || c === "[") {
      const close = c === "(" ? ")" : "]";
      i++;
      const arr: PyValue[] = [];
      for (;;) {
        ws();
        if (src[i] === close) {
          i++;
          return arr;
        }
        arr.push(value());
        ws();
        if (src[i] === ",") i++;
        else if (src[i] !== close) fail(`expected ',' or '${close}'`);
      }
    }
    if (c === "'" || c === '"') {
      const end = src.indexOf(c, i + 1);
      if (end < 0) fail("unterminated string");
      const s = src.slice(i + 1, end);
      if (s.includes("\\")) fail("escape sequences are not supported");
      i = end + 1;
      return s;
    }
    const m = /^(True|False|None|-?\d+L?)/.exec(src.slice(i));
    if (!m) return fail("unexpected token");
    i += m[0].length;
    if (m[0] === "True") return true;
    if (m[0] === "False") return false;
    if (m[0] === "None") return null;
    return Number(m[0].replace("L", "")); // "L": Python 2 longs in old files
  };
  const v = value();
  ws();
  if (i !== src.length) fail("trailing characters");
  return v;
}

function pyRepr(v: unknown): string {
  return JSON.stringify(v);
}

/** The parsed preamble of a `.npy` file. */
interface NpyHeader {
  descr: Descr;
  descrText: string;
  fortranOrder: boolean;
  dims: number[];
  dataOffset: number;
}

function readHeader(bytes: Uint8Array, name: string): NpyHeader {
  for (let k = 0; k < MAGIC.length; k++) {
    if (bytes[k] !== MAGIC[k]) {
      throw new TypeError(`${name}: not a .npy file: missing the magic string "\\x93NUMPY"`);
    }
  }
  if (bytes.length < 10) {
    throw new RangeError(`${name}: truncated: ${bytes.length} bytes, no header length`);
  }
  const major = bytes[6], minor = bytes[7];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let headerLen: number, start: number;
  if (major === 1) {
    headerLen = view.getUint16(8, true);
    start = 10;
  } else if (major === 2 || major === 3) {
    if (bytes.length < 12) {
      throw new RangeError(`${name}: truncated: ${bytes.length} bytes, no header length`);
    }
    headerLen = view.getUint32(8, true);
    start = 12;
  } else {
    throw new RangeError(
      `${name}: unsupported .npy format version ${major}.${minor}: expected 1.0, 2.0 or 3.0`,
    );
  }
  if (start + headerLen > bytes.length) {
    throw new RangeError(
      `${name}: truncated: header length says ${headerLen} bytes, file has ${
        bytes.length - start
      } after the preamble`,
    );
  }
  // Versions 1.0/2.0 use latin-1 (in practice ASCII); 3.0 uses UTF-8 (NEP 1, "Format Version 3.0").
  const text = new TextDecoder(major === 3 ? "utf-8" : "latin1").decode(
    bytes.subarray(start, start + headerLen),
  );
  const dict = parsePyLiteral(text, name);
  if (dict === null || typeof dict !== "object" || Array.isArray(dict)) {
    throw new SyntaxError(
      `${name}: malformed .npy header: expected a dict, got ${JSON.stringify(text.trim())}`,
    );
  }
  for (const key of ["descr", "fortran_order", "shape"]) {
    if (!(key in dict)) {
      throw new SyntaxError(
        `${name}: malformed .npy header: missing key '${key}' in ${JSON.stringify(text.trim())}`,
      );
    }
  }
  const shape = dict.shape;
  if (
    !Array.isArray(shape) ||
    !shape.every((d) => typeof d === "number" && Number.isSafeInteger(d) && d >= 0)
  ) {
    throw new SyntaxError(
      `${name}: malformed .npy header: shape ${pyRepr(shape)} is not a tuple of integers >= 0`,
    );
  }
  if (typeof dict.fortran_order !== "boolean") {
    throw new SyntaxError(
      `${name}: malformed .npy header: fortran_order ${pyRepr(dict.fortran_order)} is not a bool`,
    );
  }
  return {
    descr: parseDescr(dict.descr, name),
    descrText: String(dict.descr),
    fortranOrder: dict.fortran_order,
    dims: shape as number[],
    dataOffset: start + headerLen,
  };
}

/**
 * Permutes Fortran-order (column-major) elements into C order. For a shape
 * (d0, …, dn-1) the Fortran offset of index (i0, …, in-1) is Σ ik·Πj<k dj.
 */
function fortranToC<T extends { length: number; [i: number]: unknown }>(
  src: T,
  dst: T,
  dims: readonly number[],
): void {
  const n = src.length, r = dims.length;
  if (r < 2 || n === 0) {
    for (let i = 0; i < n; i++) dst[i] = src[i];
    return;
  }
  const fstride = new Array<number>(r);
  let s = 1;
  for (let k = 0; k < r; k++) {
    fstride[k] = s;
    s *= dims[k];
  }
  const idx = new Array<number>(r).fill(0);
  let off = 0;
  for (let c = 0; c < n; c++) {
    dst[c] = src[off];
    // Odometer over C order: the last axis moves fastest.
    for (let k = r - 1; k >= 0; k--) {
      idx[k]++;
      off += fstride[k];
      if (idx[k] < dims[k]) break;
      off -= fstride[k] * dims[k];
      idx[k] = 0;
    }
  }
}

/**
 * Decodes one `.npy` file into a {@linkcode Tensor} (numeric dtypes) or a
 * {@linkcode StringArray} (`<U…`). Fortran-order arrays are transposed into C
 * order. The declared shape is checked against the bytes present before any
 * array is allocated, so a corrupt header cannot make it allocate gigabytes.
 *
 * @param bytes the whole file
 * @param name a name for error messages (file or archive member)
 * @throws {TypeError} not a .npy file, or an unsupported dtype (named in the message)
 * @throws {RangeError} truncated data, trailing bytes, or unknown format version
 * @throws {SyntaxError} a malformed header
 *
 * @example
 * ```ts
 * import { readNpy, writeNpy } from "./npy.ts";
 * import { tensor } from "../../models/tensor.ts";
 * const file = writeNpy(tensor("int32", [2, 2], new Int32Array([1, 2, 3, 4])));
 * const a = readNpy(file, "x.npy");
 * console.log(a.dims); // [2, 2]
 * ```
 */
export function readNpy(bytes: Uint8Array, name = "<npy>"): NpyArray {
  const h = readHeader(bytes, name);
  const n = sizeOf(h.dims);
  const itemSize = h.descr.kind === "numeric" ? DTYPE_BYTES[h.descr.dtype] : 4 * h.descr.chars;
  const need = n * itemSize;
  const have = bytes.length - h.dataOffset;
  if (!Number.isSafeInteger(need) || need > have) {
    throw new RangeError(`${name}: truncated: header says ${need} bytes of data, file has ${have}`);
  }
  if (need < have) {
    throw new RangeError(
      `${name}: ${have - need} unexpected trailing bytes after ${need} bytes of data`,
    );
  }
  const raw = bytes.subarray(h.dataOffset, h.dataOffset + need);

  if (h.descr.kind === "unicode") {
    const chars = h.descr.chars;
    // UTF-32LE code points, NUL-padded to `chars` units per element.
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    const strings = new Array<string>(n);
    for (let e = 0; e < n; e++) {
      let s = "";
      let len = chars;
      while (len > 0 && view.getUint32((e * chars + len - 1) * 4, true) === 0) len--;
      for (let c = 0; c < len; c++) {
        const cp = view.getUint32((e * chars + c) * 4, true);
        if (cp > 0x10ffff) {
          throw new RangeError(
            `${name}: invalid code point 0x${cp.toString(16)} in '${h.descrText}' data`,
          );
        }
        s += String.fromCodePoint(cp);
      }
      strings[e] = s;
    }
    if (h.fortranOrder) {
      const c = new Array<string>(n);
      fortranToC(strings, c, h.dims);
      return { dtype: "string", dims: h.dims, data: c };
    }
    return { dtype: "string", dims: h.dims, data: strings };
  }

  const dtype = h.descr.dtype;
  // Copy into a fresh, aligned buffer: the member may sit at any byte offset.
  const copy = raw.slice();
  const t = tensor(dtype, h.dims, viewAs(dtype, copy.buffer, n));
  if (dtype === "bool") {
    for (let i = 0; i < n; i++) {
      if (copy[i] > 1) {
        throw new RangeError(`${name}: bool element ${i} is ${copy[i]}, expected 0 or 1`);
      }
    }
  }
  if (!h.fortranOrder) return t;
  const out = tensor(dtype, h.dims);
  fortranToC(t.data, out.data, h.dims);
  return out;
}

function viewAs<D extends DType>(dtype: D, buf: ArrayBuffer, n: number): Tensor<D>["data"] {
  // Typed arrays use the host byte order; Deno's targets are all little-endian.
  const C = DTYPE_ARRAYS[dtype];
  return new C(buf, 0, n) as Tensor<D>["data"];
}

function headerBytes(descr: string, dims: readonly number[]): Uint8Array {
  // Python's repr of a tuple: a 1-tuple needs a trailing comma.
  const shape = dims.length === 1 ? `(${dims[0]},)` : `(${dims.join(", ")})`;
  const dict = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shape}, }`;
  // NEP 1: pad with spaces and end with '\n' so that the data starts on a
  // multiple of 64 bytes. Version 1.0 holds headers < 65536 bytes, else 2.0.
  let pre = 10;
  let total = Math.ceil((pre + dict.length + 1) / 64) * 64;
  if (total - pre > 0xffff) {
    pre = 12;
    total = Math.ceil((pre + dict.length + 1) / 64) * 64;
  }
  const out = new Uint8Array(total);
  out.set(MAGIC);
  out[6] = pre === 10 ? 1 : 2;
  out[7] = 0;
  const view = new DataView(out.buffer);
  if (pre === 10) view.setUint16(8, total - pre, true);
  else view.setUint32(8, total - pre, true);
  const text = dict + " ".repeat(total - pre - dict.length - 1) + "\n";
  for (let i = 0; i < text.length; i++) out[pre + i] = text.charCodeAt(i);
  return out;
}

/**
 * Encodes a {@linkcode Tensor} or {@linkcode StringArray} as a `.npy` file
 * (format 1.0, or 2.0 for headers over 64 KiB), C order, little-endian.
 * String arrays are written as `<U{longest}` (at least `<U1`, as NumPy does).
 *
 * @example
 * ```ts
 * import { writeNpy } from "./npy.ts";
 * import { tensor } from "../../models/tensor.ts";
 * const path = await Deno.makeTempFile({ suffix: ".npy" });
 * Deno.writeFileSync(path, writeNpy(tensor("int64", [1], new BigInt64Array([7n]))));
 * ```
 */
export function writeNpy(array: NpyArray): Uint8Array {
  const n = sizeOf(array.dims);
  if (array.data.length !== n) {
    throw new RangeError(
      `array has ${array.data.length} elements but shape [${array.dims.join(", ")}] needs ${n}`,
    );
  }
  if (isStringArray(array)) {
    const points = array.data.map((s) => Array.from(s, (ch) => ch.codePointAt(0)!));
    const chars = Math.max(1, ...points.map((p) => p.length));
    const head = headerBytes(`<U${chars}`, array.dims);
    const out = new Uint8Array(head.length + n * chars * 4);
    out.set(head);
    const view = new DataView(out.buffer, head.length);
    points.forEach((p, e) => p.forEach((cp, c) => view.setUint32((e * chars + c) * 4, cp, true)));
    return out;
  }
  const descr = DTYPE_TO_DESCR[array.dtype];
  if (!descr) throw new TypeError(`cannot write dtype ${JSON.stringify(array.dtype)} as .npy`);
  const head = headerBytes(descr, array.dims);
  const data = array.data;
  const body = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  const out = new Uint8Array(head.length + body.length);
  out.set(head);
  out.set(body, head.length);
  return out;
}
