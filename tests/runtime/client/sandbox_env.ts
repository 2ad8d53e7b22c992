/**
 * Test fixture of the sandbox and canary tests: a temporary clinic directory (records, model,
 * keys, checkpoints) and a process config pointing at it.
 * @module
 */
import type { RawSideProcessConfig } from "../../../runtime/client/raw_side/mod.ts";
import { writeKeyPairFiles } from "../../../runtime/keys/key_store.ts";
import { generateStaticKeyPair, type KeyPair } from "../../../crypto/keys/mod.ts";
import { type ImageSet, writeTinyModel, writeTinyNpz } from "./fixture.ts";

/** A clinic laid out on disk. */
export interface ClinicDir {
  root: string;
  dataDir: string;
  dataFile: string;
  dataBytes: Uint8Array;
  modelFile: string;
  keyFile: string;
  publicKeyFile: string;
  keyPair: KeyPair;
  checkpointDir: string;
  cuts: { default: string[]; ushaped: string[] };
  config: RawSideProcessConfig;
  remove(): Promise<void>;
}

/** Creates a clinic directory; `train`/`val`/`test` replace the random training images (canary test). */
export async function makeClinicDir(
  opts: { train?: ImageSet; val?: ImageSet; test?: ImageSet; mode?: "vanilla" | "ushaped" } = {},
): Promise<ClinicDir> {
  const root = await Deno.makeTempDir({ prefix: "clinic_" });
  const dataDir = `${root}/data`, checkpointDir = `${root}/ckpt`, keys = `${root}/keys`;
  await Deno.mkdir(dataDir);
  await Deno.mkdir(checkpointDir);
  await Deno.mkdir(keys);
  const dataFile = `${dataDir}/records.npz`;
  const dataBytes = await writeTinyNpz(dataFile, {
    train: opts.train,
    val: opts.val,
    test: opts.test,
  });
  const modelFile = `${root}/model.onnx`;
  const zoo = await writeTinyModel(modelFile);
  const keyPair = generateStaticKeyPair();
  const paths = await writeKeyPairFiles(keys, "clinic-a", keyPair);
  const mode = opts.mode ?? "vanilla";
  return {
    root,
    dataDir,
    dataFile,
    dataBytes,
    modelFile,
    keyFile: paths.privateKeyPath,
    publicKeyFile: paths.publicKeyPath,
    keyPair,
    checkpointDir,
    cuts: zoo.cuts,
    config: {
      clinic: "clinic-a",
      dataFile,
      modelFile,
      cuts: mode === "vanilla" ? zoo.cuts.default : zoo.cuts.ushaped,
      mode,
      loss: "bce",
      optimizer: { kind: "sgd", lr: 0.1, momentum: 0.9 },
      seed: 11,
      batchSize: 8,
      evalBatchSize: 4,
      keyFile: paths.privateKeyPath,
      checkpointDir,
    },
    remove: () => Deno.remove(root, { recursive: true }),
  };
}
