/**
 * The `native-webgpu` engine (onnxruntime-node's WebGPU provider, Dawn on Vulkan): where Dawn
 * offers no adapter (this development VM: no libvulkan, or Mesa lavapipe, which Dawn refuses)
 * creating it fails with a clear `ENGINE_UNAVAILABLE`, the process goes on, and a server
 * configured with it refuses to start with that error; where a GPU is there, it reproduces
 * the CPU engine's logits.
 */
import { deepEqual, equal, ok, rejects } from "node:assert/strict";
import { createEngine, type Engine } from "../../../runtime/engine/engine.ts";
import { EngineError } from "../../../runtime/engine/engine_error.ts";
import { webGpuUnavailable } from "../../../runtime/engine/native_webgpu_engine.ts";
import { tensor } from "../../../models/tensor.ts";
import { parseServerConfigFile } from "../../../runtime/server/config_file.ts";
import { createServerApp } from "../../../runtime/server/mod.ts";
import { allowlist, SERVER_KEYS, tinyConfig } from "../server/harness.ts";

const CNN = Deno.readFileSync(
  new URL("../../fixtures/models/pneumonia_cnn.onnx", import.meta.url),
);

/** The engine, or the error that refused it: one attempt per process (Dawn's start is slow). */
const attempt: Promise<Engine | EngineError> = createEngine("native-webgpu").catch((e) => {
  ok(e instanceof EngineError, `expected an EngineError, got ${e}`);
  return e;
});

function assertRefusal(e: unknown): true {
  ok(e instanceof EngineError, `expected an EngineError, got ${e}`);
  equal(e.code, "ENGINE_UNAVAILABLE", e.message);
  for (const m of ["native-webgpu", "no usable GPU", "Vulkan", 'engine "native"']) {
    ok(e.message.includes(m), `message ${JSON.stringify(e.message)} should mention ${m}`);
  }
  ok(!e.message.includes("\n"), "one line: ORT's source location and check are left out");
  return true;
}

Deno.test("native-webgpu: runs where Dawn finds a GPU, else refuses clearly and the process goes on", async () => {
  const got = await attempt;
  const input = tensor(
    "float32",
    [3, 1, 28, 28],
    Float32Array.from({ length: 3 * 784 }, (_, i) => Math.sin(i)),
  );
  const cpu = await createEngine("native");
  const want = await (await cpu.load(CNN)).run({ image: input });
  if (got instanceof EngineError) {
    assertRefusal(got);
    ok(got.message.includes("Failed to get a WebGPU adapter"), got.message);
    // A refused provider leaves onnxruntime-node usable: the CPU session above ran after it.
    deepEqual(want.logits.dims, [3, 1]);
  } else {
    equal(got.name, "native-webgpu");
    const out = await (await got.load(CNN, { name: "cnn on webgpu" })).run({ image: input });
    deepEqual(out.logits.dims, want.logits.dims);
    for (let i = 0; i < 3; i++) {
      const a = out.logits.data[i] as number, b = want.logits.data[i] as number;
      ok(
        Math.abs(a - b) <= 1e-3 + 1e-3 * Math.abs(b),
        `logit ${i}: ${a} on the GPU vs ${b} on the CPU`,
      );
    }
    await got.dispose();
  }
  await cpu.dispose();
});

Deno.test("native-webgpu: a server configured with it starts on a GPU or refuses with the engine's error", async () => {
  const file = parseServerConfigFile(
    JSON.stringify({
      serverKey: "k",
      allowlist: "a",
      model: "cnn",
      data: { image: { channels: 1, size: 28 } },
      mode: "vanilla",
      loss: "bce",
      optimizer: { kind: "sgd", lr: 0.1 },
      engine: "native-webgpu",
    }),
    "/srv",
  );
  equal(file.engine, "native-webgpu");
  const start = () =>
    createServerApp(tinyConfig("vanilla", { engine: "native-webgpu" }), {
      keyPair: SERVER_KEYS,
      allowlist: allowlist(),
      log: () => {},
    });
  if ((await attempt) instanceof EngineError) {
    await rejects(start(), assertRefusal);
  } else {
    const server = await start();
    await server.close();
  }
});

Deno.test("native-webgpu: the refusal names the engine, the cause and the way out", () => {
  const e = webGpuUnavailable("No supported adapters", new Error("dawn"));
  assertRefusal(e);
  equal((e.cause as Error).message, "dawn");
});
