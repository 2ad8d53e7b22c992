import assert from "node:assert/strict";
import { saveClinicCheckpoint } from "../../../runtime/client/raw_side/clinic_checkpoint.ts";

async function names(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) out.push(e.name);
  return out.sort();
}

Deno.test("saveClinicCheckpoint: an older epoch file is removed; a later one (the clinic went back) is kept aside", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const place = { dir, clinic: "clinic-a", mode: "vanilla" as const };
    await saveClinicCheckpoint(place, 2, []);
    await saveClinicCheckpoint(place, 3, []); // the run's last epoch
    assert.deepEqual(await names(dir), ["clinic-a.checkpoint.json", "clinic-a.epoch-3.npz"]);
    // back to round 0 (a server restored from an older checkpoint, or the same study id afresh)
    await saveClinicCheckpoint(place, 0, []);
    assert.deepEqual(await names(dir), ["clinic-a.checkpoint.json", "clinic-a.epoch-0.npz", "superseded"]);
    const kept = await names(`${dir}/superseded`);
    assert.equal(kept.length, 1);
    assert.match(kept[0], /^clinic-a\.epoch-3\.\d{4}-\d\d-\d\dT[\d-]+Z\.npz$/);
    await saveClinicCheckpoint(place, 1, []);
    assert.deepEqual(await names(dir), ["clinic-a.checkpoint.json", "clinic-a.epoch-1.npz", "superseded"]);
    assert.equal((await names(`${dir}/superseded`)).length, 1);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
