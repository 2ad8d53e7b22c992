/**
 * Module-loading egress probe: tries to load each specifier of its argument with a dynamic
 * `import()` and prints one JSON object `{specifier: outcome}` on stdout, where outcome is
 * `"ok"` or `"<ErrorClass>: <first line of the message>"`. Module loading is not governed by
 * `--allow-net`, so this is how a process without network could still send data out: in the
 * URL of a module it asks Deno to fetch.
 *
 * Usage: deno run <flags> import_probe.ts '["https://deno.land/x/...", "npm:..."]'
 * @module
 */
const specifiers = JSON.parse(Deno.args[0]) as string[];
const outcomes: Record<string, string> = {};
for (const s of specifiers) {
  try {
    await import(s);
    outcomes[s] = "ok";
  } catch (e) {
    const err = e as Error;
    outcomes[s] = `${err.constructor.name}: ${String(err.message).split("\n")[0]}`;
  }
}
console.log(JSON.stringify(outcomes));
