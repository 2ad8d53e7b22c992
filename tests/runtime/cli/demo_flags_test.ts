import assert from "node:assert/strict";

const CLI = new URL("../../../runtime/cli/demo.ts", import.meta.url);
const ROOT = new URL("../../../", import.meta.url);

// Only the flag checks, which run before any data is read or any process is started: the
// demo itself is exercised by `deno task demo` and the e2e tests of the runtime it drives.
async function runDemo(...args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", "--allow-env", CLI.pathname, ...args],
    cwd: ROOT.pathname,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stderr: dec.decode(out.stderr) };
}

Deno.test("demo: a bad --codec is an error line naming the flag and what is expected, then the usage; exit non-zero", async () => {
  for (const bad of ["int4", "int8:12", "float32:", "FLOAT32"]) {
    const r = await runDemo("--codec", bad, "--no-central");
    assert.notEqual(r.code, 0, bad);
    const lines = r.stderr.trim().split("\n");
    assert.equal(lines.length, 2, r.stderr);
    assert.match(lines[0], new RegExp(`^error: --codec ${bad}: expected float32, float16 or int8`));
    assert.match(lines[1], /^usage: deno task demo /);
  }
});

Deno.test("demo --replicas: a positive count, with the splitfed schedule only (refused before any process starts)", async () => {
  const zero = await runDemo("--replicas", "0", "--no-central");
  assert.notEqual(zero.code, 0);
  assert.match(zero.stderr, /^error: --replicas 0: expected a positive integer/m);
  const parallel = await runDemo("--replicas", "2", "--schedule", "parallel", "--no-central");
  assert.notEqual(parallel.code, 0);
  assert.match(parallel.stderr, /^error: --replicas needs --schedule splitfed \(got parallel\)/m);
});

Deno.test("demo: a schedule flag that the schedule would ignore is refused, not dropped (exit 2)", async () => {
  const secagg = await runDemo("--front-aggregation", "secagg", "--no-central");
  assert.equal(secagg.code, 2);
  assert.match(secagg.stderr, /^error: --front-aggregation secagg needs --schedule parallel or splitfed/m);
  for (const schedule of ["sequential", "splitfed"]) {
    const merge = await runDemo("--schedule", schedule, "--server-batch", "merge", "--no-central");
    assert.equal(merge.code, 2, schedule);
    assert.match(
      merge.stderr,
      new RegExp(`^error: --server-batch merge needs --schedule parallel or --replicas .*, got ${schedule}$`, "m"),
    );
  }
});

Deno.test("demo --help and -h print the usage line to stdout and run nothing (exit 0)", async () => {
  for (const flag of ["--help", "-h"]) {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-read", "--allow-env", CLI.pathname, flag],
      cwd: ROOT.pathname,
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(out.code, 0, flag);
    assert.match(new TextDecoder().decode(out.stdout), /^usage: deno task demo /);
    assert.equal(new TextDecoder().decode(out.stderr), "", flag);
  }
});
