/**
 * The bounded adversary of the soak test (docs/design/security_model.md): an attacker on loopback that
 * talks to the server directly while two honest clinics train through a recording proxy
 * (`recording_proxy.ts`). It holds a third allowlisted clinic key ("an insider gateway") and
 * an on-path view of the honest traffic, and does what an adversarial review found:
 *
 * - `poison` (part 1): in its own turn, STEPs of finite activations ×1e6 and ×1e20;
 * - `forged-blob` (part 4): TURN_DONEs whose "sealed weights" are random bytes, or envelopes
 *   that claim another clinic as sender;
 * - `slow-body` (part 3): a `/msg` body trickled one byte at a time, on its own session and on
 *   an honest clinic's session (the id travels in the URL);
 * - `handshake-replay` (part 2): captured handshake message 1s of the honest clinics, again;
 * - `frame-replay`: captured sealed `/msg` bodies of the honest clinics, again.
 *
 * It never ends its turn (it cannot seal honest weights), so the server skips it after
 * `turnTimeoutMs`. It is bounded by a number of actions and a deadline, and it tallies each
 * refusal by attack and code.
 * @module
 */
import {
  openChunked,
  sealChunked,
  type SecureChannel,
} from "../../crypto/channel/mod.ts";
import type { KeyPair } from "../../crypto/keys/key_pair.ts";
import { generateKeyPair } from "../../crypto/noise/dh.ts";
import { sealEnvelope } from "../../crypto/seal/sealed_envelope.ts";
import { type Tensor, tensor } from "../../models/tensor.ts";
import {
  APP_FRAME_TYPE,
  CLINIC_HEADER,
  decodeMessage,
  encodeMessage,
  type Message,
  packFrames,
  type RequestMessage,
  unpackFrames,
} from "../../runtime/protocol/mod.ts";
import { postHandshake } from "../../runtime/client/http_handshake.ts";
import type { Captured } from "./recording_proxy.ts";
import { trickle } from "../runtime/server/trickle_body.ts";

/** The attacks, as tallied. */
export type Attack = "poison" | "forged-blob" | "slow-body" | "handshake-replay" | "frame-replay";

/** Options of {@linkcode runAdversary}. */
export interface AdversaryOptions {
  /** The server's own URL (the adversary is on loopback, beside the proxy). */
  server: string;
  serverPublicKey: Uint8Array;
  /** Its allowlisted clinic name and key. */
  name: string;
  keyPair: KeyPair;
  /** The honest clinics (the recipients a TURN_DONE must seal to). */
  honest: string[];
  /** Per-sample shape of the cut activation. */
  cutDims: readonly number[];
  /** What the proxy captured so far (read as it grows). */
  captured: Captured;
  /** Stop once this says so (the honest clinics finished). */
  done: () => boolean;
  maxActions: number;
  deadlineMs: number;
}

/** What the adversary did and how the server answered. */
export interface AdversaryReport {
  actions: number;
  /** `attack code` → count, e.g. `poison OUT_OF_RANGE` → 2 (`code` is the HTTP status when not JSON). */
  refused: Map<string, number>;
  /** Answers that were not refusals (an attack that got through), as `attack status`. */
  accepted: string[];
}

/** Runs the adversary until `done()`, its deadline or its action budget. */
export async function runAdversary(o: AdversaryOptions): Promise<AdversaryReport> {
  const a = new Adversary(o);
  await a.turnAttacks();
  const slow = [a.slowBody(o.name)];
  await a.replayLoop(slow);
  await Promise.all(slow);
  return a.report;
}

class Adversary {
  readonly report: AdversaryReport = { actions: 0, refused: new Map(), accepted: [] };
  readonly #t0 = Date.now();
  #channel!: SecureChannel;
  #session = "";
  constructor(readonly o: AdversaryOptions) {}

