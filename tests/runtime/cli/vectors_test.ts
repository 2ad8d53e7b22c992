import assert from "node:assert/strict";
import { main } from "../../../runtime/cli/vectors.ts";

const VECTORS = new URL("../../fixtures/vectors/noise-25519-chachapoly.json", import.meta.url);
const CLI = new URL("../../../runtime/cli/vectors.ts", import.meta.url);
const ROOT = new URL("../../../", import.meta.url);

async function runCli(...args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", CLI.pathname, ...args],
    cwd: ROOT.pathname,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

Deno.test("vectors CLI: all cacophony vectors pass, one line each, summary last", async () => {
  const r = await runCli(VECTORS.pathname);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trimEnd().split("\n");
  const doc = JSON.parse(await Deno.readTextFile(VECTORS));
  assert.equal(lines.length, doc.vectors.length + 1);
  assert.equal(lines.at(-1), `${doc.vectors.length} passed, 0 failed`);
  assert.ok(lines.includes("ok   Noise_IK_25519_ChaChaPoly_SHA256"));
  assert.ok(lines.slice(0, -1).every((l) => l.startsWith("ok   Noise_")));
});

Deno.test("vectors CLI: a corrupted vector is reported as FAIL and exits non-zero", async () => {
  const doc = JSON.parse(await Deno.readTextFile(VECTORS));
  const v = doc.vectors.find((x: { protocol_name: string }) =>
    x.protocol_name === "Noise_XX_25519_ChaChaPoly_SHA256"
  );
  const bad = structuredClone(v);
  bad.messages[1].ciphertext = "00" + bad.messages[1].ciphertext.slice(2);
  const skipped = { ...v, protocol_name: "Noise_XX_448_ChaChaPoly_SHA256" };
  const lines: string[] = [], errs: string[] = [];
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/v.json`, JSON.stringify({ vectors: [v, bad, skipped] }));
    const code = await main([`${dir}/v.json`], (l) => lines.push(l), (l) => errs.push(l));
    assert.equal(code, 1);
    assert.equal(lines[0], "ok   Noise_XX_25519_ChaChaPoly_SHA256");
    assert.match(lines[1], /^FAIL Noise_XX_25519_ChaChaPoly_SHA256: message 1 ciphertext/);
    assert.match(lines[2], /^skip Noise_XX_448_ChaChaPoly_SHA256/);
    assert.equal(lines[3], "1 passed, 1 failed, 1 skipped");
    assert.deepEqual(errs, []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("vectors CLI: missing file or bad JSON gives one line and exit 1, no stack trace", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/bad.json`, "{not json");
    await Deno.writeTextFile(`${dir}/obj.json`, '{"x": 1}');
    for (const file of [`${dir}/missing.json`, `${dir}/bad.json`, `${dir}/obj.json`]) {
      const r = await runCli(file);
      assert.equal(r.code, 1, file);
      assert.equal(r.stdout, "");
      const errLines = r.stderr.trimEnd().split("\n");
      assert.equal(errLines.length, 1, r.stderr);
      assert.match(errLines[0], /^vectors: /);
      assert.ok(!r.stderr.includes("    at "), "no stack trace");
    }
    const usage = await runCli();
    assert.equal(usage.code, 2);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
