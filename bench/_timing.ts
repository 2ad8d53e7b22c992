/**
 * Timing and memory helpers shared by the benchmarks under `bench/`: order statistics of
 * repeated timings, a resident-set-size sampler, and a plain-text table. Benchmarks print
 * figures; nothing here passes or fails on time.
 *
 * @example
 * ```ts
 * import { summarize } from "./_timing.ts";
 * const s = summarize([12.1, 11.8, 12.4, 30.0]);
 * console.log(s.median, s.min, s.max); // 12.25 11.8 30
 * ```
 * @module
 */

import process from "node:process";

/** Order statistics of a set of timings (same unit as the input, usually ms). */
export interface Summary {
  /** Number of samples. */
  n: number;
  /** The middle value (mean of the two middle ones for an even count). */
  median: number;
  /** Arithmetic mean. */
  mean: number;
  /** Smallest sample. */
  min: number;
  /** Largest sample. */
  max: number;
  /** First quartile (linear interpolation between order statistics, as NumPy's default). */
  q1: number;
  /** Third quartile. */
  q3: number;
}

/** The `p`-quantile of already sorted `s` (NumPy's default "linear" method). */
function quantile(s: readonly number[], p: number): number {
  const h = (s.length - 1) * p;
  const lo = Math.floor(h), hi = Math.ceil(h);
  return s[lo] + (s[hi] - s[lo]) * (h - lo);
}

/**
 * Summarizes timings: median, mean, extremes and quartiles. The median is what the
 * benchmarks report, because one descheduled step on a shared machine moves the mean a lot
 * and the median hardly at all; the quartiles show the spread.
 *
 * @throws {RangeError} when `xs` is empty or holds a value that is not finite
 * @example
 * ```ts
 * import { summarize } from "./_timing.ts";
 * summarize([3, 1, 2]).median; // 2
 * ```
 */
export function summarize(xs: readonly number[]): Summary {
  if (xs.length === 0) throw new RangeError("summarize: expected at least one sample, got none");
  for (const x of xs) {
    if (!Number.isFinite(x)) throw new RangeError(`summarize: samples must be finite numbers, got ${x}`);
  }
  const s = [...xs].sort((a, b) => a - b);
  return {
    n: s.length,
    median: quantile(s, 0.5),
    mean: s.reduce((a, b) => a + b, 0) / s.length,
    min: s[0],
    max: s[s.length - 1],
    q1: quantile(s, 0.25),
    q3: quantile(s, 0.75),
  };
}

/**
 * Runs `fn` and returns its result with the elapsed wall-clock milliseconds
 * (`performance.now()`, which has sub-millisecond resolution with `--allow-hrtime` or
 * Deno 2's default high-resolution timer).
 *
 * @example
 * ```ts
 * import { timed } from "./_timing.ts";
 * const { value, ms } = await timed(() => Promise.resolve(42));
 * console.log(value, ms >= 0); // 42 true
 * ```
 */
export async function timed<T>(fn: () => T | Promise<T>): Promise<{ value: T; ms: number }> {
  const t0 = performance.now();
  const value = await fn();
  return { value, ms: performance.now() - t0 };
}

/**
 * The kernel's high-water mark of this process's resident set, in bytes: `ru_maxrss` of
 * `getrusage(2)` (through `node:process`'s `resourceUsage()`, which reports it in KiB), the
 * largest RSS the process ever had, including what ran before a sampler started and what
 * happened between its samples. It is the same quantity Python's
 * `resource.getrusage(RUSAGE_SELF).ru_maxrss` reports, so the figures compare like for like.
 * (`/proc/self/status`'s `VmHWM` holds the same number, but Deno lets only `--allow-all`
 * read `/proc/self`.) `undefined` where the runtime does not provide it.
 *
 * @example
 * ```ts
 * import { kernelPeakRss } from "./_timing.ts";
 * console.log(kernelPeakRss()); // e.g. 187236352
 * ```
 */
export function kernelPeakRss(): number | undefined {
  try {
    const kib = process.resourceUsage().maxRSS;
    return Number.isFinite(kib) && kib > 0 ? kib * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Samples `Deno.memoryUsage().rss` (the process's *current* resident set size: every
 * page of the process in RAM, so V8's heap, WebAssembly memories, native allocations of
 * addons such as onnxruntime-node, and the threads of workers all count) on a timer and on
 * every explicit {@linkcode RssSampler.sample} call, keeping the largest value.
 *
 * The timer only fires when the event loop is free: during a synchronous WebAssembly run
 * it does not, which is why benchmarks also call `sample()` right after each step.
 *
 * @example
 * ```ts
 * import { RssSampler } from "./_timing.ts";
 * const rss = new RssSampler(5);
 * const big = new Float32Array(1 << 24).fill(1); // 64 MiB touched
 * rss.sample();
 * console.log(rss.stop() > big.byteLength); // true
 * ```
 */
export class RssSampler {
  #peak = 0;
  #timer: ReturnType<typeof setInterval> | undefined;

  /** @param intervalMs milliseconds between timer samples (0: no timer, explicit samples only) */
  constructor(intervalMs = 10) {
    this.sample();
    if (intervalMs > 0) {
      const timer = setInterval(() => this.sample(), intervalMs);
      // Do not keep the process alive for the sampler alone.
      Deno.unrefTimer(timer);
      this.#timer = timer;
    }
  }

  /** Takes one sample now. */
  sample(): void {
    const r = Deno.memoryUsage().rss;
    if (r > this.#peak) this.#peak = r;
  }

  /** The largest sample so far, in bytes. */
  get peak(): number {
    return this.#peak;
  }

  /** Takes a last sample, stops the timer and returns the peak in bytes. */
  stop(): number {
    this.sample();
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    return this.#peak;
  }
}

/**
 * Formats rows as a left-aligned plain-text table with a header rule.
 *
 * @example
 * ```ts
 * import { formatTable } from "./_timing.ts";
 * console.log(formatTable(["engine", "ms"], [["wasm", "12.0"], ["native", "5.1"]]));
 * // engine  ms
 * // ------  ----
 * // wasm    12.0
 * // native  5.1
 * ```
 */
export function formatTable(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (r: readonly string[]) => r.map((c, i) => (c ?? "").padEnd(widths[i])).join("  ").trimEnd();
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}

/**
 * Formats a byte count in MiB with one decimal.
 *
 * @example
 * ```ts
 * import { mib } from "./_timing.ts";
 * mib(3 * 1024 * 1024); // "3.0 MiB"
 * ```
 */
export function mib(bytes: number | undefined): string {
  return bytes === undefined ? "n/a" : `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}
