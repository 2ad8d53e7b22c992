/**
 * Phase timing of a request (`bench:split --profile`): the middleware starts a
 * {@linkcode RequestTimer} when the request arrives and hands it to the route as
 * `c.var.timer`; the route marks its phases on it (the wait for the session, reading and
 * opening, decoding, handling, sealing). A server built without a profile gets a disabled
 * one: each mark is then one branch, and nothing is recorded.
 *
 * Only phase names and milliseconds are recorded, never contents.
 *
 * @example
 * ```ts
 * import { Hono } from "hono";
 * import { PhaseProfile } from "../../protocol/phase_profile.ts";
 * import { phaseTiming, type PhaseTimingEnv } from "./phase_timing.ts";
 * const profile = new PhaseProfile(true);
 * const app = new Hono<PhaseTimingEnv>().get("/", phaseTiming(profile), (c) => {
 *   c.var.timer.started();
 *   c.var.timer.sinceStart("work");
 *   return c.text("ok");
 * });
 * await app.request("/");
 * console.log(profile.rows().map((r) => r.phase)); // ["server /msg wait for the session", "work"]
 * ```
 * @module
 */
import type { MiddlewareHandler } from "hono";
import { PhaseProfile } from "../../protocol/phase_profile.ts";

/** The profile of a server built without one: records nothing. */
const NO_PROFILE = new PhaseProfile(false);

/**
 * The clock of one request.
 *
 * @example
 * ```ts
 * import { RequestTimer } from "./phase_timing.ts";
 * import { PhaseProfile } from "../../protocol/phase_profile.ts";
 * const t = new RequestTimer(new PhaseProfile(true));
 * t.started();
 * const open = t.meter();
 * open.time(() => 1 + 1);
 * t.profile.add("open", open.ms);
 * console.log(t.profile.rows().length); // 2
 * ```
 */
export class RequestTimer {
  readonly profile: PhaseProfile;
  readonly #arrived: number;
  #start = 0;

  /** Starts the clock: the request has arrived. */
  constructor(profile: PhaseProfile) {
    this.profile = profile;
    this.#arrived = profile.enabled ? performance.now() : 0;
  }

  /** Whether anything is recorded. */
  get enabled(): boolean {
    return this.profile.enabled;
  }

  /** The request's turn on its session came: records the wait, starts the request's own clock. */
  started(): void {
    if (!this.enabled) return;
    this.#start = performance.now();
    this.profile.add("server /msg wait for the session", this.#start - this.#arrived);
  }

  /** Adds the time since {@linkcode RequestTimer.started} to `phase`. */
  sinceStart(phase: string): void {
    if (this.enabled) this.profile.add(phase, performance.now() - this.#start);
  }

  /** A meter that sums the durations of many short calls (e.g. opening each frame). */
  meter(): { time<T>(fn: () => T): T; readonly ms: number } {
    const enabled = this.enabled;
    let ms = 0;
    return {
      time<T>(fn: () => T): T {
        if (!enabled) return fn();
        const t = performance.now();
        try {
          return fn();
        } finally {
          ms += performance.now() - t;
        }
      },
      get ms() {
        return ms;
      },
    };
  }
}

/**
 * Hono environment of a route behind {@linkcode phaseTiming}.
 *
 * @example
 * ```ts
 * import type { PhaseTimingEnv } from "./phase_timing.ts";
 * import type { Context } from "hono";
 * function timer(c: Context<PhaseTimingEnv>) { return c.var.timer; }
 * ```
 */
export type PhaseTimingEnv = { Variables: { timer: RequestTimer } };

/**
 * The middleware: sets `c.var.timer`, a {@linkcode RequestTimer} started on arrival.
 *
 * @example
 * ```ts
 * import { phaseTiming } from "./phase_timing.ts";
 * const off = phaseTiming(undefined); // records nothing
 * ```
 */
export const phaseTiming = (profile: PhaseProfile | undefined): MiddlewareHandler<PhaseTimingEnv> =>
  async function phaseTiming(c, next) {
    c.set("timer", new RequestTimer(profile ?? NO_PROFILE));
    await next();
  };
