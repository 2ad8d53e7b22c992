/**
 * a checkpoint is checked for NaN/±Infinity in every array when it is
 * loaded, not only for its CRC (a poisoned step's infinite running variance was checkpointed
 * and resumed without complaint). A refused checkpoint is left in place.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import {
  CHECKPOINT_FILE,
  readCheckpoint,
  writeCheckpoint,
} from "../../../runtime/server/checkpoint.ts";
import { binaryLabels, CUT_DIMS, randomTensor, RawClinic, startServer } from "./harness.ts";

/** Writes a real server checkpoint into a fresh directory (after one applied step). */
async function realCheckpoint(): Promise<string> {
  const dir = await Deno.makeTempDir();
  const server = await startServer("vanilla", {
    checkpointDir: dir,
    optimizer: { kind: "adam", lr: 1e-3 },
  });
  try {
    const a = await new RawClinic(server, "a").connect();
    await a.send({ type: "TURN_REQUEST" });
    await a.send({
      type: "STEP",
      stepId: "0:0",
      epoch: 0,
      activation: randomTensor([4, ...CUT_DIMS], 1),
      labels: binaryLabels(4),
    });
    await server.checkpoint();
  } finally {
    await server.close();
  }
  return dir;
}

/** Puts `value` at element `at` of array `key` of the checkpoint in `dir` (a valid file, CRCs and all). */
async function poison(
  dir: string,
  key: (k: string) => boolean,
  at: number,
  value: number,
): Promise<string> {
  const ck = (await readCheckpoint(dir))!;
  const name = [...ck.tensors.keys()].find(key)!;
  assert.ok(name, "no such array in the checkpoint");
  (ck.tensors.get(name)!.data as Float32Array)[at] = value;
  await writeCheckpoint(dir, ck);
  return name;
}

Deno.test("a checkpoint holding a NaN in one array is refused at start-up, naming the array, and left in place", async () => {
  const dir = await realCheckpoint();
  // The healthy checkpoint resumes.
  const ok = await startServer("vanilla", { checkpointDir: dir });
  assert.equal(ok.resumed, true);
  await ok.close();
  const name = await poison(dir, (k) => k.startsWith("param/"), 3, NaN);
  const path = join(dir, CHECKPOINT_FILE);
  const bytes = await Deno.readFile(path);
  await assert.rejects(
    () => startServer("vanilla", { checkpointDir: dir }),
    (e: Error) =>
      e instanceof TypeError &&
      e.message.startsWith(
        `${path}: array ${name} (element 3 is NaN): a checkpoint must hold finite values; refusing to resume from it`,
      ),
  );
  assert.deepEqual(
    await Deno.readFile(path),
    bytes,
    "the refused checkpoint was changed or removed",
  );
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a checkpoint with an infinite BatchNorm running variance or Adam moment is refused by readCheckpoint", async () => {
  for (
    const [what, key] of [
      ["running variance", (k: string) => k.startsWith("buffer/") && k.endsWith("running_var")],
      ["Adam moment", (k: string) => k.startsWith("opt/") && k.endsWith(".v")],
    ] as const
  ) {
    const dir = await realCheckpoint();
    const name = await poison(dir, key, 0, Infinity);
    await assert.rejects(
      () => readCheckpoint(dir),
      new RegExp(`array ${name.replace(/[.]/g, "\\.")} \\(element 0 is Infinity\\)`),
      what,
    );
    await Deno.remove(dir, { recursive: true });
  }
});
