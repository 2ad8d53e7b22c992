/**
 * Test fixture: a module Worker that runs a model on the `wasm` engine with the thread count
 * and WebAssembly bytes it is sent, and posts back the outputs (or the error message). It
 * shows that the engine works inside a Worker, where the training step may later run.
 *
 * @example
 * ```ts
 * const w = new Worker(new URL("./wasm_worker.ts", import.meta.url), { type: "module" });
 * ```
 * @module
 */

import { createEngine } from "../../../runtime/engine/engine.ts";
import type { Tensor } from "../../../models/tensor.ts";

/** What the test sends. */
export interface WorkerRequest {
  threads: number;
  wasmBinary?: Uint8Array;
  model: Uint8Array;
  feeds: Record<string, Tensor>;
}

// Typed by hand: this file is type-checked together with window-scope tests.
const scope = globalThis as unknown as {
  onmessage: (e: MessageEvent<WorkerRequest>) => void;
  postMessage(message: unknown): void;
};

scope.onmessage = async (e: MessageEvent<WorkerRequest>) => {
  try {
    const { threads, wasmBinary, model, feeds } = e.data;
    const engine = await createEngine("wasm", { threads, wasmBinary });
    const session = await engine.load(model, { name: "worker model" });
    const out = await session.run(feeds);
    await engine.dispose();
    scope.postMessage({ ok: true, out });
  } catch (err) {
    scope.postMessage({ ok: false, error: String(err) });
  }
};
