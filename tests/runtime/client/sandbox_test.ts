import assert from "node:assert/strict";
import { compileModel } from "../../../models/train/compile.ts";
import { readModel } from "../../../models/onnx/read_model.ts";
import { generateKeyPair } from "../../../crypto/noise/dh.ts";
import { createEngine } from "../../../runtime/engine/mod.ts";
import { SegmentRunner } from "../../../runtime/train/segment_runner.ts";
import { rawSideCommandArgs, RawSideProcess } from "../../../runtime/client/raw_side/process.ts";
import { defaultWasmFile, rawSideFlags } from "../../../runtime/client/raw_side/flags.ts";
import { courierFlags, serverHostPort } from "../../../runtime/client/courier_flags.ts";
import { loadRawSide } from "../../../runtime/client/raw_side/mod.ts";
import { RawSideError } from "../../../runtime/client/raw_side/mod.ts";
import { makeClinicDir } from "./sandbox_env.ts";
import { writeKeyPairFiles } from "../../../runtime/keys/key_store.ts";
import { isNoiseError } from "../../../crypto/errors.ts";
import { maxAbsDiff } from "./fixture.ts";

const PROBE = new URL("./probes/capability_probe.ts", import.meta.url).pathname;
const engine = await createEngine("wasm");

async function probe(
  flags: string[],
  args: { read: string; write?: string; port: number },
): Promise<Record<string, string>> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...flags, "--cached-only", PROBE, JSON.stringify(args)],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  return JSON.parse(text);
}

/** A live local HTTP server, so a refused fetch is the permission, not a closed port. */
function liveServer() {
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    () => new Response("hello"),
  );
  return { server, port: server.addr.port };
}

Deno.test("rawSideFlags: exactly the documented permissions", async () => {
  const c = await makeClinicDir();
  try {
    assert.deepEqual(rawSideFlags(c.config), [
      "--no-prompt",
      `--allow-read=${c.dataDir},${c.modelFile},${c.keyFile},${defaultWasmFile()},${c.checkpointDir}`,
      `--allow-write=${c.checkpointDir}`,
    ]);
    assert.deepEqual(
      rawSideFlags({ dataFile: "/d/x.npz", modelFile: "/m.onnx", wasmFile: "/o.wasm" }),
      [
        "--no-prompt",
        "--allow-read=/d,/m.onnx,/o.wasm",
      ],
    );
    assert.throws(() => rawSideFlags({ ...c.config, modelFile: "/a,/etc" }), TypeError);
    const args = rawSideCommandArgs(c.config);
    for (
      const bad of [
        "--allow-net",
        "--allow-run",
        "--allow-ffi",
        "--allow-env",
        "--allow-sys",
        "--allow-all",
        "-A",
      ]
    ) {
      assert.ok(!args.some((a) => a.startsWith(bad)), `${bad} must not be given`);
    }
    assert.deepEqual(
      courierFlags({
        server: "http://127.0.0.1:8787",
        keyFile: "/k/a.key",
        serverPublicKeyFile: "/k/s.pub",
      }),
      [
        "--no-prompt",
        "--allow-net=127.0.0.1:8787",
        "--allow-read=/k/a.key,/k/s.pub",
      ],
    );
    assert.equal(serverHostPort("https://gpu.example.org"), "gpu.example.org:443");
    assert.throws(() => serverHostPort("gpu.example.org"), TypeError);
  } finally {
    await c.remove();
  }
});

Deno.test("raw-side sandbox: network, subprocesses, env, FFI and sys are NotCapable", async () => {
  const c = await makeClinicDir();
  const { server, port } = liveServer();
  try {
    const flags = rawSideFlags(c.config);
    const r = await probe(flags, { read: c.dataFile, write: `${c.dataDir}/planted.txt`, port });
    for (
      const k of [
        "fetch",
        "connect",
        "connectPort1",
        "listen",
        "resolveDns",
        "command",
        "envGet",
        "dlopen",
        "sys",
      ]
    ) {
      assert.equal(r[k], "NotCapable", `${k}: ${r[k]}`);
    }
    assert.notEqual(r.dynamicImport, "ok");
    assert.equal(r.read, "ok", "the raw side reads its records");
    assert.equal(r.write, "NotCapable", "the data directory is read-only");
    // control: the same probe with network allowed does reach the server, so the
    // NotCapable above is the sandbox and not the environment
    const open = await probe([...flags, `--allow-net=127.0.0.1:${port}`], {
      read: c.dataFile,
      port,
    });
    assert.equal(open.fetch, "ok");
    assert.equal(open.connect, "ok");
  } finally {
    await server.shutdown();
    await c.remove();
  }
});

