/**
 * `deno task bundle:gateway --out <file.tar.gz>`: writes the offline gateway bundle
 * (`runtime/deploy/gateway_bundle.ts`): the Deno binary running this task, the npm packages
 * the server and clinic import (from Deno's cache, which `deno install` fills), the code and
 * the start script `splitgate/splitgate`. Unpack it anywhere (`tar -xzf`) and run
 * `./splitgate/splitgate check`, then `client` or `server` with their usual flags.
 *
 * @example
 * ```sh
 * deno task bundle:gateway --out splitgate-gateway.tar.gz
 * ```
 * @module
 */
import { buildGatewayBundle } from "../deploy/gateway_bundle.ts";
import { parseFlags, runMain, UsageError } from "./main.ts";
import { enterUserDir } from "./user_dir.ts";

const USAGE = "usage: deno task bundle:gateway --out <file.tar.gz>";

await runMain(async () => {
  enterUserDir();
  const values = parseFlags(Deno.args, { out: { type: "string" } });
  if (!values.out) throw new UsageError("--out is required");
  if (!/\.(tar\.gz|tgz)$/.test(values.out)) {
    throw new UsageError(`--out ${values.out}: expected a .tar.gz file name`);
  }
  await buildGatewayBundle({ out: values.out, log: (l) => console.log(l) });
}, USAGE);
