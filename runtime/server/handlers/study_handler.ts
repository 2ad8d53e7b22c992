/**
 * The `STUDY` handler: the study definition the server runs (`runtime/study/`), which every
 * clinic checks against the digest it pinned before its first step. A server started without
 * a study file answers with an empty id and digest and no definition.
 *
 * @example
 * ```ts
 * import { studyDefinition } from "./study_handler.ts";
 * console.log(typeof studyDefinition); // "function"
 * ```
 * @module
 */
import { encodeReply, type Handler } from "./handler_context.ts";

/**
 * `STUDY`: id, digest and canonical JSON of the study.
 *
 * @example
 * ```ts
 * import { studyDefinition } from "./study_handler.ts";
 * // const reply = await studyDefinition(ctx, clinic, { type: "STUDY" });
 * ```
 * (tests/runtime/study/study_publish_test.ts serves as the running example.)
 */
export const studyDefinition: Handler<"STUDY"> = (ctx) => {
  const s = ctx.study;
  return Promise.resolve(encodeReply(
    ctx,
    s
      ? {
        type: "STUDY_RESULT",
        id: s.id,
        digest: s.digest,
        definition: new TextEncoder().encode(s.text),
      }
      : { type: "STUDY_RESULT", id: "", digest: "" },
  ));
};
