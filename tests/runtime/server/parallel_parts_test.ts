/**
 * The parts of the parallel schedules alone: the round's bookkeeping (drop after silence,
 * round end, restore), the merge window's closing rules, the weighted average and the
 * clinic's fold weights, the schedule config's refusals, and the new messages on the wire.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { ParallelRound } from "../../../runtime/server/parallel_round.ts";
import { MergeWindow } from "../../../runtime/server/merge_window.ts";
import { averageStates } from "../../../runtime/train/state_average.ts";
import { foldWeights } from "../../../runtime/client/front_average.ts";
import { resolveScheduleConfig } from "../../../runtime/server/schedule_config.ts";
import {
  decodeMessage,
  encodeMessage,
  type FrontsMessage,
  type TurnMessage,
} from "../../../runtime/protocol/mod.ts";
import { type Tensor, tensor } from "../../../models/tensor.ts";

Deno.test("parallel round: everyone steps, the last one through ends the round", () => {
  const r = new ParallelRound("parallel", ["a", "b", "c"], { timeoutMs: 100, epochs: 2 }, 0);
  assert.deepEqual(["a", "b", "c"].map((c) => r.holds(c)), [true, true, true]);
  assert.deepEqual(r.finishTurn("b", 1).epochsEnded, []);
  assert.equal(r.holds("b"), false);
  assert.throws(() => r.finishTurn("b", 2), /not stepping/);
  r.finishTurn("a", 3);
  assert.deepEqual(r.finishTurn("c", 4).epochsEnded, [0]);
  assert.equal(r.epoch, 1);
  assert.equal(r.holds("b"), true);
});

Deno.test("parallel round: a clinic silent past the timeout is dropped, which can end the round", () => {
  const r = new ParallelRound("parallel", ["a", "b"], { timeoutMs: 100, epochs: 3 }, 0);
  r.finishTurn("a", 10);
  assert.deepEqual(r.poll("a", 50).skipped, [], "b still within its timeout");
  r.seen("b", 80);
  assert.deepEqual(r.poll("a", 150).skipped, [], "silence counts from b's last request");
  const ev = r.poll("a", 181);
  assert.deepEqual(ev.skipped, ["b"]);
  assert.deepEqual(ev.epochsEnded, [0]);
  assert.equal(ev.turn, "a");
  const saved = new ParallelRound("parallel", ["a", "b"], { timeoutMs: 100 }, 0);
  r.finishTurn("a", 200);
  saved.restore(r.state, 0);
  assert.equal(saved.holds("a"), false);
  assert.equal(saved.holds("b"), true);
  assert.throws(() => saved.restore({ epoch: 0, index: 0, done: ["z"] }, 0), /does not fit/);
});

Deno.test("merge window: closes at maxRows, when every stepping clinic is in, or after maxDelayMs", async () => {
  const runs: number[][] = [];
  const timer: { fn: (() => void) | null } = { fn: null };
  const w = new MergeWindow<number, number>({
    maxRows: 10,
    maxDelayMs: 5,
    rowsOf: (n) => n,
    waiting: () => 3,
    run: (items) => {
      runs.push(items);
      return Promise.resolve(items.map((n) => -n));
    },
    setTimer: (fn) => (timer.fn = fn),
    clearTimer: () => (timer.fn = null),
  });
  const a = w.submit(4), b = w.submit(6); // 10 rows: closes
  assert.deepEqual(await Promise.all([a, b]), [-4, -6]);
  const c = w.submit(1), d = w.submit(1), e = w.submit(1); // three senders: closes
  await Promise.all([c, d, e]);
  const f = w.submit(2);
  assert.ok(timer.fn, "a lone batch waits for the timer");
  timer.fn();
  assert.equal(await f, -2);
  assert.deepEqual(runs, [[4, 6], [1, 1, 1], [2]]);
  assert.equal(w.batches, 3);
  assert.equal(w.items, 6);
});

Deno.test("averageStates equals the sample-weighted mean; foldWeights' running mixes reach it", () => {
  fc.assert(fc.property(
    fc.array(
      fc.tuple(fc.integer({ min: 1, max: 500 }), fc.float({ min: -10, max: 10, noNaN: true })),
      { minLength: 2, maxLength: 6 },
    ),
    (clinics) => {
      const names = clinics.map((_, i) => `c${i}`);
      const states: Map<string, Tensor>[] = clinics.map(([, v]) =>
        new Map([["w", tensor("float32", [1], new Float32Array([v]))]])
      );
      const want = clinics.reduce((a, [n, v]) => a + n * Math.fround(v), 0) /
        clinics.reduce((a, [n]) => a + n, 0);
      const direct = Number(
        averageStates(states.map((state, i) => ({ state, weight: clinics[i][0] }))).get("w")!
          .data[0],
      );
      assert.ok(Math.abs(direct - want) <= 1e-5 * (1 + Math.abs(want)));
      // clinic c1 folds the others into its own front, as front_average.ts does
      let mine = states[1];
      for (const { from, mix } of foldWeights("c1", names, clinics.map(([n]) => n))) {
        mine = averageStates([{ state: mine, weight: 1 - mix }, {
          state: states[names.indexOf(from)],
          weight: mix,
        }]);
      }
      assert.ok(Math.abs(Number(mine.get("w")!.data[0]) - want) <= 1e-4 * (1 + Math.abs(want)));
    },
  ));
  assert.deepEqual(foldWeights("gone", ["a", "b"], [10, 30]), [{ from: "a", mix: 1 }, {
    from: "b",
    mix: 0.75,
  }]);
  assert.throws(() => averageStates([]), /at least one copy/);
});

Deno.test("schedule config: defaults, and refusals that name the field", () => {
  assert.deepEqual(resolveScheduleConfig({}, "vanilla"), {
    schedule: "sequential",
    serverBatch: "inOrder",
    clinicWeights: "averaged",
    frontAggregation: "relay",
    merge: null,
  });
  assert.throws(
    () => resolveScheduleConfig({ schedule: "round-robin" as never }, "vanilla"),
    /schedule "round-robin": expected one of/,
  );
  assert.throws(
    () => resolveScheduleConfig({ serverBatch: "merge" }, "vanilla"),
    /serverBatch "merge" needs schedule "parallel"/,
  );
  assert.throws(
    () => resolveScheduleConfig({ schedule: "splitfed", serverBatch: "merge" }, "vanilla"),
    /needs schedule "parallel"/,
  );
  assert.throws(
    () => resolveScheduleConfig({ schedule: "parallel", serverBatch: "merge" }, "ushaped"),
    /needs mode vanilla/,
  );
  assert.throws(
    () => resolveScheduleConfig({ clinicWeights: "private" }, "vanilla"),
    /clinicWeights "private" needs schedule/,
  );
  assert.throws(
    () =>
      resolveScheduleConfig(
        { schedule: "parallel", serverBatch: "merge", merge: { maxRows: 0 } },
        "vanilla",
      ),
    /merge.maxRows 0/,
  );
});

Deno.test("wire: TURN's optional schedule fields, FETCH_FRONTS and FRONTS round-trip; a sequential TURN is unchanged", () => {
  const turn: TurnMessage = {
    type: "TURN",
    turn: null,
    yours: true,
    epoch: 1,
    finished: false,
    lastStepId: null,
    order: ["a", "b"],
    loss: "bce",
  };
  const plain = encodeMessage(turn);
  assert.doesNotMatch(new TextDecoder().decode(plain), /schedule/);
  assert.deepEqual(decodeMessage(plain), turn);
  const par: TurnMessage = { ...turn, schedule: "splitfed", clinicWeights: "private" };
  assert.deepEqual(decodeMessage(encodeMessage(par)), par);
  assert.deepEqual(decodeMessage(encodeMessage({ type: "FETCH_FRONTS", epoch: 3 })), {
    type: "FETCH_FRONTS",
    epoch: 3,
  });
  const fronts: FrontsMessage = {
    type: "FRONTS",
    epoch: 3,
    clinics: ["a", "b"],
    samples: [10, 20],
    sealedWeights: { b: new Uint8Array([1, 2, 3]) },
  };
  assert.deepEqual(decodeMessage(encodeMessage(fronts)), fronts);
  assert.throws(
    () => encodeMessage({ ...fronts, samples: [-1] }),
    /samples: expected a list of at most 1024 integers/,
  );
});
