/**
 * One institution's data file for vertical split learning: an `.npz` holding, per split
 * (`train`, `val`, `test`), its columns (`<split>_numeric`, `<split>_categorical`, optionally
 * `<split>_codes`), the patient identifiers (`<split>_ids`, strings), at the label party the
 * labels (`<split>_label`), and the encoding sizes (`encoding`, a JSON string) its front
 * network is built from. A party's process reads only its own file.
 *
 * @example
 * ```ts
 * import { readPartyFile, writePartyFile } from "./party_file.ts";
 * // Deno.writeFileSync("hospital.npz", writePartyFile(data));
 * // const back = readPartyFile(Deno.readFileSync("hospital.npz"), "hospital.npz");
 * ```
 * @module
 */
import type { Tensor } from "../../models/tensor.ts";
import { isStringArray, type NpyArray } from "./npy.ts";
import { readNpz, writeNpz } from "./npz.ts";
import type { PartySplit } from "./vertical_columns.ts";

/** The split names. */
export const PARTY_SPLITS = ["train", "val", "test"] as const;

/** A party's whole file. */
export interface PartyData {
  splits: Record<(typeof PARTY_SPLITS)[number], PartySplit>;
  /** Sizes the zoo EHR front is built from. */
  encoding: { numeric: number; vocabSizes: number[]; codeVocab: number };
}

/**
 * Serialises a party's data as `.npz` bytes.
 *
 * @example
 * ```ts
 * import { writePartyFile } from "./party_file.ts";
 * console.log(typeof writePartyFile); // "function"
 * ```
 */
export function writePartyFile(d: PartyData): Uint8Array {
  const arrays = new Map<string, NpyArray>();
  arrays.set("encoding", { dtype: "string", dims: [], data: [JSON.stringify(d.encoding)] });
  for (const s of PARTY_SPLITS) {
    const p = d.splits[s];
    for (const [k, t] of Object.entries(p.inputs)) arrays.set(`${s}_${k}`, t);
    if (p.label) arrays.set(`${s}_label`, p.label);
    arrays.set(`${s}_ids`, { dtype: "string", dims: [p.ids.length], data: p.ids });
  }
  return writeNpz(arrays, { level: 1 });
}

/**
 * Reads a file written by {@linkcode writePartyFile}.
 *
 * @throws {TypeError} naming the file and the member that is missing or of the wrong kind.
 * @example
 * ```ts
 * import { readPartyFile } from "./party_file.ts";
 * // const d = readPartyFile(Deno.readFileSync(path), path); d.splits.train.ids.length
 * ```
 */
export function readPartyFile(bytes: Uint8Array, name: string): PartyData {
  const a = readNpz(bytes, name);
  const strings = (k: string): string[] => {
    const v = a.get(k);
    if (!v || !isStringArray(v)) {
      throw new TypeError(`${name}: member ${k} is missing or not a string array`);
    }
    return [...v.data];
  };
  const tensorOf = (k: string): Tensor | undefined => {
    const v = a.get(k);
    if (v && isStringArray(v)) {
      throw new TypeError(`${name}: member ${k} is a string array, expected numbers`);
    }
    return v;
  };
  const splits = {} as PartyData["splits"];
  for (const s of PARTY_SPLITS) {
    const inputs: Record<string, Tensor> = {};
    for (const k of ["numeric", "categorical", "codes"]) {
      const t = tensorOf(`${s}_${k}`);
      if (t) inputs[k] = t;
    }
    if (!inputs.numeric || !inputs.categorical) {
      throw new TypeError(`${name}: ${s}_numeric and ${s}_categorical are required`);
    }
    const label = tensorOf(`${s}_label`) as Tensor<"float32"> | undefined;
    splits[s] = { inputs, ids: strings(`${s}_ids`), ...(label ? { label } : {}) };
  }
  return { splits, encoding: JSON.parse(strings("encoding")[0]) };
}
