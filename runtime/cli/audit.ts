/**
 * `deno task audit [--quick] --run <run dir> [--out <dir>] [--data <file>] [--engine native|wasm]`
 *
 * The leakage audit of a trained split run (`runtime/privacy/audit.ts`): dCor of inputs
 * and cut activations, a decoder's reconstruction of test images, label-leak AUCs of the
 * gradients the server sees, and the run's test AUC, written as a Markdown report with a
 * PNG figure. A directory that is not a run directory (see `runtime/privacy/run_dir.ts`)
 * is refused with a one-line error.
 *
 * @example
 * ```sh
 * deno task audit --quick --run out/privacy/none --out out/privacy/none/audit
 * ```
 * @module
 */
import { createEngine, type EngineName } from "../engine/mod.ts";
import { auditRun } from "../privacy/audit.ts";
import { describeAccount } from "../privacy/privacy_budget.ts";
import { parseFlags, runMain, UsageError } from "./main.ts";
import { enterUserDir } from "./user_dir.ts";

const USAGE =
  "usage: deno task audit [--quick] --run <run dir> [--out <dir>] [--data <file>] [--engine native|wasm|webgpu]";

await runMain(async () => {
  enterUserDir(); // relative paths are the user's, as typed
  const values = parseFlags(Deno.args, {
    run: { type: "string" },
    out: { type: "string" },
    data: { type: "string" },
    engine: { type: "string", default: "native" },
    quick: { type: "boolean", default: false },
  });
  if (!values.run) throw new UsageError("--run <run dir> is required");
  const name = values.engine as EngineName;
  if (!["wasm", "webgpu", "native"].includes(name)) {
    throw new UsageError(`--engine ${values.engine}: expected wasm, webgpu or native`);
  }
  const engine = await createEngine(name);
  try {
    const r = await auditRun({
      engine,
      runDir: values.run,
      outDir: values.out,
      quick: values.quick,
      data: values.data,
    });
    const out = values.out ?? `${values.run.replace(/\/+$/, "")}/audit`;
    console.log(`${r.run}: ${r.mode}, defence ${r.defence}`);
    console.log(
      `  test AUC ${r.testAuc.toFixed(4)}  dCor ${r.dcor.toFixed(4)}  recon MSE ${
        r.reconstruction.mse.toFixed(4)
      } ` +
        `PSNR ${r.reconstruction.psnr.toFixed(2)} SSIM ${r.reconstruction.ssim.toFixed(4)}  ` +
        `leak AUC norm ${r.leak.normAuc.toFixed(4)} direction ${r.leak.directionAuc.toFixed(4)}`,
    );
    console.log(`  privacy: ${describeAccount(r.privacy)}`);
    console.log(`  report: ${out}/report.md (${r.seconds.toFixed(1)} s)`);
  } finally {
    await engine.dispose();
  }
}, USAGE);
