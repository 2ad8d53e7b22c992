/**
 * `deno task demo --vertical`, short: Diabetes 130 cut to a few hundred patients, one epoch,
 * each party as a real process pair (a raw side allowed to read only its own data folder, no
 * network; a courier holding its key), matching by PSI through
 * the server and training; then the three baselines. Checks the PSI matched exactly the
 * patients both institutions hold and the table has a finite AUC on every row.
 */
import assert from "node:assert/strict";
import { runVerticalDemo } from "../../runtime/cli/vertical_demo.ts";
import { formatVerticalTable } from "../../runtime/cli/vertical_demo.ts";

Deno.test("vertical demo, short: PSI then vertical training with real processes, and the baselines", async () => {
  const lines: string[] = [];
  const r = await runVerticalDemo({
    dataFile: "data/diabetes130.zip",
    epochs: 1,
    batchSize: 64,
    fusion: "concat",
    labels: "server",
    overlap: 0.7,
    rows: 350,
    seed: 3,
    engine: "wasm",
    log: (l) => lines.push(l),
  });
  // The demo knows both holdings; the parties only had blinded points to go on.
  assert.equal(r.parties.hospital.matched.train, r.parties.pharmacy.matched.train);
  assert.ok(r.matched.train > 150 && r.matched.train < 350, `matched ${r.matched.train}`);
  assert.deepEqual(r.rows.map((x) => x.name), [
    "vertical split (concat)",
    "central, same network",
    "central, zoo EHR, all columns",
    "hospital alone",
    "pharmacy alone",
  ]);
  for (const row of r.rows) {
    assert.ok(Number.isFinite(row.test.auc), `${row.name}: AUC ${row.test.auc}`);
  }
  assert.equal(
    r.rows[0].test.samples,
    r.rows[1].test.samples,
    "vertical and central are tested on the same rows",
  );
  assert.ok(lines.some((l) => /\[pharmacy\] PSI: matched/.test(l)));
  // The courier's channel counts reach the result (the raw side has no channel of its own).
  for (const p of [r.parties.hospital, r.parties.pharmacy]) {
    assert.ok(p.bytesUp > 0 && p.bytesDown > 0);
  }
  assert.ok(
    !lines.some((l) => /stderr:/.test(l)),
    lines.filter((l) => /stderr:/.test(l)).join("\n"),
  );
  assert.match(formatVerticalTable(r), /vertical − other test AUC: central, same network/);
});
