/**
 * `deno task ops`: prints the supported-operator table (markdown) generated from the rule
 * registries (operator_table.ts). Regenerate the committed copy with
 * `deno task ops > docs/operators.md`; a test fails while the two differ.
 *
 * @example
 * ```sh
 * deno task ops > docs/operators.md
 * ```
 * @module
 */
import { operatorTable } from "./operator_table.ts";

if (import.meta.main) {
  if (Deno.args.length) {
    console.error(
      `error: unexpected argument ${Deno.args[0]}\nusage: deno task ops > docs/operators.md`,
    );
    Deno.exit(2);
  }
  await Deno.stdout.write(new TextEncoder().encode(operatorTable()));
}
