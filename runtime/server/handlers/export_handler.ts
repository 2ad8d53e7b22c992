/**
 * The `EXPORT` handler: the server segment's weights (parameters and buffers), for a clinic
 * assembling the full model — only where the server's policy allows it (`allowExport`).
 *
 * @example
 * ```ts
 * import { exportSegment } from "./export_handler.ts";
 * console.log(typeof exportSegment); // "function"
 * ```
 * @module
 */
import type { Tensor } from "../../../models/tensor.ts";
import { ProtocolError } from "../../protocol/mod.ts";
import { encodeReply, type Handler } from "./handler_context.ts";

/**
 * `EXPORT`: the settled weights of the server segment.
 *
 * @throws {ProtocolError} `EXPORT_FORBIDDEN` unless `allowExport`.
 * @example
 * ```ts
 * import { exportSegment } from "./export_handler.ts";
 * // const reply = await exportSegment(ctx, clinic, { type: "EXPORT" });
 * ```
 * (tests/runtime/server/export_test.ts serves as the running example.)
 */
export const exportSegment: Handler<"EXPORT"> = async (ctx, c) => {
  if (!ctx.allowExport) {
    throw new ProtocolError("EXPORT_FORBIDDEN", "this server's policy does not allow exporting its segment (allowExport)");
  }
  const { model } = ctx.state;
  await model.settle();
  const weights: Record<string, Tensor> = {};
  for (const m of [model.runner.params, model.runner.buffers]) {
    for (const [k, v] of m) weights[k] = v;
  }
  ctx.log(`clinic ${c.name} exported the server segment's weights`);
  return encodeReply(ctx, { type: "EXPORT_RESULT", weights });
};
