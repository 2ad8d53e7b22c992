/**
 * The study definition: canonical JSON (sorted keys, array order kept), its digest, the first
 * differing field, the study file's checks, the merge into the server config (a field set in
 * both is refused), and a received definition whose digest or id disagree.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { canonicalJson } from "../../../runtime/study/canonical_json.ts";
import { checkStudyData } from "../../../runtime/study/check_study_data.ts";
import { publishStudy, receiveStudy } from "../../../runtime/study/published_study.ts";
import { parseStudy, studyServerFields } from "../../../runtime/study/study_definition.ts";
import {
  firstDifference,
  STUDY_DIGEST_PATTERN,
  studyDigest,
} from "../../../runtime/study/study_digest.ts";
import { mergeStudyConfig } from "../../../runtime/server/study_config.ts";
import { parseServerConfigFile } from "../../../runtime/server/config_file.ts";

/** A complete study file, as an operator writes it. */
export const STUDY = {
  id: "bc-2026-01",
  mode: "vanilla",
  model: { name: "cnn", input: { image: { channels: 1, size: 8 } }, seed: 3 },
  loss: "bce",
  optimizer: { kind: "adam", lr: 0.001 },
  schedule: { kind: "sequential", epochs: 2, turnsPerEpoch: 1, order: ["a", "b"] },
  codec: { dtype: "float32", level: 0 },
  defences: { labelProtection: "none", clinic: { noise: { clip: 8, sigma: 0.05 } } },
  data: {
    kind: "table",
    label: { column: "diagnosis", positive: "M", negative: "B" },
    missingTokens: [],
    columns: [{
      name: "sex",
      type: "categorical",
      categories: ["F", "M"],
      unknown: "refuse",
      missing: "other",
    }],
  },
};

Deno.test("canonicalJson: keys sorted at every depth, arrays in order, no whitespace; non-JSON refused by path", () => {
  assert.equal(
    canonicalJson({ b: { z: 1, a: [3, 1, { y: 0, x: null }] }, a: "é" }),
    '{"a":"é","b":{"a":[3,1,{"x":null,"y":0}],"z":1}}',
  );
  assert.throws(() => canonicalJson({ optimizer: { lr: NaN } }), {
    name: "TypeError",
    message: "study.optimizer.lr: NaN is not a JSON value",
  });
  assert.throws(() => canonicalJson({ f: () => 1 }), {
    name: "TypeError",
    message: "study.f: a function is not a JSON value",
  });
  // any JSON value: the canonical text parses back to an equal value, whatever the key order
  fc.assert(fc.property(fc.jsonValue(), (v) => {
    const text = canonicalJson(v);
    assert.equal(canonicalJson(JSON.parse(text)), text);
    assert.equal(canonicalJson(JSON.parse(JSON.stringify(v))), text);
  }));
});

Deno.test("studyDigest: sha256 of the canonical JSON; key order does not count, a category does", () => {
  const d = studyDigest(STUDY);
  assert.match(d, STUDY_DIGEST_PATTERN);
  const reordered = Object.fromEntries(Object.entries(STUDY).reverse());
  assert.equal(studyDigest(reordered), d);
  const swapped = structuredClone(STUDY);
  swapped.data.columns[0].categories = ["F", "U"];
  assert.notEqual(studyDigest(swapped), d);
  assert.equal(firstDifference(STUDY, swapped), 'data.columns[0].categories[1]: "M" vs "U"');
  assert.equal(firstDifference(STUDY, structuredClone(STUDY)), null);
  assert.equal(
    firstDifference({ schedule: { epochs: 3 } }, { schedule: {} }),
    "schedule.epochs: 3 vs (absent)",
  );
  // known answer, from sha256sum over the 12 bytes {"id":"s-1"}
  assert.equal(
    studyDigest({ id: "s-1" }),
    "sha256:d2e592fda8fe94f808f1b7b8da3c2680972d43d509d48744c90cdcc0765987bb",
  );
});

Deno.test("parseStudy: the fields of a study file, each error naming its field", () => {
  const s = parseStudy(JSON.stringify(STUDY), "study.json");
  assert.equal(s.id, "bc-2026-01");
  assert.deepEqual(studyServerFields(s), {
    mode: "vanilla",
    model: "cnn",
    data: { image: { channels: 1, size: 8 } },
    seed: 3,
    loss: "bce",
    optimizer: { kind: "adam", lr: 0.001 },
    epochs: 2,
    turnsPerEpoch: 1,
    order: ["a", "b"],
    schedule: "sequential",
    codec: { dtype: "float32", level: 0 },
    labelProtection: "none",
  });
  const bad = (patch: Record<string, unknown>, message: string | RegExp) =>
    assert.throws(() => parseStudy(JSON.stringify({ ...STUDY, ...patch }), "study.json"), {
      name: "TypeError",
      message,
    });
  bad(
    { id: "../x" },
    'study.id: expected 1 to 64 of A-Z a-z 0-9 . _ - (starting with a letter or digit), got "../x"',
  );
  bad(
    { schedule: { turnsPerEpoch: 1 } },
    "study.schedule.epochs: expected a positive integer (a study ends), got nothing",
  );
  bad(
    { schedule: { epochs: 1, kind: "sideways" } },
    'study.schedule.kind: expected "sequential", "parallel" or "splitfed", got "sideways"',
  );
  bad(
    { model: { name: "cnn", layers: 3 } },
    'study.model: unknown field "layers" (known: name, input, seed, cuts)',
  );
  bad({ extra: 1 }, /^study: unknown field "extra"/);
  bad({ data: [1, 2] }, "study.data: expected a JSON object, got an array");
  bad({ data: { kind: "table" } }, /^study\.data: schema\./);
  assert.throws(() => parseStudy("{", "s.json"), {
    name: "TypeError",
    message: /^s\.json: not JSON/,
  });
  assert.throws(() => checkStudyData("x"), {
    name: "TypeError",
    message: "study.data: expected a JSON object, got a string",
  });
});

