/**
 * The launcher's view of its children's stderr: progress passed on, the result taken, and each
 * fatal error line held back for the error the launcher throws (shown once, by the entry point).
 */
import assert from "node:assert/strict";
import { ChildLog } from "../../../runtime/client/child_log.ts";
import { ClinicError } from "../../../runtime/client/clinic_error.ts";
import { RESULT_PREFIX } from "../../../runtime/client/courier_main.ts";

Deno.test("child log: the courier's error is thrown, not shown; progress and the result pass", () => {
  const shown: string[] = [];
  const log = new ChildLog("clinic-a", (l) => shown.push(l));
  log.courierLine("[clinic-a] round 0: my turn");
  log.rawSideLine("loading 120 rows");
  log.rawSideLine("2024 [W:onnxruntime:, session] something");
  log.courierLine("courier [CONFIG_MISMATCH]: the server trains with loss bce");
  assert.deepEqual(shown, ["[clinic-a] round 0: my turn", "[clinic-a raw side] loading 120 rows"]);
  const e = log.failure(1, true);
  assert.ok(e instanceof ClinicError);
  assert.equal(e.code, "COURIER_FAILED");
  assert.equal(e.message, "courier [CONFIG_MISMATCH]: the server trains with loss bce");
  log.courierLine(`${RESULT_PREFIX}{"turns":2}`);
  assert.deepEqual(log.result, { turns: 2 });
});

Deno.test("child log: a raw side that failed on its own is the error; the courier's CLOSED is its cause", () => {
  const shown: string[] = [];
  const log = new ChildLog("clinic-a", (l) => shown.push(l));
  log.rawSideLine("raw side [CONFIG_INVALID]: records.npz: file not found");
  log.courierLine("courier [CLOSED]: the raw side's output ended");
  assert.deepEqual(shown, []);
  const e = log.failure(1, false);
  assert.equal(e.code, "RAW_SIDE_FAILED");
  assert.equal(e.message, "clinic clinic-a: raw side [CONFIG_INVALID]: records.npz: file not found");
  assert.equal((e.cause as Error).message, "courier [CLOSED]: the raw side's output ended");
  // A courier that exited without a line is named by its exit code.
  assert.equal(new ChildLog("b", () => {}).failure(3, true).message, "clinic b: courier exited with code 3");
});

Deno.test("child log: held lines of a run that succeeded even so are shown at the end", () => {
  const shown: string[] = [];
  const log = new ChildLog("clinic-a", (l) => shown.push(l));
  log.courierLine("courier: a warning that looked fatal");
  log.flush();
  assert.deepEqual(shown, ["courier: a warning that looked fatal"]);
});
