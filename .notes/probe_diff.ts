import { readModel } from "../models/onnx/read_model.ts";
import { writeModel } from "../models/onnx/write_model.ts";
import { compileModel } from "../models/train/compile.ts";
import { inferShapes } from "../models/graph/infer_shapes.ts";
import { readNpz } from "../runtime/data/npz.ts";
import { createEngine } from "../runtime/engine/mod.ts";
const m = "pneumonia_cnn";
const model = readModel(await Deno.readFile(`/work/shared/models/${m}.onnx`), m);
const gold = readNpz(await Deno.readFile(`/work/shared/models/${m}.golden.npz`));
const [seg] = compileModel(model, { loss: "bce" });
const g = seg.step!.graph;
const facts = inferShapes(g, 17);
const extra = g.nodes.flatMap((n) => n.outputs).filter((o) => /seg0\//.test(o) && ["float32","bool"].includes(facts.get(o)?.dtype ?? ""));
g.outputs.push(...extra.map((name) => ({ name, dtype: facts.get(name)!.dtype })));
const bytes = writeModel(seg.step!);
const feeds: Record<string, any> = {};
for (const [k, v] of gold) if (k.startsWith("input.")) feeds[k.slice(6)] = v;
feeds.target = gold.get("target");
for (const [k, v] of seg.params) feeds[k] = v;
const res: Record<string, any>[] = [];
for (const e of ["wasm", "webgpu"]) {
  const eng = await createEngine(e as "wasm");
  const s = await eng.load(bytes);
  res.push(await s.run(feeds));
}
const prod = new Map(g.nodes.flatMap((n) => n.outputs.map((o) => [o, n] as const)));
for (const name of extra) {
  const a = res[0][name], b = res[1][name];
  let num = 0, den = 0;
  for (let i = 0; i < a.data.length; i++) { num += (Number(a.data[i]) - Number(b.data[i])) ** 2; den += Number(a.data[i]) ** 2; }
  const r = Math.sqrt(num / (den || 1));
  if (r > 1e-4) { const n = prod.get(name)!; console.log(r.toExponential(2), n.opType, name, n.inputs.join(","), JSON.stringify(n.attrs).slice(0, 200)); }
}
Deno.exit(0);
