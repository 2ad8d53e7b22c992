import assert from "node:assert/strict";
import { join } from "node:path";
import { runTask } from "./cli_harness.ts";

// A numeric-only lab export (the usual shape that once could not be split-trained), written to a
// folder outside the checkout and named by a relative path, as a user types it there.
function labTable(rows: number): string {
  let seed = 11;
  const next = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  const normal = () => Math.sqrt(-2 * Math.log(next() + 1e-12)) * Math.cos(2 * Math.PI * next());
  const lines = ["crp,wbc,lactate,age,outcome"];
  for (let i = 0; i < rows; i++) {
    const x = [normal() * 20 + 50, normal() * 3 + 9, normal() + 2, normal() * 15 + 60];
    const z = (x[0] - 50) / 20 + (x[2] - 2) - (x[3] - 60) / 30 + normal() * 0.7;
    lines.push(`${x.map((v) => v.toFixed(3)).join(",")},${z > 0.3 ? 1 : 0}`);
  }
  return lines.join("\n") + "\n";
}

Deno.test("demo --data: a numeric-only CSV named relative to the user's folder trains split and central", async () => {
  const dir = await Deno.makeTempDir({ prefix: "splitgate_demo_table_test_" });
  try {
    await Deno.writeTextFile(join(dir, "labs.csv"), labTable(400));
    const run = await runTask(
      "demo",
      ["--data", "labs.csv", "--label", "outcome", "--clinics", "2", "--epochs", "8"],
      { INIT_CWD: dir },
      240_000,
    );
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /4 numeric, 0 categorical feature columns/);
    assert.match(run.stdout, /by secure summation over 2 clinics/);
    const auc = (row: string) => Number(new RegExp(`^${row}\\s+([0-9.]+)`, "m").exec(run.stdout)?.[1]);
    const split = auc("split \\(overall\\)"), central = auc("central \\(best epoch \\d+\\)");
    assert.ok(split > 0.8 && central > 0.8, `split ${split}, central ${central}`);
    assert.ok(Math.abs(split - central) < 0.05, `split ${split} vs central ${central}`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
