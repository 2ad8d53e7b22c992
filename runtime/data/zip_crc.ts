/**
 * The CRC-32 each member of a ZIP archive was stored with, read from the archive's central
 * directory (APPNOTE.TXT 6.3.10, §4.3.12 "central directory structure" and §4.3.16 "end of
 * central directory record"), so that a reader can check what it inflated: fflate's
 * `unzipSync` does not, and a damaged checkpoint would otherwise be loaded as if whole.
 *
 * @example
 * ```ts
 * import { zipSync } from "fflate";
 * import { storedCrcs } from "./zip_crc.ts";
 * const zip = zipSync({ "a.npy": new TextEncoder().encode("hello") });
 * storedCrcs(zip)?.get("a.npy"); // 907060870, the CRC-32 of "hello"
 * ```
 * @module
 */

const EOCD = 0x06054b50;
const CDH = 0x02014b50;
const utf8 = new TextDecoder();

/**
 * Member name → stored CRC-32 (unsigned), or null when the archive has no plain end of
 * central directory record to read it from (a ZIP64 archive: its offsets do not fit the
 * record), in which case nothing can be checked this way.
 *
 * @throws {TypeError} when the central directory runs past the end of `bytes`
 * @example
 * ```ts
 * import { storedCrcs } from "./zip_crc.ts";
 * storedCrcs(new Uint8Array(22)); // null: no end of central directory record
 * ```
 */
export function storedCrcs(bytes: Uint8Array): Map<string, number> | null {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // The record is 22 bytes plus a comment of at most 65,535.
  let at = -1;
  for (let i = bytes.length - 22; i >= 0 && i >= bytes.length - 22 - 0xffff; i--) {
    if (v.getUint32(i, true) === EOCD) {
      at = i;
      break;
    }
  }
  if (at < 0) return null;
  const count = v.getUint16(at + 10, true), offset = v.getUint32(at + 16, true);
  if (count === 0xffff || offset === 0xffffffff) return null; // ZIP64
  const out = new Map<string, number>();
  let p = offset;
  for (let k = 0; k < count; k++) {
    if (p + 46 > bytes.length || v.getUint32(p, true) !== CDH) {
      throw new TypeError(`central directory entry ${k} at byte ${p} is damaged`);
    }
    const nameLength = v.getUint16(p + 28, true);
    const extra = v.getUint16(p + 30, true), comment = v.getUint16(p + 32, true);
    if (p + 46 + nameLength > bytes.length) throw new TypeError(`central directory entry ${k} runs past the end`);
    out.set(utf8.decode(bytes.subarray(p + 46, p + 46 + nameLength)), v.getUint32(p + 16, true));
    p += 46 + nameLength + extra + comment;
  }
  return out;
}
