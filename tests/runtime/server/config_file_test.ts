import assert from "node:assert/strict";
import { parseListen, parseServerConfigFile } from "../../../runtime/server/config_file.ts";

const base = {
  serverKey: "keys/server.key",
  allowlist: "/etc/allow.json",
  model: "cnn",
  data: { image: { channels: 1, size: 28 } },
  mode: "vanilla",
  loss: "bce",
  optimizer: { kind: "adam", lr: 0.001 },
};

Deno.test("config file: defaults, resolved paths, overrides", () => {
  const f = parseServerConfigFile(JSON.stringify({ ...base, checkpointDir: "ck", epochs: 2, limits: { maxBatch: 64 } }), "/srv");
  assert.equal(f.serverKey, "/srv/keys/server.key");
  assert.equal(f.allowlist, "/etc/allow.json");
  assert.equal(f.checkpointDir, "/srv/ck");
  assert.deepEqual([f.hostname, f.port, f.engine, f.turnTimeoutMs, f.seed, f.epochs], ["127.0.0.1", 8443, "native", 60000, 0, 2]);
  assert.deepEqual(f.limits, { maxBatch: 64 });
  assert.equal(f.allowExport, false, "export is off unless the config turns it on");
  assert.equal(parseServerConfigFile(JSON.stringify({ ...base, allowExport: true }), "/srv").allowExport, true);
  assert.equal(f.deferUpdate, true, "the update follows the reply unless the config says otherwise");
  assert.equal(parseServerConfigFile(JSON.stringify({ ...base, deferUpdate: false }), "/srv").deferUpdate, false);
  const onnx = parseServerConfigFile(JSON.stringify({ ...base, model: "m.onnx", cuts: ["x"], data: undefined }), "/srv");
  assert.equal(onnx.model, "/srv/m.onnx");
  assert.deepEqual(f.codec, { dtype: "float32", level: 0 }, "replies are float32 exact unless configured");
  assert.deepEqual(parseServerConfigFile(JSON.stringify({ ...base, codec: { dtype: "int8" } }), "/srv").codec, { dtype: "int8", level: 0 });
  assert.deepEqual(parseListen("[::1]:9000"), { hostname: "::1", port: 9000 });
  // limits.maxActivation is a magnitude, not a count: any finite number > 0.
  assert.deepEqual(parseServerConfigFile(JSON.stringify({ ...base, limits: { maxActivation: 2.5e3 } }), "/srv").limits, { maxActivation: 2500 });
});

Deno.test("config file: each bad field is named", () => {
  const bad: [Record<string, unknown>, RegExp][] = [
    [{ ...base, mode: "sideways" }, /config\.mode/],
    [{ ...base, loss: "hinge" }, /config\.loss/],
    [{ ...base, engine: "tpu" }, /config\.engine/],
    [{ ...base, optimizer: { kind: "sgd" } }, /config\.optimizer/],
    [{ ...base, data: undefined }, /config\.data/],
    [{ ...base, model: "m.onnx" }, /config\.cuts/],
    [{ ...base, limits: { maxBody: 1 } }, /config\.limits/],
    [{ ...base, limits: { maxActivation: 0 } }, /^TypeError: config\.limits\.maxActivation: expected a finite number > 0, got 0$/],
    [{ ...base, limits: { maxActivation: "1e4" } }, /config\.limits\.maxActivation: expected a finite number > 0, got "1e4"/],
    [{ ...base, epochs: 0 }, /config\.epochs/],
    [{ ...base, listen: "nope" }, /listen/],
    [{ ...base, extra: 1 }, /unknown field "extra"/],
    [{ ...base, serverKey: "" }, /config\.serverKey/],
    [{ ...base, allowExport: "yes" }, /config\.allowExport/],
    [{ ...base, deferUpdate: 1 }, /config\.deferUpdate/],
    [{ ...base, statusFrom: "public" }, /config\.statusFrom: expected "loopback" or "anywhere"/],
    [{ ...base, codec: { dtype: "int4" } }, /config\.codec: expected \{"dtype": "float32" \| "float16" \| "int8"/],
    [{ ...base, codec: { level: 10 } }, /config\.codec: expected \{"level": an integer 0-9\}/],
    [{ ...base, codec: { dtype: "int8", topK: 0.1 } }, /config\.codec: expected only dtype and level/],
    // Nested settings are checked too: a misspelt one must not be ignored.
    [{ ...base, optimizer: { kind: "sgd", lr: 0.1, momentun: 0.9 } }, /config\.optimizer: optimizer sgd: unknown setting "momentun"; expected one of kind, lr, momentum/],
    [{ ...base, optimizer: { kind: "adam", lr: 0.1, momentum: 0.9 } }, /config\.optimizer: optimizer adam: unknown setting "momentum"/],
    [{ ...base, optimizer: { kind: "adam", lr: 0.1, beta1: 1 } }, /config\.optimizer: optimizer adam: beta1 must be in \[0, 1\)/],
    [{ ...base, data: { image: { channels: 1, size: 0 } } }, /config\.data: expected the data spec of the zoo model/],
    [{ ...base, data: { image: { channels: "one", size: 28 } } }, /config\.data/],
    [{ ...base, data: { image: { channels: 1, size: 28, depth: 3 } } }, /config\.data/],
    [{ ...base, data: { image: { channels: 1, size: 28 }, tabular: { numeric: 1, vocabSizes: [], codeVocab: 2 } } }, /config\.data/],
  ];
  for (const [cfg, re] of bad) assert.throws(() => parseServerConfigFile(JSON.stringify(cfg), "/"), re);
  assert.throws(() => parseServerConfigFile("{", "/"), /not valid JSON/);
});
