import assert from "node:assert/strict";
import { parseClientConfig } from "../../../runtime/client/client_config.ts";

const base = {
  server: "http://127.0.0.1:8443", serverPublicKey: "s.pub", clinicKey: "a.key", data: "d/x.npz",
  model: "cnn", mode: "vanilla", optimizer: { kind: "sgd", lr: 0.1 }, checkpointDir: "ck",
};

Deno.test("clinic config: nested settings are checked, a misspelt one is named", () => {
  assert.equal(parseClientConfig(JSON.stringify({ ...base, policy: { allowExport: true } }), "/").policy.allowExport, true);
  const bad: [Record<string, unknown>, RegExp][] = [
    [{ ...base, optimizer: { kind: "sgd", lr: 0.1, momentun: 0.9 } }, /config\.optimizer: optimizer sgd: unknown setting "momentun"/],
    [{ ...base, optimizer: { kind: "sgd", lr: -1 } }, /config\.optimizer: optimizer sgd: lr must be a finite number >= 0, got -1/],
    [{ ...base, policy: { allowExprot: true } }, /config\.policy: expected \{"allowExport": boolean\}, got \{"allowExprot":true\}/],
    [{ ...base, policy: [] }, /config\.policy/],
  ];
  for (const [cfg, re] of bad) assert.throws(() => parseClientConfig(JSON.stringify(cfg), "/"), re);
});
