import assert from "node:assert/strict";
import { headers } from "@nats-io/transport-node";
import {
  type BusRequest,
  RequestSender,
  ShardWorker,
} from "../../../runtime/cluster/request_bus.ts";
import { ClusterError } from "../../../runtime/cluster/cluster_error.ts";
import { shardOf } from "../../../runtime/cluster/study_names.ts";
import { natsTest, sleep, withNats } from "./nats_harness.ts";

const utf8 = new TextEncoder();
const all = (n: number) => [...Array(n).keys()];
const echo = (r: BusRequest) =>
  Promise.resolve({
    status: 200 as const,
    payload: new Uint8Array([...utf8.encode(`${r.clinic}:`), ...r.payload]),
  });

async function blobNames(link: { objm: { open(n: string): Promise<any> } }, store: string) {
  const os = await link.objm.open(store);
  return (await os.list()).map((i: { name: string }) => i.name).filter((n: string) =>
    n.startsWith("blob/")
  );
}

Deno.test({
  name: "a request reaches the shard's worker and its reply the sender",
  ...natsTest,
  fn: () =>
    withNats({ links: 2 }, async ({ links: [front, trainer], names }) => {
      const seen: BusRequest[] = [];
      const worker = new ShardWorker(trainer, names, (r) => (seen.push(r), echo(r)));
      worker.setShards(all(names.shards));
      const sender = new RequestSender(front, names, { timeoutMs: 10_000 });
      const reply = await sender.send("clinic-a", utf8.encode("hi"));
      assert.equal(reply.status, 200);
      assert.deepEqual(
        "payload" in reply && new TextDecoder().decode(reply.payload),
        "clinic-a:hi",
      );
      assert.equal(seen.length, 1);
      assert.equal(seen[0].clinic, "clinic-a");
      assert.equal(seen[0].redelivered, false);
      assert.match(seen[0].id, /^[0-9a-f-]{36}$/);
      await sender.close();
      await worker.stop();
    }),
});

Deno.test({
  name: "a refusal keeps its status, code and message",
  ...natsTest,
  fn: () =>
    withNats({}, async ({ links: [link], names }) => {
      const worker = new ShardWorker(link, names, () =>
        Promise.resolve({
          status: 409,
          error: { code: "STEP_OUT_OF_ORDER", message: "step 3 before 2" },
        }));
      worker.setShards(all(names.shards));
      const sender = new RequestSender(link, names, { timeoutMs: 10_000 });
      assert.deepEqual(await sender.send("c", new Uint8Array([1])), {
        status: 409,
        error: { code: "STEP_OUT_OF_ORDER", message: "step 3 before 2" },
      });
      await sender.close();
      await worker.stop();
    }),
});

Deno.test({
  name: "a handler that throws answers 500 INTERNAL and the worker goes on",
  ...natsTest,
  fn: () =>
    withNats({}, async ({ links: [link], names }) => {
      let n = 0;
      const lines: string[] = [];
      const worker = new ShardWorker(link, names, (r) => {
        if (n++ === 0) throw new Error("boom");
        return echo(r);
      }, { log: (l) => lines.push(l) });
      worker.setShards(all(names.shards));
      const sender = new RequestSender(link, names, { timeoutMs: 10_000 });
      assert.deepEqual(await sender.send("c", new Uint8Array([1])), {
        status: 500,
        error: { code: "INTERNAL", message: "internal error" },
      });
      assert.equal((await sender.send("c", new Uint8Array([2]))).status, 200);
      assert.ok(lines.some((l) => l.includes("boom")));
      await sender.close();
      await worker.stop();
    }),
});

