import assert from "node:assert/strict";
import { KvHandshakeTimestamps } from "../../../runtime/cluster/kv_handshake_timestamps.ts";
import { tai64nFromMs } from "../../../crypto/channel/tai64n.ts";
import { natsTest, sleep, withNats } from "./nats_harness.ts";

const keyA = new Uint8Array(32).fill(7), keyB = new Uint8Array(32).fill(9);

Deno.test({
  name: "a timestamp is accepted once, only when newer, and seen by another front",
  ...natsTest,
  fn: () =>
    withNats({ links: 2 }, async ({ links: [a, b], names }) => {
      const f1 = await KvHandshakeTimestamps.open(a, names);
      const f2 = await KvHandshakeTimestamps.open(b, names);
      assert.equal(f1.last(keyA), undefined);
      assert.equal(await f1.accept(keyA, tai64nFromMs(1000)), true);
      assert.equal(await f2.accept(keyA, tai64nFromMs(1000)), false, "replayed on another front");
      assert.equal(await f2.accept(keyA, tai64nFromMs(999)), false, "older");
      assert.equal(await f2.accept(keyA, tai64nFromMs(1001)), true);
      assert.equal(await f1.accept(keyB, tai64nFromMs(5)), true, "keys are independent");
      for (let i = 0; i < 40 && f1.last(keyA)?.[11] !== tai64nFromMs(1001)[11]; i++) {
        await sleep(50);
      }
      assert.deepEqual(
        f1.last(keyA),
        tai64nFromMs(1001),
        "the watch brings the other front's update",
      );
      // A front opened later loads what is there.
      const f3 = await KvHandshakeTimestamps.open(a, names);
      assert.deepEqual(f3.last(keyA), tai64nFromMs(1001));
      assert.equal(f3.size, 2);
      for (const f of [f1, f2, f3]) f.close();
    }),
});

Deno.test({
  name: "two fronts accepting the same message 1 concurrently accept it once",
  ...natsTest,
  fn: () =>
    withNats({ links: 2 }, async ({ links: [a, b], names }) => {
      const f1 = await KvHandshakeTimestamps.open(a, names);
      const f2 = await KvHandshakeTimestamps.open(b, names);
      for (let round = 0; round < 20; round++) {
        const ts = tai64nFromMs(10_000 + round);
        const results = await Promise.all([
          f1.accept(keyA, ts),
          f2.accept(keyA, ts),
          f1.accept(keyA, ts),
          f2.accept(keyA, ts),
        ]);
        assert.equal(results.filter((r) => r).length, 1, `round ${round}: ${results}`);
      }
      f1.close();
      f2.close();
    }),
});
