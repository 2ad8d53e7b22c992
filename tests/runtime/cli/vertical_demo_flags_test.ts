import assert from "node:assert/strict";

const CLI = new URL("../../../runtime/cli/demo.ts", import.meta.url);
const ROOT = new URL("../../../", import.meta.url);

// Only the flag checks of `demo --vertical`, which run before any data is read or any
// process is started (the run itself: tests/e2e/vertical_demo_test.ts).
async function runDemo(...args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", "--allow-env", CLI.pathname, "--vertical", ...args],
    cwd: ROOT.pathname,
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
}

Deno.test("demo --vertical: a bad flag is an error line naming it and what is expected, then the usage; exit 2", async () => {
  const cases: [string[], RegExp][] = [
    [["--fusion", "mean"], /^error: --fusion mean: expected concat or sum$/],
    [["--labels", "clinic"], /^error: --labels clinic: expected server or party$/],
    [["--epochs", "0"], /^error: --epochs 0: expected an integer >= 1$/],
    [["--overlap", "1.5"], /^error: --overlap 1.5: expected a fraction in \(0, 1\]$/],
    [["--mode", "ushaped"], /^error: Unknown option '--mode'/],
  ];
  for (const [args, re] of cases) {
    const r = await runDemo(...args);
    assert.equal(r.code, 2, `${args}: ${r.stderr}`);
    const lines = r.stderr.trim().split("\n");
    assert.match(lines[0], re);
    assert.match(lines.at(-1)!, /^usage: deno task demo --vertical /);
  }
});
