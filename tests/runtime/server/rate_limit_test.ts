/** Token buckets, the throttled log, the handshake timestamps file and the new limits. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { tai64nFromMs } from "../../../crypto/channel/tai64n.ts";
import {
  HANDSHAKE_TIMESTAMPS_FILE,
  HandshakeTimestamps,
} from "../../../runtime/server/handshake_timestamps.ts";
import { LogThrottle } from "../../../runtime/server/log_throttle.ts";
import { resolveServerConfig } from "../../../runtime/server/server_config.ts";
import { parseServerConfigFile } from "../../../runtime/server/config_file.ts";
import { TokenBuckets } from "../../../runtime/server/token_buckets.ts";
import { tinyConfig } from "./harness.ts";

Deno.test("TokenBuckets: a burst, then one per refill period; keys are independent; the table is bounded", () => {
  const b = new TokenBuckets({ burst: 3, refillMs: 1000, maxKeys: 4 });
  assert.deepEqual([0, 1, 2, 3].map(() => b.take("k", 0)), [0, 0, 0, 1000]);
  assert.equal(b.take("other", 0), 0);
  assert.equal(b.take("k", 400), 600);
  assert.equal(b.take("k", 1000), 0);
  assert.equal(b.take("k", 1000), 1000);
  // Past maxKeys, quiet (refilled) keys are forgotten first: "k" keeps its empty bucket.
  for (let i = 0; i < 10; i++) b.take(`spray-${i}`, 1000);
  assert.equal(b.take("k", 1000), 1000);
  assert.throws(() => new TokenBuckets({ burst: 0, refillMs: 1 }), {
    name: "RangeError",
    message: /burst 0: expected an integer >= 1/,
  });
  assert.throws(() => new TokenBuckets({ burst: 1, refillMs: 0 }), {
    name: "RangeError",
    message: /refillMs 0: expected a number > 0/,
  });
});

Deno.test("LogThrottle: one line per key per window, with the count left out", () => {
  const lines: string[] = [];
  const t = new LogThrottle((l) => lines.push(l), 10_000);
  for (let ms = 0; ms < 10_000; ms += 10) t.log("a", "refused a", ms);
  t.log("b", "refused b", 5);
  t.log("a", "refused a", 10_000);
  t.log("a", "refused a", 25_000);
  assert.deepEqual(lines, [
    "refused a",
    "refused b",
    "refused a (999 more like it in the last 10 s)",
    "refused a",
  ]);
});

Deno.test("HandshakeTimestamps: persisted atomically, reloaded; a corrupt file is refused naming it", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const key = new Uint8Array(32).fill(3);
    const t = await HandshakeTimestamps.load(dir);
    assert.equal(await t.accept(key, tai64nFromMs(5000)), true);
    assert.equal(await t.accept(key, tai64nFromMs(4000)), false, "older");
    const again = await HandshakeTimestamps.load(dir);
    assert.equal(again.size, 1);
    assert.equal(await again.accept(key, tai64nFromMs(5000)), false, "equal, after a reload");
    assert.equal(await again.accept(key, tai64nFromMs(5001)), true);
    assert.deepEqual(
      [...Deno.readDirSync(dir)].map((e) => e.name),
      [HANDSHAKE_TIMESTAMPS_FILE],
      "no temp file left",
    );
    assert.equal((await Deno.stat(join(dir, HANDSHAKE_TIMESTAMPS_FILE))).mode! & 0o777, 0o600);
    await Deno.writeTextFile(
      join(dir, HANDSHAKE_TIMESTAMPS_FILE),
      '{"version": 1, "clinics": {"zz": "00"}}',
    );
    await assert.rejects(HandshakeTimestamps.load(dir), {
      name: "TypeError",
      message: /handshake_timestamps\.json: entry "zz": expected a 32-byte key/,
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("limits: bodyTimeoutMs and the handshake rates have defaults, are checked, and are read from the config file", () => {
  const r = resolveServerConfig(tinyConfig("vanilla"), ["a", "b"]);
  assert.equal(r.bodyTimeoutMs, 30_000);
  assert.deepEqual(r.handshakeRate, {
    perKey: { burst: 10, refillMs: 2000 },
    perAddress: { burst: 100, refillMs: 50 },
  });
  assert.throws(
    () => resolveServerConfig(tinyConfig("vanilla", { limits: { bodyTimeoutMs: 0 } }), ["a"]),
    { name: "RangeError", message: "limits.bodyTimeoutMs 0: expected an integer >= 1" },
  );
  const base = {
    serverKey: "keys/server.key",
    allowlist: "/etc/allow.json",
    model: "cnn",
    data: { image: { channels: 1, size: 8 } },
    mode: "vanilla",
    loss: "bce",
    optimizer: { kind: "sgd", lr: 0.1 },
  };
  const f = parseServerConfigFile(
    JSON.stringify({ ...base, limits: { bodyTimeoutMs: 5000, handshakeBurst: 4 } }),
    "/tmp",
  );
  assert.deepEqual(f.limits, { bodyTimeoutMs: 5000, handshakeBurst: 4 });
  assert.throws(
    () => parseServerConfigFile(JSON.stringify({ ...base, limits: { bodyTimeout: 5 } }), "/tmp"),
    /bodyTimeoutMs\?/,
  );
});
