import assert from "node:assert/strict";
import { generateKeyPair, type KeyPair } from "../../../crypto/noise/dh.ts";
import { DEFAULT_FIXED_POINT, errorBound } from "../../../crypto/secagg/fixed_point.ts";
import { SecAggRound } from "../../../runtime/server/secagg_round.ts";
import {
  localSecAggStepper,
  runSecAggClientRound,
  type SecAggClientRoundResult,
} from "../../../runtime/client/secagg_client_round.ts";
import {
  decodeSecAggPoll,
  decodeSecAggReply,
  encodeSecAggPoll,
} from "../../../runtime/protocol/secagg_payload.ts";
import type { SecAggMessage } from "../../../crypto/secagg/secagg_messages.ts";

const names = ["clinic-a", "clinic-b", "clinic-c", "clinic-d"];
const keys = new Map<string, KeyPair>(names.map((n) => [n, generateKeyPair()]));
const peerKey = (n: string) => keys.get(n)?.publicKey;
const weights = [
  Float32Array.of(1, 2, 3),
  Float32Array.of(-1, 0, 0.5),
  Float32Array.of(0.25, -3, 1),
  Float32Array.of(2, 2, -2),
];
const samples = [100, 200, 300, 400];

/** Each clinic's link to the server: in process, optionally cut after it sent a message of type `dropAfter`. */
function link(agg: SecAggRound, name: string, dropAfter?: SecAggMessage["type"]) {
  let down = false;
  return (payload: Uint8Array): Promise<Uint8Array> => {
    if (down) return Promise.reject(new Error(`${name}: link down`));
    const reply = agg.handle(name, payload);
    if (dropAfter !== undefined && decodeSecAggPoll(payload).message?.type === dropAfter) {
      down = true;
    }
    return Promise.resolve(reply);
  };
}

const stepper = (name: string, round: number) => {
  const i = names.indexOf(name);
  return localSecAggStepper({
    name,
    keyPair: keys.get(name)!,
    peerKey,
    study: "study-1",
    round,
    weights: weights[i],
    samples: samples[i],
  });
};

function clinics(
  agg: SecAggRound,
  round: number,
  drop: Partial<Record<string, SecAggMessage["type"]>> = {},
  who = names,
) {
  return who.map((name) => {
    return runSecAggClientRound({
      exchange: link(agg, name, drop[name]),
      stepper: stepper(name, round),
      name,
      round,
      pollMs: 2,
    });
  });
}

function plain(include: number[]): number[] {
  const m = include.reduce((s, u) => s + samples[u], 0);
  return [0, 1, 2].map((k) => include.reduce((s, u) => s + samples[u] * weights[u][k], 0) / m);
}

function assertClose(got: Float32Array, want: number[], bound: number) {
  want.forEach((w, k) =>
    assert.ok(Math.abs(got[k] - w) <= bound, `weight ${k}: |${got[k]} − ${w}| > ${bound}`)
  );
}

Deno.test("four clinics polling through the channel adapter get the weighted average, as the server does", async () => {
  const agg = new SecAggRound({ study: "study-1", clinicKey: peerKey, phaseTimeoutMs: 5_000 });
  const server = agg.aggregateWithReport(1, names, 3);
  const got = await Promise.all(clinics(agg, 1));
  const r = await server;
  assert.deepEqual(r.included, names);
  assert.equal(r.totalSamples, 1000);
  assertClose(r.average, plain([0, 1, 2, 3]), errorBound(DEFAULT_FIXED_POINT, 4, 1000));
  for (const g of got) assert.deepEqual(g, { average: r.average, included: true });
});

Deno.test("a clinic whose link dies after its masked upload is still in the average; the round completes", async () => {
  const agg = new SecAggRound({ study: "study-1", clinicKey: peerKey, phaseTimeoutMs: 300 });
  const server = agg.aggregateWithReport(2, names, 3);
  const results = await Promise.allSettled(clinics(agg, 2, { "clinic-c": "masked" }));
  const r = await server;
  assert.deepEqual(r.included, names);
  assertClose(r.average, plain([0, 1, 2, 3]), errorBound(DEFAULT_FIXED_POINT, 4, 1000));
  assert.equal(results[2].status, "rejected");
  for (const k of [0, 1, 3]) {
    assert.equal(
      (results[k] as PromiseFulfilledResult<SecAggClientRoundResult>).value.included,
      true,
    );
  }
});

