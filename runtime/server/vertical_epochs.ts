/**
 * The server's side of vertical checkpoints and resume (docs/design/vertical.md, "Checkpoints
 * and resume"): two barriers over all the study's parties.
 *
 * - `V_RESUME {epoch}`: each party reports its last checkpointed epoch; once all have, the
 *   agreed epoch is the smallest, and the server puts its top back to its own checkpoint of
 *   that epoch (or keeps its fresh top at 0). Every side then starts at the same epoch
 *   boundary: the steps of an epoch cut short are dropped everywhere and run once more, none
 *   is applied twice.
 * - `V_EPOCH_END {epoch}`: once every party finished the epoch, the server writes its
 *   checkpoint (`runtime/server/vertical_checkpoint.ts`); the parties write theirs after the
 *   reply, so the server's is never behind a party's.
 *
 * @example
 * ```ts
 * import { VerticalEpochs } from "./vertical_epochs.ts";
 * // const epochs = new VerticalEpochs(server, ["hospital", "pharmacy"], "/var/lib/splitgate/vertical", console.log);
 * // const agreed = await epochs.resume("hospital", 2);
 * ```
 * @module
 */
import { ProtocolError } from "../protocol/protocol_error.ts";
import { checkpointedEpochs, loadEpoch, saveEpoch } from "./vertical_checkpoint.ts";
import type { VerticalServer } from "./vertical_step.ts";

/** The server's checkpoint file in each `epoch-<N>` folder. */
export const VERTICAL_SERVER_FILE = "vertical_server.npz";

/** One barrier: every party's value, then one outcome for all. */
interface Rendezvous<T> {
  got: Map<string, number>;
  done: Promise<T>;
  open: (values: Map<string, number>) => void;
}

/**
 * Resume and epoch-end barriers of one vertical server.
 *
 * @example
 * ```ts
 * import { VerticalEpochs } from "./vertical_epochs.ts";
 * console.log(typeof VerticalEpochs.prototype.resume); // "function"
 * ```
 */
export class VerticalEpochs {
  readonly #barriers = new Map<string, Rendezvous<number>>();

  /**
   * @param server the study's server
   * @param parties every party's name (the barrier waits for all)
   * @param dir the checkpoint folder (none: nothing is written, and a resume starts at 0)
   * @param log operator lines (epochs, no data)
   */
  constructor(
    readonly server: VerticalServer,
    readonly parties: readonly string[],
    readonly dir: string | undefined,
    readonly log: (line: string) => void,
  ) {}

  #meet(
    key: string,
    party: string,
    value: number,
    run: (v: Map<string, number>) => Promise<number>,
  ): Promise<number> {
    let b = this.#barriers.get(key);
    if (!b) {
      let open!: (v: Map<string, number>) => void;
      const gate = new Promise<Map<string, number>>((r) => open = r);
      b = { got: new Map(), done: gate.then(run), open };
      b.done.catch(() => {});
      this.#barriers.set(key, b);
    }
    if (b.got.has(party)) throw new ProtocolError("BAD_MESSAGE", `${party} sent ${key} twice`);
    b.got.set(party, value);
    if (b.got.size === this.parties.length) {
      this.#barriers.delete(key);
      b.open(b.got);
    }
    return b.done;
  }

  /**
   * Party `party` resumes from its epoch `epoch`; resolves with the epoch all resume from.
   *
   * @throws {ProtocolError} `WRONG_EPOCH` when the server has no checkpoint of the agreed
   *   epoch, or a live server with steps applied is asked to start afresh
   */
  resume(party: string, epoch: number): Promise<number> {
    checkEpoch(epoch);
    return this.#meet("resume", party, epoch, async (v) => {
      const want = Math.min(...v.values());
      const held = this.dir ? await checkpointedEpochs(this.dir, VERTICAL_SERVER_FILE) : [];
      const agreed = [0, ...held].filter((e) => e <= want).at(-1)!;
      if (agreed > 0) {
        const meta = await loadEpoch(this.dir!, agreed, VERTICAL_SERVER_FILE, [this.server.slot])
          .catch((e) => {
            throw new ProtocolError(
              "WRONG_EPOCH",
              `resume at epoch ${agreed}: ${(e as Error).message}`,
            );
          });
        this.server.rolledBack(Number(meta.steps) || 0);
      } else if (this.server.steps > 0) {
        throw new ProtocolError(
          "WRONG_EPOCH",
          `the parties resume at epoch 0 but this server applied ${this.server.steps} steps and holds no checkpoint: restart it`,
        );
      }
      this.log(
        [...v].every(([, e]) => e === 0) ? "no party holds a checkpoint: training starts at epoch 1" : `resume: parties at epochs ${
          [...v].map(([p, e]) => `${p} ${e}`).join(", ")
        }; all start after epoch ${agreed}`,
      );
      return agreed;
    });
  }

  /**
   * Party `party` finished epoch `epoch`; resolves once every party did and the server's
   * checkpoint of it is written.
   *
   * @throws {ProtocolError} `BAD_MESSAGE` for an epoch that is not an integer ≥ 0, or a repeat
   */
  async epochEnd(party: string, epoch: number): Promise<void> {
    checkEpoch(epoch);
    await this.#meet(`epoch end ${epoch}`, party, epoch, async () => {
      if (this.dir) {
        await saveEpoch(this.dir, epoch, VERTICAL_SERVER_FILE, [this.server.slot], {
          steps: this.server.steps,
        });
        this.log(`epoch ${epoch}: server checkpoint written (${this.server.steps} steps)`);
      }
      return epoch;
    });
  }
}

function checkEpoch(epoch: number): void {
  if (!Number.isSafeInteger(epoch) || epoch < 0) {
    throw new ProtocolError("BAD_MESSAGE", `epoch ${epoch}: expected an integer ≥ 0`);
  }
}
