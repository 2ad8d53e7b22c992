/**
 * `deno task demo --data <file.csv> --label <column> [--positive <value>] [--clinics K]
 *  [--schema <file>] [--epochs N] [--batch B] [--turns-per-epoch T] [--lr X] [--mode vanilla|ushaped]
 *  [--engine native|wasm] [--seed S] [--codec float32|float16|int8[:level]] [--no-central]`
 *
 * The tabular demo (`demo.ts` dispatches here when `--label` is given): split learning on any
 * CSV with real clinic processes, then central training, then the image demo's comparison table.
 *
 * 1. The data check of the file is printed; the rows are split 70/10/20 (seeded) and the
 *    training rows shared out IID among K clinics (validation and test rows likewise).
 * 2. The study's data schema: with `--schema` the operator's declared schema; otherwise the
 *    column types, label classes and sorted category lists are declared from the file, and the
 *    scaling statistics computed by secure summation — each clinic masks the counts and sums of
 *    its own training rows with pairwise X25519/ChaCha20 masks (`crypto/secure_sum.ts`) and the
 *    server adds the masked vectors, learning only the totals. In this demo the shares are
 *    computed in the demo process with each clinic's key, not sent by the clinic processes.
 * 3. Each clinic (sandboxed raw side + courier) encodes its rows with that schema only and
 *    trains the zoo EHR network, adapted to the schema, in sequential turns with the server.
 * 4. Central training of the same model (seed, epochs, batch, optimizer) on the pooled data
 *    encoded with the same schema.
 *
 * @example
 * ```sh
 * deno task demo --data cancer.csv --label target --clinics 2
 * ```
 * @module
 */
import { zooModel } from "../../models/zoo/mod.ts";
import type { OptimizerConfig } from "../../models/train/optimizer.ts";
import { readCsvFile } from "../data/csv_file.ts";
import type { CsvTable } from "../data/csv.ts";
import { checkTable, formatDataCheck } from "../data/data_check.ts";
import { type TableSchema, zooSpecOfSchema } from "../data/data_schema.ts";
import { groupSplit } from "../data/group_split.ts";
import { loadDataset, type LoadedDataset } from "../data/load_dataset.ts";
import { partition } from "../data/partition.ts";
import { Rng } from "../data/rng.ts";
import { draftTableSchema } from "../data/schema_fit.ts";
import { schemaFromShares, schemaShare } from "../data/schema_secure_sum.ts";
import { readStudyDataSchema } from "../data/study_data_file.ts";
import type { Engine } from "../engine/mod.ts";
import type { CentralResult } from "../train/central.ts";
import type { ClinicResult } from "../client/clinic.ts";
import { compareWithCentral, trainDemoCentral } from "./demo_central.ts";
import {
  closeDemoServer,
  demoClinicBase,
  type DemoKeys,
  demoServerEngine,
  launchDemoClinics,
  serveDemo,
  writeDemoKeys,
} from "./demo_launch.ts";
import { codecFlag, modeFlag, positiveInt, seedFlag } from "./flag_values.ts";
import { parseFlags, readInput, runMain, UsageError } from "./main.ts";
import { resolve } from "node:path";

const USAGE =
  "usage: deno task demo --data <file.csv> --label <column> [--positive <value>] [--clinics K] " +
  "[--schema <file>] [--epochs N] [--batch B] [--turns-per-epoch T] [--lr X] [--mode vanilla|ushaped] " +
  "[--engine native|wasm] [--seed S] [--codec float32|float16|int8[:level]] [--no-central]";

/** Whether the demo arguments ask for the tabular demo (a `--label`). */
export function isTableDemo(args: readonly string[]): boolean {
  return args.some((a) => a === "--label" || a.startsWith("--label="));
}

/** What the flags of the tabular demo say (see the module doc). */
interface TableDemoOptions {
  data: string;
  label?: string;
  positive?: string;
  schema?: string;
  epochs: number;
  batchSize: number;
  turnsPerEpoch: number;
  clinics: number;
  seed: number;
  mode: "vanilla" | "ushaped";
  codec: { dtype: "float32" | "float16" | "int8"; level: number };
  lr: number;
  optimizer: OptimizerConfig;
  engine?: string;
  central: boolean;
}

