/**
 * The `wasm` engine: onnxruntime-web's WebAssembly CPU backend. It needs no native code, so it
 * is the engine of the clinic's sandboxed raw-data side.
 *
 * Under Deno, `onnxruntime-web` resolves (by the package's `node` export condition) to
 * `dist/ort.node.min.mjs`, which reads `ort-wasm-simd-threaded.wasm` from the npm cache with
 * `fs` (so it needs read permission on that file, or {@linkcode EngineOptions.wasmBinary}) and
 * runs extra threads as `worker_threads` over a `SharedArrayBuffer`; both work without flags.
 *
 * @example
 * ```ts
 * import { createWasmEngine } from "./wasm_engine.ts";
 * const engine = await createWasmEngine({ threads: 1 });
 * await engine.dispose();
 * ```
 * @module
 */

import * as ort from "onnxruntime-web";
import type { Engine, EngineOptions } from "./engine_types.ts";
import { wasmBinaryUrl } from "./wasm_binary.ts";
import { causeMessage, EngineError } from "./engine_error.ts";
import { OrtEngine } from "./ort_session.ts";
import type { Model } from "../../models/graph/ir.ts";
import { readModel } from "../../models/onnx/read_model.ts";
import { writeModel } from "../../models/onnx/write_model.ts";
import { rewriteNearestResize } from "./resize_rewrite.ts";

/** The thread count fixed by the first wasm engine of this process (or worker). */
let fixedThreads: number | undefined;

/**
 * Creates a `wasm` engine. Prefer {@linkcode "./engine.ts".createEngine}.
 *
 * @throws {EngineError} `ENGINE_CONFLICT` if an earlier wasm engine of this process fixed
 *   another thread count (ort-web initialises its WebAssembly module once per process)
 *
 * @example
 * ```ts
 * import { createWasmEngine } from "./wasm_engine.ts";
 * const engine = await createWasmEngine({});
 * console.log(engine.name); // "wasm"
 * ```
 */
export function createWasmEngine(opts: EngineOptions): Promise<Engine> {
  const threads = opts.threads ?? 1;
  if (fixedThreads !== undefined && fixedThreads !== threads) {
    return Promise.reject(
      new EngineError(
        "ENGINE_CONFLICT",
        `the wasm engine of this process already runs ${fixedThreads} thread(s); cannot switch to ${threads} ` +
          `(onnxruntime-web initialises its WebAssembly module once; use a Worker for another count)`,
      ),
    );
  }
  fixedThreads = threads;
  // These settings are read when the first session initialises the module; later writes
  // are ignored by ort-web, which is why the thread count is pinned above.
  ort.env.wasm.numThreads = threads;
  if (opts.wasmBinary) ort.env.wasm.wasmBinary = opts.wasmBinary;
  const explain = (cause: unknown, modelName: string): EngineError | undefined => {
    const msg = causeMessage(cause);
    if (!/NotCapable|PermissionDenied|Requires read access/.test(msg)) return undefined;
    return new EngineError(
      "ENGINE_UNAVAILABLE",
      `the wasm engine could not read its WebAssembly module while loading ${modelName}: ${msg}. ` +
        `Allow reading ${
          decodeURIComponent(new URL(wasmBinaryUrl()).pathname)
        } or pass EngineOptions.wasmBinary`,
      { cause },
    );
  };
  // onnxruntime-web 1.30's threaded module deadlocks, intermittently, on the first run of a
  // training graph that holds Resize (the MaxPool and AveragePool gradients' upsampling), so
  // with more than one thread such Resizes run as the equivalent ConvTranspose
  // (resize_rewrite.ts); one thread keeps the faster Resize.
  const prepare = threads > 1
    ? (model: Uint8Array, modelName: string): Uint8Array => {
      let parsed: Model;
      try {
        parsed = readModel(model);
      } catch {
        return model; // not ONNX: ONNX Runtime's own MODEL_INVALID says why
      }
      try {
        const r = rewriteNearestResize(parsed);
        return r.replaced === 0 ? model : writeModel(r.model);
      } catch (e) {
        if (e instanceof EngineError) {
          throw new EngineError("MODEL_INVALID", `cannot load ${modelName} on the wasm engine with ${threads} threads: ${e.message}`, { cause: e });
        }
        throw e;
      }
    }
    : undefined;
  return Promise.resolve(
    new OrtEngine("wasm", ort, { executionProviders: ["wasm"] }, { explain, prepare }),
  );
}
