import assert from "node:assert/strict";
import { parseVerticalStudy } from "../../../runtime/config/vertical_study.ts";

const MIN = { parties: ["h", "p"], idFormat: { pattern: "^[0-9]+$" } };

Deno.test("a minimal study gets the documented defaults", () => {
  assert.deepEqual(parseVerticalStudy(MIN), {
    parties: ["h", "p"],
    fusion: "concat",
    labels: { holder: "server", party: "h" },
    idFormat: { pattern: "^[0-9]+$" },
    reveal: "intersection",
    padTo: 0,
    frontWidth: 32,
    fusionHidden: 32,
    epochs: 5,
    batchSize: 256,
    lr: 0.001,
    seed: 0,
    codec: { dtype: "float32", level: 0 },
    defence: {},
  });
});

Deno.test("bad fields are refused, naming the field, the expectation and the value", () => {
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ ...MIN, parties: ["h"] }, /parties must be two or more distinct names, got \["h"\]/],
    [{ ...MIN, parties: ["h", "h"] }, /parties must be two or more distinct names/],
    [{ ...MIN, fusion: "mean" }, /fusion must be "concat" or "sum", got "mean"/],
    [{ ...MIN, labels: { holder: "clinic" } }, /holder must be "server" or "party"/],
    [{ ...MIN, labels: { party: "x" } }, /labels.party must be one of \["h","p"\], got "x"/],
    [{ parties: ["h", "p"] }, /idFormat must be/],
    [{ ...MIN, reveal: "all" }, /reveal must be "intersection" or "size"/],
    [{ ...MIN, batchSize: 0 }, /batchSize must be an integer >= 1, got 0/],
    [{ ...MIN, lr: -1 }, /lr must be a number > 0/],
    [{ ...MIN, codec: { level: 10 } }, /codec.level must be a deflate level 0 to 9/],
    [{ ...MIN, epoch: 3 }, /epoch must be one of the known fields/],
    [
      { ...MIN, defence: { nopeek: { weight: 1 } } },
      /defence.nopeek must be absent \(vertical training wires noise and labelProtection only\)/,
    ],
  ];
  for (const [raw, re] of cases) {
    assert.throws(() => parseVerticalStudy(raw), re, JSON.stringify(raw));
  }
});
