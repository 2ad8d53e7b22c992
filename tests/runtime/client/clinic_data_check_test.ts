import assert from "node:assert/strict";
import { join } from "node:path";
import { clinicDataCheck } from "../../../runtime/client/clinic_data_check.ts";

Deno.test("clinicDataCheck: warns about a clinic fitting its own statistics, unless a pinned study brings the schema", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const data = join(dir, "site.csv");
    await Deno.writeTextFile(data, "age,sex,outcome\n61,F,1\n47,M,0\n55,F,0\n70,M,1\n");
    const own = await clinicDataCheck({ data, dataLabel: "outcome" });
    assert.match(own!, /no dataSchema in the config/);
    const pinned = await clinicDataCheck({ data, dataLabel: "outcome", study: "sha256:" + "ab".repeat(32) });
    assert.doesNotMatch(pinned!, /no dataSchema/);
    assert.match(pinned!, /4 rows/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
