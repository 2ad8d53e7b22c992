import assert from "node:assert/strict";
import fc from "fast-check";
import { plainAverage, runRound, setup } from "./secagg_round.ts";
import {
  DEFAULT_FIXED_POINT,
  encodeWeighted,
  errorBound,
} from "../../../crypto/secagg/fixed_point.ts";
import { SecAggClient } from "../../../crypto/secagg/secagg_client.ts";
import { SecAggServer } from "../../../crypto/secagg/secagg_server.ts";
import type { SecAggMessageOf } from "../../../crypto/secagg/secagg_messages.ts";

const P = DEFAULT_FIXED_POINT;
const filled = (n: number, v: number) => new Float32Array(n).fill(v);

function assertClose(got: Float32Array, want: Float64Array, bound: number): void {
  assert.equal(got.length, want.length);
  for (let i = 0; i < got.length; i++) {
    assert.ok(
      Math.abs(got[i] - want[i]) <= bound,
      `weight ${i}: |${got[i]} − ${want[i]}| > ${bound}`,
    );
  }
}

Deno.test("property: the secure sum equals plain sample-weighted averaging within the fixed-point bound", () => {
  const unit = fc.array(fc.float({ min: -1, max: 1, noNaN: true }), {
    minLength: 5 * 24,
    maxLength: 5 * 24,
  });
  const counts = fc.array(fc.integer({ min: 1, max: P.maxSamples }), {
    minLength: 5,
    maxLength: 5,
  });
  fc.assert(
    fc.property(
      fc.integer({ min: 2, max: 5 }),
      fc.integer({ min: 1, max: 24 }),
      unit,
      counts,
      (n, len, xs, cs) => {
        const s = setup(n);
        const weights = Array.from(
          { length: n },
          (_, u) => Float32Array.from(xs.slice(u * len, (u + 1) * len), (x) => x * P.clipRange),
        );
        const samples = cs.slice(0, n);
        const r = runRound(s, { weights, samples });
        const M = samples.reduce((a, b) => a + b);
        assert.equal(r.totalSamples, M);
        assert.deepEqual(r.included, s.names);
        assertClose(r.average, plainAverage(weights, samples, () => true), errorBound(P, n, M));
      },
    ),
    { numRuns: 12 },
  );
});

Deno.test("one of four clinics dropping after its masked upload still completes the round, with its input", () => {
  const s = setup(4);
  const weights = [
    filled(6, 1),
    filled(6, -2),
    filled(6, 0.5),
    Float32Array.of(3, -3, 0, 1, 2, -1),
  ];
  const samples = [10, 20, 30, 40];
  const r = runRound(s, { weights, samples, drop: { "clinic-04": "reveal" } });
  assert.deepEqual(
    r.included,
    s.names,
    "its masked input is in the sum; its self mask came from the others' shares",
  );
  assert.equal(r.totalSamples, 100);
  assertClose(r.average, plainAverage(weights, samples, () => true), errorBound(P, 4, 100));
});

Deno.test("one of four clinics dropping after sending shares (before its masked upload) completes the round without it", () => {
  const s = setup(4);
  const weights = [filled(5, 1), filled(5, -2), filled(5, 0.5), filled(5, 3.5)];
  const samples = [10, 20, 30, 40];
  const r = runRound(s, { weights, samples, drop: { "clinic-02": "masked" } });
  assert.deepEqual(r.included, ["clinic-01", "clinic-03", "clinic-04"]);
  assert.deepEqual(r.dropped, ["clinic-02"]);
  assert.equal(r.totalSamples, 80);
  assertClose(r.average, plainAverage(weights, samples, (u) => u !== 1), errorBound(P, 3, 80));
});

Deno.test("dropping below the threshold refuses the round at every step, with BELOW_THRESHOLD", () => {
  const s = setup(4);
  const o = {
    weights: [filled(3, 1), filled(3, 2), filled(3, 3), filled(3, 4)],
    samples: [1, 1, 1, 1],
  };
  for (const at of ["advertise", "shares", "masked", "reveal"] as const) {
    assert.throws(
      () => runRound(s, { ...o, drop: { "clinic-01": at, "clinic-03": at } }),
      { name: "SecAggError", code: "BELOW_THRESHOLD", message: /2 .*; the threshold is 3/ },
      `two of four dropping before ${at}`,
    );
  }
  // mixed: one drops before its upload, another before revealing: 3 uploads, 2 reveals
  assert.throws(
    () => runRound(s, { ...o, drop: { "clinic-01": "masked", "clinic-02": "reveal" } }),
    { code: "BELOW_THRESHOLD" },
  );
});

