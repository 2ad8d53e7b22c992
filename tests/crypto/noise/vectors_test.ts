import assert from "node:assert/strict";
import { runVector, runVectors, summarize } from "../../../crypto/noise/vectors.ts";
import type { CipherBackend, CipherName } from "../../../crypto/noise/cipher_functions.ts";

const VECTOR_FILES = {
  ChaChaPoly: new URL("../../fixtures/vectors/noise-25519-chachapoly.json", import.meta.url),
  AESGCM: new URL("../../fixtures/vectors/noise-25519-aesgcm.json", import.meta.url),
} as const;

type Vector = {
  protocol_name: string;
  handshake_hash: string;
  messages: { payload: string; ciphertext: string }[];
  [k: string]: unknown;
};

async function loadVectors(cipher: CipherName = "ChaChaPoly"): Promise<Vector[]> {
  const doc = JSON.parse(await Deno.readTextFile(VECTOR_FILES[cipher]));
  return doc.vectors;
}

function flipHex(hex: string, index: number): string {
  const b = parseInt(hex.slice(index * 2, index * 2 + 2), 16) ^ 0x01;
  return hex.slice(0, index * 2) + b.toString(16).padStart(2, "0") + hex.slice(index * 2 + 2);
}

// The transport messages of every vector are sealed by the native implementation
// and by @noble in turn; both must reproduce every byte.
for (const cipher of ["ChaChaPoly", "AESGCM"] as const) {
  for (const transport of ["native", "noble"] as const satisfies readonly CipherBackend[]) {
    Deno.test(`every ${cipher} vector of the cacophony file passes (transport: ${transport})`, async () => {
      const vectors = await loadVectors(cipher);
      const results = runVectors({ vectors }, { transport });
      const failed = results.filter((r) => r.status !== "ok");
      assert.deepEqual(failed, [], `all 25519/${cipher} vectors must pass, none skipped`);
      const s = summarize(results);
      assert.equal(s.passed, vectors.length);
      assert.ok(vectors.length >= 236, `expected the full vector file, got ${vectors.length}`);
      // The patterns the channel relies on are covered for every hash.
      for (const pattern of ["IK", "XX", "NK", "IKpsk2", "NN", "KK", "X1X1", "NNpsk2"]) {
        for (const hash of ["SHA256", "SHA512", "BLAKE2s", "BLAKE2b"]) {
          const name = `Noise_${pattern}_25519_${cipher}_${hash}`;
          assert.ok(
            results.some((r) => r.protocolName === name && r.status === "ok"),
            `${name} must be present and pass`,
          );
        }
      }
    });
  }
}

for (const cipher of ["ChaChaPoly", "AESGCM"] as const) {
  Deno.test(`a ${cipher} vector with one corrupted byte fails, wherever the byte is`, async () => {
    const vectors = await loadVectors(cipher);
    const base = vectors.find((v) => v.protocol_name === `Noise_IKpsk2_25519_${cipher}_BLAKE2b`)!;
    assert.equal(runVector(base).status, "ok");
    const variants: [string, (v: Vector) => void][] = [
      ["handshake message 0", (v) => {
        v.messages[0].ciphertext = flipHex(v.messages[0].ciphertext, 40);
      }],
      ["handshake message 1 tag", (v) => {
        const c = v.messages[1].ciphertext;
        v.messages[1].ciphertext = flipHex(c, c.length / 2 - 1);
      }],
      ["transport message", (v) => {
        v.messages[3].ciphertext = flipHex(v.messages[3].ciphertext, 0);
      }],
      ["last transport message", (v) => {
        const m = v.messages[v.messages.length - 1];
        m.ciphertext = flipHex(m.ciphertext, 5);
      }],
      ["payload", (v) => {
        v.messages[2].payload = flipHex(v.messages[2].payload, 0);
      }],
      ["handshake hash", (v) => {
        v.handshake_hash = flipHex(v.handshake_hash, 63);
      }],
      ["prologue", (v) => {
        v.init_prologue = flipHex(v.init_prologue as string, 0);
      }],
      ["psk", (v) => {
        v.resp_psks = [flipHex((v.resp_psks as string[])[0], 31)];
      }],
    ];
    for (const [what, mutate] of variants) {
      const v = structuredClone(base);
      mutate(v);
      const r = runVector(v);
      assert.equal(r.status, "fail", `corrupted ${what} must fail`);
      assert.ok(r.reason && r.reason.length > 0);
    }
  });
}

Deno.test("vectors of unimplemented primitives are skipped, malformed ones fail", () => {
  assert.equal(
    runVector({ protocol_name: "Noise_NN_448_ChaChaPoly_SHA256", messages: [] }).status,
    "skip",
  );
  assert.equal(
    runVector({ protocol_name: "Noise_NN_25519_AESOCB_SHA256", messages: [] }).status,
    "skip",
  );
  assert.equal(
    runVector({ protocol_name: "Noise_XXfallback_25519_ChaChaPoly_SHA256" }).status,
    "skip",
  );
  assert.equal(
    runVector({ protocol_name: "Noise_NN_25519_ChaChaPoly_SHA256", messages: [] }).status,
    "fail",
  );
  assert.equal(runVector(42).status, "fail");
  assert.equal(
    runVector({
      protocol_name: "Noise_NN_25519_ChaChaPoly_SHA256",
      init_prologue: "zz",
      messages: [],
    })
      .status,
    "fail",
  );
  assert.throws(() => runVectors({ nope: 1 }), TypeError);
  assert.deepEqual(summarize(runVectors([])), { passed: 0, failed: 0, skipped: 0 });
});
