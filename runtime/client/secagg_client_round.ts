/**
 * Secure aggregation at a round's end, clinic side: runs this clinic's `SecAggClient`
 * (crypto/secagg/) against the server's `SecAggRound` (runtime/server/secagg_round.ts) by
 * polling through the encrypted channel. Two halves, so that the weights and the static key
 * stay on the raw side while only the courier talks to the network:
 *
 * - a {@linkcode SecAggStepper} holds the `SecAggClient`, the weights and the sample count
 *   (the raw side; {@linkcode localSecAggStepper} in one process, or an RPC to the raw side
 *   whose messages cross as `encodeSecAggMessage` bytes);
 * - {@linkcode runSecAggClientRound} polls (the courier): `exchange` sends one payload in the
 *   channel and returns the server's answer (see docs/design/secure_aggregation.md#runtime).
 *
 * The clinic learns the round's average (every clinic starts the next round from it) and
 * whether its own weights are in it; a clinic that missed a phase is dropped from the sum but
 * still gets the average. A round refused below the threshold throws its `SecAggError`
 * (`BELOW_THRESHOLD`): the caller retries with the next round number.
 *
 * @example
 * ```ts
 * import { localSecAggStepper, runSecAggClientRound } from "./secagg_client_round.ts";
 * import { generateKeyPair } from "../../crypto/noise/dh.ts";
 * import { encodeSecAggReply } from "../protocol/secagg_payload.ts";
 * const refuse = () => Promise.resolve(encodeSecAggReply({ round: 1, status: "refused", code: "BELOW_THRESHOLD", text: "2 of 4" }));
 * try {
 *   const stepper = localSecAggStepper({ name: "a", keyPair: generateKeyPair(), peerKey: () => undefined,
 *     study: "s", round: 1, weights: new Float32Array(4), samples: 10 });
 *   await runSecAggClientRound({ exchange: refuse, stepper, name: "a", round: 1 });
 * } catch (e) {
 *   console.log((e as { code: string }).code); // BELOW_THRESHOLD
 * }
 * ```
 * @module
 */
import { SecAggClient, type SecAggClientOptions } from "../../crypto/secagg/secagg_client.ts";
import {
  SECAGG_ERROR_CODES,
  SecAggError,
  type SecAggErrorCode,
} from "../../crypto/secagg/secagg_error.ts";
import type { SecAggMessage } from "../../crypto/secagg/secagg_messages.ts";
import {
  decodeSecAggReply,
  encodeSecAggPoll,
  type SecAggReply,
  type SecAggWant,
} from "../protocol/secagg_payload.ts";

/**
 * The raw side's half of a round: the clinic's `SecAggClient` with its weights. Async, so it may
 * be a remote call to the raw-side process.
 *
 * @example
 * ```ts
 * import { localSecAggStepper, type SecAggStepper } from "./secagg_client_round.ts";
 * import { generateKeyPair } from "../../crypto/noise/dh.ts";
 * const s: SecAggStepper = localSecAggStepper({ name: "a", keyPair: generateKeyPair(), peerKey: () => undefined,
 *   study: "s", round: 1, weights: new Float32Array(4), samples: 10 });
 * console.log((await s.start()).type); // advertise
 * ```
 */
export interface SecAggStepper {
  /** The clinic's first message of the round (`advertise`). */
  start(): Promise<SecAggMessage>;
  /** One server message in; what to send next (nothing for a clinic listed as dropped) and what to wait for. */
  next(m: SecAggMessage): Promise<{ out?: SecAggMessage; want: SecAggWant }>;
}

/**
 * What {@link localSecAggStepper} needs: the `SecAggClient` options, this clinic's weights
 * (flattened, the length the server expects) and the number of samples behind them.
 *
 * @example
 * ```ts
 * import type { LocalStepperOptions } from "./secagg_client_round.ts";
 * import { generateKeyPair } from "../../crypto/noise/dh.ts";
 * const o: LocalStepperOptions = { name: "a", keyPair: generateKeyPair(), peerKey: () => undefined,
 *   study: "s", round: 1, weights: new Float32Array(4), samples: 10 };
 * ```
 */
export interface LocalStepperOptions extends SecAggClientOptions {
  weights: Float32Array;
  samples: number;
}

/**
 * A {@link SecAggStepper} in this process: what the raw side runs behind its RPC.
 *
 * @example
 * ```ts
 * import { localSecAggStepper } from "./secagg_client_round.ts";
 * import { generateKeyPair } from "../../crypto/noise/dh.ts";
 * const s = localSecAggStepper({ name: "a", keyPair: generateKeyPair(), peerKey: () => undefined,
 *   study: "s", round: 1, weights: new Float32Array(4), samples: 10 });
 * console.log((await s.start()).type); // advertise
 * ```
 */
