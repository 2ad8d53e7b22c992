/**
 * `deno task demo --vertical [--epochs N] [--batch B] [--fusion concat|sum]
 *  [--labels server|party] [--overlap F] [--rows N] [--seed S] [--engine native|wasm]`
 *
 * Vertical split learning on Diabetes 130 with real processes on one machine. The demo
 * plays the data source: it takes each patient's first encounter, gives every patient to
 * the `hospital` with probability √F and, independently, to the `pharmacy` with probability
 * √F (so a fraction ≈ F of the patients is at both; default F = 0.7), shuffles each
 * institution's rows, and writes each institution's columns (`runtime/data/vertical_columns.ts`)
 * to its own file; only the hospital's file has the readmission label. Then:
 *
 * 1. a vertical server on loopback (`runtime/server/vertical_app.ts`, Noise IK, allowlist);
 * 2. each party as two processes (`runtime/client/vertical_launcher.ts`): a raw-data
 *    process allowed to read only its own data folder, with no network, and a courier that
 *    holds its key and reaches only the server; they
 *    match their patients by ECDH-PSI relayed through the server (which sees only blinded
 *    points), then train: each its front on its own columns, the server the fused top;
 * 3. baselines on the same matched rows, in this process (same epochs, batch, Adam lr,
 *    seed, best validation epoch): the same network trained in one place on all columns
 *    (`runtime/train/vertical_central.ts`), the zoo EHR network on all columns, and the zoo
 *    EHR network on each party's columns alone.
 *
 * Prints a table of test AUC (and accuracy, rows, traffic).
 *
 * @example
 * ```sh
 * deno task demo --vertical
 * ```
 * @module
 */
import { Allowlist, generateStaticKeyPair, serializeAllowlist } from "../../crypto/keys/mod.ts";
import { buildEhr } from "../../models/zoo/ehr.ts";
import { parseVerticalStudy, type VerticalStudy } from "../config/vertical_study.ts";
import { type DiabetesData, loadDiabetes } from "../data/diabetes.ts";
import { PARTY_SPLITS, type PartyData, writePartyFile } from "../data/party_file.ts";
import { Rng } from "../data/rng.ts";
import { TensorDataset } from "../data/tensor_dataset.ts";
import {
  DIABETES_PARTIES,
  firstEncounters,
  partyEncoding,
  partySplit,
  PATIENT_NBR_FORMAT,
  type VerticalColumns,
} from "../data/vertical_columns.ts";
import { createEngine, type Engine } from "../engine/mod.ts";
import { writeKeyPairFiles } from "../keys/key_store.ts";
import { createVerticalApp } from "../server/vertical_app.ts";
import { VerticalServer } from "../server/vertical_step.ts";
import { trainCentral } from "../train/central.ts";
import { trainVerticalCentral } from "../train/vertical_central.ts";
import type { Metrics } from "../train/metrics.ts";
import type { VerticalPartyResult } from "../client/vertical_party.ts";
import { launchVerticalParty } from "../client/vertical_launcher.ts";
import { parseFlags, runMain, UsageError } from "./main.ts";
import { formatColumns, mib } from "./demo_report.ts";
import { fileURLToPath } from "node:url";

/** Settings of {@linkcode runVerticalDemo}. */
export interface VerticalDemoOptions {
  dataFile: string;
  epochs: number;
  batchSize: number;
  fusion: "concat" | "sum";
  labels: "server" | "party";
  /** Fraction of patients at both institutions (0, 1]. */
  overlap: number;
  /**
   * Keep at most this many training patients (val and test get a seventh and two sevenths
   * of it, the split's proportions); 0 = all. The demo's default is 20000: the PSI costs
   * about 1.6 ms of CPU per identifier and party, so all 71 518 patients take minutes.
   */
  rows: number;
  seed: number;
  engine?: "native" | "wasm";
  log: (line: string) => void;
}

/** One row of the table. */
export interface VerticalDemoRow {
  name: string;
  test: Metrics;
  bestEpoch: number;
  seconds: number;
}

/** What the demo measured. */
export interface VerticalDemoResult {
  matched: VerticalPartyResult["matched"];
  rows: VerticalDemoRow[];
  parties: Record<string, VerticalPartyResult>;
}

const NAMES = ["hospital", "pharmacy"] as const;

/** Which rows (first encounters) each institution holds, per split; shuffled per institution. */
function holdings(
  d: DiabetesData,
  o: VerticalDemoOptions,
): Record<(typeof NAMES)[number], Record<string, number[]>> {
  const rng = new Rng(o.seed + 1000);
  const p = Math.sqrt(o.overlap);
  const out = {
    hospital: {} as Record<string, number[]>,
    pharmacy: {} as Record<string, number[]>,
  };
  for (const s of PARTY_SPLITS) {
    let rows = firstEncounters(d[s]);
    const cap = o.rows > 0
      ? Math.max(1, Math.round(o.rows * (s === "train" ? 1 : s === "val" ? 1 / 7 : 2 / 7)))
      : rows.length;
    rows = rows.slice(0, cap);
    for (const n of NAMES) {
      const mine = Uint32Array.from(rows.filter(() => rng.float() < p));
      rng.shuffle(mine); // each institution has its own row order
      out[n][s] = [...mine];
    }
  }
  return out;
}

