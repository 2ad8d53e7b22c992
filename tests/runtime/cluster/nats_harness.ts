/**
 * Test helper: a real nats-server with JetStream in a temp dir (`startLocalNats`) for the
 * duration of one test, and the `ignore` flag for machines without nats-server (the tests
 * report themselves ignored there, as the chromium test does; `.ci/run` installs it).
 * @module
 */
import {
  findNatsServer,
  type LocalNats,
  startLocalNats,
} from "../../../runtime/cluster/local_nats.ts";
import {
  connectNats,
  ensureStudyResources,
  type NatsLink,
} from "../../../runtime/cluster/nats_link.ts";
import { type StudyNames, studyNames } from "../../../runtime/cluster/study_names.ts";

/** Path of nats-server, or null (then the NATS tests are ignored). */
export const NATS_BIN: string | null = await findNatsServer();

/** Deno.test options for a test that needs nats-server. */
export const natsTest = {
  ignore: NATS_BIN === null,
  // The NATS client keeps timers and sockets between awaits; each test closes its own.
  sanitizeOps: false,
  sanitizeResources: false,
} as const;

/** A fresh server, `links` connections and the study's resources; all cleaned up after `f`. */
export async function withNats(
  o: { links?: number; shards?: number; study?: string },
  f: (c: { nats: LocalNats; links: NatsLink[]; names: StudyNames; dir: string }) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "sg-nats-" });
  const nats = await startLocalNats({ storeDir: dir });
  const links: NatsLink[] = [];
  try {
    for (let i = 0; i < (o.links ?? 1); i++) {
      links.push(await connectNats(nats.url, { name: `t${i}` }));
    }
    const names = studyNames(o.study ?? "t", o.shards ?? 4);
    await ensureStudyResources(links[0], names);
    await f({ nats, links, names, dir });
  } finally {
    for (const l of links) await l.close();
    await nats.stop();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/** Resolves after `ms`. */
export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
