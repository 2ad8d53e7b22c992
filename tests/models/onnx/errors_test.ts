import * as assert from "node:assert/strict";
import { ONNX_FORMAT_ERROR_CODES, OnnxFormatError } from "../../../models/onnx/errors.ts";

Deno.test("OnnxFormatError: codes come from ONNX_FORMAT_ERROR_CODES", () => {
  assert.equal(new Set(ONNX_FORMAT_ERROR_CODES).size, ONNX_FORMAT_ERROR_CODES.length);
  for (const code of ONNX_FORMAT_ERROR_CODES) {
    const e = new OnnxFormatError(code, "m");
    assert.equal(e.code, code);
    assert.equal(e.name, "OnnxFormatError");
  }
});

Deno.test("OnnxFormatError: a code outside the list does not type-check", () => {
  // The directive fails the type check (and so this test file) if `code` accepts any string.
  // @ts-expect-error NOT_AN_ONNX is not an OnnxFormatErrorCode
  assert.equal(new OnnxFormatError("NOT_AN_ONNX", "m").code, "NOT_AN_ONNX");
});
