/**
 * HandshakeState of Noise rev 34 §5.3, with PSK handling of §9.
 *
 * @module
 */
import { NoiseError } from "../errors.ts";
import { type CipherState, TAGLEN } from "./cipher_state.ts";
import type { CipherBackend, NoiseCipher } from "./cipher_functions.ts";
import { getNoiseCipher } from "./cipher_select.ts";
import { dh, DHLEN, generateKeyPair, type KeyPair } from "./dh.ts";
import { parseProtocolName, type Protocol } from "./protocol_name.ts";
import { SymmetricState } from "./symmetric_state.ts";

/** §3: a Noise message is at most 65535 bytes. */
export const MAX_MESSAGE_LENGTH = 65535;
/** §9: a PSK is 32 bytes. */
export const PSK_LENGTH = 32;

/**
 * Initialize() arguments of §5.3.
 *
 * @example
 * ```ts
 * import type { HandshakeOptions } from "./handshake_state.ts";
 * const opts: HandshakeOptions = { protocolName: "Noise_NN_25519_ChaChaPoly_SHA256", initiator: true };
 * ```
 */
export interface HandshakeOptions {
  /** e.g. `"Noise_IK_25519_ChaChaPoly_SHA256"`. */
  protocolName: string;
  /** Whether this party is the initiator. */
  initiator: boolean;
  /** Prologue (§6); must be identical on both sides. Default: empty. */
  prologue?: Uint8Array;
  /** Local static key pair `s`. */
  staticKeyPair?: KeyPair;
  /**
   * Fixed local ephemeral key pair `e`. For test vectors only: reusing an
   * ephemeral key across handshakes destroys Noise's security. Default: a
   * fresh key pair is generated when the pattern's "e" token is written.
   */
  ephemeralKeyPair?: KeyPair;
  /** The remote party's static public key `rs`, when known in advance (pre-message). */
  remoteStaticKey?: Uint8Array;
  /** The remote ephemeral public key `re`, for patterns with an "e" pre-message. */
  remoteEphemeralKey?: Uint8Array;
  /** Pre-shared keys, 32 bytes each, in the order the "psk" tokens occur (§9). */
  psks?: readonly Uint8Array[];
  /**
   * Which implementation of the protocol's cipher seals transport messages after Split():
   * `"native"` (default: `node:crypto`, or `@noble/ciphers` with a warning on stderr where the
   * native one fails its self-test) or `"noble"`. Handshake messages always use @noble.
   */
  transport?: CipherBackend;
}

/**
 * Result of a finished handshake: the transport CipherStates and the handshake hash.
 *
 * @example
 * ```ts
 * import type { HandshakeResult } from "./handshake_state.ts";
 * function bind(r: HandshakeResult) { return r.handshakeHash; }
 * ```
 */
export interface HandshakeResult {
  /** CipherState for sending; `null` for the responder of a one-way pattern (§7.4). */
  readonly send: CipherState | null;
  /** CipherState for receiving; `null` for the initiator of a one-way pattern. */
  readonly receive: CipherState | null;
  /** GetHandshakeHash() (§5.2, §11.2): a channel binding value, unique per session. */
  readonly handshakeHash: Uint8Array;
  /** The peer's static public key, if the pattern transmitted or pre-shared it. */
  readonly remoteStaticKey: Uint8Array | null;
}

function copyKeyPair(kp: KeyPair, what: string): KeyPair {
  if (
    kp === null || typeof kp !== "object" || !(kp.publicKey instanceof Uint8Array) ||
    !(kp.secretKey instanceof Uint8Array) || kp.publicKey.length !== DHLEN ||
    kp.secretKey.length !== DHLEN
  ) {
    throw new NoiseError("INVALID_KEY", `${what} must be {publicKey, secretKey} of ${DHLEN} bytes`);
  }
  return { publicKey: kp.publicKey.slice(), secretKey: kp.secretKey.slice() };
}

function copyKey(k: Uint8Array, what: string, len = DHLEN): Uint8Array {
  if (!(k instanceof Uint8Array) || k.length !== len) {
    throw new NoiseError("INVALID_KEY", `${what} must be ${len} bytes`);
  }
  return k.slice();
}

