/** Binding a listen address (runtime/cli/listen_at.ts): a failed bind is undone and named. */
import assert from "node:assert/strict";
import { listenAt } from "../../../runtime/cli/listen_at.ts";

Deno.test("listenAt: a taken address undoes what was started and names the address; a free one binds", async () => {
  const first = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = first.addr as Deno.NetAddr;
  let undone = 0;
  try {
    await assert.rejects(
      listenAt(
        { hostname: "127.0.0.1", port },
        () => Deno.listen({ hostname: "127.0.0.1", port }),
        async () => void undone++,
      ),
      (e) =>
        e instanceof Error && new RegExp(`^listen 127\\.0\\.0\\.1:${port}: `).test(e.message) &&
        e.cause instanceof Error,
    );
    assert.equal(undone, 1);
  } finally {
    first.close();
  }
  const again = await listenAt(
    { hostname: "127.0.0.1", port },
    () => Deno.listen({ hostname: "127.0.0.1", port }),
    async () => void undone++,
  );
  again.close();
  assert.equal(undone, 1, "nothing undone when the bind succeeds");
});
