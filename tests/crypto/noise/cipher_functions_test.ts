/**
 * The native (`node:crypto`) and the reference (`@noble/ciphers`) implementations
 * of each Noise cipher are interchangeable: byte-identical ciphertexts and tags for random
 * inputs, and the same refusals for tampered ones.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { gcm } from "@noble/ciphers/aes.js";
import { CipherState } from "../../../crypto/noise/cipher_state.ts";
import { type CipherName, nonce96 } from "../../../crypto/noise/cipher_functions.ts";
import {
  _chooseCipher,
  describeNoiseCipher,
  getNoiseCipher,
} from "../../../crypto/noise/cipher_select.ts";
import { nativeCipher } from "../../../crypto/noise/native_ciphers.ts";
import { nobleCipher } from "../../../crypto/noise/noble_ciphers.ts";
import { isNoiseError } from "../../../crypto/errors.ts";

const CIPHERS: readonly CipherName[] = ["ChaChaPoly", "AESGCM"];
const MAX_N = 0xffff_ffff_ffff_ffffn;

const inputs = fc.record({
  key: fc.uint8Array({ minLength: 32, maxLength: 32 }),
  n: fc.bigInt({ min: 0n, max: MAX_N }),
  ad: fc.uint8Array({ maxLength: 80 }),
  // Up to 2 KiB plus the block boundaries (16, 64) that tend to hide off-by-one bugs.
  pt: fc.oneof(fc.uint8Array({ maxLength: 2048 }), fc.uint8Array({ minLength: 63, maxLength: 65 })),
});

/** What a tamperer can change: a ciphertext or tag bit, the length, the ad, the nonce, the key. */
const tamper = fc.oneof(
  fc.record({
    kind: fc.constant("flip" as const),
    at: fc.nat(),
    bit: fc.integer({ min: 0, max: 7 }),
  }),
  fc.record({ kind: fc.constant("truncate" as const), by: fc.integer({ min: 1, max: 20 }) }),
  fc.record({
    kind: fc.constant("extend" as const),
    extra: fc.uint8Array({ minLength: 1, maxLength: 8 }),
  }),
  fc.record({
    kind: fc.constant("ad" as const),
    at: fc.nat(),
    extra: fc.uint8Array({ maxLength: 1 }),
  }),
  fc.record({ kind: fc.constant("nonce" as const), delta: fc.bigInt({ min: 1n, max: 1n << 40n }) }),
  fc.record({ kind: fc.constant("key" as const), at: fc.integer({ min: 0, max: 31 }) }),
);

const opens = (f: () => Uint8Array): Uint8Array | "refused" => {
  try {
    return f();
  } catch {
    return "refused";
  }
};

for (const name of CIPHERS) {
  const native = nativeCipher(name), noble = nobleCipher(name);

  Deno.test(`${name}: native and @noble give byte-identical ciphertext and tag, and open each other's`, () => {
    fc.assert(
      fc.property(inputs, ({ key, n, ad, pt }) => {
        const a = native.encrypt(key, n, ad, pt);
        const b = noble.encrypt(key, n, ad, pt);
        assert.deepEqual(a, b);
        assert.deepEqual(native.decrypt(key, n, ad, b), pt);
        assert.deepEqual(noble.decrypt(key, n, ad, a), pt);
        // Sealing into a caller's buffer (the frame) gives the same bytes.
        const out = new Uint8Array(pt.length + 16);
        assert.equal(native.encrypt(key, n, ad, pt, out), out);
        assert.deepEqual(out, b);
      }),
      { numRuns: 300 },
    );
  });

  Deno.test(`${name}: native and @noble refuse the same tampered inputs`, () => {
    let refused = 0;
    fc.assert(
      fc.property(inputs, tamper, ({ key, n, ad, pt }, t) => {
        const ct = noble.encrypt(key, n, ad, pt);
        let c = ct, a = ad, m = n, k = key;
        if (t.kind === "flip") (c = ct.slice())[t.at % c.length] ^= 1 << t.bit;
        if (t.kind === "truncate") c = ct.subarray(0, Math.max(0, ct.length - t.by));
        if (t.kind === "extend") c = Uint8Array.of(...ct, ...t.extra);
        if (t.kind === "ad") {
          const at = ad.length === 0 ? 0 : t.at % (ad.length + 1);
          a = t.extra.length === 0 && ad.length > 0
            ? Uint8Array.of(...ad.subarray(0, at % ad.length), ...ad.subarray(at % ad.length + 1)) // one byte fewer
            : Uint8Array.of(...ad.subarray(0, at), 0x5a, ...ad.subarray(at)); // one byte more
        }
        if (t.kind === "nonce") m = (n + t.delta) & MAX_N;
        if (t.kind === "key") (k = key.slice())[t.at] ^= 0x80;
        const byNative = opens(() => native.decrypt(k, m, a, c));
        const byNoble = opens(() => noble.decrypt(k, m, a, c));
        assert.deepEqual(byNative, byNoble, `${t.kind}: the two implementations disagree`);
        assert.equal(byNative, "refused", `${t.kind}: a tampered input was accepted`);
        refused++;
      }),
      { numRuns: 600 },
    );
    assert.equal(refused, 600);
  });
}

