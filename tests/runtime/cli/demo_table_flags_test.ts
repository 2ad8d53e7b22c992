import assert from "node:assert/strict";

const CLI = new URL("../../../runtime/cli/demo.ts", import.meta.url);

// Flag checks of the tabular demo (demo.ts dispatches on --label), before any data is read.
async function runDemo(...args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", "--allow-env", CLI.pathname, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
}

Deno.test("demo --label: the tabular demo's flags are checked, with its own usage line", async () => {
  const noData = await runDemo("--label", "y");
  assert.equal(noData.code, 2);
  assert.match(
    noData.stderr,
    /^error: --data <file\.csv> is required with --label\nusage: deno task demo --data <file\.csv> --label <column>/,
  );
  const clinics = await runDemo("--data", "x.csv", "--label", "y", "--clinics", "0");
  assert.equal(clinics.code, 2);
  assert.match(clinics.stderr, /^error: --clinics 0: expected a positive integer/);
  const missing = await runDemo("--data", "/nonexistent/x.csv", "--label", "y");
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /^error: --data \/nonexistent\/x\.csv: file not found/);
});
