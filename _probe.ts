import { startLocalNats } from "./runtime/cluster/local_nats.ts";
import { connectNats, ensureStudyResources } from "./runtime/cluster/nats_link.ts";
import { studyNames } from "./runtime/cluster/study_names.ts";
const nats = await startLocalNats({ storeDir: await Deno.makeTempDir() });
const a = await connectNats(nats.url), b = await connectNats(nats.url);
const n = studyNames("probe", 4);
await Promise.all([ensureStudyResources(a, n), ensureStudyResources(b, n)]);
await ensureStudyResources(a, n);
console.log("ensured twice");
const kv = await a.kvm.open(n.members);
const w = await kv.watch({ include: "updates" as any });
(async () => { for await (const e of w) console.log(Date.now() % 100000, "watch", e.key, e.operation); })();
await kv.put("t1", JSON.stringify({ at: Date.now() }));
console.log(Date.now() % 100000, "put");
for (let i = 0; i < 8; i++) {
  await new Promise((r) => setTimeout(r, 1000));
  const keys = []; for await (const k of await kv.keys()) keys.push(k);
  const e = await kv.get("t1");
  console.log(Date.now() % 100000, "keys", keys, e?.operation ?? null);
}
w.stop();
await a.close(); await b.close(); await nats.stop();
