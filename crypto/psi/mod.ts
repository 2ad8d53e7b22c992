/**
 * Private set intersection over patient identifiers: ECDH-PSI on ristretto255 with RFC 9380
 * hash-to-group, for vertical split learning's record matching (docs: the module
 * documentation of `psi_party.ts`).
 *
 * @example
 * ```ts
 * import { PsiParty } from "./mod.ts";
 * const f = { pattern: "^[0-9]+$" };
 * const a = new PsiParty(["1", "2"], { format: f }), b = new PsiParty(["2", "3"], { format: f });
 * const xa = a.blindedSet(), xb = b.blindedSet();
 * const ya = b.evaluate(xa);
 * a.evaluate(xb);
 * console.log(a.finish(ya).identifiers); // ["2"]
 * ```
 * @module
 */
export {
  deriveElement,
  GROUP_ORDER,
  type GroupElement,
  hashIdentifier,
  PSI_DST,
  RistrettoPoint,
} from "./hash_to_group.ts";
export {
  checkIdentifiers,
  type IdentifierFormat,
  MAX_IDENTIFIER_LENGTH,
} from "./identifier_format.ts";
export { decodePoints, encodePoints, POINT_BYTES } from "./point_list.ts";
export { type PsiOptions, PsiParty, type PsiResult, type PsiReveal } from "./psi_party.ts";
