/**
 * The settings both sides of a vertical study agree on (each party's process and the server
 * read the same object): the parties, how their cut tensors are fused, who holds the labels,
 * the identifier form the private set intersection matches on, and the training schedule.
 *
 * | field | type | default | meaning |
 * | --- | --- | --- | --- |
 * | `parties` | string[] (≥ 2, distinct) | required | the parties, in concatenation order |
 * | `fusion` | `"concat"` \| `"sum"` | `"concat"` | how the server combines the cut tensors |
 * | `labels.holder` | `"server"` \| `"party"` | `"server"` | `"server"`: the label party sends labels with its cut tensor; `"party"`: U-shaped, labels stay at the party |
 * | `labels.party` | string | `parties[0]` | the party holding the labels |
 * | `idFormat.pattern` | regex string | required | the form of every identifier (whole match) |
 * | `idFormat.name` | string | the pattern | its name in error messages |
 * | `reveal` | `"intersection"` \| `"size"` | `"intersection"` | what the PSI result carries at each party |
 * | `padTo` | integer ≥ 0 | 0 | pad each party's blinded set of every split with random points to this many (0: no padding), so the peer does not learn the set sizes; must be ≥ every split's size (else `PSI_INVALID_STATE`) |
 * | `frontWidth` | integer ≥ 1 | 32 | width of each party's cut tensor |
 * | `fusionHidden` | integer ≥ 1 | 32 | hidden width of the server's top |
 * | `epochs` | integer ≥ 1 | 5 | passes over the matched training rows |
 * | `batchSize` | integer ≥ 1 | 256 | rows per step (the same batches at every party) |
 * | `lr` | number > 0 | 0.001 | Adam learning rate (parties' fronts, server's top, head) |
 * | `seed` | integer ≥ 0 | 0 | batch order and initial weights |
 * | `codec` | `{dtype, level}` | float32, 0 | wire codec of the cut tensors and gradients |
 * | `defence.noise` | `{clip, sigma}` | none | every party clips each cut row to L2 norm `clip` and adds N(0, (σ·clip)²) before sending (training and evaluation; `runtime/privacy/noise_defence.ts`) |
 * | `defence.labelProtection` | `"none"` \| `"norm-equalise"` | `"none"` | the server equalises the per-row norms of every cut gradient it returns (U-shaped: the label party does it to the head gradient it sends) |
 *
 * @example
 * ```ts
 * import { parseVerticalStudy } from "./vertical_study.ts";
 * const s = parseVerticalStudy({ parties: ["hospital", "pharmacy"], idFormat: { pattern: "^[0-9]+$" } });
 * console.log(s.fusion, s.labels); // concat { holder: "server", party: "hospital" }
 * ```
 * @module
 */
import type { IdentifierFormat, PsiReveal } from "../../crypto/psi/mod.ts";
import type { CodecConfig } from "./json_config.ts";
import { type DefenceConfig, parseDefenceConfig } from "../privacy/defence_config.ts";

/** A parsed vertical study (see the module documentation for the fields). */
export interface VerticalStudy {
  parties: string[];
  fusion: "concat" | "sum";
  labels: { holder: "server" | "party"; party: string };
  idFormat: IdentifierFormat;
  reveal: PsiReveal;
  padTo: number;
  frontWidth: number;
  fusionHidden: number;
  epochs: number;
  batchSize: number;
  lr: number;
  seed: number;
  codec: CodecConfig;
  /** Cut-layer defences (only `noise` and `labelProtection` are wired in vertical training). */
  defence: DefenceConfig;
}

const FIELDS = new Set([
  "parties",
  "fusion",
  "labels",
  "idFormat",
  "reveal",
  "padTo",
  "frontWidth",
  "fusionHidden",
  "epochs",
  "batchSize",
  "lr",
  "seed",
  "codec",
  "defence",
]);

function fail(k: string, want: string, got: unknown): never {
  throw new TypeError(`vertical study: ${k} must be ${want}, got ${JSON.stringify(got)}`);
}

