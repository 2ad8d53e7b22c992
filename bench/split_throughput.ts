/**
 * `deno task bench:split [--rows N] [--batch B] [--epochs E] [--codecs float32,int8] [--servers native,wasm]
 *  [--fused] [--clinic-in-process] [--profile]`
 *
 * Split training over loopback with encryption (one clinic through the real client, in a
 * process of its own as on its own gateway (`split_clinic_process.ts`; `--clinic-in-process`
 * runs its launcher in this process instead, beside the server, as before the fifth session):
 * sandboxed wasm raw side + courier, Noise channel; once per wire codec, by default float32 (exact) and
 * int8 without deflate (a quarter of the bytes to seal)) against central training of the same
 * model on the same rows on this machine, per engine pairing; bytes on the wire per sample;
 * and the transport choice: the round trip of a ~400 KB body over HTTP POST (keep-alive) and
 * over a WebSocket on loopback. `--servers` picks the server engines (native, wasm, webgpu;
 * default native,wasm); with webgpu among them, central training runs on webgpu too. `--fused`:
 * the server runs its fused step before replying (`deferUpdate: false`). Each throughput is
 * given at steady state — over the steps after the run's first five, which pay for the
 * engine's warm-up (`runtime/train/steady_rate.ts`) — and over the whole run; the ratios
 * compare steady with steady (a short run's whole-run ratio mostly measures who warmed up
 * faster). Prints
 * figures; never fails on time. `--profile` also prints,
 * for each split run, where the time of a step goes: per-phase totals of the raw side (frame
 * decode, compute, frame encode, pipe write), the courier (pipe round trips, message encode,
 * seal, HTTP round trip, open, decode) and the server (body read, open, decode, model step,
 * seal).
 *
 * @example
 * ```sh
 * deno task bench:split --rows 1024 --batch 64
 * ```
 * @module
 */
import { parseArgs } from "node:util";
import { Allowlist, generateStaticKeyPair, serializeAllowlist } from "../crypto/keys/mod.ts";
import { zooModel } from "../models/zoo/mod.ts";
import { loadDataset } from "../runtime/data/load_dataset.ts";
import { writeNpz } from "../runtime/data/npz.ts";
import { tensor } from "../models/tensor.ts";
import { Rng } from "../runtime/data/rng.ts";
import { createEngine, type EngineName } from "../runtime/engine/mod.ts";
import { writeKeyPairFiles } from "../runtime/keys/key_store.ts";
import { createServerApp } from "../runtime/server/mod.ts";
import { trainCentral } from "../runtime/train/central.ts";
import { parseClientConfig } from "../runtime/client/client_config.ts";
import { launchClinic } from "../runtime/client/launcher.ts";
import type { ClinicResult } from "../runtime/client/clinic.ts";
import { PhaseProfile } from "../runtime/protocol/phase_profile.ts";
import { profileLine, RESULT_LINE } from "./split_clinic_process.ts";

const CLINIC_PROCESS = new URL("./split_clinic_process.ts", import.meta.url).pathname;

const { values } = parseArgs({
  args: Deno.args,
  options: { rows: { type: "string", default: "1024" }, batch: { type: "string", default: "64" }, epochs: { type: "string", default: "1" }, profile: { type: "boolean", default: false }, codecs: { type: "string", default: "float32,int8" }, fused: { type: "boolean", default: false }, "clinic-in-process": { type: "boolean", default: false }, servers: { type: "string", default: "native,wasm" } },
});
const ROWS = Number(values.rows), BATCH = Number(values.batch), EPOCHS = Number(values.epochs);
const optimizer = { kind: "adam" as const, lr: 1e-3 };
const seed = 0;
const PROFILE = values.profile === true;
// Each codec as `dtype`, `dtype:level` (deflate level, default 0) or, for int8,
// `int8:level:Q` or `int8:level:Q/S`: where the clinic (Q) and the server (S, default Q)
// quantise, `graph` or `codec` (runtime/config/quantize_mode.ts; default the config's).
type Quantize = "graph" | "codec";
const CODECS = values.codecs!.split(",").map((c) => {
  const [dtype, level = "0", where] = c.split(":");
  const [quantize, serverQuantize = quantize] = where?.split("/") ?? [];
  const ok = (q: string | undefined) => q === undefined || q === "graph" || q === "codec";
  if (!["float32", "float16", "int8"].includes(dtype) || !/^[0-9]$/.test(level) || (where !== undefined && (dtype !== "int8" || !ok(quantize) || !ok(serverQuantize)))) {
    console.error(`bench:split: --codecs takes dtype[:level] items (float32|float16|int8, level 0-9; int8:level:graph|codec[/graph|codec]), got ${JSON.stringify(c)}`);
    Deno.exit(2);
  }
  return { dtype: dtype as "float32" | "float16" | "int8", level: Number(level), ...(quantize ? { quantize: quantize as Quantize, serverQuantize: serverQuantize as Quantize } : {}) };
});
const SERVERS = values.servers!.split(",") as EngineName[];
if (SERVERS.some((s) => !["native", "wasm", "webgpu"].includes(s))) {
  console.error(`bench:split: --servers takes some of native,wasm,webgpu, got ${JSON.stringify(values.servers)}`);
  Deno.exit(2);
}

