/**
 * The live Noise sessions: per clinic at most one proven session and one candidate, each
 * with a queue that lets one request at a time use its channel — a request's frames and
 * its reply's frames take consecutive counters (Noise rev 34 §5.1: one nonce per message,
 * in order), while other sessions go on.
 *
 * A new handshake (a reconnect) opens a candidate and leaves the clinic's proven session
 * alone: only the candidate's first authenticated transport frame, which only the holder of
 * the handshake's ephemeral key can produce, proves it and retires the old session. A
 * replayed handshake message 1 (Noise rev 34 §7.7) yields a candidate that never proves
 * itself, so it no longer knocks the clinic off (docs/design/security_model.md). A newer candidate replaces an
 * older one. A retired session's channel is destroyed once the request it is serving has
 * sent its reply, never under that reply.
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
  /** Whether a transport frame has been authenticated on it (a candidate until then). */
  proven: boolean;
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

  /**
   * Opens session `id` of `clinic` as a candidate: it replaces the clinic's previous
   * candidate, and the clinic's proven session stays until {@linkcode SessionTable.prove}.
   */
  open(id: string, clinic: string, channel: SecureChannel): Session {
    for (const [sid, s] of this.#sessions) {
      if (s.clinic === clinic && !s.proven) this.#retire(sid, s);
    }
    const session: Session = { clinic, channel, queue: Promise.resolve(), proven: false };
    this.#sessions.set(id, session);
    return session;
  }

  /**
   * Marks `session` (id `id`) proven, once a transport frame authenticated on it, and
   * retires the clinic's other sessions. Does nothing for a proven or retired session.
   */
  prove(id: string, session: Session): void {
    if (session.proven || !this.isLive(id, session)) return;
    session.proven = true;
    for (const [sid, s] of this.#sessions) {
      if (s.clinic === session.clinic && s !== session) this.#retire(sid, s);
    }
  }

  /** Forgets `s`; destroys its channel once its current request's reply has left. */
  #retire(id: string, s: Session): void {
    this.#sessions.delete(id);
    void s.queue.then(() => s.channel.destroy());
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
