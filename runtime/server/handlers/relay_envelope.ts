/**
 * The relay-time check of a sealed blob a clinic leaves for another (`TURN_DONE`, sequential
 * hand-off or parallel fronts): its envelope header (`crypto/seal/sealed_envelope.ts`:
 * version, sender, recipient, epoch, sizes) must say who sealed it, to whom, for which round,
 * so random bytes are refused at relay time (422 `BAD_ENVELOPE`); only the recipient can check
 * that the sender really sealed it (docs/design/security_model.md).
 *
 * @example
 * ```ts
 * import { checkEnvelope } from "./relay_envelope.ts";
 * try { checkEnvelope("a", "b", 0, new Uint8Array(3)); } catch (e) { console.log((e as { code: string }).code); } // BAD_ENVELOPE
 * ```
 * @module
 */
import { readEnvelopeHeader } from "../../../crypto/seal/sealed_envelope.ts";
import { ProtocolError } from "../../protocol/mod.ts";

/**
 * Refuses a relayed blob whose envelope header does not say: from `from` to `to`, at `epoch`.
 *
 * @throws {ProtocolError} `BAD_ENVELOPE`
 * @example
 * ```ts
 * import { checkEnvelope } from "./relay_envelope.ts";
 * try { checkEnvelope("a", "b", 0, new Uint8Array(3)); } catch (e) { console.log((e as { code: string }).code); } // BAD_ENVELOPE
 * ```
 */
export function checkEnvelope(from: string, to: string, epoch: number, blob: Uint8Array): void {
  let h;
  try {
    h = readEnvelopeHeader(blob).header;
  } catch (e) {
    throw new ProtocolError("BAD_ENVELOPE", `TURN_DONE weights for ${to}: ${(e as Error).message}`);
  }
  const want = `sender ${from}, recipient ${to}, epoch ${epoch}`;
  if (h.sender !== from || h.recipient !== to || h.epoch !== epoch) {
    throw new ProtocolError(
      "BAD_ENVELOPE",
      `TURN_DONE weights for ${to}: envelope says sender ${h.sender}, recipient ${h.recipient}, epoch ${h.epoch}; expected ${want}`,
    );
  }
}
