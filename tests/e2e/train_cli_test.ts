import assert from "node:assert/strict";
import { ownLines, runCli, runTask } from "./cli_harness.ts";
import { writeNpz } from "../../runtime/data/npz.ts";
import { tensor } from "../../models/tensor.ts";

/** A tiny MedMNIST-layout npz: two classes of 8×8 images told apart by brightness. */
function tinyImages(): Uint8Array {
  const arrays: Record<string, ReturnType<typeof tensor>> = {};
  for (const [split, n] of [["train", 96], ["val", 32], ["test", 32]] as const) {
    const img = new Uint8Array(n * 64), lab = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      lab[i] = i % 2;
      for (let p = 0; p < 64; p++) img[i * 64 + p] = (lab[i] ? 150 : 60) + ((i * 31 + p * 17) % 50);
    }
    arrays[`${split}_images`] = tensor("uint8", [n, 8, 8], img);
    arrays[`${split}_labels`] = tensor("uint8", [n, 1], lab);
  }
  return writeNpz(arrays);
}

Deno.test("deno task train (its own permissions): trains the zoo CNN on a user's npz, writes JSON metrics and an ONNX export", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeFile(`${dir}/tiny.npz`, tinyImages());
    const r = await runTask("train", [
      "--data", `${dir}/tiny.npz`, "--model", "cnn", "--epochs", "3", "--batch", "16", "--engine", "native",
      "--seed", "3", "--json", `${dir}/m.json`, "--export", `${dir}/m.onnx`,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^epoch 3\/3 .*val AUC/m);
    assert.match(r.stdout, /^test \(best epoch \d\): AUC /m);
    const report = JSON.parse(await Deno.readTextFile(`${dir}/m.json`));
    assert.equal(report.history.length, 3);
    assert.equal(report.seed, 3);
    assert.ok(report.test.auc > 0.9, `separable data, AUC ${report.test.auc}`);
    assert.ok(report.samplesPerSec > 0);
    assert.ok((await Deno.stat(`${dir}/m.onnx`)).size > 1000);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("train CLI: bad input gives a one-line error naming the problem", async (t) => {
  const dir = await Deno.makeTempDir();
  const one = (r: { code: number; stderr: string }, re: RegExp) => {
    assert.notEqual(r.code, 0);
    const lines = ownLines(r.stderr).filter((l) => !l.startsWith("usage:"));
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0], re);
  };
  try {
    await Deno.writeTextFile(`${dir}/t.csv`, "a,b,outcome\n1,x,0\n2,y,1\n3,x,0\n4,y,1\n");
    await Deno.writeTextFile(`${dir}/ragged.csv`, "a,b,outcome\n1,x,0\n2,y\n");
    await t.step("missing data file", async () => {
      one(await runCli("train.ts", ["--data", `${dir}/none.npz`]), /none\.npz: file not found/);
    });
    await t.step("CSV without --label", async () => {
      one(await runCli("train.ts", ["--data", `${dir}/t.csv`]), /a CSV needs --label <column>/);
    });
    await t.step("CSV with a missing label column", async () => {
      one(await runCli("train.ts", ["--data", `${dir}/t.csv`, "--label", "readmitted"]), /no column 'readmitted'; available columns: a, b, outcome/);
    });
    await t.step("ragged CSV", async () => {
      one(await runCli("train.ts", ["--data", `${dir}/ragged.csv`, "--label", "outcome"]), /ragged\.csv: line 3: expected 3 fields/);
    });
    await t.step("unknown zoo model", async () => {
      await Deno.writeFile(`${dir}/tiny.npz`, tinyImages());
      one(await runCli("train.ts", ["--data", `${dir}/tiny.npz`, "--model", "resnet"]), /unknown zoo model "resnet"/);
    });
    await t.step("--export naming the data file: refused before training", async () => {
      const before = await Deno.readFile(`${dir}/tiny.npz`);
      const r = await runCli("train.ts", ["--data", `${dir}/tiny.npz`, "--export", `${dir}/tiny.npz`]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, /^error: --export .*tiny\.npz: that is the --data file; it would be overwritten$/m);
      assert.deepEqual(await Deno.readFile(`${dir}/tiny.npz`), before);
    });
    await t.step("a negative value needs --flag=value, and the error says so", async () => {
      const r = await runCli("train.ts", ["--data", `${dir}/tiny.npz`, "--lr", "-1"]);
      assert.equal(r.code, 2);
      assert.match(r.stderr, /^error: --lr -1: a value that starts with a dash is written --lr=-1$/m);
    });
    await t.step("bad flag value", async () => {
      const r = await runCli("train.ts", ["--data", `${dir}/tiny.npz`, "--epochs", "0"]);
      assert.equal(r.code, 2);
      assert.match(r.stderr, /^error: --epochs 0: expected a positive integer$/m);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
