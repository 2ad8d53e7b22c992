/**
 * Where the trainers of the scale-out keep their round partials (docs/design/scale_out.md:
 * object store `<study>-rounds`, names `round/<r>/<trainer>-<n>`): a small put/get/list
 * interface, so the round logic (`replica_rounds.ts`) runs the same against the JetStream
 * object store ({@linkcode objectRoundStore}) and, in tests, against memory
 * ({@linkcode MemoryRoundStore}). Partials are written once and never changed.
 *
 * @example
 * ```ts
 * import { MemoryRoundStore } from "./round_store.ts";
 * const s = new MemoryRoundStore();
 * await s.put("round/0/t1-0", new Uint8Array([1]));
 * console.log(await s.list("round/0/")); // ["round/0/t1-0"]
 * ```
 * @module
 */
import type { ObjectStore } from "@nats-io/obj";

/**
 * Named immutable blobs.
 *
 * @example
 * ```ts
 * import type { RoundStore } from "./round_store.ts";
 * async function has(s: RoundStore, name: string) { return (await s.get(name)) !== null; }
 * ```
 */
export interface RoundStore {
  /** Stores `bytes` under `name` (replacing nothing: names are unique). */
  put(name: string, bytes: Uint8Array): Promise<void>;
  /** The bytes stored under `name`, or null. */
  get(name: string): Promise<Uint8Array | null>;
  /** The names that start with `prefix`, sorted. */
  list(prefix: string): Promise<string[]>;
  /** Deletes `name` (old partials); none: partials are kept. */
  delete?(name: string): Promise<void>;
}

/**
 * A {@linkcode RoundStore} in memory (tests; several trainers in one process share one).
 *
 * @example
 * ```ts
 * import { MemoryRoundStore } from "./round_store.ts";
 * console.log(await new MemoryRoundStore().get("x")); // null
 * ```
 */
export class MemoryRoundStore implements RoundStore {
  readonly #blobs = new Map<string, Uint8Array>();

  put(name: string, bytes: Uint8Array): Promise<void> {
    this.#blobs.set(name, bytes.slice());
    return Promise.resolve();
  }

  get(name: string): Promise<Uint8Array | null> {
    return Promise.resolve(this.#blobs.get(name)?.slice() ?? null);
  }

  list(prefix: string): Promise<string[]> {
    return Promise.resolve([...this.#blobs.keys()].filter((k) => k.startsWith(prefix)).sort());
  }

  delete(name: string): Promise<void> {
    this.#blobs.delete(name);
    return Promise.resolve();
  }
}

/**
 * A {@linkcode RoundStore} over a JetStream object store (`@nats-io/obj`: `putBlob`,
 * `getBlob`, `list`, `delete`; deleted entries are skipped).
 *
 * @example
 * ```ts
 * import { objectRoundStore } from "./round_store.ts";
 * // const store = objectRoundStore(await link.objm.open(names.rounds));
 * ```
 */
export function objectRoundStore(os: ObjectStore): RoundStore {
  return {
    async put(name, bytes) {
      await os.putBlob({ name }, bytes);
    },
    async get(name) {
      return await os.getBlob(name);
    },
    async list(prefix) {
      const all = await os.list();
      return all.filter((i) => !i.deleted && i.name.startsWith(prefix)).map((i) => i.name).sort();
    },
    async delete(name) {
      await os.delete(name);
    },
  };
}
