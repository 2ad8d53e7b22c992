/**
 * `deno task bench:bus [--rounds 40] [--in-flight 8]`: the request bus of the scale-out
 * (docs/design/scale_out.md) alone, against a local nats-server with JetStream: a
 * `RequestSender` and a `ShardWorker` whose handler echoes the payload, so every round trip
 * carries the payload both ways (a cut activation up, a cut gradient of the same size down).
 * It prints, per payload size, the median round trip one at a time (the messaging a step pays)
 * and the round trips per second with `--in-flight` requests outstanding (a ceiling of what one
 * nats-server carries on this machine; sender, worker and server share its cores, so it is a
 * lower bound for separate machines).
 *
 * @example
 * ```sh
 * deno task bench:bus --rounds 40 --in-flight 8
 * ```
 * @module
 */
import { parseArgs } from "node:util";
import { startLocalNats } from "../runtime/cluster/local_nats.ts";
import { connectNats, ensureStudyResources } from "../runtime/cluster/nats_link.ts";
import { RequestSender, ShardWorker } from "../runtime/cluster/request_bus.ts";
import { studyNames } from "../runtime/cluster/study_names.ts";

/** Payload sizes: a tiny request, an int8 cut and a float32 cut of the demo's CNN (64×32×7×7). */
const SIZES = [
  { label: "100 B (a turn request)", bytes: 100 },
  { label: "100 KB (int8 cut)", bytes: 100_352 },
  { label: "400 KB (float32 cut)", bytes: 401_408 },
];

/** The median of `xs` (sorted copy). */
function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function main(): Promise<void> {
  const { values: args } = parseArgs({
    args: Deno.args,
    options: { rounds: { type: "string" }, "in-flight": { type: "string" } },
  });
  const rounds = Number(args.rounds ?? 40), inFlight = Number(args["in-flight"] ?? 8);
  if (!Number.isInteger(rounds) || rounds < 1) throw new RangeError(`--rounds ${args.rounds}: expected a positive integer`);
  if (!Number.isInteger(inFlight) || inFlight < 1) throw new RangeError(`--in-flight ${args["in-flight"]}: expected a positive integer`);
  const dir = await Deno.makeTempDir({ prefix: "bench_bus_" });
  const nats = await startLocalNats({ storeDir: dir });
  const front = await connectNats(nats.url, { name: "bench-front" });
  const trainer = await connectNats(nats.url, { name: "bench-trainer" });
  const names = studyNames("bench-bus");
  try {
    await ensureStudyResources(front, names);
    const worker = new ShardWorker(trainer, names, (r) => Promise.resolve({ status: 200, payload: r.payload }));
    worker.setShards([...Array(names.shards).keys()]);
    const sender = new RequestSender(front, names);
    console.log(`machine: ${navigator.hardwareConcurrency} CPUs, ${Deno.build.os}/${Deno.build.arch}; nats-server on loopback, sender and worker in this process`);
    console.log("payload (each way)          one at a time: median ms   in flight: round trips/s");
    for (const { label, bytes } of SIZES) {
      const payload = new Uint8Array(bytes);
      await sender.send("warm-up", payload);
      const trips: number[] = [];
      for (let i = 0; i < rounds; i++) {
        const t0 = performance.now();
        await sender.send("clinic-a", payload);
        trips.push(performance.now() - t0);
      }
      const t0 = performance.now();
      await Promise.all(Array.from({ length: inFlight }, async (_, k) => {
        for (let i = 0; i < rounds; i++) await sender.send(`clinic-${k}`, payload);
      }));
      const perSec = (inFlight * rounds) / ((performance.now() - t0) / 1000);
      console.log(`${label.padEnd(26)}  ${median(trips).toFixed(2).padStart(25)}   ${perSec.toFixed(0).padStart(24)}`);
    }
    await sender.close();
    await worker.stop();
  } finally {
    await front.close();
    await trainer.close();
    await nats.stop();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

if (import.meta.main) await main();
