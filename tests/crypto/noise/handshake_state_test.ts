import assert from "node:assert/strict";
import { generateKeyPair } from "../../../crypto/noise/dh.ts";
import { HandshakeState, MAX_MESSAGE_LENGTH } from "../../../crypto/noise/handshake_state.ts";
import { BASE_PATTERNS, getPattern } from "../../../crypto/noise/patterns.ts";
import { isNoiseError } from "../../../crypto/errors.ts";

const enc = new TextEncoder();

/** Runs a full handshake for `pattern` with fresh random keys; returns both results. */
function runHandshake(patternName: string, hash = "BLAKE2s") {
  const p = getPattern(patternName);
  const name = `Noise_${patternName}_25519_ChaChaPoly_${hash}`;
  const is = generateKeyPair(), rs = generateKeyPair();
  const psks = Array.from({ length: p.pskCount }, (_, i) => new Uint8Array(32).fill(i + 1));
  const init = new HandshakeState({
    protocolName: name,
    initiator: true,
    prologue: enc.encode("pro"),
    staticKeyPair: is,
    remoteStaticKey: p.responderPre.includes("s") ? rs.publicKey : undefined,
    psks,
  });
  const resp = new HandshakeState({
    protocolName: name,
    initiator: false,
    prologue: enc.encode("pro"),
    staticKeyPair: rs,
    remoteStaticKey: p.initiatorPre.includes("s") ? is.publicKey : undefined,
    psks,
  });
  for (let i = 0; i < p.messages.length; i++) {
    const [a, b] = p.oneWay || i % 2 === 0 ? [init, resp] : [resp, init];
    assert.ok(a.isMyTurn && !b.isMyTurn);
    const payload = enc.encode(`payload ${i}`);
    assert.deepEqual(b.readMessage(a.writeMessage(payload)), payload);
  }
  return { init, resp, is, rs };
}

Deno.test("every pattern, with and without a psk, completes and agrees on keys and hash", () => {
  for (const base of BASE_PATTERNS) {
    for (const mod of ["", "psk0", `psk${getPattern(base).messages.length}`]) {
      const { init, resp, is, rs } = runHandshake(base + mod);
      assert.ok(init.isComplete && resp.isComplete, base + mod);
      const a = init.split(), b = resp.split();
      assert.deepEqual(a.handshakeHash, b.handshakeHash);
      const ct = a.send!.encryptWithAd(new Uint8Array(0), Uint8Array.of(1, 2, 3));
      assert.deepEqual(b.receive!.decryptWithAd(new Uint8Array(0), ct), Uint8Array.of(1, 2, 3));
      if (getPattern(base).oneWay) {
        assert.equal(a.receive, null);
        assert.equal(b.send, null);
      } else {
        const back = b.send!.encryptWithAd(new Uint8Array(0), Uint8Array.of(4));
        assert.deepEqual(a.receive!.decryptWithAd(new Uint8Array(0), back), Uint8Array.of(4));
      }
      // Static keys known or learned in the handshake are the real ones.
      const p = getPattern(base);
      const sentBy = (initiator: boolean) =>
        p.messages.some((m, i) => (p.oneWay || i % 2 === 0) === initiator && m.includes("s"));
      const initiatorStaticKnown = p.initiatorPre.includes("s") || sentBy(true);
      const responderStaticKnown = p.responderPre.includes("s") || sentBy(false);
      assert.deepEqual(b.remoteStaticKey, initiatorStaticKnown ? is.publicKey : null, base);
      assert.deepEqual(a.remoteStaticKey, responderStaticKnown ? rs.publicKey : null, base);
    }
  }
});

Deno.test("mismatched prologue or psk makes the handshake fail with BAD_TAG", () => {
  const name = "Noise_IKpsk2_25519_ChaChaPoly_SHA256";
  const is = generateKeyPair(), rs = generateKeyPair();
  const mk = (initiator: boolean, prologue: string, psk: number) =>
    new HandshakeState({
      protocolName: name,
      initiator,
      prologue: enc.encode(prologue),
      staticKeyPair: initiator ? is : rs,
      remoteStaticKey: initiator ? rs.publicKey : undefined,
      psks: [new Uint8Array(32).fill(psk)],
    });
  assert.throws(
    () => mk(false, "b", 1).readMessage(mk(true, "a", 1).writeMessage()),
    (e) => isNoiseError(e, "BAD_TAG"),
  );
  // psk2 is mixed in message 2: message 1 passes, message 2 fails at the initiator.
  const i = mk(true, "a", 1), r = mk(false, "a", 2);
  r.readMessage(i.writeMessage());
  assert.throws(() => i.readMessage(r.writeMessage()), (e) => isNoiseError(e, "BAD_TAG"));
  // After a failure the state is dead.
  assert.throws(() => i.readMessage(new Uint8Array(64)), (e) => isNoiseError(e, "INVALID_STATE"));
});

