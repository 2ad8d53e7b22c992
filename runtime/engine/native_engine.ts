/**
 * The `native` engine: onnxruntime-node, ONNX Runtime's Node-API addon, on the CPU or on CUDA.
 * Deno loads the addon through FFI, so this engine needs `--allow-ffi` and never runs inside
 * the clinic sandbox. See `runtime/engine/README.md` for installing the CUDA provider.
 *
 * @example
 * ```ts
 * import { createNativeEngine } from "./native_engine.ts";
 * const engine = await createNativeEngine({ device: "cpu" });
 * await engine.dispose();
 * ```
 * @module
 */

import * as ort from "onnxruntime-node";
import type { InferenceSession as OrtInferenceSession } from "onnxruntime-common";
import type { Engine, EngineOptions } from "./engine_types.ts";
import { causeMessage, EngineError } from "./engine_error.ts";
import { OrtEngine } from "./ort_session.ts";

/** Files onnxruntime-node's install script adds for the CUDA provider (script/install-metadata.js). */
const CUDA_FILES = ["libonnxruntime_providers_shared.so", "libonnxruntime_providers_cuda.so"];

/**
 * The folder of onnxruntime-node's native binaries for this platform, where its install
 * script puts the CUDA provider libraries (`bin/napi-v6/<platform>/<arch>/`).
 *
 * @example
 * ```ts
 * import { nativeBinaryDir } from "./native_engine.ts";
 * console.log(nativeBinaryDir()); // file:///.../onnxruntime-node/1.30.0/bin/napi-v6/linux/x64/
 * ```
 */
export function nativeBinaryDir(): URL {
  const arch = Deno.build.arch === "x86_64" ? "x64" : "arm64";
  const platform = Deno.build.os === "windows" ? "win32" : Deno.build.os;
  return new URL(`../bin/napi-v6/${platform}/${arch}/`, import.meta.resolve("onnxruntime-node"));
}

function missingCudaFiles(): string[] | undefined {
  const dir = nativeBinaryDir();
  const missing: string[] = [];
  for (const f of CUDA_FILES) {
    try {
      Deno.statSync(new URL(f, dir));
    } catch (e) {
      if (e instanceof Deno.errors.NotFound) missing.push(f);
      else return undefined; // e.g. no read permission: let ONNX Runtime decide
    }
  }
  return missing;
}

function cudaUnavailable(detail: string, cause?: unknown): EngineError {
  return new EngineError(
    "ENGINE_UNAVAILABLE",
    `the native engine cannot use CUDA: ${detail}. Install the CUDA provider of onnxruntime-node ` +
      `(see runtime/engine/README.md: ONNXRUNTIME_NODE_INSTALL=cuda12 node script/install.js) ` +
      `and CUDA 12 with cuDNN 9, or use device "cpu"`,
    cause === undefined ? undefined : { cause },
  );
}

/**
 * Creates a `native` engine. Prefer {@linkcode "./engine.ts".createEngine}.
 *
 * @throws {EngineError} `ENGINE_UNAVAILABLE` for `device: "cuda"` when the platform is not
 *   linux/x64 or the CUDA provider libraries are not installed next to the addon
 *
 * @example
 * ```ts
 * import { createNativeEngine } from "./native_engine.ts";
 * const engine = await createNativeEngine({ threads: 2 });
 * console.log(engine.name); // "native"
 * ```
 */
export function createNativeEngine(opts: EngineOptions): Promise<Engine> {
  const options: OrtInferenceSession.SessionOptions = {
    // ONNX Runtime's intra-op pool threads busy-wait ("spin") between kernels by default. A
    // training step runs hundreds of small kernels with JavaScript (feeds, the optimizer
    // loop) in between: the spinning threads then compete with that JavaScript and, on a
    // loaded machine, with each other (a 2-thread step graph measured 64 ms with spinning,
    // 31 ms without). `session.intra_op.allow_spinning` is ORT's session config key
    // (onnxruntime_session_options_config_keys.h), passed through `extra`.
    extra: { session: { intra_op: { allow_spinning: "0" } } },
  };
  // One intra-op thread unless asked (see EngineOptions.threads): ONNX Runtime's own default,
  // one per physical core, made a small model's step slower, not faster.
  options.intraOpNumThreads = opts.threads ?? 1;
  if (opts.device !== "cuda") {
    options.executionProviders = ["cpu"];
    return Promise.resolve(new OrtEngine("native", ort, options, { float16Bits: true }));
  }
  if (Deno.build.os !== "linux" || Deno.build.arch !== "x86_64") {
    return Promise.reject(
      cudaUnavailable(
        `onnxruntime-node ships CUDA support for linux/x64 only, this is ${Deno.build.os}/${Deno.build.arch}`,
      ),
    );
  }
  const missing = missingCudaFiles();
  if (missing && missing.length > 0) {
    return Promise.reject(
      cudaUnavailable(
        `${missing.join(", ")} not found in ${decodeURIComponent(nativeBinaryDir().pathname)}`,
      ),
    );
  }
  // CPU is listed after CUDA so nodes without a CUDA kernel still run (ORT assigns by order).
  options.executionProviders = [{ name: "cuda", deviceId: opts.deviceId ?? 0 }, "cpu"];
  const explain = (cause: unknown, modelName: string): EngineError | undefined => {
    const msg = causeMessage(cause);
    if (/cuda|cudnn|providers_shared|shared library/i.test(msg)) {
      return cudaUnavailable(`loading ${modelName} failed: ${msg}`, cause);
    }
    return undefined;
  };
  return Promise.resolve(new OrtEngine("native", ort, options, { explain, float16Bits: true }));
}
