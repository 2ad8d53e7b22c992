/**
 * The surviving lineage of a replica run's applied steps (docs/design/scale_out.md,
 * "Faults"), from the trainers' applied-step logs (`--applied-log`, JSON lines
 * `{"clinic","stepId","round","t"}`) and their log lines: every step of a surviving trainer,
 * and a killed trainer's steps of the rounds whose partial was averaged (`round r ended
 * across replicas: <partials> averaged`); its steps of the round it died in were lost with its
 * replica and redone by the new owner. The fault runs (tests/e2e/replicas_fault_test.ts,
 * bench/replicas_fault.ts) check it: no (clinic, step id) twice, nothing applied anywhere
 * missing from it.
 * @module
 */

/** One applied step, as a trainer logs it. */
export interface Applied {
  clinic: string;
  stepId: string;
  round: number;
}

/** Reads an applied-step log (a missing file: none). */
export async function readApplied(path: string): Promise<Applied[]> {
  const text = await Deno.readTextFile(path).catch(() => "");
  return text.split("\n").filter((l) => l.trim()).map((l) => JSON.parse(l));
}

/** The rounds in which a partial of `trainer` was averaged, from the trainers' log lines. */
export function averagedRounds(lines: readonly string[], trainer: string): Set<number> {
  const out = new Set<number>();
  for (const l of lines) {
    const m = /round (\d+) ended across replicas: (.*) averaged/.exec(l);
    if (m && m[2].split(", ").some((p) => p.startsWith(`${trainer}-`))) out.add(Number(m[1]));
  }
  return out;
}

/** A step's identity: clinic and step id. */
export const stepKey = (s: Applied): string => `${s.clinic} ${s.stepId}`;

/** What the lineage holds and what it should not. */
export interface LineageCheck {
  /** Steps of the lineage, each with how often it was applied there. */
  counts: Map<string, number>;
  /** Steps applied twice or more in the lineage. */
  twice: string[];
  /** Steps applied somewhere that the lineage lacks (lost). */
  lost: string[];
  /** The killed trainers' steps lost with their replicas (and redone elsewhere). */
  redone: Applied[];
  /** Every step of the lineage. */
  lineage: Applied[];
}

/** Checks the lineage of `applied` (by trainer) when `killed` trainers died. */
export function checkLineage(applied: Record<string, Applied[]>, killed: readonly string[], lines: readonly string[]): LineageCheck {
  const lineage: Applied[] = [];
  const redone: Applied[] = [];
  for (const [t, steps] of Object.entries(applied)) {
    if (!killed.includes(t)) {
      lineage.push(...steps);
      continue;
    }
    const kept = averagedRounds(lines, t);
    for (const s of steps) (kept.has(s.round) ? lineage : redone).push(s);
  }
  const counts = new Map<string, number>();
  for (const s of lineage) counts.set(stepKey(s), (counts.get(stepKey(s)) ?? 0) + 1);
  const twice = [...counts].filter(([, n]) => n > 1).map(([k]) => k);
  const lost = Object.values(applied).flat().map(stepKey).filter((k) => !counts.has(k));
  return { counts, twice, lost: [...new Set(lost)], redone, lineage };
}
