import { readModel } from "../models/onnx/read_model.ts";
import { writeModel } from "../models/onnx/write_model.ts";
import { compileModel } from "../models/train/compile.ts";
import { readNpz } from "../runtime/data/npz.ts";
import { createEngine } from "../runtime/engine/mod.ts";
const eng = await createEngine((Deno.args[1] ?? "native") as "native");
for (const m of [Deno.args[0] ?? "pneumonia_cnn"]) {
  const model = readModel(await Deno.readFile(`/work/shared/models/${m}.onnx`), m);
  const gold = readNpz(await Deno.readFile(`/work/shared/models/${m}.golden.npz`));
  const loss = m === "res_cnn" ? "ce" : "bce";
  const [seg] = compileModel(model, { loss });
  const bytes = writeModel(seg.step!);
  const s = await eng.load(bytes);
  const feeds: Record<string, any> = {};
  for (const [k, v] of gold) if (k.startsWith("input.")) feeds[k.slice(6)] = v;
  feeds.target = gold.get("target");
  for (const [k, v] of seg.params) feeds[k] = v;
  const out = await s.run(feeds);
  for (const [k, v] of Object.entries(out)) {
    const g = gold.get(k) as any;
    if (!g) { console.log("no golden", k); continue; }
    let num = 0, den = 0;
    for (let i = 0; i < g.data.length; i++) { num += (Number(v.data[i]) - Number(g.data[i])) ** 2; den += Number(g.data[i]) ** 2; }
    console.log(m, k, v.dims, "relerr", Math.sqrt(num / (den || 1)).toExponential(2));
  }
}
await eng.dispose();