Deno.test("mergeStudyConfig: the study's fields become the server config's; a field set in both is refused", () => {
  const study = parseStudy(JSON.stringify(STUDY), "/etc/s/study.json");
  const base = { serverKey: "s.key", allowlist: "a.json" };
  const { config, published } = mergeStudyConfig(base, study, "/etc/s/study.json", null);
  const file = parseServerConfigFile(JSON.stringify(config), "/etc/s");
  assert.equal(file.epochs, 2);
  assert.deepEqual(file.order, ["a", "b"]);
  assert.deepEqual(file.data, { image: { channels: 1, size: 8 } });
  assert.equal(published.id, "bc-2026-01");
  assert.equal(published.digest, studyDigest(STUDY));
  assert.throws(
    () => mergeStudyConfig({ ...base, epochs: 5 }, study, "/etc/s/study.json", null),
    {
      name: "TypeError",
      message:
        "config.epochs: set by the study file /etc/s/study.json (schedule.epochs); remove it from the server config",
    },
  );
  // an .onnx model is published by its file name and the SHA-256 of its bytes
  const onnx = parseStudy(
    JSON.stringify({ ...STUDY, model: { name: "models/m.onnx", cuts: ["t"] } }),
    "/etc/s/study.json",
  );
  const m = mergeStudyConfig(base, onnx, "/etc/s/study.json", Uint8Array.of(1, 2, 3));
  assert.equal(m.config.model, "/etc/s/models/m.onnx");
  assert.deepEqual(m.published.definition.model, {
    name: "m.onnx",
    cuts: ["t"],
    sha256: "039058c6f2c0cb492c533b0a4d14ef77cc0f78abccced5287d84a1a2011cfb81",
  });
});

Deno.test("a study's parallel schedule becomes the server config's schedule fields, checked by its parser", () => {
  const schedule = { kind: "parallel", epochs: 2, serverBatch: "merge", merge: { maxRows: 256 } };
  const study = parseStudy(JSON.stringify({ ...STUDY, schedule }), "/etc/s/study.json");
  const base = { serverKey: "s.key", allowlist: "a.json" };
  const file = parseServerConfigFile(JSON.stringify(mergeStudyConfig(base, study, "/etc/s/study.json", null).config), "/etc/s");
  assert.equal(file.schedule, "parallel");
  assert.equal(file.serverBatch, "merge");
  assert.deepEqual(file.merge, { maxRows: 256 });
  assert.throws(
    () => mergeStudyConfig({ ...base, schedule: "splitfed" }, study, "/etc/s/study.json", null),
    { message: /^config\.schedule: set by the study file \/etc\/s\/study\.json \(schedule\.kind\)/ },
  );
});

Deno.test("receiveStudy: a definition whose digest or id is not the one announced is refused", () => {
  const p = publishStudy(STUDY);
  const bytes = new TextEncoder().encode(p.text);
  assert.deepEqual(receiveStudy(p.id, p.digest, bytes).definition, JSON.parse(p.text));
  assert.throws(() => receiveStudy(p.id, "sha256:" + "0".repeat(64), bytes), {
    message: /has digest sha256:[0-9a-f]{64}, but the server says sha256:0000/,
  });
  assert.throws(() => receiveStudy("other", p.digest, bytes), {
    message: "the server's study definition has id bc-2026-01, but the server says other",
  });
  assert.throws(() => receiveStudy(p.id, p.digest, Uint8Array.of(0xff)), { message: /not JSON/ });
});

Deno.test("parseStudy: the ehr network's model.input must be the data schema's shape", () => {
  const data = {
    kind: "table",
    label: { column: "outcome", positive: "1", negative: "0" },
    missingTokens: [],
    columns: [
      { name: "crp", type: "numeric", mean: 40, std: 12, missing: "mean" },
      { name: "sex", type: "categorical", categories: ["F", "M"], unknown: "refuse", missing: "other" },
    ],
  };
  const study = (input: unknown) =>
    JSON.stringify({ ...STUDY, model: { name: "ehr", input }, data });
  const ok = parseStudy(study({ tabular: { numeric: 1, vocabSizes: [3], codeVocab: 0 } }), "s.json");
  assert.equal(ok.model.name, "ehr");
  assert.throws(() => parseStudy(study({ tabular: { numeric: 1, vocabSizes: [2], codeVocab: 0 } }), "s.json"), {
    name: "TypeError",
    message: /^study\.model\.input: expected \{"tabular":\{"numeric":1,"vocabSizes":\[3\],"codeVocab":0\}\}/,
  });
  assert.throws(() => parseStudy(study({ tabular: { numeric: 5, vocabSizes: [7, 4] } }), "s.json"), /study\.model\.input/);
});
