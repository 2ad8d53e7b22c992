/**
 * The import rules of docs/architecture.md, read from the source: `models/` and `crypto/`
 * never import `runtime/` or each other; `runtime/train` never imports the clinic or server
 * rooms it serves; and the engine room has no import cycle (its factory loads the engines,
 * so an engine importing the factory back would make one).
 */
import * as assert from "node:assert/strict";

const ROOT = new URL("../", import.meta.url);

async function* sources(dir: URL): AsyncGenerator<URL> {
  for await (const e of Deno.readDir(dir)) {
    const u = new URL(e.name + (e.isDirectory ? "/" : ""), dir);
    if (e.isDirectory) yield* sources(u);
    else if (e.name.endsWith(".ts")) yield u;
  }
}

// Static `import … from`, `export … from`, side-effect `import "…"` and dynamic
// `import("…")` of a relative path; doc comments (examples) are skipped.
const SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(?\s*)"(\.{1,2}\/[^"]+)"/g;

/** Relative imports of each file, as repository paths (`runtime/engine/engine.ts`). */
function importsOf(text: string, file: URL): string[] {
  const out: string[] = [];
  for (const line of text.split("\n")) {
    const code = line.trimStart();
    if (code.startsWith("*") || code.startsWith("//") || code.startsWith("/*")) continue;
    for (const m of code.matchAll(SPECIFIER)) {
      out.push(new URL(m[1], file).href.slice(ROOT.href.length));
    }
  }
  return out;
}

async function importGraph(): Promise<Map<string, string[]>> {
  const graph = new Map<string, string[]>();
  for (const room of ["models/", "crypto/", "runtime/"]) {
    for await (const file of sources(new URL(room, ROOT))) {
      graph.set(file.href.slice(ROOT.href.length), importsOf(await Deno.readTextFile(file), file));
    }
  }
  return graph;
}

function violations(
  graph: Map<string, string[]>,
  from: string,
  forbidden: readonly string[],
): string[] {
  return [...graph].filter(([f]) => f.startsWith(from)).flatMap(([f, deps]) =>
    deps.filter((d) => forbidden.some((p) => d.startsWith(p))).map((d) => `${f} -> ${d}`)
  );
}

/** Every cycle among the files under `prefix`, each as a path ending where it began. */
function cycles(graph: Map<string, string[]>, prefix: string): string[][] {
  const found: string[][] = [];
  const state = new Map<string, "open" | "done">();
  const stack: string[] = [];
  const visit = (f: string) => {
    state.set(f, "open");
    stack.push(f);
    for (const d of graph.get(f) ?? []) {
      if (!d.startsWith(prefix)) continue;
      if (state.get(d) === "open") found.push([...stack.slice(stack.indexOf(d)), d]);
      else if (!state.has(d)) visit(d);
    }
    stack.pop();
    state.set(f, "done");
  };
  for (const f of graph.keys()) if (f.startsWith(prefix) && !state.has(f)) visit(f);
  return found;
}

Deno.test("the import scan sees static, re-export and dynamic imports, not doc examples", () => {
  const file = new URL("runtime/engine/x.ts", ROOT);
  const text = [
    'import type { A } from "./a.ts";',
    'export { b } from "../b/b.ts";',
    '  return (await import("./c.ts")).c;',
    ' * import { d } from "./d.ts";',
    'import "./e.ts";',
  ].join("\n");
  assert.deepEqual(importsOf(text, file), [
    "runtime/engine/a.ts",
    "runtime/b/b.ts",
    "runtime/engine/c.ts",
    "runtime/engine/e.ts",
  ]);
  const g = new Map([["r/a.ts", ["r/b.ts"]], ["r/b.ts", ["r/a.ts"]], ["r/c.ts", ["r/a.ts"]]]);
  assert.deepEqual(cycles(g, "r/"), [["r/a.ts", "r/b.ts", "r/a.ts"]]);
});

Deno.test("models/ and crypto/ import neither runtime/ nor each other", async () => {
  const graph = await importGraph();
  assert.deepEqual(violations(graph, "models/", ["runtime/", "crypto/"]), []);
  assert.deepEqual(violations(graph, "crypto/", ["runtime/", "models/"]), []);
});

Deno.test("runtime/train imports neither runtime/client nor runtime/server", async () => {
  const graph = await importGraph();
  assert.deepEqual(violations(graph, "runtime/train/", ["runtime/client/", "runtime/server/"]), []);
});

Deno.test("runtime/engine has no import cycle", async () => {
  assert.deepEqual(cycles(await importGraph(), "runtime/engine/"), []);
});