Deno.test({
  name: "payloads over the inline limit go through the object store, both ways, and are deleted",
  ...natsTest,
  fn: () =>
    withNats({ links: 2 }, async ({ links: [front, trainer], names }) => {
      const big = new Uint8Array(3000).map((_, i) => i % 251);
      let got = 0;
      const worker = new ShardWorker(trainer, names, (r) => {
        got = r.payload.length;
        return Promise.resolve({ status: 200, payload: r.payload.slice().reverse() });
      }, { inlineLimit: 1024 });
      worker.setShards(all(names.shards));
      const sender = new RequestSender(front, names, { timeoutMs: 10_000, inlineLimit: 1024 });
      const reply = await sender.send("c", big);
      assert.equal(got, 3000);
      assert.ok("payload" in reply);
      assert.deepEqual(reply.payload, big.slice().reverse());
      // The worker deletes the request blob after its ack, the sender the reply blob at once.
      for (
        let i = 0;
        i < 50 && (await blobNames(front, names.rounds)).length > 0;
        i++
      ) await sleep(50);
      assert.deepEqual(await blobNames(front, names.rounds), []);
      await sender.close();
      await worker.stop();
    }),
});

Deno.test({
  name: "no trainer: BUS_TIMEOUT naming the clinic and the wait; the request stays stored",
  ...natsTest,
  fn: () =>
    withNats({}, async ({ links: [link], names }) => {
      const sender = new RequestSender(link, names, { timeoutMs: 300 });
      await assert.rejects(sender.send("clinic-z", new Uint8Array([1])), (e) =>
        e instanceof ClusterError && e.code === "BUS_TIMEOUT" && e.message.includes('"clinic-z"') &&
        e.message.includes("300 ms"));
      const info = await link.jsm.streams.info(names.stream);
      assert.equal(info.state.messages, 1);
      await sender.close();
    }),
});

Deno.test({
  name: "setShards: only owned shards are pulled; a shard added later gets its stored requests",
  ...natsTest,
  fn: () =>
    withNats({}, async ({ links: [link], names }) => {
      const clinic = "clinic-a";
      const k = shardOf(clinic, names.shards);
      const worker = new ShardWorker(link, names, echo);
      worker.setShards(all(names.shards).filter((s) => s !== k));
      const sender = new RequestSender(link, names, { timeoutMs: 10_000 });
      const pending = sender.send(clinic, new Uint8Array([5]));
      await sleep(500);
      assert.equal((await link.jsm.streams.info(names.stream)).state.messages, 1, "not pulled");
      worker.setShards([k]);
      assert.deepEqual(worker.shards, [k]);
      assert.equal((await pending).status, 200);
      // Dropping every shard stops pulling: a new request stays stored.
      worker.setShards([]);
      const late = new RequestSender(link, names, { timeoutMs: 500 });
      await assert.rejects(
        late.send(clinic, new Uint8Array([6])),
        (e) => e instanceof ClusterError && e.code === "BUS_TIMEOUT",
      );
      await late.close();
      await sender.close();
      await worker.stop();
    }),
});

Deno.test({
  name: "a redelivered request says so",
  ...natsTest,
  fn: () =>
    withNats({}, async ({ links: [link], names }) => {
      const clinic = "c";
      const k = shardOf(clinic, names.shards);
      const sender = new RequestSender(link, names, { timeoutMs: 10_000 });
      const pending = sender.send(clinic, new Uint8Array([1]));
      // A first delivery that is not acked (a trainer that died: here a nak, not 30 s of ack_wait).
      const consumer = await link.js.consumers.get(names.stream, names.consumer(k));
      const first = await consumer.next({ expires: 5_000 });
      assert.ok(first !== null);
      first.nak();
      const seen: BusRequest[] = [];
      const worker = new ShardWorker(link, names, (r) => (seen.push(r), echo(r)));
      worker.setShards([k]);
      assert.equal((await pending).status, 200);
      assert.equal(seen.length, 1);
      assert.equal(seen[0].redelivered, true);
      await sender.close();
      await worker.stop();
    }),
});

