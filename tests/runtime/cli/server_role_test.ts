/**
 * `deno task server --role single|front|trainer --nats <url> --trainer-id <id>`: the role
 * flags (runtime/cli/server_role.ts), and the network grant of a front or trainer, which must
 * reach its NATS server besides its listen address (runtime/server/server_flags.ts).
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { UsageError } from "../../../runtime/cli/main.ts";
import { parseNatsUrl, readServerRole } from "../../../runtime/cli/server_role.ts";
import { serverFlags } from "../../../runtime/server/server_flags.ts";

const noEnv = () => undefined;
const host = () => "trainer-0";

Deno.test("server role: single by default, with no NATS; front and trainer need one", () => {
  assert.deepEqual(readServerRole({}, noEnv, host), { role: "single" });
  assert.throws(() => readServerRole({ role: "front" }, noEnv, host), (e) =>
    e instanceof UsageError && e.message === "--role front needs --nats <url> (or SPLITGATE_NATS_URL)");
  assert.throws(() => readServerRole({ role: "trainer", nats: "" }, noEnv, host), /--role trainer needs --nats/);
  assert.throws(() => readServerRole({ role: "leader" }, noEnv, host), /--role leader: expected one of single, front, trainer/);
  assert.throws(() => readServerRole({ nats: "nats://n:4222" }, noEnv, host), /only with --role front or trainer/);
  assert.throws(() => readServerRole({ role: "front", nats: "n", "trainer-id": "t" }, noEnv, host), /--trainer-id and --applied-log: only with --role trainer/);
});

Deno.test("server role: SPLITGATE_NATS_URL is the fallback, the host name the default trainer id", () => {
  const env = (n: string) => (n === "SPLITGATE_NATS_URL" ? "nats://nats.splitgate:4222" : undefined);
  assert.deepEqual(readServerRole({ role: "trainer" }, env, host), {
    role: "trainer",
    nats: { url: "nats://nats.splitgate:4222", host: "nats.splitgate", port: 4222 },
    trainerId: "trainer-0",
  });
  // The flag wins over the environment.
  assert.equal(readServerRole({ role: "front", nats: "10.0.0.9:5222" }, env, host).nats?.url, "nats://10.0.0.9:5222");
  assert.equal(readServerRole({ role: "trainer", nats: "n", "trainer-id": "gpu-3" }, env, host).trainerId, "gpu-3");
  assert.throws(() => readServerRole({ role: "trainer", nats: "n", "trainer-id": "a b" }, env, host), /--trainer-id "a b": expected/);
});

Deno.test("server role: NATS URLs: nats or tls scheme, default port 4222, no credentials, no path", () => {
  assert.deepEqual(parseNatsUrl("--nats", "127.0.0.1"), { url: "nats://127.0.0.1:4222", host: "127.0.0.1", port: 4222 });
  assert.deepEqual(parseNatsUrl("--nats", "tls://[::1]:7422"), { url: "tls://[::1]:7422", host: "::1", port: 7422 });
  for (const bad of ["http://n:4222", "nats://n:4222/x", "nats://", "nats://u:p@n:4222", "nats://n:99999"]) {
    assert.throws(() => parseNatsUrl("--nats", bad), UsageError, bad);
  }
  // Any host name and port round-trips into the URL the client is given.
  fc.assert(fc.property(fc.domain(), fc.integer({ min: 1, max: 65535 }), (h, p) => {
    const a = parseNatsUrl("--nats", `nats://${h}:${p}`);
    return a.host === h.toLowerCase() && a.port === p && a.url === `nats://${h.toLowerCase()}:${p}`;
  }));
});

Deno.test("server flags: a front or trainer may also connect to its NATS server, nothing more", () => {
  const single = serverFlags({ hostname: "0.0.0.0", port: 8443 });
  assert.equal(single[1], "--allow-net=0.0.0.0:8443");
  const front = serverFlags({ hostname: "0.0.0.0", port: 8443, nats: { host: "nats", port: 4222 } });
  assert.equal(front[1], "--allow-net=0.0.0.0:8443,nats:4222");
  assert.equal(serverFlags({ hostname: "::", port: 1, nats: { host: "fd00::9", port: 4222 } })[1], "--allow-net=[::]:1,[fd00::9]:4222");
});

Deno.test("server role: --applied-log for a trainer (absolute), --bus-timeout-ms for a front, each refused elsewhere", () => {
  const t = readServerRole({ role: "trainer", nats: "n", "trainer-id": "t0", "applied-log": "applied.jsonl" }, noEnv, host);
  assert.equal(t.appliedLog, `${Deno.cwd()}/applied.jsonl`);
  assert.equal(readServerRole({ role: "front", nats: "n", "bus-timeout-ms": "5000" }, noEnv, host).busTimeoutMs, 5000);
  assert.throws(() => readServerRole({ role: "front", nats: "n", "bus-timeout-ms": "5s" }, noEnv, host), /--bus-timeout-ms 5s: expected an integer >= 100/);
  assert.throws(() => readServerRole({ role: "trainer", nats: "n", "bus-timeout-ms": "5000" }, noEnv, host), /--bus-timeout-ms: only with --role front/);
  assert.throws(() => readServerRole({ role: "front", nats: "n", "applied-log": "a" }, noEnv, host), /--trainer-id and --applied-log: only with --role trainer/);
  assert.throws(() => readServerRole({ "applied-log": "a" }, noEnv, host), /only with --role front or trainer/);
  // The trainer may write its log and nothing else (no checkpoint directory here).
  const f = serverFlags({ hostname: "127.0.0.1", port: 0, nats: { host: "127.0.0.1", port: 4222 }, appliedLog: "/tmp/t0.jsonl" });
  assert.deepEqual(f.filter((x) => x.startsWith("--allow-write")), ["--allow-write=/tmp/t0.jsonl"]);
  const g = serverFlags({ hostname: "127.0.0.1", port: 0, checkpointDir: "/var/ck", appliedLog: "/var/t0.jsonl" });
  assert.deepEqual(g.filter((x) => x.startsWith("--allow-write")), ["--allow-write=/var/ck,/var/t0.jsonl"]);
});
