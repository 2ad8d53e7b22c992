/**
 * One party of a vertical study as its own process (spawned by `deno task demo --vertical`,
 * `vertical_demo.ts`): `deno run … vertical_party.ts '<config JSON>'` with
 *
 * - `--allow-read` of its own data file, its key file and onnxruntime-web's wasm module only
 *   (not the other institution's file), `--allow-write` of its result file only, and
 *   `--allow-net` of the server's loopback address only;
 *
 * config fields: `name`, `server` (URL), `serverPublicKey` (hex), `keyFile`, `dataFile` (a
 * `runtime/data/party_file.ts` npz), `resultFile`, `wasmFile`, `study` (a vertical study,
 * `runtime/config/vertical_study.ts`). It prints progress lines (no records, no identifiers)
 * and writes its {@linkcode VerticalPartyResult} as JSON to `resultFile`.
 *
 * @example
 * ```sh
 * deno run --allow-read=/tmp/h --allow-write=/tmp/h/result.json --allow-net=127.0.0.1:8080 runtime/cli/vertical_party.ts '{"name":"hospital",…}'
 * ```
 * @module
 */
import { parseHexKey } from "../../crypto/keys/mod.ts";
import { parseVerticalStudy } from "../config/vertical_study.ts";
import { readPartyFile } from "../data/party_file.ts";
import { createEngine } from "../engine/mod.ts";
import { loadPrivateKeyFile } from "../keys/key_store.ts";
import { VerticalConnection } from "../client/vertical_connection.ts";
import { runVerticalParty, type VerticalPartyResult } from "../client/vertical_party.ts";
import { runMain, UsageError } from "./main.ts";

/** The process's config (see the module documentation). */
export interface VerticalPartyProcessConfig {
  name: string;
  server: string;
  serverPublicKey: string;
  keyFile: string;
  dataFile: string;
  resultFile: string;
  wasmFile: string;
  study: unknown;
}

if (import.meta.main) {
  await runMain(async () => {
    if (Deno.args.length !== 1) throw new UsageError("expected one argument: the config JSON");
    const c = JSON.parse(Deno.args[0]) as VerticalPartyProcessConfig;
    for (
      const k of [
        "name",
        "server",
        "serverPublicKey",
        "keyFile",
        "dataFile",
        "resultFile",
        "wasmFile",
      ] as const
    ) {
      if (typeof c[k] !== "string" || !c[k]) {
        throw new UsageError(
          `config.${k}: expected a non-empty string, got ${JSON.stringify(c[k])}`,
        );
      }
    }
    const study = parseVerticalStudy(c.study);
    const key = await loadPrivateKeyFile(c.keyFile);
    const data = readPartyFile(await Deno.readFile(c.dataFile), c.dataFile);
    const engine = await createEngine("wasm", {
      threads: 1,
      wasmBinary: await Deno.readFile(c.wasmFile),
    });
    const serverKey = parseHexKey(c.serverPublicKey);
    if (typeof serverKey === "string") throw new UsageError(`config.serverPublicKey: ${serverKey}`);
    const conn = await VerticalConnection.connect({
      url: c.server,
      keyPair: key.keyPair,
      serverPublicKey: serverKey,
      codec: study.codec,
    });
    try {
      const r: VerticalPartyResult = await runVerticalParty({
        name: c.name,
        conn,
        data,
        study,
        engine,
        log: (l) => console.log(l),
      });
      await Deno.writeTextFile(c.resultFile, JSON.stringify(r));
    } finally {
      conn.close();
      await engine.dispose();
    }
  });
}