Deno.test({
  name: "a message with missing headers is acked, dropped and logged; the worker goes on",
  ...natsTest,
  fn: () =>
    withNats({}, async ({ links: [link], names }) => {
      const lines: string[] = [];
      const handled: string[] = [];
      const worker = new ShardWorker(link, names, (r) => (handled.push(r.clinic), echo(r)), {
        log: (l) => lines.push(l),
      });
      worker.setShards(all(names.shards));
      const h = headers();
      h.set("sg-clinic", "x"); // no sg-id, no sg-reply
      await link.js.publish(names.subject(0), new Uint8Array([1]), { headers: h });
      await link.js.publish(names.subject(1), new Uint8Array([1])); // no headers at all
      const sender = new RequestSender(link, names, { timeoutMs: 10_000 });
      assert.equal((await sender.send("ok", new Uint8Array([1]))).status, 200);
      for (let i = 0; i < 50 && lines.length < 2; i++) await sleep(50);
      assert.equal(lines.filter((l) => l.startsWith("BAD_BUS_MESSAGE")).length, 2);
      assert.deepEqual(handled, ["ok"]);
      for (
        let i = 0;
        i < 50 && (await link.jsm.streams.info(names.stream)).state.messages > 0;
        i++
      ) await sleep(50);
      assert.equal((await link.jsm.streams.info(names.stream)).state.messages, 0, "all acked");
      await sender.close();
      await worker.stop();
    }),
});

Deno.test({
  name: "requests are handled concurrently, and two workers split the shards",
  ...natsTest,
  fn: () =>
    withNats({ links: 3, shards: 8 }, async ({ links: [front, t1, t2], names }) => {
      const by = new Map<string, string>();
      const slow = (who: string) => async (r: BusRequest) => {
        by.set(r.clinic, who);
        await sleep(300);
        return echo(r);
      };
      const w1 = new ShardWorker(t1, names, slow("t1")),
        w2 = new ShardWorker(t2, names, slow("t2"));
      w1.setShards([0, 1, 2, 3]);
      w2.setShards([4, 5, 6, 7]);
      const sender = new RequestSender(front, names, { timeoutMs: 10_000 });
      const clinics = Array.from({ length: 16 }, (_, i) => `clinic-${i}`);
      const t0 = performance.now();
      const replies = await Promise.all(clinics.map((c) => sender.send(c, utf8.encode(c))));
      const ms = performance.now() - t0;
      assert.ok(replies.every((r) => r.status === 200));
      assert.ok(
        ms < 16 * 300 / 2,
        `16 requests of 300 ms took ${ms.toFixed(0)} ms: not concurrent`,
      );
      for (const c of clinics) assert.equal(by.get(c), shardOf(c, 8) < 4 ? "t1" : "t2", c);
      await sender.close();
      await Promise.all([w1.stop(), w2.stop()]);
    }),
});

Deno.test({
  name: "reclaim: requests a dead trainer pulled but never acked come at once, not after ack_wait",
  ...natsTest,
  fn: () =>
    withNats({ links: 2 }, async ({ links: [dead, heir], names }) => {
      const clinic = "clinic-a";
      const k = shardOf(clinic, names.shards);
      // The trainer that dies: it pulls the request and never replies or acks.
      let pulled!: () => void;
      const wasPulled = new Promise<void>((r) => pulled = r);
      const doomed = new ShardWorker(dead, names, () => {
        pulled();
        return new Promise(() => {});
      });
      doomed.setShards([k]);
      const sender = new RequestSender(heir, names, { timeoutMs: 10_000 });
      const pending = sender.send(clinic, new Uint8Array([9]));
      await wasPulled;
      await dead.close(); // dies: its pull is gone, the request stays unacked for 30 s
      const seen: BusRequest[] = [];
      const worker = new ShardWorker(heir, names, (r) => (seen.push(r), echo(r)));
      const t0 = performance.now();
      await worker.reclaim([k]);
      const reply = await pending;
      const ms = performance.now() - t0;
      assert.equal(reply.status, 200);
      assert.ok(ms < 5_000, `answered after ${ms.toFixed(0)} ms: waited for ack_wait?`);
      assert.deepEqual(worker.shards, [k]);
      assert.equal(seen.length, 1);
      await sender.close();
      await worker.stop();
    }),
});
