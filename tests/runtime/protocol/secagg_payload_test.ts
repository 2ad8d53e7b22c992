import assert from "node:assert/strict";
import {
  decodeSecAggPoll,
  decodeSecAggReply,
  encodeSecAggPoll,
  encodeSecAggReply,
  type SecAggPoll,
  type SecAggReply,
} from "../../../runtime/protocol/secagg_payload.ts";

const polls: SecAggPoll[] = [
  { round: 0, want: "roster" },
  { round: 2 ** 32 - 1, want: "done" },
  {
    round: 7,
    want: "unmask",
    message: { type: "masked", study: "s", round: 7, from: "a", masked: Uint32Array.of(1, 2) },
  },
];
const replies: SecAggReply[] = [
  { round: 1, status: "wait" },
  { round: 1, status: "late" },
  { round: 1, status: "early" },
  { round: 1, status: "refused", code: "BELOW_THRESHOLD", text: "2 of 4 — retry" },
  { round: 1, status: "done", included: ["a", "b"], average: Float32Array.of(0.5, -1.25) },
  {
    round: 1,
    status: "message",
    message: { type: "unmask", study: "s", round: 1, survivors: ["a"], dropped: [] },
  },
];

Deno.test("polls and replies survive their bytes", () => {
  for (const p of polls) assert.deepEqual(decodeSecAggPoll(encodeSecAggPoll(p)), p);
  for (const r of replies) assert.deepEqual(decodeSecAggReply(encodeSecAggReply(r)), r);
});

Deno.test("truncated or extended payloads, and a poll read as a reply, are refused with MALFORMED_MESSAGE", () => {
  for (const p of polls) {
    const b = encodeSecAggPoll(p);
    for (let n = 0; n < b.length; n++) {
      assert.throws(
        () => decodeSecAggPoll(b.subarray(0, n)),
        { code: "MALFORMED_MESSAGE" },
        `poll cut at ${n}`,
      );
    }
    assert.throws(() => decodeSecAggPoll(Uint8Array.of(...b, 0)), { code: "MALFORMED_MESSAGE" });
    assert.throws(() => decodeSecAggReply(b), {
      code: "MALFORMED_MESSAGE",
      message: /kind 0; expected 1/,
    });
  }
  for (const r of replies) {
    const b = encodeSecAggReply(r);
    if (r.status === "wait" || r.status === "late" || r.status === "early") continue; // a 7-byte head has no body to cut
    for (let n = 7; n < b.length; n++) {
      assert.throws(
        () => decodeSecAggReply(b.subarray(0, n)),
        { code: "MALFORMED_MESSAGE" },
        `${r.status} cut at ${n}`,
      );
    }
    assert.throws(() => decodeSecAggReply(Uint8Array.of(...b, 0)), { code: "MALFORMED_MESSAGE" });
  }
});