function partyData(
  d: DiabetesData,
  cols: VerticalColumns,
  rows: Record<string, number[]>,
  withLabel: boolean,
): PartyData {
  const splits = {} as PartyData["splits"];
  for (const s of PARTY_SPLITS) splits[s] = partySplit(d[s], cols, rows[s], withLabel);
  return { splits, encoding: partyEncoding(d.meta, cols) };
}

/** The matched rows of each split, as the demo (the data source) knows them, in one order. */
function matchedRows(
  h: Record<string, number[]>,
  p: Record<string, number[]>,
): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const s of PARTY_SPLITS) {
    const other = new Set(p[s]);
    out[s] = h[s].filter((r) => other.has(r)).sort((a, b) => a - b);
  }
  return out;
}

/** Trains the zoo EHR network centrally on `cols` of the matched rows. */
async function baseline(
  engine: Engine,
  d: DiabetesData,
  cols: VerticalColumns,
  rows: Record<string, number[]>,
  o: VerticalDemoOptions,
  study: VerticalStudy,
): Promise<Omit<VerticalDemoRow, "name">> {
  const ds = (s: (typeof PARTY_SPLITS)[number]) => {
    const v = partySplit(d[s], cols, rows[s], true);
    return new TensorDataset(v.inputs, v.label!);
  };
  const rng = new Rng(o.seed);
  const zoo = buildEhr({
    random: () => rng.float(),
    ...partyEncoding(d.meta, cols),
    hidden: [study.frontWidth * 2, study.fusionHidden],
  });
  const r = await trainCentral({
    engine,
    model: zoo.model,
    loss: "bce",
    data: { train: ds("train"), val: ds("val"), test: ds("test") },
    epochs: o.epochs,
    batchSize: o.batchSize,
    optimizer: { kind: "adam", lr: study.lr },
    seed: o.seed,
  });
  return { test: r.test, bestEpoch: r.bestEpoch, seconds: r.seconds };
}

/** The vertical network trained in one place on all columns of the matched rows. */
function sameNetwork(
  engine: Engine,
  d: DiabetesData,
  rows: Record<string, number[]>,
  study: VerticalStudy,
): Promise<Omit<VerticalDemoRow, "name">> {
  const view = (n: (typeof NAMES)[number], s: (typeof PARTY_SPLITS)[number]) =>
    partySplit(d[s], DIABETES_PARTIES[n], rows[s], true);
  return trainVerticalCentral({
    engine,
    study,
    parties: NAMES.map((name) => ({
      name,
      encoding: partyEncoding(d.meta, DIABETES_PARTIES[name]),
      splits: {
        train: view(name, "train").inputs,
        val: view(name, "val").inputs,
        test: view(name, "test").inputs,
      },
    })),
    labels: {
      train: view("hospital", "train").label!,
      val: view("hospital", "val").label!,
      test: view("hospital", "test").label!,
    },
  });
}

/**
 * Launches one party as its two sandboxed processes (`runtime/client/vertical_launcher.ts`)
 * and waits for its result. Its folder holds `data/` (the raw side reads it), `state/` (the
 * raw side writes it) and `keys/` (the courier reads it).
 */
function runParty(
  name: string,
  root: string,
  port: number,
  study: unknown,
  log: (l: string) => void,
): Promise<VerticalPartyResult> {
  const dir = `${root}/${name}`;
  return launchVerticalParty({
    name,
    server: `http://127.0.0.1:${port}`,
    keyFile: `${dir}/keys/${name}.key`,
    serverPublicKeyFile: `${root}/server/server.pub`,
    dataFile: `${dir}/data/data.npz`,
    stateDir: `${dir}/state`,
    study,
  }, { onLine: log });
}

/**
 * Runs the demo (see the module documentation) and returns the table's figures.
 *
 * @example
 * ```ts
 * import { runVerticalDemo } from "./vertical_demo.ts";
 * // const r = await runVerticalDemo({ dataFile: "data/diabetes130.zip", epochs: 3, batchSize: 256,
 * //   fusion: "concat", labels: "server", overlap: 0.7, rows: 0, seed: 0, log: console.log });
 * ```
 */
