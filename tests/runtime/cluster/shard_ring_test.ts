import assert from "node:assert/strict";
import fc from "fast-check";
import { ownerOf, shardsOf } from "../../../runtime/cluster/shard_ring.ts";
import { ClusterError } from "../../../runtime/cluster/cluster_error.ts";
import { shardOf, studyNames } from "../../../runtime/cluster/study_names.ts";

const trainerIds = fc.uniqueArray(fc.stringMatching(/^[a-z0-9-]{1,12}$/), {
  minLength: 1,
  maxLength: 8,
});

Deno.test("every shard has exactly one owner, among the live trainers", () => {
  fc.assert(fc.property(trainerIds, fc.integer({ min: 1, max: 64 }), (live, shards) => {
    const seen = new Map<number, string>();
    for (const t of live) {
      for (const k of shardsOf(t, live, shards)) {
        assert.equal(seen.has(k), false, `shard ${k} owned twice`);
        seen.set(k, t);
      }
    }
    assert.equal(seen.size, shards);
    for (let k = 0; k < shards; k++) {
      assert.equal(ownerOf(k, live), seen.get(k));
      assert.ok(live.includes(seen.get(k)!));
    }
  }));
});

Deno.test("the owner does not depend on the order of the live list", () => {
  fc.assert(fc.property(trainerIds, fc.nat(1000), (live, k) => {
    assert.equal(ownerOf(k, [...live].reverse()), ownerOf(k, live));
  }));
});

Deno.test("removing a trainer moves only that trainer's shards", () => {
  fc.assert(
    fc.property(trainerIds, fc.nat(), fc.integer({ min: 1, max: 64 }), (live, pick, shards) => {
      const gone = live[pick % live.length];
      const rest = live.filter((t) => t !== gone);
      for (let k = 0; k < shards; k++) {
        const before = ownerOf(k, live);
        if (before !== gone) assert.equal(ownerOf(k, rest), before, `shard ${k} moved`);
      }
    }),
  );
});

Deno.test("a joining trainer takes only shards it now owns, about its fair share", () => {
  fc.assert(fc.property(trainerIds, fc.stringMatching(/^[A-Z]{1,6}$/), (live, joiner) => {
    const shards = 256;
    const after = [...live, joiner];
    let moved = 0;
    for (let k = 0; k < shards; k++) {
      const before = ownerOf(k, live), now = ownerOf(k, after);
      if (now !== before) {
        assert.equal(now, joiner, `shard ${k} moved between old trainers`);
        moved++;
      }
    }
    // Fair share shards/n; rendezvous hashing over sha256 is close to it. Allow 2x, plus a
    // few shards of slack for small counts (binomial spread).
    const fair = shards / after.length;
    assert.ok(moved <= 2 * fair + 8, `joiner took ${moved} of ${shards}, fair ${fair}`);
  }));
});

Deno.test("no trainers: no owner, no shards", () => {
  assert.equal(ownerOf(0, []), null);
  assert.deepEqual(shardsOf("a", ["b"], 4), []);
});

Deno.test("shardOf: sha256 first 4 bytes big-endian mod shards, stable", () => {
  // sha256("abc") = ba7816bf…; 0xba7816bf = 3128432319.
  assert.equal(shardOf("abc", 1000), 3128432319 % 1000);
  assert.equal(shardOf("abc", 16), 3128432319 % 16);
  fc.assert(fc.property(fc.string(), fc.integer({ min: 1, max: 1024 }), (c, s) => {
    const k = shardOf(c, s);
    assert.ok(Number.isInteger(k) && k >= 0 && k < s);
  }));
});

Deno.test("studyNames: the design's names, and refusals with a code", () => {
  const n = studyNames("heart.v2-1", 4);
  assert.equal(n.stream, "SG_HEART_V2_1");
  assert.equal(n.subject(3), "sg.heart_v2-1.step.3");
  assert.equal(n.consumer(0), "shard-0");
  assert.equal(n.members, "heart_v2-1-members");
  assert.equal(n.handshakes, "heart_v2-1-handshakes");
  assert.equal(n.rounds, "heart_v2-1-rounds");
  assert.equal(studyNames("s").shards, 16);
  assert.throws(() => n.subject(4), (e) => e instanceof ClusterError && e.code === "BAD_SHARD");
  assert.throws(
    () => studyNames("a b"),
    (e) => e instanceof ClusterError && e.code === "BAD_STUDY_NAME",
  );
  assert.throws(
    () => studyNames("s", 0),
    (e) => e instanceof ClusterError && e.code === "BAD_SHARD",
  );
});