/** Parses and checks the tabular demo's flags. */
function tableDemoOptions(args: string[]): TableDemoOptions {
  const values = parseFlags(args, {
    data: { type: "string" },
    label: { type: "string" },
    positive: { type: "string" },
    clinics: { type: "string" },
    schema: { type: "string" },
    epochs: { type: "string" },
    batch: { type: "string" },
    "turns-per-epoch": { type: "string" },
    lr: { type: "string" },
    mode: { type: "string", default: "vanilla" },
    engine: { type: "string" },
    seed: { type: "string", default: "0" },
    codec: { type: "string", default: "float32" },
    "no-central": { type: "boolean", default: false },
  });
  if (!values.data) throw new UsageError("--data <file.csv> is required with --label");
  const epochs = positiveInt("--epochs", values.epochs, 20);
  const batchSize = positiveInt("--batch", values.batch, 32);
  const turnsPerEpoch = positiveInt("--turns-per-epoch", values["turns-per-epoch"], 1);
  const clinics = positiveInt("--clinics", values.clinics, 2);
  const seed = seedFlag(values.seed);
  const mode = modeFlag(values.mode);
  const codec = codecFlag(values.codec);
  const lr = values.lr === undefined ? 1e-3 : Number(values.lr);
  if (!(lr > 0)) throw new UsageError(`--lr ${values.lr}: expected a positive number`);
  return {
    // Absolute: the clinics' configs live in a temporary folder, and resolve against it.
    data: resolve(values.data),
    label: values.label,
    positive: values.positive,
    schema: values.schema,
    epochs,
    batchSize,
    turnsPerEpoch,
    clinics,
    seed,
    mode,
    codec,
    lr,
    optimizer: { kind: "adam", lr },
    engine: values.engine,
    central: !values["no-central"],
  };
}
/**
 * The schema's scaling by secure summation over the clinics' training shares (see the module doc).
 */
function secureSumSchema(
  table: CsvTable,
  draft: TableSchema,
  clinicRows: readonly Uint32Array[],
  clinics: readonly string[],
  pairs: readonly { publicKey: Uint8Array; secretKey: Uint8Array }[],
  seed: number,
): TableSchema {
  const parties = clinics.map((name, i) => ({ name, publicKey: pairs[i].publicKey }));
  const context = new TextEncoder().encode(
    `splitgate demo ${table.fileName} seed ${seed}: schema statistics`,
  );
  const shares = clinics.map((name, i) =>
    schemaShare(
      table,
      draft,
      clinicRows[i],
      { name, secretKey: pairs[i].secretKey },
      parties,
      context,
    )
  );
  return schemaFromShares(draft, shares).schema;
}

/**
 * The study's data schema: the operator's `--schema`, else declared from the file with its
 * scaling by secure summation over the clinics' training rows (see the module doc).
 */
async function studySchema(
  o: TableDemoOptions,
  table: CsvTable,
  trainRows: ArrayLike<number>,
  shares: readonly Uint32Array[],
  clinics: readonly string[],
  keys: DemoKeys,
): Promise<TableSchema> {
  if (o.schema) {
    const declared = await readStudyDataSchema(o.schema);
    if (declared.kind !== "table") {
      throw new UsageError(`--schema ${o.schema}: a schema for images, not a table`);
    }
    console.log(`data schema: declared in ${o.schema}`);
    return declared;
  }
  const draft = draftTableSchema(table, { label: o.label!, positive: o.positive });
  const clinicRows = shares.map((s) => Uint32Array.from(s, (i) => trainRows[i]));
  const schema = secureSumSchema(table, draft, clinicRows, clinics, keys.pairs, o.seed);
  console.log(
    `data schema: types and sorted categories declared from the file; scaling of ${
      schema.columns.filter((c) => c.type === "numeric").length
    } numeric columns by secure summation over ${o.clinics} clinics' training rows (the server added masked vectors only)`,
  );
  return schema;
}

/** The prepared study: the clinics, their shares of the training rows, schema and data. */
interface TableStudy {
  clinics: string[];
  shares: Uint32Array[];
  schema: TableSchema;
  data: LoadedDataset;
  spec: { tabular: ReturnType<typeof zooSpecOfSchema> };
}

/** Per clinic: `name n training rows (p% positive)`, warning first of a one-class share. */
function describeTableShares(study: TableStudy): string {
  const positives = study.shares.map((share) =>
    share.reduce((a, r) => a + Number(study.data.train.target.data[r]), 0)
  );
  return study.clinics.map((c, i) =>
    `${c} ${study.shares[i].length} training rows (${
      ((100 * positives[i]) / study.shares[i].length).toFixed(0)
    }% positive)`
  ).join(", ");
}

/** Warns of each clinic whose training share holds one class only: it teaches that class. */
function warnOneClass(study: TableStudy): void {
  study.shares.forEach((share, i) => {
    const pos = share.reduce((a, r) => a + Number(study.data.train.target.data[r]), 0);
    if (pos === 0 || pos === share.length) {
      console.log(
        `warning: ${study.clinics[i]} has only ${
          pos ? "positive" : "negative"
        } training rows: it teaches one class`,
      );
    }
  });
}

