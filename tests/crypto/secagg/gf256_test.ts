import assert from "node:assert/strict";
import fc from "fast-check";
import { gfInv, gfMul } from "../../../crypto/secagg/gf256.ts";

Deno.test("GF(2^8) products and inverse match FIPS-197 §4.2", () => {
  // FIPS-197 §4.2: {57} • {83} = {c1}; §4.2.1: {57} • {13} = {fe}, {57} • {02} = {ae}, {57} • {10} = {07}
  assert.equal(gfMul(0x57, 0x83), 0xc1);
  assert.equal(gfMul(0x57, 0x13), 0xfe);
  assert.equal(gfMul(0x57, 0x02), 0xae);
  assert.equal(gfMul(0x57, 0x10), 0x07);
  // FIPS-197 §5.1.1: the S-box starts from the inverse; {53}^-1 = {ca}
  assert.equal(gfInv(0x53), 0xca);
  assert.equal(gfInv(0x01), 0x01);
  assert.equal(gfInv(0x00), 0x00);
});

Deno.test("every non-zero element times its inverse is 1, and inverses are distinct", () => {
  const seen = new Set<number>();
  for (let a = 1; a < 256; a++) {
    assert.equal(gfMul(a, gfInv(a)), 1, `a = ${a}`);
    seen.add(gfInv(a));
  }
  assert.equal(seen.size, 255);
});

Deno.test("GF(2^8) multiplication is commutative, associative and distributes over XOR", () => {
  const byte = fc.integer({ min: 0, max: 255 });
  fc.assert(fc.property(byte, byte, byte, (a, b, c) => {
    assert.equal(gfMul(a, b), gfMul(b, a));
    assert.equal(gfMul(gfMul(a, b), c), gfMul(a, gfMul(b, c)));
    assert.equal(gfMul(a, b ^ c), gfMul(a, b) ^ gfMul(a, c));
  }));
});
