/**
 * ChaChaPoly (Noise rev 34 §12.3) and AESGCM (§12.4) on `node:crypto`: the native AEADs that
 * seal and open transport frames (@noble's pure-JavaScript ChaCha20-Poly1305 took a
 * large share of a training step). Same ciphers, same bytes on the wire: a property test
 * compares every output with `@noble/ciphers`.
 *
 * Two differences from the reference, both contained here:
 * - node:crypto decrypts while it authenticates (the tag is checked in `final()`), so the
 *   plaintext exists before the tag is known good. It is wiped and never returned when
 *   `final()` refuses, so callers see what RFC 8439 §2.8 asks: no unauthenticated plaintext.
 * - node:crypto keeps its own copy of the key inside the cipher object until it is garbage
 *   collected; `CipherState.destroy()` can wipe only splitgate's copy.
 *
 * @module
 */
import { createCipheriv, createDecipheriv } from "node:crypto";
import { type CipherName, type NoiseCipher, nonce96, TAGLEN } from "./cipher_functions.ts";

const ALGORITHMS = { ChaChaPoly: "chacha20-poly1305", AESGCM: "aes-256-gcm" } as const;
const AEAD_OPTIONS = { authTagLength: TAGLEN };

/** A plain Uint8Array over a Buffer's bytes, copied only when the Buffer shares a pool slab. */
function ownBytes(b: Uint8Array): Uint8Array {
  if (b.byteOffset === 0 && b.buffer.byteLength === b.length) {
    return new Uint8Array(b.buffer, 0, b.length);
  }
  return Uint8Array.prototype.slice.call(b);
}

/**
 * The `node:crypto` implementation of a Noise cipher. Use it through
 * `getNoiseCipher` (`cipher_select.ts`), which checks it against @noble first.
 *
 * @example
 * ```ts
 * import { nativeCipher } from "./native_ciphers.ts";
 * const c = nativeCipher("ChaChaPoly");
 * const k = new Uint8Array(32), ad = Uint8Array.of(7);
 * console.assert(c.decrypt(k, 5n, ad, c.encrypt(k, 5n, ad, Uint8Array.of(9)))[0] === 9);
 * ```
 */
export function nativeCipher(name: CipherName): NoiseCipher {
  const algorithm = ALGORITHMS[name];
  return Object.freeze({
    name,
    backend: "native" as const,
    encrypt(k: Uint8Array, n: bigint, ad: Uint8Array, pt: Uint8Array, out?: Uint8Array) {
      const iv = nonce96(name, n);
      // Two calls, because node's typings resolve the overload per literal algorithm name.
      const c = algorithm === "aes-256-gcm"
        ? createCipheriv(algorithm, k, iv, AEAD_OPTIONS)
        : createCipheriv(algorithm, k, iv, AEAD_OPTIONS);
      c.setAAD(ad, { plaintextLength: pt.length });
      const body = c.update(pt);
      c.final();
      const o = out ?? new Uint8Array(pt.length + TAGLEN);
      if (o.length !== pt.length + TAGLEN) {
        throw new RangeError(`out must be ${pt.length + TAGLEN} bytes, got ${o.length}`);
      }
      o.set(body, 0);
      o.set(c.getAuthTag(), pt.length);
      return o;
    },
    decrypt(k: Uint8Array, n: bigint, ad: Uint8Array, ct: Uint8Array) {
      if (ct.length < TAGLEN) throw new Error("invalid tag");
      const len = ct.length - TAGLEN;
      const iv = nonce96(name, n);
      const d = algorithm === "aes-256-gcm"
        ? createDecipheriv(algorithm, k, iv, AEAD_OPTIONS)
        : createDecipheriv(algorithm, k, iv, AEAD_OPTIONS);
      d.setAAD(ad, { plaintextLength: len });
      d.setAuthTag(ct.subarray(len));
      const body = d.update(ct.subarray(0, len));
      try {
        d.final();
      } catch {
        body.fill(0); // decrypted before the tag was known bad: never let it out
        throw new Error("invalid tag");
      }
      return ownBytes(body);
    },
  });
}
