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
import { Allowlist, generateStaticKeyPair, serializeAllowlist } from "../../crypto/keys/mod.ts";
import { zooModel } from "../../models/zoo/mod.ts";
import type { OptimizerConfig } from "../../models/train/optimizer.ts";
import { readCsvFile } from "../data/csv_file.ts";
import type { CsvTable } from "../data/csv.ts";
import { checkTable, formatDataCheck } from "../data/data_check.ts";
import { type TableSchema, zooSpecOfSchema } from "../data/data_schema.ts";
import { groupSplit } from "../data/group_split.ts";
import { loadDataset } from "../data/load_dataset.ts";
import { partition } from "../data/partition.ts";
import { Rng } from "../data/rng.ts";
import { draftTableSchema } from "../data/schema_fit.ts";
import { schemaFromShares, schemaShare } from "../data/schema_secure_sum.ts";
import { readStudyDataSchema } from "../data/study_data_file.ts";
import { createEngine, type Engine } from "../engine/mod.ts";
import { writeKeyPairFiles } from "../keys/key_store.ts";
import { createServerApp } from "../server/mod.ts";
import { trainCentral } from "../train/central.ts";
import type { ClinicResult } from "../client/clinic.ts";
import { parseClientConfig } from "../client/client_config.ts";
import { launchClinic } from "../client/launcher.ts";
import { printComparison } from "./demo_report.ts";
import { parseFlags, readInput, runMain, UsageError } from "./main.ts";

const USAGE =
  "usage: deno task demo --data <file.csv> --label <column> [--positive <value>] [--clinics K] " +
  "[--schema <file>] [--epochs N] [--batch B] [--turns-per-epoch T] [--lr X] [--mode vanilla|ushaped] " +
  "[--engine native|wasm] [--seed S] [--codec float32|float16|int8[:level]] [--no-central]";

function positiveInt(flag: string, v: string | undefined, fallback: number): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) {
    throw new UsageError(`${flag} ${v}: expected a positive integer`);
  }
  return n;
}

/** Whether the demo arguments ask for the tabular demo (a `--label`). */
export function isTableDemo(args: readonly string[]): boolean {
  return args.some((a) => a === "--label" || a.startsWith("--label="));
}

