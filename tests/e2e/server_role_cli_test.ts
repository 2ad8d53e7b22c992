/**
 * `deno task server --role front|trainer --nats <url>` as a user runs it: a missing `--nats`,
 * an unreachable NATS, a front and a trainer that come up against a real nats-server, answer
 * `/health` and stop on SIGTERM, and a trainer refusing a schedule replicas cannot run
 * (runtime/cli/server_cluster.ts, runtime/cluster/front_main.ts).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { writeDemoKeys } from "../../runtime/cli/demo_launch.ts";
import { startRole } from "../../runtime/cli/cluster_processes.ts";
import { startLocalNats } from "../../runtime/cluster/local_nats.ts";
import { ownLines, runTask } from "./cli_harness.ts";
import { natsTest } from "../runtime/cluster/nats_harness.ts";

async function frontConfig(dir: string): Promise<string> {
  const keys = await writeDemoKeys(join(dir, "keys"), ["clinic-a"]);
  const path = join(dir, "server.json");
  await Deno.writeTextFile(path, JSON.stringify({
    listen: "127.0.0.1:0",
    serverKey: join(keys.dir, "server.key"),
    allowlist: join(keys.dir, "allowlist.json"),
    model: "cnn",
    data: { image: { channels: 1, size: 8 } },
    mode: "vanilla",
    loss: "bce",
    optimizer: { kind: "sgd", lr: 0.1 },
    schedule: "splitfed",
  }));
  return path;
}

Deno.test("server --role front: no --nats is a usage error; an unreachable NATS is named", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const config = await frontConfig(dir);
    const none = await runTask("server", ["--config", config, "--role", "front"]);
    assert.equal(none.code, 2, none.stderr);
    assert.match(none.stderr, /error: --role front needs --nats <url> \(or SPLITGATE_NATS_URL\)/);
    // Port 9 (discard) on loopback: nothing listens there.
    const gone = await runTask("server", ["--config", config, "--role", "front", "--nats", "nats://127.0.0.1:9"]);
    assert.equal(gone.code, 1, gone.stderr);
    assert.match(ownLines(gone.stderr).join("\n"), /error: .*nats:\/\/127\.0\.0\.1:9/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "server --role front: listens, answers /health, stops on SIGTERM",
  ...natsTest,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    const nats = await startLocalNats({ storeDir: join(dir, "nats") });
    try {
      const lines: string[] = [];
      const front = await startRole({ role: "front", name: "front-0", configPath: await frontConfig(dir), natsUrl: nats.url, onLine: (l) => lines.push(l) });
      try {
        const res = await fetch(`http://127.0.0.1:${front.port}/health`);
        assert.deepEqual(await res.json(), { ok: true, role: "front" });
        assert.ok(lines.some((l) => /splitgate front listening on 127\.0\.0\.1:\d+ \(study splitgate, NATS nats:\/\/127\.0\.0\.1:\d+\); clinics: clinic-a/.test(l)), lines.join("\n"));
      } finally {
        front.kill("SIGTERM");
      }
      assert.equal((await front.exited).code, 0, lines.join("\n"));
    } finally {
      await nats.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "server --role trainer: joins, answers /health while in the membership, stops on SIGTERM; refuses a sequential schedule",
  ...natsTest,
  fn: async () => {
    const dir = await Deno.makeTempDir();
    const nats = await startLocalNats({ storeDir: join(dir, "nats") });
    try {
      const configPath = await frontConfig(dir);
      const lines: string[] = [];
      const t = await startRole({ role: "trainer", name: "gpu-0", configPath, natsUrl: nats.url, onLine: (l) => lines.push(l) });
      try {
        const res = await fetch(`http://127.0.0.1:${t.port}/health`);
        assert.deepEqual(await res.json(), { ok: true });
        assert.ok(lines.some((l) => /splitgate trainer gpu-0 running \(NATS nats:\/\/127\.0\.0\.1:\d+, vanilla mode/.test(l)), lines.join("\n"));
      } finally {
        t.kill("SIGTERM");
      }
      assert.equal((await t.exited).code, 0, lines.join("\n"));
      const c = JSON.parse(await Deno.readTextFile(configPath));
      await Deno.writeTextFile(configPath, JSON.stringify({ ...c, schedule: "sequential" }));
      // A config error (exit 2, as systemd's RestartPreventExitStatus expects), for a front too:
      // a front with a schedule the trainers refuse would leave its clinics waiting on the bus.
      for (const role of ["trainer", "front"]) {
        const bad = await runTask("server", ["--config", configPath, "--role", role, "--nats", nats.url]);
        assert.equal(bad.code, 2, bad.stderr);
        assert.match(bad.stderr, /error: .*: schedule "sequential": replicas need schedule "splitfed"/);
      }
    } finally {
      await nats.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
