/**
 * Handshake patterns of Noise rev 34 as data: the one-way patterns (§7.4),
 * the fundamental interactive patterns (§7.5), the deferred patterns (§18.2),
 * and the "pskN" modifiers (§9.2).
 *
 * @module
 */
import { NoiseError } from "../errors.ts";

/** A token of a message pattern (§7.1) — including "psk" (§9). */
export type Token = "e" | "s" | "ee" | "es" | "se" | "ss" | "psk";

/**
 * A handshake pattern: pre-message tokens for each side and the message
 * patterns in order (even index: initiator → responder).
 *
 * @example
 * ```ts
 * import { getPattern } from "./patterns.ts";
 * const ik = getPattern("IK");
 * console.assert(ik.messages.length === 2 && ik.responderPre.join() === "s");
 * ```
 */
export interface HandshakePattern {
  /** Pattern name including modifiers, e.g. `"IKpsk2"`. */
  readonly name: string;
  /** Pre-message tokens known to the responder beforehand (initiator's keys). */
  readonly initiatorPre: readonly ("e" | "s")[];
  /** Pre-message tokens known to the initiator beforehand (responder's keys). */
  readonly responderPre: readonly ("e" | "s")[];
  /** Message patterns; message i is sent by the initiator when i is even (or always, if one-way). */
  readonly messages: readonly (readonly Token[])[];
  /** One-way patterns (§7.4): only the initiator ever sends. */
  readonly oneWay: boolean;
  /** Whether any "psk" token occurs (§9.2 changes how "e" is processed). */
  readonly hasPsk: boolean;
  /** Number of "psk" tokens, i.e. the number of PSKs the parties must supply. */
  readonly pskCount: number;
}

// Compact notation: pre-messages "initiator|responder", then messages separated by ";".
// Transcribed from the pattern listings of §7.4, §7.5 and §18.2.
const BASE: Readonly<Record<string, string>> = {
  // §7.4 one-way
  N: "|s; e es",
  K: "s|s; e es ss",
  X: "|s; e es s ss",
  // §7.5 interactive
  NN: "|; e; e ee",
  NK: "|s; e es; e ee",
  NX: "|; e; e ee s es",
  KN: "s|; e; e ee se",
  KK: "s|s; e es ss; e ee se",
  KX: "s|; e; e ee se s es",
  XN: "|; e; e ee; s se",
  XK: "|s; e es; e ee; s se",
  XX: "|; e; e ee s es; s se",
  IN: "|; e s; e ee se",
  IK: "|s; e es s ss; e ee se",
  IX: "|; e s; e ee se s es",
  // §18.2 deferred
  NK1: "|s; e; e ee es",
  NX1: "|; e; e ee s; es",
  X1N: "|; e; e ee; s; se",
  X1K: "|s; e es; e ee; s; se",
  XK1: "|s; e; e ee es; s se",
  X1K1: "|s; e; e ee es; s; se",
  X1X: "|; e; e ee s es; s; se",
  XX1: "|; e; e ee s; es s se",
  X1X1: "|; e; e ee s; es s; se",
  K1N: "s|; e; e ee; se",
  K1K: "s|s; e es; e ee; se",
  KK1: "s|s; e; e ee se es",
  K1K1: "s|s; e; e ee es; se",
  K1X: "s|; e; e ee s es; se",
  KX1: "s|; e; e ee se s; es",
  K1X1: "s|; e; e ee s; se es",
  I1N: "|; e s; e ee; se",
  I1K: "|s; e es s; e ee; se",
  IK1: "|s; e s; e ee se es",
  I1K1: "|s; e s; e ee es; se",
  I1X: "|; e s; e ee s es; se",
  IX1: "|; e s; e ee se s; es",
  I1X1: "|; e s; e ee s; se es",
};

const ONE_WAY = new Set(["N", "K", "X"]);

/**
 * Names of all base patterns this module knows (without modifiers).
 *
 * @example
 * ```ts
 * import { BASE_PATTERNS } from "./patterns.ts";
 * console.assert(BASE_PATTERNS.includes("XX"));
 * ```
 */
export const BASE_PATTERNS: readonly string[] = Object.freeze(Object.keys(BASE));

function splitTokens(s: string): string[] {
  return s.trim() === "" ? [] : s.trim().split(/\s+/);
}

/**
 * Builds a handshake pattern from a name like `"XX"`, `"IKpsk2"` or `"NNpsk0+psk2"`.
 *
 * §9.2: "psk0" puts a "psk" token at the start of the first message, "pskN"
 * (N ≥ 1) at the end of message N. Other modifiers (e.g. "fallback") are not
 * supported.
 *
 * @throws {NoiseError} `UNSUPPORTED_PROTOCOL` for an unknown pattern or modifier.
 * @example
 * ```ts
 * import { getPattern } from "./patterns.ts";
 * const p = getPattern("IKpsk2");
 * console.assert(p.messages[1].join(" ") === "e ee se psk" && p.pskCount === 1);
 * ```
 */
export function getPattern(name: string): HandshakePattern {
  const m = /^([A-Z][A-Z0-9]*?)((?:psk\d+|fallback)(?:\+(?:psk\d+|fallback))*)?$/.exec(name);
  const baseName = m?.[1];
  if (m === null || baseName === undefined || !Object.hasOwn(BASE, baseName)) {
    throw new NoiseError("UNSUPPORTED_PROTOCOL", `unsupported handshake pattern "${name}"`);
  }
  const [pre, ...msgs] = BASE[baseName].split(";");
  const [ipre, rpre] = pre.split("|");
  const messages: Token[][] = msgs.map((s) => splitTokens(s) as Token[]);
  let pskCount = 0;
  const modifiers = m[2] ? m[2].split("+") : [];
  for (const mod of modifiers) {
    const pm = /^psk(\d+)$/.exec(mod);
    if (pm === null) {
      throw new NoiseError("UNSUPPORTED_PROTOCOL", `unsupported pattern modifier "${mod}"`);
    }
    const pos = Number(pm[1]);
    if (pos > messages.length) {
      throw new NoiseError(
        "UNSUPPORTED_PROTOCOL",
        `modifier "${mod}" needs message ${pos}, but ${baseName} has ${messages.length}`,
      );
    }
    if (pos === 0) messages[0].unshift("psk");
    else messages[pos - 1].push("psk");
    pskCount++;
  }
  return Object.freeze({
    name,
    initiatorPre: Object.freeze(splitTokens(ipre) as ("e" | "s")[]),
    responderPre: Object.freeze(splitTokens(rpre) as ("e" | "s")[]),
    messages: Object.freeze(messages.map((t) => Object.freeze(t))),
    oneWay: ONE_WAY.has(baseName),
    hasPsk: pskCount > 0,
    pskCount,
  });
}
