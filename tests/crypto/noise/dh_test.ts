import assert from "node:assert/strict";
import { dh, generateKeyPair, isLowOrderPoint } from "../../../crypto/noise/dh.ts";
import { HandshakeState } from "../../../crypto/noise/handshake_state.ts";
import { isNoiseError } from "../../../crypto/errors.ts";
import { LOW_ORDER_POINTS } from "../low_order_points.ts";

Deno.test("DH with any low-order point throws LOW_ORDER_POINT", () => {
  const kp = generateKeyPair();
  for (const p of LOW_ORDER_POINTS) {
    assert.throws(() => dh(kp, p), (e) => isNoiseError(e, "LOW_ORDER_POINT"));
    assert.equal(isLowOrderPoint(p), true);
  }
  const other = generateKeyPair();
  assert.equal(isLowOrderPoint(other.publicKey), false);
  assert.deepEqual(dh(kp, other.publicKey), dh(other, kp.publicKey));
});

Deno.test("a handshake message carrying a low-order ephemeral key is rejected", () => {
  for (const p of LOW_ORDER_POINTS) {
    const name = "Noise_NN_25519_ChaChaPoly_SHA256";
    const init = new HandshakeState({ protocolName: name, initiator: true });
    const resp = new HandshakeState({ protocolName: name, initiator: false });
    resp.readMessage(init.writeMessage());
    const m2 = resp.writeMessage();
    m2.set(p, 0); // replace the responder's ephemeral key
    assert.throws(() => init.readMessage(m2), (e) => isNoiseError(e, "LOW_ORDER_POINT"));
  }
});

Deno.test("a low-order remote static key is rejected before anything is sent", () => {
  const i = new HandshakeState({
    protocolName: "Noise_IK_25519_ChaChaPoly_SHA256",
    initiator: true,
    staticKeyPair: generateKeyPair(),
    remoteStaticKey: LOW_ORDER_POINTS[0],
  });
  assert.throws(() => i.writeMessage(), (e) => isNoiseError(e, "LOW_ORDER_POINT"));
});

Deno.test("key lengths are checked", () => {
  assert.throws(() => generateKeyPair(new Uint8Array(16)), (e) => isNoiseError(e, "INVALID_KEY"));
  assert.throws(
    () => dh(generateKeyPair(), new Uint8Array(33)),
    (e) => isNoiseError(e, "INVALID_KEY"),
  );
});