Deno.test("a refused round is over: it never yields a sum afterwards", () => {
  const s = setup(4);
  const server = new SecAggServer({
    study: "s",
    round: 1,
    clinics: s.names.map((name) => ({ name, publicKey: s.keys.get(name)!.publicKey })),
    vectorLength: 2,
  });
  assert.throws(() => server.closeAdvertise(), { code: "BELOW_THRESHOLD" });
  assert.equal(server.phase, "refused");
  assert.throws(() => server.finish(), { code: "OUT_OF_ORDER" });
  assert.throws(() => server.closeShares(), { code: "OUT_OF_ORDER" });
});

// ---- what the server receives from one clinic is independent of that clinic's weights ----

/** Kolmogorov–Smirnov distance of words / 2^32 from the uniform distribution on [0, 1). */
function ksUniform(words: Uint32Array): number {
  const x = Float64Array.from(words, (w) => w / 2 ** 32).sort();
  let d = 0;
  for (let i = 0; i < x.length; i++) {
    d = Math.max(d, (i + 1) / x.length - x[i], x[i] - i / x.length);
  }
  return d;
}

/** Two-sample chi-square over the 256 values of each word's top byte; returns [statistic, critical value at p = 1e-6]. */
function chiSquareTopByte(a: Uint32Array, b: Uint32Array): [number, number] {
  const ha = new Float64Array(256), hb = new Float64Array(256);
  for (const w of a) ha[w >>> 24]++;
  for (const w of b) hb[w >>> 24]++;
  let stat = 0, df = -1;
  for (let i = 0; i < 256; i++) {
    if (ha[i] + hb[i] > 0) stat += (ha[i] - hb[i]) ** 2 / (ha[i] + hb[i]), df++;
  }
  const z = 4.753; // one-sided normal quantile of 1 − 1e-6; Wilson–Hilferty approximation of the chi-square quantile
  const crit = df * (1 - 2 / (9 * df) + z * Math.sqrt(2 / (9 * df))) ** 3;
  return [stat, crit];
}

/** Whether two samples of words look like independent uniform words (KS at p = 1e-6 for each, chi-square between them). */
function looksIndependent(a: Uint32Array, b: Uint32Array): boolean {
  const ksCrit = (n: number) => Math.sqrt(-Math.log(1e-6 / 2) / (2 * n));
  const [stat, crit] = chiSquareTopByte(a, b);
  return ksUniform(a) < ksCrit(a.length) && ksUniform(b) < ksCrit(b.length) && stat < crit;
}

Deno.test("the masked words the server receives from a clinic are uniform whatever its weights; unmasked encodings are not", () => {
  const n = 4096, s = setup(4);
  const others = [filled(n, 0.1), filled(n, -0.2), filled(n, 0.3)];
  const seen = (first: Float32Array, round: number) => {
    let got: Uint32Array | undefined;
    runRound(s, {
      round,
      weights: [first, ...others],
      samples: [4096, 5, 6, 7],
      onMasked: (from, w) => from === "clinic-01" && (got = w),
    });
    return got!;
  };
  const high = filled(n, 3.9), low = Float32Array.from({ length: n }, (_, i) => (i % 2 ? -3.9 : 0));
  const a = seen(high, 1), b = seen(low, 2);
  assert.equal(a.length, n + 1);
  assert.ok(
    looksIndependent(a, b),
    "masked inputs of very different weights must look alike and uniform",
  );
  // The control that shows this test can fail: what the server would receive with the masks
  // turned off (the bare encodings) is told apart at once.
  const bareA = encodeWeighted(high, 4096, P, 4), bareB = encodeWeighted(low, 4096, P, 4);
  assert.equal(
    looksIndependent(bareA, bareB),
    false,
    "without masks the encodings reveal the weights",
  );
  // and masks drawn for the same weights differ between rounds (fresh b_u and pairwise seeds)
  const again = seen(high, 3);
  assert.ok(again.some((w, i) => w !== a[i]));
});

// ---- a forged, replayed or wrongly-addressed share is refused, and unsafe requests too ----

function threeClinics(round: number, s = setup(3)) {
  const peerKey = (n: string) => s.keys.get(n)?.publicKey;
  const server = new SecAggServer({
    study: "study-1",
    round,
    clinics: s.names.map((name) => ({ name, publicKey: peerKey(name)! })),
    vectorLength: 2,
  });
  const clients = s.names.map((name) =>
    new SecAggClient({ name, keyPair: s.keys.get(name)!, peerKey, study: "study-1", round })
  );
  for (const c of clients) server.receive(c.advertise());
  const roster = server.closeAdvertise();
  for (const c of clients) server.receive(c.shareKeys(roster));
  return { s, server, clients, relays: server.closeShares() };
}

