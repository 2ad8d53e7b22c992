/**
 * The raw side's step ledger: bounded tables, oldest out, and retried steps answered with
 * their first result.
 */
import assert from "node:assert/strict";
import { tensor } from "../../../models/tensor.ts";
import { StepLedger } from "../../../runtime/client/raw_side/step_ledger.ts";

const t = (v: number) => tensor("float32", [1, 1], new Float32Array([v]));
const step = (batch: number) => ({ epoch: 1, batch, saved: {}, target: t(0), activation: t(batch), reply: { activation: t(batch) } });

Deno.test("step ledger: pending steps beyond the limit are evicted oldest first", () => {
  const ledger = new StepLedger({ pending: 2, done: 8, replies: 1 });
  for (let b = 0; b < 3; b++) ledger.addPending(`1:${b}`, step(b));
  assert.equal(ledger.get("1:0"), undefined);
  assert.equal(ledger.get("1:1")?.state, "pending");
  assert.equal(ledger.get("1:2")?.state, "pending");
});

Deno.test("step ledger: applied steps keep their head result; only the last replies are kept", () => {
  const ledger = new StepLedger({ pending: 4, done: 2, replies: 1 });
  ledger.addPending("1:0", step(0));
  const p = ledger.get("1:0");
  assert.ok(p?.state === "pending");
  p.head = { loss: 0.5, gradHeadInput: t(7) };
  ledger.markDone("1:0");
  const d = ledger.get("1:0");
  assert.equal(d?.state, "done");
  assert.equal(d?.head?.loss, 0.5);
  assert.equal(ledger.replyOf("1:0")?.activation.data[0], 0);
  ledger.addPending("1:1", step(1));
  ledger.markDone("1:1");
  assert.equal(ledger.replyOf("1:0"), undefined, "beyond `replies`, an applied step's reply is dropped");
  assert.equal(ledger.get("1:0")?.state, "done", "but the step is still known as applied");
  ledger.addPending("1:2", step(2));
  ledger.markDone("1:2");
  assert.equal(ledger.get("1:0"), undefined, "beyond `done`, the oldest applied step is forgotten");
  assert.throws(() => ledger.markDone("9:9"), { name: "RangeError", message: /step "9:9" is not pending/ });
  ledger.clear();
  assert.equal(ledger.get("1:2"), undefined);
});