const full = await loadDataset(new URL("../data/pneumoniamnist.npz", import.meta.url).pathname, { seed });
const root = await Deno.makeTempDir({ prefix: "bench_split_" });
// A smaller copy of the data set (the clinic reads a file), MedMNIST layout.
const take = (ds: typeof full.train, n: number) => ds.take(Array.from({ length: Math.min(n, ds.size) }, (_, i) => i));
const toU8 = (t: { data: unknown; dims: readonly number[] }) =>
  tensor("uint8", [t.dims[0], t.dims[2], t.dims[3]], Uint8Array.from(t.data as Float32Array, (v) => Math.round(v * 255)));
const tr = take(full.train, ROWS), va = take(full.val, 64), te = take(full.test, 64);
await Deno.mkdir(`${root}/data`);
await Deno.writeFile(`${root}/data/bench.npz`, writeNpz({
  train_images: toU8(tr.inputs.image), train_labels: tensor("uint8", [tr.target.dims[0], 1], Uint8Array.from(tr.target.data as Float32Array)),
  val_images: toU8(va.inputs.image), val_labels: tensor("uint8", [va.target.dims[0], 1], Uint8Array.from(va.target.data as Float32Array)),
  test_images: toU8(te.inputs.image), test_labels: tensor("uint8", [te.target.dims[0], 1], Uint8Array.from(te.target.data as Float32Array)),
}));
const data = await loadDataset(`${root}/data/bench.npz`, { seed });

console.log(`split vs central: ${data.train.size} PneumoniaMNIST rows, zoo cnn, batch ${BATCH}, ${EPOCHS} epoch(s), adam; ` +
  `${navigator.hardwareConcurrency} CPUs, ${Deno.build.os}/${Deno.build.arch}`);

/** Samples/s over the whole run and over its steps after the warm-up (`SteadyRate`). */
interface Rate {
  sps: number;
  steady: number | null;
}

async function central(engineName: EngineName): Promise<Rate> {
  const engine = await createEngine(engineName, { threads: 1 });
  const rng = new Rng(seed);
  const r = await trainCentral({ engine, model: zooModel("cnn", data, () => rng.float()).model, loss: "bce", data, epochs: EPOCHS, batchSize: BATCH, optimizer, seed });
  if (engineName !== "wasm") await engine.dispose();
  return { sps: r.samplesPerSec, steady: r.steadySamplesPerSec };
}

async function split(serverEngine: EngineName, { serverQuantize, ...codec }: { dtype: "float32" | "float16" | "int8"; level: number; quantize?: Quantize; serverQuantize?: Quantize }): Promise<Rate & { bytesPerSample: number }> {
  const dir = await Deno.makeTempDir({ dir: root });
  const s = generateStaticKeyPair(), c = generateStaticKeyPair();
  const sf = await writeKeyPairFiles(dir, "server", s);
  await writeKeyPairFiles(dir, "clinic-a", c);
  const allowlist = new Allowlist([{ name: "clinic-a", publicKey: c.publicKey }]);
  await Deno.writeTextFile(`${dir}/peers.json`, serializeAllowlist(allowlist));
  const engine = await createEngine(serverEngine, { threads: 1 });
  const profile = new PhaseProfile(PROFILE);
  const server = await createServerApp({
    mode: "vanilla", model: { zoo: "cnn", data, seed }, loss: "bce", optimizer, epochs: EPOCHS, limits: { maxBatch: BATCH },
    codec: { ...codec, ...(serverQuantize ? { quantize: serverQuantize } : {}) }, // the gradients go back in the clinic's codec
    deferUpdate: !values.fused,
  }, { keyPair: s, allowlist, engine, log: () => {}, profile });
  const http = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, server.app.fetch);
  try {
    const clinicJson = JSON.stringify({
      name: "clinic-a", server: `http://127.0.0.1:${http.addr.port}`, serverPublicKey: sf.publicKeyPath,
      clinicKey: `${dir}/clinic-a.key`, peers: `${dir}/peers.json`, data: `${root}/data/bench.npz`, model: "cnn",
      mode: "vanilla", codec, optimizer, seed, batchSize: BATCH, checkpointDir: `${dir}/ck`,
    });
    const lines: string[] = [];
    let r: Pick<ClinicResult, "samples" | "trainSeconds" | "steadySamplesPerSec" | "bytesUp" | "bytesDown" | "steps">;
    if (values["clinic-in-process"]) {
      r = (await launchClinic<ClinicResult>(parseClientConfig(clinicJson, dir), "train", {
        profile: PROFILE,
        onLine: (l) => {
          const p = profileLine(l);
          if (p !== null) lines.push(p);
        },
      })).result;
    } else {
      // The clinic in its own process, as on its own gateway (see split_clinic_process.ts).
      await Deno.writeTextFile(`${dir}/clinic.json`, clinicJson);
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["run", "--allow-read", "--allow-write", "--allow-run", CLINIC_PROCESS, `${dir}/clinic.json`, ...(PROFILE ? ["--profile"] : [])],
        stdout: "piped",
        stderr: "piped",
      }).output();
      const text = new TextDecoder().decode(out.stdout).trim().split("\n");
      const last = text.at(-1) ?? "";
      if (!out.success || !last.startsWith(RESULT_LINE)) {
        throw new Error(`the clinic process failed (exit ${out.code}): ${new TextDecoder().decode(out.stderr).trim().split("\n").slice(-3).join(" | ")}`);
      }
      lines.push(...text.slice(0, -1).filter((l) => l.includes("profile ")));
      r = JSON.parse(last.slice(RESULT_LINE.length));
    }
    if (PROFILE) {
      console.log(`-- phases, server ${serverEngine}, codec ${codec.dtype}:${codec.level} (${r.steps} steps, ${(r.trainSeconds * 1000 / r.steps).toFixed(1)} ms per step):`);
      console.log([...lines, profile.format("profile server")].join("\n"));
    }
    return { sps: r.samples / r.trainSeconds, steady: r.steadySamplesPerSec, bytesPerSample: (r.bytesUp + r.bytesDown) / r.samples };
  } finally {
    await http.shutdown();
    await server.close();
    if (serverEngine !== "wasm") await engine.dispose();
  }
}