/** Keys of the server and the clinics in `dir`, and the allowlist. */
async function throwawayKeys(dir: string, clinics: readonly string[]) {
  await Deno.mkdir(dir);
  const serverKeys = generateStaticKeyPair();
  const serverFiles = await writeKeyPairFiles(dir, "server", serverKeys);
  const pairs = clinics.map(() => generateStaticKeyPair());
  for (let i = 0; i < clinics.length; i++) await writeKeyPairFiles(dir, clinics[i], pairs[i]);
  const allowlist = new Allowlist(
    clinics.map((name, i) => ({ name, publicKey: pairs[i].publicKey })),
  );
  await Deno.writeTextFile(`${dir}/allowlist.json`, serializeAllowlist(allowlist));
  return { serverKeys, serverFiles, pairs, allowlist };
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

/** Runs the tabular demo with `args` (see the module doc). */
export async function runTableDemo(args: string[]): Promise<void> {
  await runMain(async () => {
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
    const parts = positiveInt("--turns-per-epoch", values["turns-per-epoch"], 1);
    const k = positiveInt("--clinics", values.clinics, 2);
    const seed = Number(values.seed);
    if (!Number.isSafeInteger(seed) || seed < 0) {
      throw new UsageError(`--seed ${values.seed}: expected an integer >= 0`);
    }
    const mode = values.mode as "vanilla" | "ushaped";
    if (mode !== "vanilla" && mode !== "ushaped") {
      throw new UsageError(`--mode ${values.mode}: expected vanilla or ushaped`);
    }
    const codecMatch = /^(float32|float16|int8)(?::([0-9]))?$/.exec(values.codec!);
    if (!codecMatch) {
      throw new UsageError(
        `--codec ${values.codec}: expected float32, float16 or int8, optionally :level (deflate 0-9)`,
      );
    }
    const codec = {
      dtype: codecMatch[1] as "float32" | "float16" | "int8",
      level: Number(codecMatch[2] ?? 0),
    };
    const lr = values.lr === undefined ? 1e-3 : Number(values.lr);
    if (!(lr > 0)) throw new UsageError(`--lr ${values.lr}: expected a positive number`);
    const optimizer: OptimizerConfig = { kind: "adam", lr };
    const t0 = performance.now();

    await readInput("--data", values.data); // "file not found" naming the flag
    const table = await readCsvFile(values.data);
    const check = checkTable(table, { label: values.label, positive: values.positive });
    console.log(formatDataCheck(check));
    if (check.errors.length > 0) throw new Error(check.errors[0]);
    const split = groupSplit(table.rows.map((_, r) => String(r)), {
      seed,
      fractions: [0.7, 0.1, 0.2],
    });
    const clinics = Array.from({ length: k }, (_, i) => `clinic-${String.fromCharCode(97 + i)}`);
    const shares = partition({ scheme: "iid", count: split.train.length, clinics: k, seed });

    const root = await Deno.makeTempDir({ prefix: "splitgate_demo_table_" });
    try {
      const keys = await throwawayKeys(`${root}/keys`, clinics);
      let schema: TableSchema;
      if (values.schema) {
        const declared = await readStudyDataSchema(values.schema);
        if (declared.kind !== "table") {
          throw new UsageError(`--schema ${values.schema}: a schema for images, not a table`);
        }
        schema = declared;
        console.log(`data schema: declared in ${values.schema}`);
      } else {
        const draft = draftTableSchema(table, { label: values.label!, positive: values.positive });
        const clinicRows = shares.map((s) => Uint32Array.from(s, (i) => split.train[i]));
        schema = secureSumSchema(table, draft, clinicRows, clinics, keys.pairs, seed);
        console.log(
          `data schema: types and sorted categories declared from the file; scaling of ${
            schema.columns.filter((c) => c.type === "numeric").length
          } numeric columns by secure summation over ${k} clinics' training rows (the server added masked vectors only)`,
        );
      }
      const data = await loadDataset(values.data, { schema, seed });
      const spec = { tabular: zooSpecOfSchema(schema) };

      let engine: Engine;
      let engineName = values.engine ?? "native";
      try {
        engine = await createEngine(engineName as "native" | "wasm", { threads: 1 });
      } catch (e) {
        if (values.engine) throw e;
        engineName = "wasm";
        engine = await createEngine("wasm", { threads: 1 });
      }
      const server = await createServerApp({
        mode,
        codec,
        model: { zoo: "ehr", data: spec, seed },
        loss: "bce",
        optimizer,
        checkpointDir: `${root}/server`,
        limits: { maxBatch: Math.max(256, batchSize) },
        turnTimeoutMs: 120_000,
        epochs,
        turnsPerEpoch: parts,
      }, {
        keyPair: keys.serverKeys,
        allowlist: keys.allowlist,
        engine,
        log: (l) => console.log(`[server] ${l}`),
      });
      shares.forEach((share, i) => {
        const pos = share.reduce((a, r) => a + Number(data.train.target.data[r]), 0);
        if (pos === 0 || pos === share.length) {
          console.log(`warning: ${clinics[i]} has only ${pos ? "positive" : "negative"} training rows: it teaches one class`);
        }
      });
      const http = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, server.app.fetch);
      const port = http.addr.port;
      console.log(
        `splitgate demo: ${data.description}\nserver on 127.0.0.1:${port} (${mode}, ${engineName} engine, zoo ehr: ` +
          `${spec.tabular.numeric} numeric, ${spec.tabular.vocabSizes.length} categorical inputs); clinics: ` +
          clinics.map((c, i) => {
            const pos = shares[i].reduce((a, r) => a + Number(data.train.target.data[r]), 0);
            return `${c} ${shares[i].length} training rows (${((100 * pos) / shares[i].length).toFixed(0)}% positive)`;
          }).join(", ") +
          `\n${epochs} epochs, batch ${batchSize}, ${parts} turns per clinic per epoch, adam lr ${lr}, seed ${seed}, ` +
          `${codec.dtype} codec, Noise-encrypted`,
      );

      const split0 = performance.now();
      let results: ClinicResult[];
      try {
        results = await Promise.all(clinics.map(async (c, i) => {
          const config = parseClientConfig(
            JSON.stringify({
              name: c,
              server: `http://127.0.0.1:${port}`,
              serverPublicKey: keys.serverFiles.publicKeyPath,
              clinicKey: `${root}/keys/${c}.key`,
              peers: `${root}/keys/allowlist.json`,
              data: values.data,
              dataSchema: schema,
              rows: {
                train: { partition: { scheme: "iid", clinics: k, index: i, seed } },
                val: { partition: { scheme: "iid", clinics: k, index: i, seed } },
                test: { partition: { scheme: "iid", clinics: k, index: i, seed } },
              },
              model: "ehr",
              mode,
              loss: "bce",
              codec,
              optimizer,
              seed,
              batchSize,
              evalBatchSize: 256,
              checkpointDir: `${root}/${c}`,
              turnsPerEpoch: parts,
            }),
            root,
          );
          return (await launchClinic(config, "train", {
            keepScores: true,
            onLine: (l) => console.log(l),
            pollMs: 50,
          })).result;
        }));
      } finally {
        server.endLiveViews();
        await http.shutdown();
        await server.close();
      }
      const splitSeconds = (performance.now() - split0) / 1000;

      let central: Awaited<ReturnType<typeof trainCentral>> | undefined;
      let centralSeconds = 0;
      if (!values["no-central"]) {
        console.log(
          `central run: the same model, seed, epochs and batch size on the pooled data, same schema (wasm engine)`,
        );
        const rng = new Rng(seed);
        const model = zooModel("ehr", spec, () => rng.float()).model;
        const wasm = engineName === "wasm" ? engine : await createEngine("wasm", { threads: 1 });
        const c0 = performance.now();
        central = await trainCentral({
          engine: wasm,
          model,
          loss: "bce",
          data,
          epochs,
          batchSize,
          optimizer,
          seed,
        });
        centralSeconds = (performance.now() - c0) / 1000;
        if (wasm !== engine) await wasm.dispose();
      }
      await engine.dispose();
      printComparison(results, central, { t0, splitSeconds, centralSeconds });
    } finally {
      await Deno.remove(root, { recursive: true }).catch(() => {});
    }
  }, USAGE);
}