Deno.test("two of four dropping refuses the round (BELOW_THRESHOLD) at the server and at the clinics; a retry with a new round number completes", async () => {
  const agg = new SecAggRound({ study: "study-1", clinicKey: peerKey, phaseTimeoutMs: 300 });
  const server = agg.aggregate(3, names, 3).then(() => null, (e: unknown) => e); // handled at once: it rejects before the clinics settle
  const results = await Promise.allSettled(
    clinics(agg, 3, { "clinic-a": "shares", "clinic-d": "shares" }),
  );
  assert.equal(((await server) as { code?: string }).code, "BELOW_THRESHOLD");
  for (const k of [1, 2]) {
    assert.equal(results[k].status, "rejected");
    assert.equal(
      ((results[k] as PromiseRejectedResult).reason as { code: string }).code,
      "BELOW_THRESHOLD",
    );
  }
  const retry = agg.aggregateWithReport(4, ["clinic-b", "clinic-c"], 3);
  await Promise.all(clinics(agg, 4, {}, ["clinic-b", "clinic-c"]));
  assertClose((await retry).average, plain([1, 2]), errorBound(DEFAULT_FIXED_POINT, 2, 500));
});

Deno.test("the adapter answers early, stale and impersonating polls without disturbing the round", async () => {
  const agg = new SecAggRound({ study: "study-1", clinicKey: peerKey, phaseTimeoutMs: 5_000 });
  const ask = (name: string, round: number, message?: SecAggMessage) =>
    decodeSecAggReply(agg.handle(name, encodeSecAggPoll({ round, want: "roster", message })));
  assert.equal(ask("clinic-a", 9).status, "early");
  const server = agg.aggregate(10, names, 3);
  assert.deepEqual(ask("clinic-a", 9), {
    round: 9,
    status: "refused",
    code: "OUT_OF_ORDER",
    text: "round 9 is over; round 10 is running",
  });
  const forged: SecAggMessage = {
    type: "advertise",
    study: "study-1",
    round: 10,
    from: "clinic-b",
    publicKey: peerKey("clinic-b")!,
  };
  assert.equal((ask("clinic-a", 10, forged) as { code?: string }).code, "UNKNOWN_CLINIC");
  assert.deepEqual(
    decodeSecAggReply(agg.handle("clinic-a", Uint8Array.of(1, 2, 3))),
    {
      round: 0,
      status: "refused",
      code: "MALFORMED_MESSAGE",
      text: "secagg payload: 3 bytes, shorter than its 7-byte head",
    },
  );
  await Promise.all(clinics(agg, 10));
  await server;
  await assert.rejects(agg.aggregate(11, [...names, "clinic-x"], 3), { code: "UNKNOWN_CLINIC" });
});

Deno.test("a clinic whose masked input arrives after the phase closed is told it is late, left out, and still gets the average", async () => {
  const agg = new SecAggRound({ study: "study-1", clinicKey: peerKey, phaseTimeoutMs: 200 });
  const server = agg.aggregateWithReport(5, names, 3);
  const slow = (payload: Uint8Array) =>
    decodeSecAggPoll(payload).message?.type === "masked"
      ? new Promise<Uint8Array>((resolve) =>
        setTimeout(() => resolve(agg.handle("clinic-d", payload)), 400)
      )
      : Promise.resolve(agg.handle("clinic-d", payload));
  const d = runSecAggClientRound({
    exchange: slow,
    stepper: stepper("clinic-d", 5),
    name: "clinic-d",
    round: 5,
    pollMs: 2,
  });
  const others = await Promise.all(clinics(agg, 5, {}, ["clinic-a", "clinic-b", "clinic-c"]));
  const r = await server;
  assert.deepEqual(r.included, ["clinic-a", "clinic-b", "clinic-c"]);
  assert.deepEqual(r.dropped, ["clinic-d"]);
  assertClose(r.average, plain([0, 1, 2]), errorBound(DEFAULT_FIXED_POINT, 3, 600));
  assert.deepEqual(await d, { average: r.average, included: false });
  for (const o of others) assert.equal(o.included, true);
});