/** "steady S samples/s, whole run W" (steady n/a for a run within the warm-up). */
const rateText = (r: Rate) => `steady ${r.steady === null ? "n/a" : r.steady.toFixed(0)}, whole run ${r.sps.toFixed(0)} samples/s`;
/** "S.SS× (whole run W.WW×)" against a central rate. */
const ratioText = (r: Rate, c: Rate) =>
  `${r.steady !== null && c.steady !== null ? (r.steady / c.steady).toFixed(2) : "n/a"}× (whole run ${(r.sps / c.sps).toFixed(2)}×)`;

const centralWasm = await central("wasm");
let centralNative: Rate | null = null;
try {
  centralNative = await central("native");
} catch { /* no native engine here */ }
console.log(`central wasm:    ${rateText(centralWasm)}`);
console.log(`central native:  ${centralNative === null ? "n/a" : rateText(centralNative)}`);
if (SERVERS.includes("webgpu")) {
  try {
    console.log(`central webgpu:  ${rateText(await central("webgpu"))}`);
  } catch (e) {
    console.log(`central webgpu:  n/a (${(e as Error).message})`);
  }
}
for (const serverEngine of SERVERS) for (const codec of CODECS) {
  const tag = `split clinic wasm + server ${serverEngine.padEnd(6)}, codec ${`${codec.dtype}:${codec.level}${codec.quantize ? `:${codec.quantize}/${codec.serverQuantize}` : ""}`.padEnd(9)}`;
  try {
    const r = await split(serverEngine, codec);
    console.log(
      `${tag}: ${rateText(r)} = ${ratioText(r, centralWasm)} central wasm` +
        `${centralNative === null ? "" : `, ${ratioText(r, centralNative)} central native`}; ` +
        `${(r.bytesPerSample / 1024).toFixed(1)} KiB on the wire per sample (up + down)`,
    );
  } catch (e) {
    console.log(`${tag}: failed (${(e as Error).message})`);
  }
}
console.log("split clinic native + server native: n/a (the sandboxed raw side has no FFI, so it runs wasm only)");

// ---- transport: HTTP POST (keep-alive) vs WebSocket, ~400 KB each way ----
{
  const body = new Uint8Array(400 * 1024).map((_, i) => i & 0xff);
  const srv = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    if (req.headers.get("upgrade") === "websocket") {
      const { socket, response } = Deno.upgradeWebSocket(req);
      socket.binaryType = "arraybuffer";
      socket.onmessage = (e) => socket.send(e.data);
      return response;
    }
    return new Response(new Uint8Array(await req.arrayBuffer()));
  });
  const url = `127.0.0.1:${srv.addr.port}`;
  const N = 40;
  const timeIt = async (f: () => Promise<void>) => {
    for (let i = 0; i < 5; i++) await f();
    const t = performance.now();
    for (let i = 0; i < N; i++) await f();
    return (performance.now() - t) / N;
  };
  const httpMs = await timeIt(async () => {
    const r = await fetch(`http://${url}/`, { method: "POST", body });
    await r.arrayBuffer();
  });
  const ws = new WebSocket(`ws://${url}/`);
  ws.binaryType = "arraybuffer";
  await new Promise((r) => (ws.onopen = r));
  const wsMs = await timeIt(() => new Promise<void>((resolve) => {
    ws.onmessage = () => resolve();
    ws.send(body);
  }));
  ws.close();
  await srv.shutdown();
  console.log(`transport, 400 KiB echo on loopback: HTTP POST keep-alive ${httpMs.toFixed(2)} ms, WebSocket ${wsMs.toFixed(2)} ms per round trip`);
}
await Deno.remove(root, { recursive: true });
