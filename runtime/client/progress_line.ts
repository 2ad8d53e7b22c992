/**
 * The clinic's progress on a terminal: one line rewritten in place during a turn (round,
 * step/steps, the turn's ETA, loss, bytes sent and received), and the other events as plain
 * lines above it. Not on a terminal, `deno task client` prints plain lines instead (one per
 * turn, or per step with `--verbose`), and with `--events json` one JSON object per event.
 *
 * The line is redrawn with a carriage return and "erase line" (ECMA-48 EL, `CSI 2 K`).
 *
 * @example
 * ```ts
 * import { ProgressLine } from "./progress_line.ts";
 * const out: string[] = [];
 * let now = 0;
 * const p = new ProgressLine((s) => out.push(s), () => now);
 * const ev = { clinic: "a", bytesUp: 2 ** 20, bytesDown: 2 ** 20 };
 * p.event({ ...ev, t: 0, kind: "turn", round: 0, epoch: 0, part: 0, parts: 1, steps: 4, imported: null });
 * now = 1000;
 * p.event({ ...ev, t: 1000, kind: "step", round: 0, step: 1, steps: 4, loss: 0.5 });
 * console.log(JSON.stringify(out.at(-1))); // "\r\u001b[2K[a] round 0 step 1/4 (25%)  ETA 3 s  loss 0.5000  ↑ 1.0 MiB ↓ 1.0 MiB"
 * ```
 * @module
 */
import { formatClinicEvent } from "./clinic.ts";
import type { ClinicEventRecord } from "./clinic_event_line.ts";

const ERASE = "\r\x1b[2K";

/** `12 s`, `3 min 4 s`, `1 h 2 min`. */
function duration(s: number): string {
  const r = Math.round(s);
  if (r < 60) return `${r} s`;
  if (r < 3600) return `${Math.floor(r / 60)} min ${r % 60} s`;
  return `${Math.floor(r / 3600)} h ${Math.floor((r % 3600) / 60)} min`;
}

const mib = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;

/**
 * The renderer.
 *
 * @example
 * ```ts
 * import { ProgressLine } from "./progress_line.ts";
 * const p = new ProgressLine((s) => Deno.stdout.writeSync(new TextEncoder().encode(s)));
 * ```
 */
export class ProgressLine {
  readonly #write: (s: string) => void;
  readonly #now: () => number;
  #turnStart: number | null = null;
  #drawn = false;

  /** @param write gets the raw text (no newline added); @param now the clock, ms */
  constructor(write: (s: string) => void, now: () => number = () => Date.now()) {
    this.#write = write;
    this.#now = now;
  }

  /** Shows an event. */
  event(e: ClinicEventRecord): void {
    if (e.kind === "step") return this.#step(e);
    if (e.kind === "turn") this.#turnStart = this.#now();
    this.#write((this.#drawn ? ERASE : "") + formatClinicEvent(e.clinic, e) + "\n");
    this.#drawn = false;
  }

  /** Ends a drawn progress line (before other output). */
  end(): void {
    if (this.#drawn) this.#write("\n");
    this.#drawn = false;
  }

  #step(e: Extract<ClinicEventRecord, { kind: "step" }>): void {
    const elapsed = this.#turnStart === null ? 0 : (this.#now() - this.#turnStart) / 1000;
    // The turn's mean step time so far: the first steps include warm-up, so the ETA falls.
    const eta = e.step > 0 && elapsed > 0 ? `  ETA ${duration((elapsed / e.step) * (e.steps - e.step))}` : "";
    this.#write(
      `${ERASE}[${e.clinic}] round ${e.round} step ${e.step}/${e.steps} (${Math.floor((100 * e.step) / e.steps)}%)${eta}  ` +
        `loss ${e.loss.toFixed(4)}  ↑ ${mib(e.bytesUp)} ↓ ${mib(e.bytesDown)}`,
    );
    this.#drawn = true;
  }
}