Deno.test("misuse is refused with specific codes", () => {
  const nn = "Noise_NN_25519_ChaChaPoly_SHA256";
  const i = new HandshakeState({ protocolName: nn, initiator: true });
  assert.throws(() => i.readMessage(new Uint8Array(32)), (e) => isNoiseError(e, "INVALID_STATE"));
  assert.throws(() => i.split(), (e) => isNoiseError(e, "INVALID_STATE"));
  assert.throws(
    () => new HandshakeState({ protocolName: "Noise_IK_25519_ChaChaPoly_SHA256", initiator: true }),
    (e) => isNoiseError(e, "MISSING_KEY"),
  );
  assert.throws(
    () =>
      new HandshakeState({ protocolName: "Noise_NNpsk0_25519_ChaChaPoly_SHA256", initiator: true }),
    (e) => isNoiseError(e, "PSK_MISMATCH"),
  );
  assert.throws(
    () =>
      new HandshakeState({
        protocolName: "Noise_NNpsk0_25519_ChaChaPoly_SHA256",
        initiator: true,
        psks: [new Uint8Array(16)],
      }),
    (e) => isNoiseError(e, "INVALID_KEY"),
  );
  for (
    const bad of [
      "Noise_QQ_25519_ChaChaPoly_SHA256",
      "Noise_NN_448_ChaChaPoly_SHA256",
      "Noise_NN_25519_AESOCB_SHA256",
      "Noise_NN_25519_ChaChaPoly_MD5",
      "NN",
      "Noise_NNpsk9_25519_ChaChaPoly_SHA256",
      "Noise_XXfallback_25519_ChaChaPoly_SHA256",
    ]
  ) {
    assert.throws(
      () => new HandshakeState({ protocolName: bad, initiator: true }),
      (e) => isNoiseError(e, "UNSUPPORTED_PROTOCOL"),
      bad,
    );
  }
});

Deno.test("messages are limited to 65535 bytes and short messages are malformed", () => {
  const nn = "Noise_NN_25519_ChaChaPoly_SHA256";
  const i = new HandshakeState({ protocolName: nn, initiator: true });
  assert.throws(
    () => i.writeMessage(new Uint8Array(MAX_MESSAGE_LENGTH)),
    (e) => isNoiseError(e, "MESSAGE_TOO_LARGE"),
  );
  const ok = new HandshakeState({ protocolName: nn, initiator: true });
  assert.equal(ok.writeMessage(new Uint8Array(MAX_MESSAGE_LENGTH - 32)).length, MAX_MESSAGE_LENGTH);
  const r = new HandshakeState({ protocolName: nn, initiator: false });
  assert.throws(
    () => r.readMessage(new Uint8Array(MAX_MESSAGE_LENGTH + 1)),
    (e) => isNoiseError(e, "MESSAGE_TOO_LARGE"),
  );
  const r2 = new HandshakeState({ protocolName: nn, initiator: false });
  assert.throws(
    () => r2.readMessage(new Uint8Array(31)),
    (e) => isNoiseError(e, "MALFORMED_MESSAGE"),
  );
  const i3 = new HandshakeState({ protocolName: nn, initiator: true });
  const r3 = new HandshakeState({ protocolName: nn, initiator: false });
  r3.readMessage(i3.writeMessage());
  assert.throws(
    () => i3.readMessage(r3.writeMessage().subarray(0, 40)),
    (e) => isNoiseError(e, "MALFORMED_MESSAGE"),
  );
});

Deno.test("pattern names with psk modifiers place psk tokens per §9.2", () => {
  assert.deepEqual(getPattern("NNpsk0").messages[0], ["psk", "e"]);
  assert.deepEqual(getPattern("NNpsk0+psk2").messages, [["psk", "e"], ["e", "ee", "psk"]]);
  assert.deepEqual(getPattern("XXpsk3").messages[2], ["s", "se", "psk"]);
  assert.equal(getPattern("NNpsk0+psk2").pskCount, 2);
  assert.equal(getPattern("X").oneWay, true);
  assert.equal(getPattern("XX").oneWay, false);
  // A double-psk handshake runs end to end.
  const { init, resp } = runHandshake("NNpsk0+psk2");
  assert.deepEqual(init.split().handshakeHash, resp.split().handshakeHash);
});