Deno.test("AESGCM's nonce is 32 zero bits then the 64-bit big-endian counter (§12.4)", () => {
  const key = new Uint8Array(32).map((_, i) => i + 1),
    ad = Uint8Array.of(1, 2),
    pt = Uint8Array.of(3, 4, 5);
  const n = 0x0102030405060708n;
  const want = gcm(key, Uint8Array.of(0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8), ad).encrypt(pt);
  assert.deepEqual(nonce96("AESGCM", n), Uint8Array.of(0, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8));
  for (const backend of ["native", "noble"] as const) {
    const c = new CipherState(key, getNoiseCipher("AESGCM", backend));
    c.setNonce(n);
    assert.deepEqual(c.encryptWithAd(ad, pt), want, backend);
  }
});

Deno.test("a CipherState refuses a tampered frame alike on both implementations: BAD_TAG, nonce kept", () => {
  for (const name of CIPHERS) {
    for (const backend of ["native", "noble"] as const) {
      const key = new Uint8Array(32).fill(9);
      const a = new CipherState(key, getNoiseCipher(name, backend));
      const b = new CipherState(key, getNoiseCipher(name, backend));
      const ct = a.encryptWithAd(new Uint8Array(0), new Uint8Array(100).fill(1));
      ct[ct.length - 1] ^= 1;
      assert.throws(() => b.decryptWithAd(new Uint8Array(0), ct), (e) => {
        assert.ok(isNoiseError(e, "BAD_TAG"), `${name}/${backend}: ${e}`);
        assert.equal((e as Error).message, "invalid tag");
        return true;
      });
      assert.equal(b.nonce, 0n);
      // Rekey (§4.2 default REKEY) agrees across implementations too.
      const other = backend === "native" ? "noble" : "native";
      const x = new CipherState(key, getNoiseCipher(name, backend));
      const y = new CipherState(key, getNoiseCipher(name, other));
      x.rekey();
      y.rekey();
      assert.deepEqual(
        y.decryptWithAd(new Uint8Array(0), x.encryptWithAd(new Uint8Array(0), pt3)),
        pt3,
      );
    }
  }
});
const pt3 = Uint8Array.of(1, 2, 3);

Deno.test("native is what this runtime gets; a broken native cipher is replaced loudly, never silently", () => {
  for (const name of CIPHERS) {
    assert.equal(
      getNoiseCipher(name).backend,
      "native",
      `${name}: node:crypto should work on Deno`,
    );
    assert.deepEqual(describeNoiseCipher(name), {
      cipher: name,
      backend: "native",
      implementation: "node:crypto",
    });
    assert.equal(getNoiseCipher(name, "noble").backend, "noble");
  }
  const cases: [string, (name: CipherName) => ReturnType<typeof nativeCipher>, RegExp][] = [
    ["missing", () => {
      throw new Error("Unknown cipher");
    }, /node:crypto is unavailable: Unknown cipher/],
    ["wrong bytes", (n) => ({
      ...nativeCipher(n),
      encrypt: (k, m, ad, pt) => nativeCipher(n).encrypt(k, m + 1n, ad, pt),
    }), /ciphertext differs from @noble/],
    ["accepts forgeries", (n) => ({
      ...nativeCipher(n),
      decrypt: (k, m, ad, ct) => {
        try {
          return nobleCipher(n).decrypt(k, m, ad, ct);
        } catch {
          return new Uint8Array(ct.length - 16); // a forgery "opens"
        }
      },
    }), /it accepted a tampered tag/],
  ];
  for (const [what, make, reason] of cases) {
    const lines: string[] = [];
    const chosen = _chooseCipher("ChaChaPoly", make, (l) => lines.push(l));
    assert.equal(chosen.cipher.backend, "noble", what);
    assert.match(chosen.reason ?? "", reason, what);
    assert.equal(lines.length, 1, `${what}: one warning`);
    assert.match(
      lines[0],
      /native ChaChaPoly \(node:crypto\) is not used because .* sealed with @noble\/ciphers ChaChaPoly/,
    );
  }
  assert.throws(() => getNoiseCipher("ChaChaPoly", "openssl" as "native"), {
    name: "TypeError",
    message: 'backend must be "native" or "noble", got "openssl"',
  });
  assert.throws(() => getNoiseCipher("AESOCB" as CipherName), {
    name: "TypeError",
    message: 'cipher must be "ChaChaPoly" or "AESGCM", got "AESOCB"',
  });
});

Deno.test("Split() refuses a transport cipher other than the protocol's", async () => {
  const { SymmetricState } = await import("../../../crypto/noise/symmetric_state.ts");
  const { getHash } = await import("../../../crypto/noise/hash.ts");
  const s = new SymmetricState(getHash("SHA256"), "Noise_NN_25519_ChaChaPoly_SHA256");
  assert.throws(() => s.split(getNoiseCipher("AESGCM")), {
    name: "TypeError",
    message: "transport cipher must be the handshake's ChaChaPoly, got AESGCM",
  });
});