/**
 * A Noise HandshakeState (§5.3): drives one handshake message by message.
 *
 * After any error the state is dead (`INVALID_STATE` on further use), as
 * §5.3 asks: "If any error is signaled … the handshake has failed".
 *
 * @example
 * ```ts
 * import { HandshakeState } from "./handshake_state.ts";
 * const name = "Noise_NN_25519_ChaChaPoly_BLAKE2s";
 * const i = new HandshakeState({ protocolName: name, initiator: true });
 * const r = new HandshakeState({ protocolName: name, initiator: false });
 * r.readMessage(i.writeMessage(new Uint8Array(0)));
 * i.readMessage(r.writeMessage(new Uint8Array(0)));
 * const a = i.split(), b = r.split();
 * const ct = a.send!.encryptWithAd(new Uint8Array(0), Uint8Array.of(42));
 * console.assert(b.receive!.decryptWithAd(new Uint8Array(0), ct)[0] === 42);
 * ```
 */
export class HandshakeState {
  /** The parsed protocol. */
  readonly protocol: Protocol;
  /** Whether this party is the initiator. */
  readonly initiator: boolean;
  readonly #ss: SymmetricState;
  #s: KeyPair | null;
  #e: KeyPair | null;
  #fixedE: KeyPair | null;
  #rs: Uint8Array | null;
  #re: Uint8Array | null;
  readonly #psks: Uint8Array[];
  #pskIndex = 0;
  #messageIndex = 0;
  #failed = false;
  #result: HandshakeResult | null = null;
  readonly #transport: NoiseCipher;

