/**
 * Choosing the implementation of a Noise cipher (docs/design/transport.md): the native `node:crypto` AEAD for
 * transport messages when it works here, else `@noble/ciphers`, and never silently. Before
 * the native cipher is first handed out it must reproduce @noble's ciphertext and tag for a
 * fixed input, open it, and refuse it with one tag bit flipped; if any of that fails (a
 * runtime without the cipher, or one that computes it wrongly), the process is told once on
 * stderr which implementation it gets instead.
 *
 * @module
 */
import type { CipherBackend, CipherName, NoiseCipher } from "./cipher_functions.ts";
import { nativeCipher } from "./native_ciphers.ts";
import { nobleCipher } from "./noble_ciphers.ts";

/**
 * What {@link getNoiseCipher} gave for a cipher and why: for start-up lines.
 *
 * @example
 * ```ts
 * import { describeNoiseCipher } from "./cipher_select.ts";
 * console.log(describeNoiseCipher("ChaChaPoly", "noble").implementation); // "@noble/ciphers"
 * ```
 */
export interface CipherReport {
  /** The cipher. */
  readonly cipher: CipherName;
  /** The implementation in use. */
  readonly backend: CipherBackend;
  /** `node:crypto` or `@noble/ciphers`. */
  readonly implementation: "node:crypto" | "@noble/ciphers";
  /** Why the native implementation was asked for and not used, if it was not. */
  readonly fallbackReason?: string;
}

const NOBLE: Record<CipherName, NoiseCipher> = {
  ChaChaPoly: nobleCipher("ChaChaPoly"),
  AESGCM: nobleCipher("AESGCM"),
};
const probed = new Map<CipherName, { cipher: NoiseCipher; reason?: string }>();

/** Why `native` cannot stand in for `reference` here, or `undefined` if it can. */
function selfTest(native: NoiseCipher, reference: NoiseCipher): string | undefined {
  const key = Uint8Array.from({ length: 32 }, (_, i) => 0x80 + i);
  const ad = Uint8Array.from({ length: 12 }, (_, i) => i * 7);
  const pt = Uint8Array.from({ length: 115 }, (_, i) => (i * 31) & 0xff);
  const n = 0x0123_4567_89ab_cdefn;
  try {
    const want = reference.encrypt(key, n, ad, pt);
    const got = native.encrypt(key, n, ad, pt);
    if (got.length !== want.length || got.some((b, i) => b !== want[i])) {
      return "its ciphertext differs from @noble/ciphers' for the same input";
    }
    const opened = native.decrypt(key, n, ad, want);
    if (opened.length !== pt.length || opened.some((b, i) => b !== pt[i])) {
      return "it does not open @noble/ciphers' ciphertext";
    }
    want[want.length - 1] ^= 1;
    try {
      native.decrypt(key, n, ad, want);
    } catch {
      return undefined;
    }
    return "it accepted a tampered tag";
  } catch (e) {
    return `it failed: ${e instanceof Error ? e.message : String(e)}`;
  }
}

/**
 * Test seam (no `mod.ts` exports it): the choice {@link getNoiseCipher} makes, with the
 * native implementation and the warning channel injected, so a broken native cipher can be
 * simulated.
 *
 * @example
 * ```ts
 * import { _chooseCipher } from "./cipher_select.ts";
 * const lines: string[] = [];
 * const broken = () => { throw new Error("no such cipher"); };
 * console.log(_chooseCipher("ChaChaPoly", broken, (l) => lines.push(l)).cipher.backend); // "noble"
 * ```
 */
export function _chooseCipher(
  name: CipherName,
  makeNative: (name: CipherName) => NoiseCipher,
  warn: (line: string) => void,
): { cipher: NoiseCipher; reason?: string } {
  let native: NoiseCipher | undefined;
  let reason: string | undefined;
  try {
    native = makeNative(name);
    reason = selfTest(native, NOBLE[name]);
  } catch (e) {
    reason = `node:crypto is unavailable: ${e instanceof Error ? e.message : String(e)}`;
  }
  if (reason === undefined) return { cipher: native! };
  // The native path is never replaced silently.
  warn(
    `splitgate: native ${name} (node:crypto) is not used because ${reason}; ` +
      `transport frames are sealed with @noble/ciphers ${name} (pure JavaScript, slower)`,
  );
  return { cipher: NOBLE[name], reason };
}

function probe(name: CipherName): { cipher: NoiseCipher; reason?: string } {
  let p = probed.get(name);
  if (p === undefined) {
    p = _chooseCipher(name, nativeCipher, (line) => console.warn(line));
    probed.set(name, p);
  }
  return p;
}

/**
 * The implementation of `name` for `backend`: `noble` always gives `@noble/ciphers`;
 * `native` gives `node:crypto` once it passed the self-test, else `@noble/ciphers` with one
 * warning per cipher on stderr.
 *
 * @example
 * ```ts
 * import { getNoiseCipher } from "./cipher_select.ts";
 * const c = getNoiseCipher("ChaChaPoly", "native");
 * console.assert(c.name === "ChaChaPoly");
 * ```
 */
export function getNoiseCipher(name: CipherName, backend: CipherBackend = "native"): NoiseCipher {
  if (NOBLE[name] === undefined) {
    throw new TypeError(`cipher must be "ChaChaPoly" or "AESGCM", got ${JSON.stringify(name)}`);
  }
  if (backend === "noble") return NOBLE[name];
  if (backend !== "native") {
    throw new TypeError(`backend must be "native" or "noble", got ${JSON.stringify(backend)}`);
  }
  return probe(name).cipher;
}

/**
 * Which implementation {@link getNoiseCipher} gives for `name` and `backend`, and why.
 *
 * @example
 * ```ts
 * import { describeNoiseCipher } from "./cipher_select.ts";
 * const r = describeNoiseCipher("AESGCM", "native");
 * console.log(`${r.cipher} via ${r.implementation}`); // "AESGCM via node:crypto" where native works
 * ```
 */
export function describeNoiseCipher(
  name: CipherName,
  backend: CipherBackend = "native",
): CipherReport {
  const c = getNoiseCipher(name, backend);
  const reason = backend === "native" ? probe(name).reason : undefined;
  return {
    cipher: name,
    backend: c.backend,
    implementation: c.backend === "native" ? "node:crypto" : "@noble/ciphers",
    ...(reason === undefined ? {} : { fallbackReason: reason }),
  };
}
