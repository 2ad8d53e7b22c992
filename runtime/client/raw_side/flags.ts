/**
 * The Deno permissions of the raw-data process, and nothing more: it may read its data
 * directory, the model file, the clinic key file, onnxruntime-web's `.wasm` module and its
 * checkpoint directory, and write only the checkpoint directory. No `--allow-net`,
 * `--allow-run`, `--allow-ffi`, `--allow-env`, `--allow-sys`, and `--no-prompt` so a missing
 * permission fails (`Deno.errors.NotCapable`) instead of asking.
 *
 * ```
 * deno run --no-prompt --allow-read=<data dir>,<model file>[,<key file>],<ort wasm file>[,<checkpoint dir>]
 *          [--allow-write=<checkpoint dir>] runtime/client/raw_side/main.ts '<config JSON>'
 * ```
 *
 * @example
 * ```ts
 * import { rawSideFlags } from "./flags.ts";
 * rawSideFlags({ dataFile: "data/x.npz", modelFile: "m.onnx", wasmFile: "/ort.wasm", checkpointDir: "ck" });
 * // ["--no-prompt", "--allow-read=data,m.onnx,/ort.wasm,ck", "--allow-write=ck"]
 * ```
 * @module
 */
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { wasmBinaryUrl } from "../../engine/engine.ts";
import type { RawSideProcessConfig } from "./config.ts";
import { permissionPath } from "../../config/permission_path.ts";

/**
 * Path of onnxruntime-web's WebAssembly module in Deno's npm cache (the default `wasmFile`).
 *
 * @example
 * ```ts
 * import { defaultWasmFile } from "./flags.ts";
 * console.log(defaultWasmFile().endsWith("ort-wasm-simd-threaded.wasm")); // true
 * ```
 */
export function defaultWasmFile(): string {
  return fileURLToPath(wasmBinaryUrl());
}

/**
 * The permission flags of the raw-data process for `config`.
 *
 * @throws {TypeError} for a missing path or a path containing a comma
 * @example
 * ```ts
 * import { rawSideFlags } from "./flags.ts";
 * const flags = rawSideFlags({ dataFile: "/srv/data/a.npz", modelFile: "/srv/m.onnx", keyFile: "/srv/a.key" });
 * console.log(flags.some((f) => f.startsWith("--allow-net"))); // false
 * ```
 */
export function rawSideFlags(
  config: Pick<
    RawSideProcessConfig,
    "dataFile" | "modelFile" | "keyFile" | "wasmFile" | "checkpointDir" | "predictFile"
  >,
): string[] {
  const reads = [
    permissionPath(dirname(permissionPath(config.dataFile, "dataFile")), "data directory"),
  ];
  // A zoo model is built in the process from the seed: no model file to read.
  if (config.modelFile !== undefined) reads.push(permissionPath(config.modelFile, "modelFile"));
  if (config.predictFile !== undefined) reads.push(permissionPath(config.predictFile, "predictFile"));
  if (config.keyFile !== undefined) reads.push(permissionPath(config.keyFile, "keyFile"));
  reads.push(permissionPath(config.wasmFile ?? defaultWasmFile(), "wasmFile"));
  const flags = ["--no-prompt"];
  if (config.checkpointDir !== undefined) {
    reads.push(permissionPath(config.checkpointDir, "checkpointDir"));
  }
  flags.push(`--allow-read=${reads.join(",")}`);
  if (config.checkpointDir !== undefined) flags.push(`--allow-write=${config.checkpointDir}`);
  return flags;
}
