import assert from "node:assert/strict";

const CLI = new URL("../../../runtime/cli/check.ts", import.meta.url);

async function check(csv: string, ...args: string[]) {
  const dir = await Deno.makeTempDir({ prefix: "splitgate_check_" });
  try {
    await Deno.writeTextFile(`${dir}/t.csv`, csv);
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--no-prompt",
        "--allow-read",
        "--allow-write",
        CLI.pathname,
        "--data",
        `${dir}/t.csv`,
        ...args,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const dec = new TextDecoder();
    return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("deno task check: summary and warnings, exit 0; labels 1/2 without --positive refused, exit 1", async () => {
  const ok = await check("a,b,y\n1,x,1\n2,-,0\n3,y,0\n", "--label", "y");
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /t\.csv: 3 rows; label 'y': 1 positive/);
  assert.match(ok.stdout, /^ {2}a +numeric/m);
  assert.match(ok.stdout, /data check: ok/);
  const bad = await check("a,y\n1,1\n2,2\n", "--label", "y");
  assert.equal(bad.code, 1);
  assert.match(bad.stdout, /refused: .*not 0\/1: name the positive class with --positive/);
  const dir = await Deno.makeTempDir();
  try {
    const study = `${dir}/study.json`;
    await Deno.writeTextFile(
      study,
      JSON.stringify({
        id: "s",
        data: {
          kind: "table",
          label: { column: "y", positive: "1", negative: "0" },
          missingTokens: [""],
          columns: [{
            name: "b",
            type: "categorical",
            categories: ["x", "y"],
            unknown: "refuse",
            missing: "other",
          }],
        },
      }),
    );
    const refused = await check("a,b,y\n1,x,1\n2,z,0\n", "--study", study);
    assert.equal(refused.code, 1);
    assert.match(
      refused.stdout,
      /refused: .*column 'b' value "z" \(data row 2\) is not one of the schema's categories/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("deno task check --write-schema: writes a schema that --study then accepts", async () => {
  const dir = await Deno.makeTempDir({ prefix: "splitgate_check_schema_" });
  try {
    const out = `${dir}/schema.json`;
    const r = await check(
      "age,sex,y\n50,F,1\n60,M,0\n70,F,0\n",
      "--label",
      "y",
      "--write-schema",
      out,
    );
    assert.equal(r.code, 0, r.stderr);
    const schema = JSON.parse(await Deno.readTextFile(out));
    assert.deepEqual(
      schema.columns.map((c: { name: string; type: string }) => `${c.name}:${c.type}`),
      ["age:numeric", "sex:categorical"],
    );
    assert.equal(schema.columns[0].mean, 60);
    const again = await check("age,sex,y\n55,M,1\n", "--study", out);
    assert.equal(again.code, 0, again.stdout);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
