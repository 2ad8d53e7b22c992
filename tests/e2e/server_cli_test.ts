/**
 * `runtime/cli/server.ts`'s start-up line: one line naming the address, the server key, the
 * mode, the engine and the clinics — it used to read "splitgate server server (vanilla,
 * native) on …" with a key named `server`.
 */
import assert from "node:assert/strict";
import { makeWorld, startServerProcess } from "./split_harness.ts";

Deno.test("deno task server: the start-up line names address, key, mode, engine and clinics, no word doubled", async () => {
  const w = await makeWorld({ mode: "vanilla" });
  const server = await startServerProcess(w);
  try {
    // The line is printed on listening; its pipe may deliver it just after /health answers.
    for (let i = 0; i < 100 && !server.output.join("").includes("\n"); i++) await new Promise((r) => setTimeout(r, 50));
    const first = server.output.join("").split("\n")[0];
    assert.equal(
      first,
      `splitgate server listening on 127.0.0.1:${w.port} (key server, vanilla mode, native engine); clinics: ${w.clinics.join(", ")}`,
    );
    assert.doesNotMatch(first, /\b(\w+) \1\b/, "a doubled word");
  } finally {
    server.child.kill("SIGTERM");
    await server.child.status;
    await Deno.remove(w.root, { recursive: true });
  }
});
