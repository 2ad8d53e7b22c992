import assert from "node:assert/strict";
import {
  decodeSecAggMessage,
  encodeSecAggMessage,
  type SecAggMessage,
} from "../../../crypto/secagg/secagg_messages.ts";

const key = Uint8Array.from({ length: 32 }, (_, i) => i);
const ref = { study: "study-é", round: 4_000_000_000 };
const samples: SecAggMessage[] = [
  { type: "advertise", ...ref, from: "clinic-a", publicKey: key },
  {
    type: "roster",
    ...ref,
    threshold: 3,
    vectorLength: 100,
    params: { clipRange: 0.75, scaleBits: 11, maxSamples: 4096 },
    clinics: [{ name: "a", publicKey: key }, { name: "b", publicKey: key }],
  },
  {
    type: "shares",
    ...ref,
    from: "a",
    envelopes: [{ to: "b", blob: Uint8Array.of(1, 2) }, { to: "c", blob: new Uint8Array(0) }],
  },
  {
    type: "relay",
    ...ref,
    to: "b",
    senders: ["a", "b"],
    envelopes: [{ from: "a", blob: Uint8Array.of(9) }],
  },
  { type: "masked", ...ref, from: "a", masked: Uint32Array.of(0, 1, 0xffff_ffff) },
  { type: "unmask", ...ref, survivors: ["a", "b", "c"], dropped: [] },
  {
    type: "reveal",
    ...ref,
    from: "a",
    shares: [{ of: "b", share: key }, { of: "c", peer: "a", share: key }],
  },
];

Deno.test("every message type survives its byte encoding", () => {
  for (const m of samples) assert.deepEqual(decodeSecAggMessage(encodeSecAggMessage(m)), m, m.type);
});

Deno.test("every truncation, a trailing byte, an unknown tag and another version are refused with MALFORMED_MESSAGE", () => {
  for (const m of samples) {
    const b = encodeSecAggMessage(m);
    for (let n = 0; n < b.length; n++) {
      assert.throws(() => decodeSecAggMessage(b.subarray(0, n)), {
        name: "SecAggError",
        code: "MALFORMED_MESSAGE",
      }, `${m.type} cut at ${n}`);
    }
    const longer = new Uint8Array(b.length + 1);
    longer.set(b);
    assert.throws(() => decodeSecAggMessage(longer), {
      code: "MALFORMED_MESSAGE",
      message: /1 trailing bytes/,
    });
  }
  const b = encodeSecAggMessage(samples[0]);
  assert.throws(() => decodeSecAggMessage(Uint8Array.of(7, ...b.subarray(1))), {
    code: "MALFORMED_MESSAGE",
    message: /tag 7 is unknown/,
  });
  assert.throws(() => decodeSecAggMessage(Uint8Array.of(b[0], 2, ...b.subarray(2))), {
    code: "MALFORMED_MESSAGE",
    message: /version 2; expected 1/,
  });
});

Deno.test("a list count larger than the bytes left is refused before allocating", () => {
  const b = encodeSecAggMessage({
    type: "unmask",
    study: "",
    round: 0,
    survivors: [],
    dropped: [],
  });
  const v = new DataView(b.buffer);
  v.setUint32(2 + 2 + 4, 0xffff_ffff); // survivors count
  assert.throws(() => decodeSecAggMessage(b), {
    code: "MALFORMED_MESSAGE",
    message: /survivors: count 4294967295 exceeds the bytes left/,
  });
});
