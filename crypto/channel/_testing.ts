/**
 * Test seams of the secure channel, kept out of the production API: no `mod.ts` re-exports
 * this module, and neither {@link ChannelOptions} nor the handshake options can reach what it
 * does. Tests import it by path (see `tests/crypto/channel/channel_pair.ts`).
 *
 * The one seam: a channel whose first send counter is not 0, so that nonce exhaustion
 * (Noise rev 34 §5.1: nonce 2^64-1 is reserved) can be tested without sealing 2^64 frames.
 * A fixed ephemeral key, the other classic seam, stays on `HandshakeState` only, where the
 * Noise test-vector runner (`crypto/noise/vectors.ts`) needs it.
 *
 * @example
 * ```ts
 * import { startSendCounterAt } from "./_testing.ts";
 * import { initiatorHandshake, responderHandshake } from "./handshake.ts";
 * import { generateStaticKeyPair } from "../keys/key_pair.ts";
 * const server = generateStaticKeyPair();
 * const hs = initiatorHandshake({ staticKeyPair: generateStaticKeyPair(),
 *   serverPublicKey: server.publicKey, channel: { rekeyInterval: 0 } });
 * const r = responderHandshake({ staticKeyPair: server, lookupPeer: () => ({ name: "c" }),
 *   channel: { rekeyInterval: 0 } }, hs.message1);
 * const clinic = hs.finish(r.message2);
 * startSendCounterAt(clinic, 2n ** 64n - 2n);
 * clinic.seal(1, new Uint8Array(0)); // the last usable counter, 2^64-2
 * try {
 *   clinic.seal(1, new Uint8Array(0));
 * } catch (e) {
 *   console.log((e as { code: string }).code); // "NONCE_EXHAUSTED"
 * }
 * ```
 * @module
 */
import type { ChannelOptions } from "./secure_channel.ts";

export { _startSendCounterAt as startSendCounterAt } from "./secure_channel.ts";

/**
 * Channel options plus the test-only first send counter (see {@link startSendCounterAt}).
 *
 * @example
 * ```ts
 * import type { TestChannelOptions } from "./_testing.ts";
 * const o: TestChannelOptions = { rekeyInterval: 0, initialSendCounter: 2n ** 64n - 4n };
 * console.log(o.initialSendCounter); // 18446744073709551612n
 * ```
 */
export type TestChannelOptions = ChannelOptions & {
  /** First counter to send with; default 0. With rekeying on, at most 2^20 epochs in. */
  initialSendCounter?: bigint;
};
