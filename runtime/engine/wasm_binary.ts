/**
 * Where onnxruntime-web's WebAssembly module lies, apart from the engine that loads it: a
 * process that only needs the path (the clinic's raw-side launcher granting a sandbox read
 * access to it) resolves it without importing onnxruntime-web.
 *
 * @example
 * ```ts
 * import { wasmBinaryUrl } from "./wasm_binary.ts";
 * console.log(wasmBinaryUrl().endsWith("/ort-wasm-simd-threaded.wasm")); // true
 * ```
 * @module
 */

/**
 * The file URL of onnxruntime-web's WebAssembly module in Deno's npm cache: the one file a
 * sandboxed `wasm` engine must be allowed to read (`--allow-read=<path>`), unless the caller
 * hands its bytes over as `EngineOptions.wasmBinary` (engine_types.ts).
 *
 * @example
 * ```ts
 * import { wasmBinaryUrl } from "./wasm_binary.ts";
 * const path = new URL(wasmBinaryUrl()).pathname; // .../onnxruntime-web/1.30.0/dist/ort-wasm-simd-threaded.wasm
 * ```
 */
export function wasmBinaryUrl(): string {
  return import.meta.resolve("onnxruntime-web/ort-wasm-simd-threaded.wasm");
}
