/**
 * `deno task report <dir>`: a server's `metrics.jsonl` (written beside its checkpoint as
 * steps are applied) becomes one static HTML page with the loss curves as inline SVG, and no
 * script or external file.
 */
import assert from "node:assert/strict";
import { METRICS_FILE } from "../../runtime/server/metrics/metrics_log.ts";
import { binaryLabels, CUT_DIMS, RawClinic, randomTensor, startServer } from "../runtime/server/harness.ts";
import { runTask } from "./cli_harness.ts";

Deno.test("deno task report: metrics.jsonl of a real server → static HTML with SVG charts", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const server = await startServer("vanilla", { checkpointDir: dir });
    try {
      const a = await new RawClinic(server, "a").connect();
      await a.send({ type: "TURN_REQUEST" });
      for (let i = 0; i < 3; i++) {
        await a.send({ type: "STEP", stepId: `0:${i}`, epoch: 0, activation: randomTensor([4, ...CUT_DIMS], i + 1), labels: binaryLabels(4) });
      }
    } finally {
      await server.close();
    }
    // A server killed mid-write leaves a torn last line: the report skips it.
    await Deno.writeTextFile(`${dir}/${METRICS_FILE}`, '{"kind":"step","t":', { append: true });
    const run = await runTask("report", [dir]);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, new RegExp(`report: ${dir}/report\\.html \\(3 steps\\)`));
    const html = await Deno.readTextFile(`${dir}/report.html`);
    assert.doesNotMatch(html.replaceAll("http://www.w3.org/2000/svg", ""), /<script|<link|https?:\/\//i);
    assert.match(html, /<path data-series="a" data-points="3"/);
    assert.match(html, /<tr><td>a<\/td><td>3<\/td><td>12<\/td>/); // 3 steps of 4 samples
    assert.match(html, /<tr><td>b<\/td><td>0<\/td>/);
    assert.match(html, /cnn \(vanilla\)/);

    const missing = await runTask("report", [`${dir}/nowhere`]);
    assert.equal(missing.code, 1, missing.stderr);
    assert.match(missing.stderr, /metrics .*nowhere: file not found/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
