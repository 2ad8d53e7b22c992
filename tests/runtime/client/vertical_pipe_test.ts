/**
 * The pipe between a vertical party's raw side and its courier (`vertical_pipe.ts`,
 * `vertical_courier_main.ts`), in process against the real vertical app: a party's message is
 * relayed and answered with the channel's byte counts; anything else, or a PSI message carrying
 * more than blinded points, is refused by the courier before it reaches the server.
 */
import assert from "node:assert/strict";
import { Allowlist } from "../../../crypto/keys/allowlist.ts";
import { generateStaticKeyPair } from "../../../crypto/keys/key_pair.ts";
import { tensor } from "../../../models/tensor.ts";
import { runVerticalCourier } from "../../../runtime/client/vertical_courier_main.ts";
import { PipeVerticalConnection } from "../../../runtime/client/vertical_pipe.ts";
import { writeKeyPairFiles } from "../../../runtime/keys/key_store.ts";
import { ProtocolError } from "../../../runtime/protocol/protocol_error.ts";
import { createVerticalApp } from "../../../runtime/server/vertical_app.ts";
import { VerticalServer } from "../../../runtime/server/vertical_step.ts";
import { testEngine } from "../server/harness.ts";

Deno.test("vertical pipe: the courier relays a party's messages and refuses the rest", async () => {
  const dir = await Deno.makeTempDir();
  const engine = await testEngine();
  const serverKeys = generateStaticKeyPair(), a = generateStaticKeyPair();
  const server = await VerticalServer.create({
    engine,
    parties: [{ name: "a", width: 4 }, { name: "b", width: 4 }],
    fusion: "concat",
    labels: { holder: "server", party: "a" },
    optimizer: { kind: "adam", lr: 0.01 },
    seed: 1,
    fusionHidden: 8,
  });
  const relayed: string[] = [];
  const { app } = createVerticalApp({
    keyPair: serverKeys,
    allowlist: new Allowlist([{ name: "a", publicKey: a.publicKey }, {
      name: "b",
      publicKey: generateStaticKeyPair().publicKey,
    }]),
    server,
    log: () => {},
    onRelay: (tag, round, from) => relayed.push(`${from} ${tag} ${round}`),
  });
  const fetchApp =
    ((url: string, init?: RequestInit) => app.request(url, init)) as unknown as typeof fetch;
  const keys = await writeKeyPairFiles(dir, "a", a);
  const serverPub = await writeKeyPairFiles(`${dir}/server`, "server", serverKeys);
  const toCourier = new TransformStream<Uint8Array, Uint8Array>();
  const toRaw = new TransformStream<Uint8Array, Uint8Array>();
  const courier = runVerticalCourier(
    {
      name: "a",
      server: "http://in-process",
      keyFile: keys.privateKeyPath,
      serverPublicKeyFile: serverPub.publicKeyPath,
      codec: { dtype: "float32", level: 0 },
    },
    toCourier.readable,
    toRaw.writable,
    () => {},
    { fetch: fetchApp },
  );
  const conn = new PipeVerticalConnection(toRaw.readable, toCourier.writable);
  try {
    const points = tensor("uint8", [32], new Uint8Array(32).fill(7));
    const ok = await conn.request({ type: "V_PSI_PUT", tag: "train", round: 1 }, { points });
    assert.equal(ok.header.type, "V_OK");
    assert.deepEqual(relayed, ["a train 1"]);
    assert.ok(conn.bytesUp > 32 && conn.bytesDown > 0, `${conn.bytesUp} ${conn.bytesDown}`);
    // A reply type, and a PSI message smuggling identifiers next to its points: refused by the courier.
    await assert.rejects(
      conn.request({ type: "V_OK" }),
      (e) =>
        e instanceof ProtocolError && e.code === "BAD_MESSAGE" &&
        /expected method "relay"/.test(e.message),
    );
    await assert.rejects(
      conn.request({ type: "V_PSI_PUT", tag: "val", round: 1 }, {
        points,
        ids: tensor("uint8", [3], new Uint8Array([1, 2, 3])),
      }),
      (e) => e instanceof ProtocolError && /carries "points" only/.test(e.message),
    );
    assert.deepEqual(relayed, ["a train 1"], "nothing refused reached the server");
    // The server's own refusal comes back with its code.
    await assert.rejects(
      conn.request({ type: "V_PSI_PUT", tag: "train", round: 1 }, { points }),
      (e) => e instanceof ProtocolError,
    );
  } finally {
    await conn.close();
    const r = await courier;
    assert.ok(r.bytesUp > 0);
    await engine.dispose();
    await Deno.remove(dir, { recursive: true });
  }
});