Deno.test("courier sandbox: cannot read the data directory, can reach only its server", async () => {
  const c = await makeClinicDir();
  const { server, port } = liveServer();
  try {
    const flags = courierFlags({
      server: `127.0.0.1:${port}`,
      keyFile: c.keyFile,
      serverPublicKeyFile: c.publicKeyFile,
    });
    const r = await probe(flags, { read: c.dataFile, write: `${c.dataDir}/planted.txt`, port });
    assert.equal(r.read, "NotCapable");
    assert.equal(r.write, "NotCapable");
    assert.equal(r.fetch, "ok");
    for (const k of ["connectPort1", "listen", "command", "envGet", "dlopen", "sys"]) {
      assert.equal(r[k], "NotCapable", `${k}: ${r[k]}`);
    }
    // control: the courier does read its key file
    assert.equal((await probe(flags, { read: c.keyFile, port })).read, "ok");
  } finally {
    await server.shutdown();
    await c.remove();
  }
});

Deno.test("RawSideProcess works end to end inside the sandbox and matches the in-process raw side", async () => {
  const c = await makeClinicDir();
  const proc = await RawSideProcess.start(c.config, { onStderr: () => {} });
  const local = await loadRawSide({ ...c.config, checkpointDir: undefined }, engine);
  try {
    const info = await proc.info();
    assert.deepEqual(info, await local.info());
    assert.deepEqual(proc.startInfo, info);
    assert.equal(info.trainSize, 20);
    const segments = compileModel(readModel(await Deno.readFile(c.modelFile)), {
      loss: "bce",
      cuts: c.config.cuts,
      seed: c.config.seed,
    });
    const server = await SegmentRunner.create(engine, segments[1]);
    const cut = c.config.cuts[0];
    for (const [id, batch] of [["1:0", 0], ["1:1", 1]] as const) {
      const f = await proc.forward(id, 1, batch);
      const g = await local.forward(id, 1, batch);
      assert.equal(maxAbsDiff(f.activation, g.activation), 0, `activation ${id}`);
      assert.deepEqual(f.labels, g.labels);
      const s = await server.step({ [cut]: f.activation }, f.labels!);
      await proc.backward(id, s.inputGrads[cut]);
      await proc.backward(id, s.inputGrads[cut]); // retried: applied once
      await local.backward(id, s.inputGrads[cut]);
    }
    const ev = await proc.evalForward("test", 1);
    assert.equal(maxAbsDiff(ev.activation, (await local.evalForward("test", 1)).activation), 0);
    // errors keep their class and code across the pipe
    await assert.rejects(
      proc.backward("9:9", ev.activation),
      (e) => e instanceof RawSideError && e.code === "UNKNOWN_STEP",
    );
    await assert.rejects(
      proc.head("1:0", ev.activation),
      (e) => e instanceof RawSideError && e.code === "WRONG_MODE",
    );
    // the checkpoint directory is writable for the sandbox
    await proc.checkpoint(1);
    assert.ok((await Deno.stat(`${c.checkpointDir}/clinic-a.epoch-1.npz`)).isFile);
    assert.deepEqual(await proc.restore(), { epoch: 1 });
    // sealed weights: the process seals to the next clinic, which opens them and gets exactly
    // the weights (and momentum) of the in-process twin that ran the same steps
    const next = generateKeyPair();
    const nextKey = await writeKeyPairFiles(`${c.root}/keys`, "clinic-b", next);
    const nextSide = await loadRawSide({
      ...c.config,
      clinic: "clinic-b",
      checkpointDir: undefined,
      keyFile: nextKey.privateKeyPath,
    }, engine);
    assert.notDeepEqual(nextSide.weights(), local.weights());
    const run = new Uint8Array(32).fill(1), from = { run, peers: new Map([["clinic-a", c.keyPair.publicKey]]) };
    const blob = await proc.exportWeights({ name: "clinic-b", publicKey: next.publicKey }, { run, epoch: 1 });
    await assert.rejects(proc.importWeights(blob, from), (e) => isNoiseError(e, "WRONG_RECIPIENT")); // sealed to b, not a
    await nextSide.importWeights(blob, from);
    assert.deepEqual(nextSide.weights(), local.weights());
    await nextSide.close();
    await server.release();
  } finally {
    await proc.close();
    await local.close();
    await c.remove();
  }
  await assert.rejects(proc.info(), (e) => e instanceof RawSideError && e.code === "CLOSED");
});

Deno.test("RawSideProcess: a bad config fails at start with the process's message", async () => {
  const c = await makeClinicDir();
  try {
    await assert.rejects(
      RawSideProcess.start({ ...c.config, dataFile: `${c.dataDir}/missing.npz` }, {
        onStderr: () => {},
      }),
      (e) =>
        e instanceof RawSideError && e.code === "CLOSED" &&
        /missing\.npz: file not found/.test(e.message),
    );
  } finally {
    await c.remove();
  }
});