function int(o: Record<string, unknown>, k: string, min: number, fallback: number): number {
  const v = o[k] ?? fallback;
  if (!Number.isSafeInteger(v) || (v as number) < min) fail(k, `an integer >= ${min}`, v);
  return v as number;
}

function oneOf<T extends string>(
  o: Record<string, unknown>,
  k: string,
  allowed: readonly T[],
  fallback: T,
): T {
  const v = o[k] ?? fallback;
  if (!allowed.includes(v as T)) fail(k, allowed.map((a) => JSON.stringify(a)).join(" or "), v);
  return v as T;
}

function defence(raw: unknown): DefenceConfig {
  const d = parseDefenceConfig(raw);
  for (const k of ["nopeek", "inputNorm"] as const) {
    if (d[k] !== undefined) {
      fail(`defence.${k}`, "absent (vertical training wires noise and labelProtection only)", d[k]);
    }
  }
  return d;
}

function level(codec: Record<string, unknown>): number {
  const v = int(codec, "level", 0, 0);
  if (v > 9) fail("codec.level", "a deflate level 0 to 9", v);
  return v;
}

/**
 * Checks and completes a study object.
 *
 * @throws {TypeError} naming the field, what it must be and what it was (an unknown field too).
 * @example
 * ```ts
 * import { parseVerticalStudy } from "./vertical_study.ts";
 * try { parseVerticalStudy({ parties: ["a"], idFormat: { pattern: "x" } }); } catch (e) { console.log((e as Error).message); }
 * // vertical study: parties must be two or more distinct names, got ["a"]
 * ```
 */
export function parseVerticalStudy(raw: unknown): VerticalStudy {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    fail("(the study)", "a JSON object", raw);
  }
  const o = raw as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if (!FIELDS.has(k)) fail(k, `one of the known fields (${[...FIELDS].join(", ")})`, k);
  }
  const parties = o.parties;
  if (
    !Array.isArray(parties) || parties.length < 2 || new Set(parties).size !== parties.length ||
    parties.some((p) => typeof p !== "string" || !p)
  ) {
    fail("parties", "two or more distinct names", parties);
  }
  const labels = (o.labels ?? {}) as Record<string, unknown>;
  const holder = oneOf(labels, "holder", ["server", "party"] as const, "server");
  const party = labels.party ?? parties[0];
  if (!parties.includes(party)) fail("labels.party", `one of ${JSON.stringify(parties)}`, party);
  const f = o.idFormat as Record<string, unknown> | undefined;
  if (!f || typeof f.pattern !== "string" || (f.name !== undefined && typeof f.name !== "string")) {
    fail("idFormat", '{"pattern": "<regex>", "name"?: "<string>"}', f);
  }
  const lr = o.lr ?? 0.001;
  if (typeof lr !== "number" || !(lr > 0)) fail("lr", "a number > 0", lr);
  const codec = (o.codec ?? {}) as Record<string, unknown>;
  return {
    parties: parties as string[],
    fusion: oneOf(o, "fusion", ["concat", "sum"] as const, "concat"),
    labels: { holder, party: party as string },
    idFormat: { pattern: f.pattern as string, ...(f.name ? { name: f.name as string } : {}) },
    reveal: oneOf(o, "reveal", ["intersection", "size"] as const, "intersection"),
    padTo: int(o, "padTo", 0, 0),
    frontWidth: int(o, "frontWidth", 1, 32),
    fusionHidden: int(o, "fusionHidden", 1, 32),
    epochs: int(o, "epochs", 1, 5),
    batchSize: int(o, "batchSize", 1, 256),
    lr,
    seed: int(o, "seed", 0, 0),
    codec: {
      dtype: oneOf(codec, "dtype", ["float32", "float16", "int8"] as const, "float32"),
      level: level(codec),
    },
    defence: defence(o.defence),
  };
}
