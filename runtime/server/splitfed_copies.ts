/**
 * The server's per-clinic copies of its segment in `splitfed` (SFLV1, Thapa et al., AAAI 2022,
 * Algorithm 1: the main server keeps one server-side model per client and replaces them all
 * by their weighted average at the end of each round). One {@linkcode ServerModel} (one set of
 * engine sessions) serves every copy: before a clinic's step the model's state is swapped to
 * that clinic's copy (`exportState`/`loadState`: parameters, buffers and optimizer state), so
 * the copies cost memory, not sessions. A clinic's first step of a round starts from the
 * round's shared state.
 *
 * At the round's end the copies of the clinics that completed the round are averaged, each
 * weighted by the samples it trained on that round (`runtime/train/state_average.ts`), and
 * the model holds the average; a checkpoint is only written then, so no copy need be saved.
 *
 * @example
 * ```ts
 * import { SplitfedCopies } from "./splitfed_copies.ts";
 * import type { ServerModel } from "./server_model.ts";
 * async function stepAs(copies: SplitfedCopies, clinic: string) { await copies.use(clinic); }
 * ```
 * @module
 */
import type { Tensor } from "../../models/tensor.ts";
import { averageStates } from "../train/state_average.ts";
import type { ServerModel } from "./server_model.ts";

/**
 * Per-clinic copies of the server segment over one model.
 *
 * @example
 * ```ts
 * import { SplitfedCopies } from "./splitfed_copies.ts";
 * import type { ServerModel } from "./server_model.ts";
 * function make(model: ServerModel) { return new SplitfedCopies(model); }
 * ```
 */
export class SplitfedCopies {
  readonly #model: ServerModel;
  /** Whose copy the model holds now (null: the round's shared state). */
  #active: string | null = null;
  /** The state at the round's start (taken when the first copy diverges). */
  #base: Map<string, Tensor> | null = null;
  readonly #copies = new Map<string, Map<string, Tensor>>();

  constructor(model: ServerModel) {
    this.#model = model;
  }

  /** Whose copy the model holds (null: the shared state). */
  get active(): string | null {
    return this.#active;
  }

  /** Makes the model hold `clinic`'s copy (its round so far, or the round's start). */
  async use(clinic: string): Promise<void> {
    if (this.#active === clinic) return;
    await this.#model.settle();
    const current = this.#model.exportState();
    if (this.#active === null) this.#base = current;
    else this.#copies.set(this.#active, current);
    this.#model.loadState(this.#copies.get(clinic) ?? this.#base!, { keepPending: true });
    this.#active = clinic;
  }

  /**
   * Ends the round: the model holds the average of the copies of `weights`' clinics (by
   * samples; clinics with 0 samples or without a copy left out), or the round's start when
   * none trained. Returns the clinics averaged.
   */
  async average(weights: ReadonlyMap<string, number>): Promise<string[]> {
    await this.#model.settle();
    if (this.#active === null) return []; // no step this round: the model is the round's start
    this.#copies.set(this.#active, this.#model.exportState());
    // In the order of `weights` (the turn order), so the sum's rounding does not hang on arrival order.
    const parts = [...weights].filter(([c, w]) => w > 0 && this.#copies.has(c)).map(([c]) =>
      [c, this.#copies.get(c)!] as const
    );
    this.#model.loadState(
      parts.length > 0
        ? averageStates(parts.map(([c, state]) => ({ state, weight: weights.get(c)! })))
        : this.#base!,
    );
    this.#copies.clear();
    this.#base = null;
    this.#active = null;
    return parts.map(([c]) => c);
  }

  /** Forgets every copy (the model's state is superseded, e.g. by a restored checkpoint). */
  clear(): void {
    this.#copies.clear();
    this.#base = null;
    this.#active = null;
  }
}
