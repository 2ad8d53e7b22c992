/**
 * The README is the user's manual: within its length bound, and its configuration
 * reference has a row for every field the server and clinic config parsers accept. The
 * accepted fields are read from the parsers themselves (the "unknown field" error lists them),
 * so a field added to a parser without a README row fails here.
 */
import assert from "node:assert/strict";
import { parseServerConfigFile } from "../../runtime/server/config_file.ts";
import { parseClientConfig } from "../../runtime/client/client_config.ts";
import { ROOT } from "./cli_harness.ts";

/** The fields a parser accepts, from its refusal of an unknown one. */
function acceptedFields(parse: (text: string, baseDir: string) => unknown): string[] {
  try {
    parse(JSON.stringify({ "no-such-field": 1 }), ".");
  } catch (e) {
    const m = /unknown field "no-such-field" \(expected one of ([^)]*)\)/.exec(
      (e as Error).message,
    );
    assert.ok(m, `unexpected refusal: ${(e as Error).message}`);
    return m[1].split(", ");
  }
  throw new Error("the parser accepted an unknown field");
}

/** The first-column field names of the README table under the heading that starts with `heading`. */
function tableFields(readme: string, heading: string): Set<string> {
  const start = readme.indexOf(`\n${heading}`);
  assert.ok(start >= 0, `README has no heading ${heading}`);
  const rest = readme.slice(start + heading.length + 1);
  const end = rest.search(/\n#{1,3} /);
  const section = end < 0 ? rest : rest.slice(0, end);
  return new Set([...section.matchAll(/^\| `(\w+)` \|/gm)].map((m) => m[1]));
}

const readme = await Deno.readTextFile(new URL("README.md", ROOT));

Deno.test("README stays a manual: at most 460 lines", () => {
  // Lines as `wc -l` counts them: the final newline ends the last line, it opens none.
  const lines = readme.split("\n").length - (readme.endsWith("\n") ? 1 : 0);
  assert.ok(lines <= 460, `README.md has ${lines} lines; move measurements and internals to docs/`);
});

Deno.test("README documents every server config field", () => {
  const documented = tableFields(readme, "### Server (");
  const missing = acceptedFields(parseServerConfigFile).filter((f) => !documented.has(f));
  assert.deepEqual(missing, [], `server config fields without a README row: ${missing.join(", ")}`);
});

Deno.test("README documents every clinic config field", () => {
  const documented = tableFields(readme, "### Clinic (");
  const missing = acceptedFields(parseClientConfig).filter((f) => !documented.has(f));
  assert.deepEqual(missing, [], `clinic config fields without a README row: ${missing.join(", ")}`);
});
