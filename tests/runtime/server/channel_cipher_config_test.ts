/**
 * `cipher: "chachapoly" | "aesgcm"` in the server's and the clinic's configs picks
 * the channel's Noise protocol name; both ends must agree, and a clinic with the other
 * cipher is refused at the handshake with the usual-cause hint.
 */
import assert from "node:assert/strict";
import { parseServerConfigFile } from "../../../runtime/server/config_file.ts";
import { parseClientConfig } from "../../../runtime/client/client_config.ts";
import { courierConfigOf } from "../../../runtime/client/launcher.ts";
import { ServerConnection, ServerRequestError } from "../../../runtime/client/server_connection.ts";
import { binaryLabels, CLINIC_KEYS, CUT_DIMS, randomTensor, SERVER_KEYS, startServer } from "./harness.ts";

const serverBase = {
  serverKey: "s.key", allowlist: "a.json", model: "cnn", data: { image: { channels: 1, size: 28 } },
  mode: "vanilla", loss: "bce", optimizer: { kind: "adam", lr: 0.001 },
};
const clinicBase = {
  server: "http://127.0.0.1:8443", serverPublicKey: "s.pub", clinicKey: "a.key", data: "d/x.npz",
  model: "cnn", mode: "vanilla", optimizer: { kind: "sgd", lr: 0.1 }, checkpointDir: "ck",
};

Deno.test("config: cipher defaults to chachapoly, takes aesgcm, and names the field otherwise", () => {
  const server = (extra: object) => parseServerConfigFile(JSON.stringify({ ...serverBase, ...extra }), "/");
  const clinic = (extra: object) => parseClientConfig(JSON.stringify({ ...clinicBase, ...extra }), "/");
  assert.equal(server({}).cipher, "chachapoly");
  assert.equal(server({ cipher: "aesgcm" }).cipher, "aesgcm");
  assert.equal(clinic({}).cipher, "chachapoly");
  assert.equal(clinic({ cipher: "aesgcm" }).cipher, "aesgcm");
  for (const parse of [server, clinic]) {
    assert.throws(() => parse({ cipher: "AES-GCM" }), {
      name: "TypeError",
      message: /config\.cipher: expected "chachapoly" or "aesgcm"/,
    });
  }
  // The courier (the network side) gets the cipher; the default leaves its config as it was.
  assert.equal(courierConfigOf(clinic({ cipher: "aesgcm" }), "train").cipher, "aesgcm");
  assert.equal("cipher" in courierConfigOf(clinic({}), "train"), false);
});

Deno.test("an aesgcm server trains with an aesgcm clinic and refuses a chachapoly one with the hint", async () => {
  const log: string[] = [];
  const server = await startServer("vanilla", { cipher: "aesgcm" }, { log });
  const http = Deno.serve({ port: 0, hostname: "127.0.0.1", onListen() {} }, server.app.fetch);
  try {
    const url = `http://127.0.0.1:${http.addr.port}`;
    const keys = { url, serverPublicKey: SERVER_KEYS.publicKey, clinicKeyPair: CLINIC_KEYS.a, retries: 0 };
    const conn = await ServerConnection.connect({ ...keys, cipher: "aesgcm" });
    assert.equal((await conn.request({ type: "TURN_REQUEST" })).yours, true);
    const r = await conn.request({
      type: "STEP",
      stepId: "0:0",
      epoch: 0,
      activation: randomTensor([4, ...CUT_DIMS], 1),
      labels: binaryLabels(4),
    });
    assert.deepEqual(r.cutGrad.dims, [4, ...CUT_DIMS]);
    conn.close();
    await assert.rejects(ServerConnection.connect({ ...keys, cipher: "chachapoly" }), (e) => {
      assert.ok(e instanceof ServerRequestError, String(e));
      assert.equal(e.code, "BAD_HANDSHAKE");
      assert.match(e.message, /another psk or cipher setting than this server's/);
      return true;
    });
    assert.ok(log.includes("handshake refused: BAD_HANDSHAKE, BAD_TAG"), log.join("\n"));
  } finally {
    await http.shutdown();
    await server.close();
  }
});
