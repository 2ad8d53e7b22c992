/** EXPORT: the server segment's weights, only where the server's policy allows it. */
import assert from "node:assert/strict";
import type { Tensor } from "../../../models/tensor.ts";
import { assertError, binaryLabels, CUT_DIMS, randomTensor, RawClinic, startServer } from "./harness.ts";

Deno.test("EXPORT: 403 EXPORT_FORBIDDEN by default; with allowExport the trained params and buffers, exactly", async () => {
  const closed = await startServer("vanilla");
  try {
    const a = await new RawClinic(closed, "a").connect();
    await assertError(await a.post(a.body({ type: "EXPORT" })), 403, "EXPORT_FORBIDDEN");
    // the refusal changes nothing: the session goes on
    assert.equal((await a.send({ type: "TURN_REQUEST" })).type, "TURN");
  } finally {
    await closed.close();
  }
  for (const mode of ["vanilla", "ushaped"] as const) {
    const server = await startServer(mode, { allowExport: true, codec: { dtype: "int8" } });
    try {
      const a = await new RawClinic(server, "a").connect();
      if (mode === "vanilla") {
        const act = randomTensor([4, ...CUT_DIMS], 3);
        await a.send({ type: "STEP", stepId: "0:0", epoch: 0, activation: act, labels: binaryLabels(4) });
      }
      // any allowlisted clinic may ask, whoever holds the turn
      const b = await new RawClinic(server, "b").connect();
      const r = await b.send({ type: "EXPORT" }) as { type: string; weights: Record<string, Tensor> };
      assert.equal(r.type, "EXPORT_RESULT");
      await server.model.settle();
      const want = new Map([...server.model.runner.params, ...server.model.runner.buffers]);
      assert.deepEqual(Object.keys(r.weights).sort(), [...want.keys()].sort(), mode);
      // float32 exact although replies use the int8 codec: weights are never quantised
      for (const [k, t] of want) assert.deepEqual(r.weights[k], t, `${mode} ${k}`);
    } finally {
      await server.close();
    }
  }
});
