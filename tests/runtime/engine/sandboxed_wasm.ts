/**
 * Test fixture, run as a subprocess with `--allow-read` for the model only (the clinic
 * sandbox's situation): reads onnxruntime-web's WebAssembly bytes from stdin (none: let the
 * engine read the npm cache itself), runs pneumonia_cnn on one zero image on the `wasm`
 * engine, and prints `{ ok, logits }` or `{ ok: false, code, message }` as JSON.
 *
 * @example
 * ```sh
 * deno run --allow-read=tests/fixtures/models/pneumonia_cnn.onnx tests/runtime/engine/sandboxed_wasm.ts < ort-wasm-simd-threaded.wasm
 * ```
 * @module
 */

import { createEngine } from "../../../runtime/engine/engine.ts";
import { EngineError } from "../../../runtime/engine/engine_error.ts";
import { tensor } from "../../../models/tensor.ts";

const wasm = new Uint8Array(await new Response(Deno.stdin.readable).arrayBuffer());
try {
  const engine = await createEngine("wasm", wasm.length > 0 ? { wasmBinary: wasm } : {});
  const session = await engine.load(Deno.readFileSync(new URL("../../fixtures/models/pneumonia_cnn.onnx", import.meta.url)), {
    name: "pneumonia_cnn",
  });
  const { logits } = await session.run({ image: tensor("float32", [1, 1, 28, 28]) });
  console.log(JSON.stringify({ ok: true, logits: [...logits.data] }));
  await engine.dispose();
} catch (e) {
  console.log(
    JSON.stringify({
      ok: false,
      code: e instanceof EngineError ? e.code : undefined,
      message: String(e),
    }),
  );
}
