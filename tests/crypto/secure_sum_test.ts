import assert from "node:assert/strict";
import fc from "fast-check";
import { x25519 } from "@noble/curves/ed25519.js";
import { fromFixedPoint, maskedShare, sumShares, toFixedPoint } from "../../crypto/secure_sum.ts";

function parties(n: number) {
  const secrets = Array.from({ length: n }, (_, i) => new Uint8Array(32).fill(i + 1));
  return {
    secrets,
    publics: secrets.map((s, i) => ({
      name: `clinic-${String.fromCharCode(97 + i)}`,
      publicKey: x25519.getPublicKey(s),
    })),
  };
}
const CTX = new TextEncoder().encode("study-x/schema-statistics");

Deno.test("secure sum: the relay's sum of masked shares is the plain sum", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 2, max: 5 }),
      fc.array(fc.double({ min: -1e6, max: 1e6, noNaN: true }), { minLength: 1, maxLength: 8 }),
      (n, base) => {
        const { secrets, publics } = parties(n);
        const vectors = secrets.map((_, i) => base.map((x) => x * (i + 1)));
        const shares = secrets.map((s, i) =>
          maskedShare(
            toFixedPoint(vectors[i]),
            { name: publics[i].name, secretKey: s },
            publics,
            CTX,
          )
        );
        const got = fromFixedPoint(sumShares(shares));
        base.forEach((_x, k) => {
          const want = vectors.reduce((a, v) => a + v[k], 0);
          assert.ok(
            Math.abs(got[k] - want) <= 1e-6 * Math.max(1, Math.abs(want)),
            `${got[k]} vs ${want}`,
          );
        });
      },
    ),
    { numRuns: 20 },
  );
});

Deno.test("secure sum: one masked share does not show the clinic's values; a missing share breaks the sum", () => {
  const { secrets, publics } = parties(3);
  const values = toFixedPoint([0, 0, 0, 0]);
  const share = maskedShare(values, { name: publics[0].name, secretKey: secrets[0] }, publics, CTX);
  assert.ok(share.every((w) => w !== 0n), "zeros must not come out as zeros");
  const other = maskedShare(
    values,
    { name: publics[0].name, secretKey: secrets[0] },
    publics,
    new TextEncoder().encode("another"),
  );
  assert.notDeepEqual(share, other, "a new context gives new masks");
  const shares = secrets.map((s, i) =>
    maskedShare(values, { name: publics[i].name, secretKey: s }, publics, CTX)
  );
  assert.notDeepEqual(fromFixedPoint(sumShares(shares.slice(0, 2))), [0, 0, 0, 0]);
  assert.deepEqual(fromFixedPoint(sumShares(shares)), [0, 0, 0, 0]);
  assert.throws(
    () => maskedShare(values, { name: "clinic-z", secretKey: secrets[0] }, publics, CTX),
    /must name "clinic-z" once/,
  );
});