Deno.test("a relay carrying a forged share (the server swapping in another envelope) is refused: SHARE_FORGED", () => {
  const { clients, relays } = threeClinics(1);
  const r = relays.get("clinic-01")!; // envelopes from clinic-02, clinic-03
  const forged = {
    ...r,
    envelopes: [r.envelopes[0], { from: "clinic-03", blob: r.envelopes[0].blob }],
  };
  assert.throws(() => clients[0].maskedInput(forged, Float32Array.of(1, 2), 1), {
    name: "SecAggError",
    code: "SHARE_FORGED",
  });
  assert.equal(clients[0].state, "dead");
  assert.throws(() => clients[0].maskedInput(r, Float32Array.of(1, 2), 1), {
    code: "OUT_OF_ORDER",
  });
});

Deno.test("a share replayed from another round is refused: SHARE_REPLAYED", () => {
  const old = threeClinics(1);
  const now = threeClinics(2, old.s); // same clinics, same static keys, next round
  const r = now.relays.get("clinic-01")!;
  const replayed = { ...r, envelopes: [old.relays.get("clinic-01")!.envelopes[0], r.envelopes[1]] };
  assert.throws(() => now.clients[0].maskedInput(replayed, Float32Array.of(1, 2), 1), {
    code: "SHARE_REPLAYED",
    message: /round 1, not 2/,
  });
});

Deno.test("a share addressed to another clinic is refused: SHARE_MISADDRESSED", () => {
  const { clients, relays } = threeClinics(1);
  const r = relays.get("clinic-01")!;
  const toOther = relays.get("clinic-02")!.envelopes.find((e) => e.from === "clinic-03")!; // clinic-03 → clinic-02
  const wrong = { ...r, envelopes: [r.envelopes[0], toOther] };
  assert.throws(() => clients[0].maskedInput(wrong, Float32Array.of(1, 2), 1), {
    code: "SHARE_MISADDRESSED",
  });
  const whole = { ...relays.get("clinic-02")! };
  assert.throws(
    () =>
      threeClinics(1).clients[0].maskedInput(
        whole as SecAggMessageOf<"relay">,
        Float32Array.of(1, 2),
        1,
      ),
    { code: "SHARE_MISADDRESSED" },
  );
});

Deno.test("an unmasking request that would reveal both masks of a clinic, or lists the asker as dropped, is refused", () => {
  const { s, server, clients, relays } = threeClinics(1);
  clients.forEach((c, i) =>
    server.receive(c.maskedInput(relays.get(s.names[i])!, Float32Array.of(1, 2), 1))
  );
  const ok = server.closeMasked();
  const both = {
    ...ok,
    survivors: ["clinic-01", "clinic-02", "clinic-03"],
    dropped: ["clinic-03"],
  };
  assert.throws(() => clients[0].unmask(both), { code: "UNSAFE_REQUEST" });
  assert.throws(
    () =>
      clients[1].unmask({ ...ok, survivors: ["clinic-01", "clinic-03"], dropped: ["clinic-02"] }),
    { code: "UNSAFE_REQUEST", message: /clinic-02, which uploaded its input, as dropped/ },
  );
  assert.throws(
    () =>
      clients[2].unmask({ ...ok, survivors: ["clinic-03"], dropped: ["clinic-01", "clinic-02"] }),
    { code: "BELOW_THRESHOLD" },
  );
});

Deno.test("a roster whose key differs from the clinic's allowlist, or whose threshold is not a majority, is refused", () => {
  const s = setup(4);
  const peerKey = (n: string) => s.keys.get(n)?.publicKey;
  const client = () =>
    new SecAggClient({
      name: "clinic-01",
      keyPair: s.keys.get("clinic-01")!,
      peerKey,
      study: "s",
      round: 1,
    });
  const clinics = s.names.map((name) => ({ name, publicKey: peerKey(name)! }));
  const roster: SecAggMessageOf<"roster"> = {
    type: "roster",
    study: "s",
    round: 1,
    threshold: 3,
    vectorLength: 2,
    params: P,
    clinics,
  };
  const c1 = client();
  c1.advertise();
  const swapped = clinics.map((e) =>
    e.name === "clinic-02" ? { ...e, publicKey: s.keys.get("clinic-03")!.publicKey } : e
  );
  assert.throws(() => c1.shareKeys({ ...roster, clinics: swapped }), {
    code: "UNKNOWN_CLINIC",
    message: /roster key of clinic-02/,
  });
  const c2 = client();
  c2.advertise();
  assert.throws(() => c2.shareKeys({ ...roster, threshold: 2 }), {
    code: "INVALID_PARAMS",
    message: /threshold 2 for 4 clinics/,
  });
  const c3 = client();
  c3.advertise();
  assert.throws(() => c3.shareKeys({ ...roster, params: { ...P, scaleBits: 12 } }), {
    code: "INVALID_PARAMS",
    message: /this clinic expects/,
  });
  const c4 = client();
  c4.advertise();
  assert.equal(c4.shareKeys(roster).envelopes.length, 3);
});
