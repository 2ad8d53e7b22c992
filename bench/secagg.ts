/**
 * Benchmark of one secure-aggregation round (crypto/secagg/) in one process: for n clinics and
 * vectors of L weights it prints, per setting, the median over repetitions of the time one
 * clinic spends in each step (share keys, masked input, unmask), the server's finish with no
 * dropout and with one clinic dropped after sending shares, and the bytes one clinic uploads
 * (shares + masked input). Every message goes through its byte encoding, as over the channel.
 *
 * Run: npx -y deno@2.9.6 run -A bench/secagg.ts [--quick]
 *
 * @example
 * ```ts
 * // deno task bench:secagg   (prints a table; never passes or fails)
 * ```
 * @module
 */
import { generateKeyPair } from "../crypto/noise/dh.ts";
import { SecAggClient } from "../crypto/secagg/secagg_client.ts";
import { SecAggServer } from "../crypto/secagg/secagg_server.ts";
import {
  decodeSecAggMessage,
  encodeSecAggMessage,
  type SecAggMessage,
} from "../crypto/secagg/secagg_messages.ts";
import { summarize } from "./_timing.ts";

const quick = Deno.args.includes("--quick");
const settings = quick
  ? [[4, 10_000], [8, 10_000]]
  : [[4, 10_000], [4, 100_000], [8, 100_000], [16, 100_000], [8, 1_000_000]];
const reps = quick ? 2 : 3;

function bytes(m: SecAggMessage): number {
  return encodeSecAggMessage(m).length;
}
const wire = <T extends SecAggMessage>(m: T): T => decodeSecAggMessage(encodeSecAggMessage(m)) as T;

function once(n: number, L: number, dropOne: boolean) {
  const names = Array.from({ length: n }, (_, i) => `clinic-${String(i).padStart(2, "0")}`);
  const keys = new Map(names.map((x) => [x, generateKeyPair()]));
  const peerKey = (x: string) => keys.get(x)?.publicKey;
  const server = new SecAggServer({
    study: "bench",
    round: 1,
    clinics: names.map((name) => ({ name, publicKey: peerKey(name)! })),
    vectorLength: L,
  });
  const clients = names.map((name) =>
    new SecAggClient({ name, keyPair: keys.get(name)!, peerKey, study: "bench", round: 1 })
  );
  const w = Float32Array.from({ length: L }, (_, i) => Math.sin(i) * 0.5);
  for (const c of clients) server.receive(wire(c.advertise()));
  const roster = server.closeAdvertise();
  let t = performance.now(), up = 0;
  const shares = clients.map((c) => c.shareKeys(roster));
  const tShare = (performance.now() - t) / n;
  up += bytes(shares[0]);
  shares.forEach((s) => server.receive(wire(s)));
  const relays = server.closeShares();
  const live = dropOne ? clients.slice(1) : clients;
  t = performance.now();
  const masked = live.map((c, i) =>
    c.maskedInput(wire(relays.get(names[i + (dropOne ? 1 : 0)])!), w, 100)
  );
  const tMask = (performance.now() - t) / live.length;
  up += bytes(masked[0]);
  masked.forEach((m) => server.receive(wire(m)));
  const request = server.closeMasked();
  t = performance.now();
  const reveals = live.map((c) => c.unmask(wire(request)));
  const tUnmask = (performance.now() - t) / live.length;
  reveals.forEach((r) => server.receive(wire(r)));
  t = performance.now();
  server.finish();
  return { tShare, tMask, tUnmask, tFinish: performance.now() - t, up };
}

console.log(`secure aggregation, one process, median of ${reps} (ms; per clinic unless 'server')`);
console.log(
  "n\tL\tshareKeys\tmaskedInput\tunmask\tserver finish\tfinish, 1 dropped\tupload bytes/clinic",
);
for (const [n, L] of settings) {
  const full = Array.from({ length: reps }, () => once(n, L, false));
  const drop = Array.from({ length: reps }, () => once(n, L, true));
  const med = (xs: number[]) => summarize(xs).median.toFixed(1);
  console.log(
    [
      n,
      L,
      med(full.map((r) => r.tShare)),
      med(full.map((r) => r.tMask)),
      med(full.map((r) => r.tUnmask)),
      med(full.map((r) => r.tFinish)),
      med(drop.map((r) => r.tFinish)),
      full[0].up,
    ].join("\t"),
  );
}