  #budgetLeft(): boolean {
    return this.report.actions < this.o.maxActions && Date.now() - this.#t0 < this.o.deadlineMs;
  }

  /** Sends one attack request and tallies the answer; true when the server accepted it. */
  async #act(attack: Attack, send: () => Promise<Response>): Promise<boolean> {
    this.report.actions++;
    const res = await send();
    const text = await res.text();
    if (res.ok) {
      this.report.accepted.push(`${attack} ${res.status}`);
      return true;
    }
    let code = String(res.status);
    try {
      code = JSON.parse(text).error.code;
    } catch { /* not a JSON refusal: keep the status */ }
    const key = `${attack} ${code}`;
    this.report.refused.set(key, (this.report.refused.get(key) ?? 0) + 1);
    return false;
  }

  #post(body: BodyInit, session = this.#session, clinic = this.o.name): Promise<Response> {
    return fetch(`${this.o.server}/v1/session/${session}/msg`, {
      method: "POST",
      body,
      headers: { [CLINIC_HEADER]: clinic },
    });
  }

  #sealed(msg: RequestMessage): Uint8Array<ArrayBuffer> {
    return packFrames(sealChunked(this.#channel, APP_FRAME_TYPE, encodeMessage(msg))) as Uint8Array<
      ArrayBuffer
    >;
  }

  async #connect(): Promise<void> {
    const { channel, session } = await postHandshake({
      url: `${this.o.server}/v1/handshake`,
      keyPair: this.o.keyPair,
      serverPublicKey: this.o.serverPublicKey,
      what: "adversary handshake",
    });
    this.#channel = channel;
    this.#session = session;
  }

  async #send(msg: RequestMessage): Promise<Message> {
    const res = await this.#post(this.#sealed(msg));
    if (res.status !== 200) {
      throw new Error(`adversary ${msg.type}: ${res.status} ${await res.text()}`);
    }
    const frames = unpackFrames(new Uint8Array(await res.arrayBuffer()));
    return decodeMessage(openChunked(this.#channel, frames).payload);
  }

  /** Its own turn: poisoned steps, then TURN_DONEs with random and misattributed blobs. */
  async turnAttacks(): Promise<void> {
    await this.#connect();
    const turn = await this.#send({ type: "TURN_REQUEST" });
    if (turn.type !== "TURN" || !turn.yours) {
      throw new Error(`adversary: expected the first turn, got ${JSON.stringify(turn)}`);
    }
    // A step the server wrongly accepts moves the next one's id on, so that with a defence
    // removed the later attacks still reach the checks they are aimed at.
    let lastStepId: string | null = null, next = 0;
    for (const k of [1e6, 1e20]) {
      const stepId = `${turn.epoch}:${next}`;
      const step = {
        type: "STEP",
        stepId,
        epoch: turn.epoch,
        activation: scaledActivation(this.o.cutDims, 8, k),
        labels: halfLabels(8),
      } as const;
      if (await this.#act("poison", () => this.#post(this.#sealed(step)))) {
        (lastStepId = stepId), next++;
      }
    }
    const done = (blob: (to: string) => Uint8Array) =>
      ({
        type: "TURN_DONE",
        epoch: turn.epoch,
        lastStepId,
        sealedWeights: Object.fromEntries(this.o.honest.map((to) => [to, blob(to)])),
      }) as const;
    const random = () => crypto.getRandomValues(new Uint8Array(2048));
    // Sealed by the adversary's own key but claiming an honest clinic as its sender.
    const claimed = (to: string) =>
      sealEnvelope({
        sender: generateKeyPair(),
        recipientPublicKey: generateKeyPair().publicKey,
        header: {
          sender: this.o.honest.find((h) => h !== to)!,
          recipient: to,
          run: new Uint8Array(32),
          epoch: turn.epoch,
          seq: 1,
        },
        plaintext: new Uint8Array(512),
      });
    await this.#act("forged-blob", () => this.#post(this.#sealed(done(random))));
    await this.#act("forged-blob", () => this.#post(this.#sealed(done(claimed))));
  }

  /** A body trickled to `/msg` of `session` (its own by default) until the server answers. */
  async slowBody(clinic: string, session = this.#session): Promise<void> {
    const slow = trickle(100);
    try {
      await this.#act("slow-body", () => this.#post(slow.body, session, clinic));
    } finally {
      slow.stop();
    }
  }

  /** Replays what the proxy captures, a few times each, until stopped. */
  async replayLoop(slow: Promise<void>[]): Promise<void> {
    const { captured } = this.o;
    let hs = 0, fr = 0, onPath = false;
    while (!this.o.done() && this.#budgetLeft()) {
      if (hs < captured.handshakes.length * 3) {
        const m1 = captured.handshakes[Math.floor(hs++ / 3)];
        await this.#act(
          "handshake-replay",
          () => fetch(`${this.o.server}/v1/handshake`, { method: "POST", body: m1 }),
        );
      }
      if (fr < captured.frames.length) {
        const f = captured.frames[fr++];
        await this.#act("frame-replay", () => this.#post(f.body, f.session, f.clinic));
        if (!onPath) {
          onPath = true; // one on-path trickle on an honest session, beside the honest traffic
          slow.push(this.slowBody(f.clinic, f.session));
        }
        fr += 2; // every third frame: the replays stay few beside the honest traffic
      }
      await new Promise((r) => setTimeout(r, 150));
    }
  }
}

/** A finite activation batch of `n` samples in [-1, 1), scaled by `k`. */
function scaledActivation(cutDims: readonly number[], n: number, k: number): Tensor<"float32"> {
  const dims = [n, ...cutDims];
  const d = new Float32Array(dims.reduce((x, y) => x * y, 1));
  for (let i = 0; i < d.length; i++) d[i] = (((i * 2654435761) >>> 0) / 2 ** 32 * 2 - 1) * k;
  return tensor("float32", dims, d);
}

function halfLabels(n: number): Tensor<"float32"> {
  return tensor("float32", [n, 1], Float32Array.from({ length: n }, (_, i) => i % 2));
}