export async function runVerticalDemo(o: VerticalDemoOptions): Promise<VerticalDemoResult> {
  if (!(o.overlap > 0 && o.overlap <= 1)) {
    throw new UsageError(`--overlap ${o.overlap}: expected a fraction in (0, 1]`);
  }
  const d = await loadDiabetes(o.dataFile, { seed: o.seed });
  const hold = holdings(d, o);
  const studyJson = {
    parties: [...NAMES],
    fusion: o.fusion,
    labels: { holder: o.labels, party: "hospital" },
    idFormat: PATIENT_NBR_FORMAT,
    epochs: o.epochs,
    batchSize: o.batchSize,
    seed: o.seed,
  };
  const study = parseVerticalStudy(studyJson);
  const root = await Deno.makeTempDir({ prefix: "splitgate_vertical_" });
  let engine: Engine | undefined;
  let http: Deno.HttpServer<Deno.NetAddr> | undefined;
  try {
    const serverKeys = generateStaticKeyPair();
    await Deno.mkdir(`${root}/server`);
    await writeKeyPairFiles(`${root}/server`, "server", serverKeys);
    const entries = [];
    for (const n of NAMES) {
      for (const sub of ["data", "keys"]) {
        await Deno.mkdir(`${root}/${n}/${sub}`, { recursive: true });
      }
      const kp = generateStaticKeyPair();
      await writeKeyPairFiles(`${root}/${n}/keys`, n, kp);
      entries.push({ name: n, publicKey: kp.publicKey });
      await Deno.writeFile(
        `${root}/${n}/data/data.npz`,
        writePartyFile(partyData(d, DIABETES_PARTIES[n], hold[n], n === "hospital")),
      );
    }
    const allowlist = new Allowlist(entries);
    await Deno.writeTextFile(`${root}/allowlist.json`, serializeAllowlist(allowlist));
    o.log(
      `vertical demo: Diabetes 130, one row per patient; hospital holds ${hold.hospital.train.length} training patients ` +
        `(${DIABETES_PARTIES.hospital.numeric.length} numeric, ${DIABETES_PARTIES.hospital.categorical.length} categorical columns, diagnoses, label), ` +
        `pharmacy ${hold.pharmacy.train.length} (${DIABETES_PARTIES.pharmacy.numeric.length} numeric, ${DIABETES_PARTIES.pharmacy.categorical.length} categorical columns)`,
    );
    try {
      engine = await createEngine(o.engine ?? "native", { threads: 1 });
    } catch (e) {
      if (o.engine) throw e;
      engine = await createEngine("wasm", { threads: 1 });
    }
    const server = await VerticalServer.create({
      engine,
      parties: NAMES.map((name) => ({ name, width: study.frontWidth })),
      fusion: study.fusion,
      labels: study.labels,
      optimizer: { kind: "adam", lr: study.lr },
      seed: study.seed,
      fusionHidden: study.fusionHidden,
      // U-shaped: the label party protects the head gradient it sends instead.
      labelProtection: study.labels.holder === "server" ? study.defence.labelProtection : undefined,
    });
    const { app } = createVerticalApp({
      keyPair: serverKeys,
      allowlist,
      server,
      codec: study.codec,
      checkpointDir: `${root}/server/state`,
      log: (l) => o.log(`[server] ${l}`),
    });
    const served = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, app.fetch);
    http = served;
    const port = served.addr.port;
    o.log(
      `server on 127.0.0.1:${port}: fusion ${study.fusion}, labels ${
        study.labels.holder === "server"
          ? "sent to the server by hospital"
          : "kept by hospital (U-shaped)"
      }; ${o.epochs} epochs, batch ${o.batchSize}`,
    );
    const t0 = performance.now();
    const results = await Promise.all(
      NAMES.map((n) => runParty(n, root, port, studyJson, o.log)),
    );
    const verticalSeconds = (performance.now() - t0) / 1000;
    await http.shutdown();
    http = undefined;
    const hospital = results[0];
    const rows: VerticalDemoRow[] = [{
      name: `vertical split (${study.fusion})`,
      test: hospital.test!,
      bestEpoch: hospital.bestEpoch!,
      seconds: verticalSeconds,
    }];
    const matched = matchedRows(hold.hospital, hold.pharmacy);
    const all: VerticalColumns = {
      numeric: [...DIABETES_PARTIES.hospital.numeric, ...DIABETES_PARTIES.pharmacy.numeric],
      categorical: [
        ...DIABETES_PARTIES.hospital.categorical,
        ...DIABETES_PARTIES.pharmacy.categorical,
      ],
      codes: true,
    };
    const wasm = await createEngine("wasm", { threads: 1 });
    try {
      o.log("baseline: central, same network");
      rows.push({ name: "central, same network", ...(await sameNetwork(wasm, d, matched, study)) });
      for (
        const [name, cols] of [["central, zoo EHR, all columns", all], [
          "hospital alone",
          DIABETES_PARTIES.hospital,
        ], ["pharmacy alone", DIABETES_PARTIES.pharmacy]] as const
      ) {
        o.log(`baseline: ${name}`);
        rows.push({ name, ...(await baseline(wasm, d, cols, matched, o, study)) });
      }
    } finally {
      await wasm.dispose();
    }
    return {
      matched: hospital.matched,
      rows,
      parties: { hospital: results[0], pharmacy: results[1] },
    };
  } finally {
    if (http) await http.shutdown();
    await engine?.dispose();
    await Deno.remove(root, { recursive: true }).catch(() => {});
  }
}

