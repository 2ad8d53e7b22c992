import * as assert from "node:assert/strict";
import { GRAD_ERROR_CODES, GradError, isGradErrorCode } from "../../../models/grad/grad_error.ts";
import { GradError as GradErrorViaContext } from "../../../models/grad/context.ts";

Deno.test("GRAD_ERROR_CODES: every code is recognised, a misspelt one is not", () => {
  assert.equal(new Set(GRAD_ERROR_CODES).size, GRAD_ERROR_CODES.length);
  for (const code of GRAD_ERROR_CODES) {
    assert.ok(isGradErrorCode(code), code);
    const e = new GradError(code, `because ${code}`);
    assert.equal(e.code, code);
    assert.equal(e.name, "GradError");
    assert.equal(e.message, `because ${code}`);
  }
  for (const bad of ["unsupported_op", "UNSUPPORTED_OPS", "", "DUPLICATE"]) {
    assert.equal(isGradErrorCode(bad), false, bad);
  }
});

Deno.test("GradError: a code outside the list does not type-check", () => {
  // The directive fails the type check (and so this test file) if `code` accepts any string.
  // @ts-expect-error UNSUPPORTED_OPS is not a GradErrorCode
  const e = new GradError("UNSUPPORTED_OPS", "misspelt");
  assert.equal(e.code, "UNSUPPORTED_OPS");
});

Deno.test("GradError: context.ts re-exports the same class", () => {
  assert.equal(GradErrorViaContext, GradError);
});
