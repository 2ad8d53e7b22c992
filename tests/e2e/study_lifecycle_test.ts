/**
 * A study's life with real processes: the server (`runtime/cli/server.ts`) started with a
 * study file, two clinics launched through the real client pinning its digest. When the last
 * epoch ends the server writes `final/`, each clinic evaluates, leaves and stores the study in
 * its state folder, and the server exits 0 by itself. Restarted on the finished study it says
 * so and exits 0. Started on a study with a new id it keeps the old state under `studies/`;
 * a clinic whose state folder holds the old study is refused before any step, and a first run
 * pinning another digest is refused before its raw-data process starts.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { launchClinic } from "../../runtime/client/launcher.ts";
import { ClinicError } from "../../runtime/client/clinic_error.ts";
import { publishStudy } from "../../runtime/study/published_study.ts";
import {
  makeWorld,
  serverProcessArgs,
  type SplitWorld,
  startServerProcess,
} from "./split_harness.ts";

const STUDY_FIELDS = ["model", "data", "seed", "mode", "loss", "optimizer", "epochs"];

/** Moves the world's training fields out of server.json into study.json (id `id`); returns the digest. */
async function writeStudy(w: SplitWorld, id: string): Promise<string> {
  const config = JSON.parse(await Deno.readTextFile(w.serverConfigFile));
  const study = {
    id,
    mode: config.mode ?? "vanilla",
    model: {
      name: config.model ?? "cnn",
      input: config.data ?? { image: { channels: 1, size: 8 } },
      seed: config.seed ?? 5,
    },
    loss: config.loss ?? "bce",
    optimizer: config.optimizer ?? { kind: "sgd", lr: 0.05 },
    schedule: { epochs: config.epochs ?? 1 },
  };
  for (const k of STUDY_FIELDS) delete config[k];
  config.study = "study.json";
  await Deno.writeTextFile(w.serverConfigFile, JSON.stringify(config));
  await Deno.writeTextFile(join(w.root, "study.json"), JSON.stringify(study));
  return publishStudy(study).digest;
}

/** Runs the server process to its end (at most `ms`); its exit code and output. */
async function serverRun(w: SplitWorld, ms: number): Promise<{ code: number; out: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: serverProcessArgs(w, []),
    cwd: w.root,
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(ms),
  }).output();
  return {
    code: out.code,
    out: new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr),
  };
}

Deno.test("study lifecycle: the server ends a finished study (exit 0, final files), says so when restarted, and keeps it when a new study starts", async () => {
  const w = await makeWorld({ mode: "vanilla", n: 32, batchSize: 8, epochs: 1 });
  try {
    const digest = await writeStudy(w, "s1");
    for (const c of w.clientConfigs) c.study = digest;
    const server = await startServerProcess(w, []);
    const lines: string[] = [];
    await Promise.all(
      w.clientConfigs.map((c) =>
        launchClinic(c, "train", { onLine: (l) => lines.push(l), pollMs: 20 })
      ),
    );
    const status = await server.child.status;
    const out = server.output.join("");
    assert.equal(status.code, 0, out);
    assert.match(out, /study finished: final metrics and the server segment written to /);
    assert.match(out, /study finished and every clinic has left: stopping/);
    const final = JSON.parse(
      await Deno.readTextFile(join(w.root, "server-ckpt", "final", "metrics.json")),
    );
    assert.deepEqual(final.study, { id: "s1", digest });
    assert.equal(final.totalSteps, 4);
    for (const c of w.clientConfigs) {
      assert.ok(
        lines.some((l) => l === `[${c.name}] study s1 (${digest}): checked before the first step`),
        lines.join("\n"),
      );
      assert.ok(
        lines.some((l) => l.startsWith(`[${c.name}] left the finished study`)),
        lines.join("\n"),
      );
      assert.equal(
        JSON.parse(await Deno.readTextFile(join(c.checkpointDir, "study.json"))).digest,
        digest,
      );
    }

    // restarted on the finished study: says so, exits 0
    const again = await serverRun(w, 60_000);
    assert.equal(again.code, 0, again.out);
    assert.match(
      again.out,
      /study s1 is finished \(final metrics and model in .*final\); nothing to serve, exiting/,
    );

    // a new study id: the old state is kept under studies/s1/, and a clinic that joined s1 is refused
    const d2 = await writeStudy(w, "s2");
    const s2 = await startServerProcess(w, []);
    try {
      assert.match(s2.output.join(""), /kept the former state in .*studies\/s1; study s2/);
      const kept = JSON.parse(
        await Deno.readTextFile(
          join(w.root, "server-ckpt", "studies", "s1", "final", "metrics.json"),
        ),
      );
      assert.equal(kept.study.id, "s1");
      const a = { ...w.clientConfigs[0], study: d2 };
      await assert.rejects(
        launchClinic(a, "train", { onLine: () => {}, pollMs: 20 }),
        (e) =>
          e instanceof ClinicError &&
          /STUDY_MISMATCH.*this clinic's state folder holds study s1; the server runs study s2/
            .test(e.message),
      );
      // a first run with a wrong pin is refused before the raw side starts: its data file,
      // missing here, is never opened
      const fresh = {
        ...w.clientConfigs[1],
        study: digest,
        checkpointDir: join(w.root, "ckpt-fresh"),
        data: join(w.dataDir, "no-such.npz"),
      };
      await assert.rejects(
        launchClinic(fresh, "train", { onLine: () => {}, pollMs: 20 }),
        (e) =>
          e instanceof ClinicError &&
          /STUDY_MISMATCH.*config\.study pins sha256:[0-9a-f]{64}, but the server's study s2 has digest/.test(e.message),
      );
      await assert.rejects(Deno.stat(join(w.root, "ckpt-fresh", "study.json")), Deno.errors.NotFound);
    } finally {
      s2.child.kill("SIGTERM");
      await s2.child.status;
    }
  } finally {
    await w.remove();
  }
});
