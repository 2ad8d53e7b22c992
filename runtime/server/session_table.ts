/**
 * The live Noise sessions: at most one per clinic (a new handshake, i.e. a reconnect,
 * retires the clinic's old session), each with a queue that lets one request at a time
 * use its channel — a request's frames and its reply's frames take consecutive counters
 * (Noise rev 34 §5.1: one nonce per message, in order), while other sessions go on.
 *
 * @example
 * ```ts
 * import { SessionTable } from "./session_table.ts";
 * const t = new SessionTable();
 * console.log(t.get("00ff"), t.hasClinic("a")); // undefined false
 * ```
 * @module
 */
import type { SecureChannel } from "../../crypto/channel/mod.ts";

/**
 * One clinic's live session.
 *
 * @example
 * ```ts
 * import type { Session } from "./session_table.ts";
 * function who(s: Session) { return s.clinic; }
 * ```
 */
export interface Session {
  clinic: string;
  channel: SecureChannel;
  /** Settles when this session's current request has sent its whole reply (one at a time). */
  queue: Promise<void>;
}

/**
 * A request's place in its session's queue.
 *
 * @example
 * ```ts
 * import type { QueueTurn } from "./session_table.ts";
 * async function run(t: QueueTurn) { await t.ready; t.release(); }
 * ```
 */
export interface QueueTurn {
  /** Resolves when every earlier request of the session has sent its reply. */
  ready: Promise<void>;
  /** Lets the next request go (call exactly once, also when this one fails). */
  release: () => void;
}

/**
 * Sessions by hex session id.
 *
 * @example
 * ```ts
 * import { SessionTable } from "./session_table.ts";
 * const t = new SessionTable();
 * t.closeAll();
 * console.log(t.hasClinic("a")); // false
 * ```
 */
export class SessionTable {
  readonly #sessions = new Map<string, Session>();

  /** Opens session `id` of `clinic`, retiring (and destroying) the clinic's previous one. */
  open(id: string, clinic: string, channel: SecureChannel): Session {
    for (const [sid, s] of this.#sessions) {
      if (s.clinic === clinic) {
        s.channel.destroy();
        this.#sessions.delete(sid);
      }
    }
    const session: Session = { clinic, channel, queue: Promise.resolve() };
    this.#sessions.set(id, session);
    return session;
  }

  /** The session with id `id`, if it is live. */
  get(id: string): Session | undefined {
    return this.#sessions.get(id);
  }

  /** Whether `session` is still the live session `id` (not replaced by a reconnect). */
  isLive(id: string, session: Session): boolean {
    return this.#sessions.get(id) === session;
  }

  /** Whether `clinic` has a live session. */
  hasClinic(clinic: string): boolean {
    for (const s of this.#sessions.values()) if (s.clinic === clinic) return true;
    return false;
  }

  /**
   * Queues a request on `session`: it may use the channel once `ready` resolves, and must
   * `release` when its reply has left (or it failed).
   */
  enqueue(session: Session): QueueTurn {
    let release!: () => void;
    const mine = new Promise<void>((r) => (release = r));
    const ready = session.queue;
    session.queue = ready.then(() => mine);
    return { ready, release };
  }

  /** Destroys every session's channel and forgets them. */
  closeAll(): void {
    for (const s of this.#sessions.values()) s.channel.destroy();
    this.#sessions.clear();
  }
}
