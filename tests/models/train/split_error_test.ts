import * as assert from "node:assert/strict";
import {
  isSplitErrorCode,
  SPLIT_ERROR_CODES,
  SplitError,
} from "../../../models/train/split_error.ts";
import { SplitError as SplitErrorViaSplit } from "../../../models/train/split.ts";

Deno.test("SPLIT_ERROR_CODES: every code is recognised, a misspelt one is not", () => {
  assert.deepEqual([...SPLIT_ERROR_CODES].sort(), [
    "CUT_CROSSING",
    "CUT_ORDER",
    "SHARED_WEIGHT",
    "UNKNOWN_CUT",
  ]);
  for (const code of SPLIT_ERROR_CODES) {
    assert.ok(isSplitErrorCode(code), code);
    const e = new SplitError(code, `because ${code}`);
    assert.equal(e.code, code);
    assert.equal(e.name, "SplitError");
  }
  for (const bad of ["cut_order", "CUT", "", "UNKNOWN_CUTS"]) {
    assert.equal(isSplitErrorCode(bad), false, bad);
  }
});

Deno.test("SplitError: a code outside the list does not type-check", () => {
  // The directive fails the type check (and so this test file) if `code` accepts any string.
  // @ts-expect-error CUT_ORDERING is not a SplitErrorCode
  const e = new SplitError("CUT_ORDERING", "misspelt");
  assert.equal(e.code, "CUT_ORDERING");
});

Deno.test("SplitError: split.ts re-exports the same class", () => {
  assert.equal(SplitErrorViaSplit, SplitError);
});