/**
 * The demo's table.
 *
 * @example
 * ```ts
 * import { formatVerticalTable } from "./vertical_demo.ts";
 * // console.log(formatVerticalTable(result));
 * ```
 */
export function formatVerticalTable(r: VerticalDemoResult): string {
  const head = ["", "test AUC", "test acc", "test rows", "best epoch", "seconds"];
  const body = r.rows.map((
    x,
  ) => [
    x.name,
    x.test.auc.toFixed(4),
    x.test.accuracy.toFixed(4),
    String(x.test.samples),
    String(x.bestEpoch),
    x.seconds.toFixed(1),
  ]);
  const v = r.rows[0].test.auc;
  const signed = (x: number) => `${x >= 0 ? "+" : ""}${x.toFixed(4)}`;
  const gaps = r.rows.slice(1).map((x) => `${x.name} ${signed(v - x.test.auc)}`).join(", ");
  const traffic = Object.entries(r.parties).map(([n, p]) =>
    `${n} sent ${mib(p.bytesUp)}, received ${mib(p.bytesDown)} (PSI ${p.psiSeconds.toFixed(1)} s)`
  ).join("; ");
  return [
    `PSI matched ${r.matched.train}/${r.matched.val}/${r.matched.test} train/val/test patients`,
    ...formatColumns([head, ...body]),
    "",
    traffic,
    `vertical − other test AUC: ${gaps}`,
  ].join("\n");
}

/** Usage line of `deno task demo --vertical`. */
export const VERTICAL_USAGE =
  "usage: deno task demo --vertical [--epochs N] [--batch B] [--fusion concat|sum] " +
  "[--labels server|party] [--overlap F] [--rows N] [--seed S] [--engine native|wasm] [--data diabetes130.zip]";

/**
 * Parses the demo's flags (with `--vertical`), runs it and prints the table; a bad flag
 * value is an error line naming the flag and what it expects, then the usage (exit 2).

 * @example
 * ```ts
 * import { verticalDemoMain } from "./vertical_demo.ts";
 * // await verticalDemoMain(["--vertical", "--epochs", "2"]);
 * ```
 */
export function verticalDemoMain(args: string[]): Promise<void> {
  return runMain(() => verticalDemoCli(args), VERTICAL_USAGE);
}

async function verticalDemoCli(args: string[]): Promise<void> {
  const v = parseFlags(args, {
    vertical: { type: "boolean" },
    epochs: { type: "string", default: "4" },
    batch: { type: "string", default: "256" },
    fusion: { type: "string", default: "concat" },
    labels: { type: "string", default: "server" },
    overlap: { type: "string", default: "0.7" },
    rows: { type: "string", default: "20000" },
    seed: { type: "string", default: "0" },
    engine: { type: "string" },
    data: {
      type: "string",
      default: fileURLToPath(new URL("../../data/diabetes130.zip", import.meta.url)),
    },
  });
  const int = (flag: string, s: string, min: number) => {
    const n = Number(s);
    if (!Number.isSafeInteger(n) || n < min) {
      throw new UsageError(`--${flag} ${s}: expected an integer >= ${min}`);
    }
    return n;
  };
  if (v.fusion !== "concat" && v.fusion !== "sum") {
    throw new UsageError(`--fusion ${v.fusion}: expected concat or sum`);
  }
  if (v.labels !== "server" && v.labels !== "party") {
    throw new UsageError(`--labels ${v.labels}: expected server or party`);
  }
  if (v.engine !== undefined && v.engine !== "native" && v.engine !== "wasm") {
    throw new UsageError(`--engine ${v.engine}: expected native or wasm`);
  }
  const t0 = performance.now();
  const r = await runVerticalDemo({
    dataFile: v.data!,
    epochs: int("epochs", v.epochs!, 1),
    batchSize: int("batch", v.batch!, 1),
    fusion: v.fusion,
    labels: v.labels,
    overlap: Number(v.overlap),
    rows: int("rows", v.rows!, 0),
    seed: int("seed", v.seed!, 0),
    engine: v.engine as "native" | "wasm" | undefined,
    log: (l) => console.log(l),
  });
  console.log("");
  console.log(formatVerticalTable(r));
  console.log(`wall time ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}