  /**
   * Initialize(handshake_pattern, initiator, prologue, s, e, rs, re) of §5.3.
   *
   * @throws {NoiseError} `UNSUPPORTED_PROTOCOL`, `MISSING_KEY` (a key the pattern needs is
   *   absent), `INVALID_KEY`, `PSK_MISMATCH` (wrong number of PSKs).
   */
  constructor(options: HandshakeOptions) {
    this.protocol = parseProtocolName(options.protocolName);
    this.initiator = options.initiator === true;
    const p = this.protocol.pattern;
    this.#s = options.staticKeyPair ? copyKeyPair(options.staticKeyPair, "static key pair") : null;
    this.#fixedE = options.ephemeralKeyPair
      ? copyKeyPair(options.ephemeralKeyPair, "ephemeral key pair")
      : null;
    this.#e = null;
    this.#rs = options.remoteStaticKey
      ? copyKey(options.remoteStaticKey, "remote static key")
      : null;
    this.#re = options.remoteEphemeralKey
      ? copyKey(options.remoteEphemeralKey, "remote ephemeral key")
      : null;
    const psks = options.psks ?? [];
    if (psks.length !== p.pskCount) {
      throw new NoiseError(
        "PSK_MISMATCH",
        `pattern ${p.name} needs ${p.pskCount} PSK(s), got ${psks.length}`,
      );
    }
    this.#psks = psks.map((k, i) => copyKey(k, `psk ${i}`, PSK_LENGTH));

    const myPre = this.initiator ? p.initiatorPre : p.responderPre;
    const theirPre = this.initiator ? p.responderPre : p.initiatorPre;
    const sendsS = p.messages.some((m, i) => this.#isMine(i) && m.includes("s"));
    if ((myPre.includes("s") || sendsS) && this.#s === null) {
      throw new NoiseError("MISSING_KEY", `pattern ${p.name} needs a local static key pair`);
    }
    if (theirPre.includes("s") && this.#rs === null) {
      throw new NoiseError("MISSING_KEY", `pattern ${p.name} needs the remote static key`);
    }
    if (myPre.includes("e")) {
      if (this.#fixedE === null) {
        throw new NoiseError("MISSING_KEY", `pattern ${p.name} needs a local ephemeral key`);
      }
      this.#e = this.#fixedE;
      this.#fixedE = null;
    }
    if (theirPre.includes("e") && this.#re === null) {
      throw new NoiseError("MISSING_KEY", `pattern ${p.name} needs the remote ephemeral key`);
    }

    // @noble for the handshake; the transport cipher is chosen (and, if native,
    // self-tested) here, before any message, so a fallback is reported at start-up.
    this.#transport = getNoiseCipher(this.protocol.cipher, options.transport ?? "native");
    this.#ss = new SymmetricState(
      this.protocol.hash,
      this.protocol.name,
      getNoiseCipher(this.protocol.cipher, "noble"),
    );
    this.#ss.mixHash(options.prologue ?? new Uint8Array(0));
    // §7.1: pre-message public keys are hashed, initiator's first.
    const preKeys = (
      tokens: readonly ("e" | "s")[],
      local: boolean,
    ) => {
      for (const t of tokens) {
        const key = t === "s"
          ? (local ? this.#s!.publicKey : this.#rs!)
          : (local ? this.#e!.publicKey : this.#re!);
        this.#ss.mixHash(key);
        // §9.2: in a PSK handshake every "e" (pre-message too) is followed by MixKey(e.public_key).
        if (t === "e" && p.hasPsk) this.#ss.mixKey(key);
      }
    };
    preKeys(p.initiatorPre, this.initiator);
    preKeys(p.responderPre, !this.initiator);
  }

  /** Whether message `i` is written by this party. */
  #isMine(i: number): boolean {
    const initiatorSends = this.protocol.pattern.oneWay || i % 2 === 0;
    return initiatorSends === this.initiator;
  }

  /**
   * Whether the handshake has finished (all messages written or read).
   *
   * @example
   * ```ts
   * import { HandshakeState } from "./handshake_state.ts";
   * const i = new HandshakeState({ protocolName: "Noise_NN_25519_ChaChaPoly_SHA256", initiator: true });
   * console.assert(!i.isComplete);
   * ```
   */
  get isComplete(): boolean {
    return this.#result !== null;
  }

  /**
   * Whether it is this party's turn to call {@link HandshakeState.writeMessage}.
   *
   * @example
   * ```ts
   * import { HandshakeState } from "./handshake_state.ts";
   * const i = new HandshakeState({ protocolName: "Noise_NN_25519_ChaChaPoly_SHA256", initiator: true });
   * console.assert(i.isMyTurn);
   * ```
   */
  get isMyTurn(): boolean {
    return this.#result === null && !this.#failed && this.#isMine(this.#messageIndex);
  }

  /**
   * The handshake hash `h` so far (final once complete).
   *
   * @example
   * ```ts
   * import { HandshakeState } from "./handshake_state.ts";
   * const i = new HandshakeState({ protocolName: "Noise_NN_25519_ChaChaPoly_SHA256", initiator: true });
   * console.assert(i.handshakeHash.length === 32);
   * ```
   */
  get handshakeHash(): Uint8Array {
    return this.#result?.handshakeHash.slice() ?? this.#ss.handshakeHash;
  }

  /**
   * The peer's static public key `rs`, once known.
   *
   * @example
   * ```ts
   * import { HandshakeState } from "./handshake_state.ts";
   * const i = new HandshakeState({ protocolName: "Noise_NN_25519_ChaChaPoly_SHA256", initiator: true });
   * console.assert(i.remoteStaticKey === null);
   * ```
   */
  get remoteStaticKey(): Uint8Array | null {
    return this.#rs?.slice() ?? null;
  }

  /**
   * WriteMessage(payload, message_buffer) of §5.3: returns the message bytes.
   *
   * @throws {NoiseError} `INVALID_STATE` when it is not this party's turn,
   *   `MESSAGE_TOO_LARGE` when the message would exceed 65535 bytes (§3),
   *   `LOW_ORDER_POINT` when a DH hits a low-order peer key.
   * @example
   * ```ts
   * import { HandshakeState } from "./handshake_state.ts";
   * const i = new HandshakeState({ protocolName: "Noise_NN_25519_ChaChaPoly_SHA256", initiator: true });
   * console.assert(i.writeMessage(Uint8Array.of(1, 2)).length === 32 + 2);
   * ```
   */
  writeMessage(payload: Uint8Array = new Uint8Array(0)): Uint8Array {
    this.#assertTurn(true);
    try {
      const p = this.protocol.pattern;
      const parts: Uint8Array[] = [];
      for (const token of p.messages[this.#messageIndex]) {
        switch (token) {
          case "e": {
            this.#e = this.#fixedE ?? generateKeyPair();
            this.#fixedE = null;
            parts.push(this.#e.publicKey.slice());
            this.#ss.mixHash(this.#e.publicKey);
            if (p.hasPsk) this.#ss.mixKey(this.#e.publicKey);
            break;
          }
          case "s":
            parts.push(this.#ss.encryptAndHash(this.#s!.publicKey));
            break;
          case "psk":
            this.#mixPsk();
            break;
          default:
            this.#mixDh(token);
        }
      }
      const overhead = parts.reduce((n, x) => n + x.length, 0) +
        (this.#ss.hasKey() ? TAGLEN : 0);
      if (overhead + payload.length > MAX_MESSAGE_LENGTH) {
        throw new NoiseError(
          "MESSAGE_TOO_LARGE",
          `handshake message would be ${
            overhead + payload.length
          } bytes; the limit is ${MAX_MESSAGE_LENGTH}`,
        );
      }
      parts.push(this.#ss.encryptAndHash(payload));
      const out = new Uint8Array(parts.reduce((n, x) => n + x.length, 0));
      let off = 0;
      for (const x of parts) {
        out.set(x, off);
        off += x.length;
      }
      this.#advance();
      return out;
    } catch (e) {
      this.#fail();
      throw e;
    }
  }

  /**
   * ReadMessage(message, payload_buffer) of §5.3: returns the decrypted payload.
   *
   * @throws {NoiseError} `INVALID_STATE` when it is not this party's turn,
   *   `MESSAGE_TOO_LARGE`, `MALFORMED_MESSAGE` (too short), `BAD_TAG`,
   *   `LOW_ORDER_POINT`.
   * @example
   * ```ts
   * import { HandshakeState } from "./handshake_state.ts";
   * const name = "Noise_NN_25519_ChaChaPoly_SHA256";
   * const i = new HandshakeState({ protocolName: name, initiator: true });
   * const r = new HandshakeState({ protocolName: name, initiator: false });
   * console.assert(r.readMessage(i.writeMessage(Uint8Array.of(7)))[0] === 7);
   * ```
   */
  readMessage(message: Uint8Array): Uint8Array {
    this.#assertTurn(false);
    try {
      if (!(message instanceof Uint8Array)) {
        throw new TypeError(`handshake message must be a Uint8Array, got ${typeof message}`);
      }
      if (message.length > MAX_MESSAGE_LENGTH) {
        throw new NoiseError(
          "MESSAGE_TOO_LARGE",
          `handshake message is ${message.length} bytes; the limit is ${MAX_MESSAGE_LENGTH}`,
        );
      }
      const p = this.protocol.pattern;
      let off = 0;
      const take = (n: number, what: string): Uint8Array => {
        if (off + n > message.length) {
          throw new NoiseError(
            "MALFORMED_MESSAGE",
            `handshake message ${this.#messageIndex} is too short for ${what}`,
          );
        }
        const out = message.subarray(off, off + n);
        off += n;
        return out;
      };
      for (const token of p.messages[this.#messageIndex]) {
        switch (token) {
          case "e": {
            this.#re = take(DHLEN, "an ephemeral key").slice();
            this.#ss.mixHash(this.#re);
            if (p.hasPsk) this.#ss.mixKey(this.#re);
            break;
          }
          case "s": {
            const len = DHLEN + (this.#ss.hasKey() ? TAGLEN : 0);
            this.#rs = this.#ss.decryptAndHash(take(len, "a static key"));
            break;
          }
          case "psk":
            this.#mixPsk();
            break;
          default:
            this.#mixDh(token);
        }
      }
      if (this.#ss.hasKey() && message.length - off < TAGLEN) {
        throw new NoiseError(
          "MALFORMED_MESSAGE",
          `handshake message ${this.#messageIndex} is too short for its payload tag`,
        );
      }
      const payload = this.#ss.decryptAndHash(message.subarray(off));
      this.#advance();
      return payload;
    } catch (e) {
      this.#fail();
      throw e;
    }
  }

  /**
   * The transport CipherStates from Split() (§5.2) once the handshake is complete.
   *
   * @throws {NoiseError} `INVALID_STATE` before completion.
   * @example
   * ```ts
   * import { HandshakeState } from "./handshake_state.ts";
   * const i = new HandshakeState({ protocolName: "Noise_NN_25519_ChaChaPoly_SHA256", initiator: true });
   * try { i.split(); } catch (e) { console.assert((e as { code: string }).code === "INVALID_STATE"); }
   * ```
   */
  split(): HandshakeResult {
    if (this.#result === null) {
      throw new NoiseError("INVALID_STATE", "handshake is not complete");
    }
    return this.#result;
  }

  /**
   * Wipes all secrets held by the handshake (local key copies, ephemeral
   * key, chaining key). Transport CipherStates already handed out by
   * {@link HandshakeState.split} are not affected.
   *
   * @example
   * ```ts
   * import { HandshakeState } from "./handshake_state.ts";
   * new HandshakeState({ protocolName: "Noise_NN_25519_ChaChaPoly_SHA256", initiator: true }).destroy();
   * ```
   */
  destroy(): void {
    this.#wipeSecrets();
    if (this.#result === null) this.#failed = true;
  }

  #mixPsk(): void {
    const psk = this.#psks[this.#pskIndex++];
    this.#ss.mixKeyAndHash(psk);
  }

  /** §5.3 DH tokens; "es"/"se" name (initiator key, responder key). */
  #mixDh(token: "ee" | "es" | "se" | "ss"): void {
    const need = <T>(v: T | null, what: string): T => {
      if (v === null) throw new NoiseError("MISSING_KEY", `token "${token}" needs ${what}`);
      return v;
    };
    let out: Uint8Array;
    if (token === "ee") {
      out = dh(need(this.#e, "e"), need(this.#re, "re"));
    } else if (token === "ss") {
      out = dh(need(this.#s, "s"), need(this.#rs, "rs"));
    } else {
      // "es": initiator's e with responder's s; "se": initiator's s with responder's e.
      const mineIsEphemeral = (token === "es") === this.initiator;
      out = mineIsEphemeral
        ? dh(need(this.#e, "e"), need(this.#rs, "rs"))
        : dh(need(this.#s, "s"), need(this.#re, "re"));
    }
    this.#ss.mixKey(out);
    out.fill(0);
  }

  #assertTurn(writing: boolean): void {
    if (this.#failed) {
      throw new NoiseError("INVALID_STATE", "handshake has failed or was destroyed");
    }
    if (this.#result !== null) throw new NoiseError("INVALID_STATE", "handshake is complete");
    if (this.#isMine(this.#messageIndex) !== writing) {
      throw new NoiseError(
        "INVALID_STATE",
        `message ${this.#messageIndex} must be ${writing ? "read" : "written"} by this party`,
      );
    }
  }

  #advance(): void {
    this.#messageIndex++;
    if (this.#messageIndex < this.protocol.pattern.messages.length) return;
    const handshakeHash = this.#ss.handshakeHash;
    const [c1, c2] = this.#ss.split(this.#transport);
    let send: CipherState | null = this.initiator ? c1 : c2;
    let receive: CipherState | null = this.initiator ? c2 : c1;
    if (this.protocol.pattern.oneWay) {
      // §7.4: in one-way patterns the responder never sends; drop the unused key.
      if (this.initiator) {
        receive!.destroy();
        receive = null;
      } else {
        send!.destroy();
        send = null;
      }
    }
    this.#result = Object.freeze({
      send,
      receive,
      handshakeHash,
      remoteStaticKey: this.#rs?.slice() ?? null,
    });
    this.#wipeSecrets();
  }

  #fail(): void {
    this.#failed = true;
    this.#wipeSecrets();
  }

  #wipeSecrets(): void {
    this.#s?.secretKey.fill(0);
    this.#e?.secretKey.fill(0);
    this.#fixedE?.secretKey.fill(0);
    for (const k of this.#psks) k.fill(0);
    this.#ss.destroy();
  }
}