export function localSecAggStepper(o: LocalStepperOptions): SecAggStepper {
  const c = new SecAggClient(o);
  return {
    start: () => Promise.resolve(c.advertise()),
    next: (m) => Promise.resolve(step(c, o, m)),
  };
}

/**
 * What {@link runSecAggClientRound} needs: the channel exchange, the raw side's stepper, this
 * clinic's name, the round, and the polling pace.
 *
 * @example
 * ```ts
 * import { localSecAggStepper, type SecAggClientRoundOptions } from "./secagg_client_round.ts";
 * import { generateKeyPair } from "../../crypto/noise/dh.ts";
 * const stepper = localSecAggStepper({ name: "a", keyPair: generateKeyPair(), peerKey: () => undefined,
 *   study: "s", round: 1, weights: new Float32Array(4), samples: 10 });
 * const o: SecAggClientRoundOptions = { exchange: async (b) => b, stepper, name: "a", round: 1 };
 * ```
 */
export interface SecAggClientRoundOptions {
  /** Sends one poll payload through the encrypted channel and returns the server's reply payload. */
  exchange: (payload: Uint8Array) => Promise<Uint8Array>;
  /** The raw side's half. */
  stepper: SecAggStepper;
  /** This clinic's key name. */
  name: string;
  /** The round the stepper was made for. */
  round: number;
  /** Pause between polls while the server waits for others, in ms (default 100). */
  pollMs?: number;
  /** Give up after this long, in ms (default 300 000). */
  timeoutMs?: number;
}

/**
 * What a clinic takes from a completed round.
 *
 * @example
 * ```ts
 * import type { SecAggClientRoundResult } from "./secagg_client_round.ts";
 * const r: SecAggClientRoundResult = { average: new Float32Array(4), included: true };
 * ```
 */
export interface SecAggClientRoundResult {
  readonly average: Float32Array;
  /** Whether this clinic's weights are in the average. */
  readonly included: boolean;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function refusal(r: Extract<SecAggReply, { status: "refused" }>): SecAggError {
  const code = (SECAGG_ERROR_CODES as readonly string[]).includes(r.code)
    ? r.code as SecAggErrorCode
    : "MALFORMED_MESSAGE";
  return new SecAggError(code, `server refused secure aggregation round ${r.round}: ${r.text}`);
}

/**
 * Takes one server message: runs the client's next step and returns what to send and wait for
 * next (a clinic listed as dropped sends nothing more and waits for the result).
 */
function step(
  c: SecAggClient,
  o: LocalStepperOptions,
  m: SecAggMessage,
): { out?: SecAggMessage; want: SecAggWant } {
  if (m.type === "roster") return { out: c.shareKeys(m), want: "relay" };
  if (m.type === "relay") return { out: c.maskedInput(m, o.weights, o.samples), want: "unmask" };
  if (m.type === "unmask") {
    return m.dropped.includes(o.name) ? { want: "done" } : { out: c.unmask(m), want: "done" };
  }
  throw new SecAggError("MALFORMED_MESSAGE", `server sent a ${m.type} message to a clinic`);
}

/**
 * Runs this clinic's side of one round (see the module notes).
 *
 * @throws {SecAggError} the server's refusal (`BELOW_THRESHOLD`, …), this clinic's own refusal
 *   of what the server relayed (`SHARE_FORGED`, `UNKNOWN_CLINIC`, …), or `OUT_OF_ORDER` after
 *   `timeoutMs`
 * @example
 * ```ts
 * // tests/runtime/server/secagg_round_test.ts runs rounds with clinics in one process.
 * ```
 */
export async function runSecAggClientRound(
  o: SecAggClientRoundOptions,
): Promise<SecAggClientRoundResult> {
  const deadline = Date.now() + (o.timeoutMs ?? 300_000);
  let out: SecAggMessage | undefined = await o.stepper.start();
  let want: SecAggWant = "roster";
  let included = true;
  while (true) {
    const reply = decodeSecAggReply(
      await o.exchange(encodeSecAggPoll({ round: o.round, want, message: out })),
    );
    if (reply.round !== o.round && reply.status !== "refused") {
      throw new SecAggError(
        "MALFORMED_MESSAGE",
        `reply of round ${reply.round} to a poll of round ${o.round}`,
      );
    }
    if (reply.status === "refused") throw refusal(reply);
    if (reply.status === "done") {
      return { average: reply.average, included: included && reply.included.includes(o.name) };
    }
    if (reply.status !== "early") out = undefined; // the server has it
    if (reply.status === "late") want = "done", included = false;
    if (reply.status === "message") {
      const next = await o.stepper.next(reply.message);
      out = next.out, want = next.want, included &&= next.out !== undefined;
      continue;
    }
    if (Date.now() > deadline) {
      throw new SecAggError(
        "OUT_OF_ORDER",
        `secure aggregation round ${o.round} did not finish within ${o.timeoutMs ?? 300_000} ms`,
      );
    }
    await sleep(o.pollMs ?? 100);
  }
}
