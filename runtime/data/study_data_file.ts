/**
 * Reads a data schema from a file: a study file (its `data` section is the schema) or a bare
 * schema JSON (`runtime/data/data_schema.ts`).
 *
 * @example
 * ```ts
 * import { schemaOfStudyJson } from "./study_data_file.ts";
 * const s = schemaOfStudyJson({ id: "s1", data: { kind: "image", shape: { channels: 1, height: 8, width: 8 },
 *   normalisation: { divide: 255, mean: [0], std: [1] } } }, "study.json");
 * console.log(s.kind); // "image"
 * ```
 * @module
 */
import { type DataSchema, parseDataSchema } from "./data_schema.ts";
import { DataSchemaError } from "./data_schema_error.ts";

/**
 * The schema in a parsed study file (`data`) or bare schema file.
 *
 * @throws {DataSchemaError} `SCHEMA_INVALID` naming the file and the field
 * @example
 * ```ts
 * import { schemaOfStudyJson } from "./study_data_file.ts";
 * // schemaOfStudyJson(JSON.parse(await Deno.readTextFile("study.json")), "study.json")
 * ```
 */
export function schemaOfStudyJson(json: unknown, path: string): DataSchema {
  const isStudy = json !== null && typeof json === "object" && !Array.isArray(json) &&
    "data" in json &&
    !("kind" in json);
  try {
    return parseDataSchema(isStudy ? (json as { data: unknown }).data : json);
  } catch (e) {
    if (!(e instanceof DataSchemaError)) throw e;
    throw new DataSchemaError(e.code, `${path}: ${isStudy ? "data: " : ""}${e.message}`);
  }
}

/**
 * Reads and checks the schema of a study or schema file.
 *
 * @throws {DataSchemaError} `SCHEMA_INVALID` for bad JSON or a bad schema, naming the file
 * @example
 * ```ts
 * import { readStudyDataSchema } from "./study_data_file.ts";
 * // const schema = await readStudyDataSchema("study.json");
 * ```
 */
export async function readStudyDataSchema(path: string): Promise<DataSchema> {
  let json: unknown;
  try {
    json = JSON.parse(await Deno.readTextFile(path));
  } catch (e) {
    throw new DataSchemaError(
      "SCHEMA_INVALID",
      `${path}: not readable JSON (${(e as Error).message})`,
    );
  }
  return schemaOfStudyJson(json, path);
}