/** Serves the ehr network, runs the clinics in sequential turns, stops the server. */
async function trainTableSplit(
  o: TableDemoOptions,
  root: string,
  keys: DemoKeys,
  server: { engine: Engine; name: string },
  study: TableStudy,
): Promise<{ results: ClinicResult[]; seconds: number }> {
  const { mode, codec, seed, epochs, batchSize, turnsPerEpoch: parts } = o;
  const s = await serveDemo(
    {
      mode,
      codec,
      model: { zoo: "ehr", data: study.spec, seed },
      loss: "bce",
      optimizer: o.optimizer,
      checkpointDir: `${root}/server`,
      limits: { maxBatch: Math.max(256, batchSize) },
      turnTimeoutMs: 120_000,
      epochs,
      turnsPerEpoch: parts,
    },
    keys,
    server.engine,
  );
  warnOneClass(study);
  console.log(
    `splitgate demo: ${study.data.description}\nserver on 127.0.0.1:${s.port} (${mode}, ${server.name} engine, zoo ehr: ` +
      `${study.spec.tabular.numeric} numeric, ${study.spec.tabular.vocabSizes.length} categorical inputs); clinics: ` +
      describeTableShares(study) +
      `\n${epochs} epochs, batch ${batchSize}, ${parts} turns per clinic per epoch, adam lr ${o.lr}, seed ${seed}, ` +
      `${codec.dtype} codec, Noise-encrypted`,
  );
  const split0 = performance.now();
  const k = study.clinics.length;
  try {
    const results = await launchDemoClinics(root, study.clinics, (c, i) => ({
      ...demoClinicBase(root, keys, s.port, c),
      data: o.data,
      dataSchema: study.schema,
      rows: {
        train: { partition: { scheme: "iid", clinics: k, index: i, seed } },
        val: { partition: { scheme: "iid", clinics: k, index: i, seed } },
        test: { partition: { scheme: "iid", clinics: k, index: i, seed } },
      },
      model: "ehr",
      mode,
      codec,
      optimizer: o.optimizer,
      seed,
      batchSize,
      turnsPerEpoch: parts,
    }));
    return { results, seconds: (performance.now() - split0) / 1000 };
  } finally {
    await closeDemoServer(s);
  }
}

/** The central run on the pooled data encoded with the same schema (no per-epoch lines). */
function tableCentral(
  o: TableDemoOptions,
  study: TableStudy,
  server: { engine: Engine; name: string },
): Promise<{ result: CentralResult; seconds: number }> {
  console.log(
    `central run: the same model, seed, epochs and batch size on the pooled data, same schema (wasm engine)`,
  );
  const rng = new Rng(o.seed);
  return trainDemoCentral({
    model: zooModel("ehr", study.spec, () => rng.float()).model,
    loss: "bce",
    data: study.data,
    epochs: o.epochs,
    batchSize: o.batchSize,
    optimizer: o.optimizer,
    seed: o.seed,
  }, { engine: server.engine, isWasm: server.name === "wasm" });
}

/** Runs the tabular demo with `args` (see the module doc). */
export async function runTableDemo(args: string[]): Promise<void> {
  await runMain(async () => {
    const o = tableDemoOptions(args);
    const t0 = performance.now();

    await readInput("--data", o.data); // "file not found" naming the flag
    const table = await readCsvFile(o.data);
    const check = checkTable(table, { label: o.label, positive: o.positive });
    console.log(formatDataCheck(check));
    if (check.errors.length > 0) throw new Error(check.errors[0]);
    const split = groupSplit(table.rows.map((_, r) => String(r)), {
      seed: o.seed,
      fractions: [0.7, 0.1, 0.2],
    });
    const clinics = Array.from(
      { length: o.clinics },
      (_, i) => `clinic-${String.fromCharCode(97 + i)}`,
    );
    const shares = partition({
      scheme: "iid",
      count: split.train.length,
      clinics: o.clinics,
      seed: o.seed,
    });

    const root = await Deno.makeTempDir({ prefix: "splitgate_demo_table_" });
    try {
      const keys = await writeDemoKeys(`${root}/keys`, clinics);
      const schema = await studySchema(o, table, split.train, shares, clinics, keys);
      const data = await loadDataset(o.data, { schema, seed: o.seed });
      const study: TableStudy = {
        clinics,
        shares,
        schema,
        data,
        spec: { tabular: zooSpecOfSchema(schema) },
      };
      const server = await demoServerEngine(o.engine);
      const splitRun = await trainTableSplit(o, root, keys, server, study);
      await compareWithCentral(
        splitRun,
        server.engine,
        o.central ? () => tableCentral(o, study, server) : undefined,
        t0,
      );
    } finally {
      await Deno.remove(root, { recursive: true }).catch(() => {});
    }
  }, USAGE);
}
