import assert from "node:assert/strict";
import { Membership } from "../../../runtime/cluster/membership.ts";
import { ClusterError } from "../../../runtime/cluster/cluster_error.ts";
import { natsTest, sleep, withNats } from "./nats_harness.ts";

async function until(f: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!f()) {
    if (Date.now() > end) throw new Error(`condition not met within ${ms} ms`);
    await sleep(50);
  }
}

Deno.test({
  name: "members see each other join and leave, and onChange gets the sorted list",
  ...natsTest,
  fn: () =>
    withNats({ links: 2 }, async ({ links: [a, b], names }) => {
      const m1 = await Membership.join(a, names, "trainer-1", { heartbeatMs: 200 });
      assert.deepEqual(m1.live(), ["trainer-1"]);
      const changes: string[][] = [];
      m1.onChange((live) => changes.push(live));
      const m0 = await Membership.join(b, names, "trainer-0", { heartbeatMs: 200 });
      assert.deepEqual(m0.live(), ["trainer-0", "trainer-1"]);
      await until(() => m1.live().length === 2, 2_000);
      assert.deepEqual(changes.at(-1), ["trainer-0", "trainer-1"]);
      const t0 = Date.now();
      await m0.leave();
      await until(() => m1.live().length === 1, 2_000);
      assert.ok(Date.now() - t0 < 1_500, "a leave is seen before the TTL");
      assert.deepEqual(changes.at(-1), ["trainer-1"]);
      await m1.leave();
    }),
});

Deno.test({
  name: "a member that stops heartbeating disappears after the 5 s TTL",
  ...natsTest,
  fn: () =>
    withNats({ links: 2 }, async ({ links: [a, b], names }) => {
      const m1 = await Membership.join(a, names, "t1", { heartbeatMs: 250 });
      await Membership.join(b, names, "t2", { heartbeatMs: 250 });
      await until(() => m1.live().length === 2, 2_000);
      // A crash: the connection goes without a leave().
      await b.close();
      const t0 = Date.now();
      await until(() => m1.live().length === 1, 9_000);
      const gone = Date.now() - t0;
      assert.deepEqual(m1.live(), ["t1"]);
      assert.ok(gone > 3_000, `gone after ${gone} ms: before the TTL?`);
      await m1.leave();
    }),
});

Deno.test({
  name: "a listener that throws does not freeze the live list: later joins and leaves are still seen",
  ...natsTest,
  fn: () =>
    withNats({ links: 3 }, async ({ links: [a, b, c], names }) => {
      const lines: string[] = [];
      const m1 = await Membership.join(a, names, "t1", { heartbeatMs: 200, log: (l) => lines.push(l) });
      m1.onChange(() => {
        throw new Error("listener bug");
      });
      const m2 = await Membership.join(b, names, "t2", { heartbeatMs: 200 });
      await until(() => m1.live().length === 2, 3_000);
      const m3 = await Membership.join(c, names, "t3", { heartbeatMs: 200 });
      await until(() => m1.live().length === 3, 3_000);
      await m2.leave();
      await until(() => m1.live().join() === "t1,t3", 3_000);
      assert.ok(lines.some((l) => l.includes("listener bug")), "the failure is logged");
      await m3.leave();
      await m1.leave();
    }),
});

Deno.test({
  name: "a second trainer under a live trainer's id is refused; a dead one's id is free to reuse",
  ...natsTest,
  fn: () =>
    withNats({ links: 3 }, async ({ links: [a, b, c], names }) => {
      const live = await Membership.join(a, names, "gpu-0", { heartbeatMs: 200 });
      await assert.rejects(
        Membership.join(b, names, "gpu-0", { heartbeatMs: 200 }),
        (e) => e instanceof ClusterError && e.code === "BAD_MEMBER_ID" && /held by a live trainer/.test(e.message),
      );
      // A crash (no leave): the entry stays until the TTL but no longer changes.
      await a.close();
      const again = await Membership.join(c, names, "gpu-0", { heartbeatMs: 200 });
      assert.ok(again.live().includes("gpu-0"));
      await again.leave();
      void live;
    }),
});

Deno.test({
  name: "a bad trainer id or heartbeat is refused",
  ...natsTest,
  fn: () =>
    withNats({}, async ({ links: [a], names }) => {
      await assert.rejects(
        Membership.join(a, names, "a b"),
        (e) => e instanceof ClusterError && e.code === "BAD_MEMBER_ID",
      );
      await assert.rejects(Membership.join(a, names, "t", { heartbeatMs: 5_000 }), RangeError);
    }),
});
