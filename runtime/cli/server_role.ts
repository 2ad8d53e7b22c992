/**
 * The server's role flags (docs/design/scale_out.md): `--role single|front|trainer` (default
 * `single`: one process, no NATS, as always), `--nats <url>` (required for `front` and
 * `trainer`; the environment variable `SPLITGATE_NATS_URL` is the fallback) and
 * `--trainer-id <id>` (a trainer's name in the study's membership; default the host name,
 * which is the pod name in a StatefulSet), and `--applied-log <file>` (a trainer appends each
 * applied step to it as a JSON line `{"clinic","stepId","round","t"}`, for audits and the
 * fault test's "no step applied twice"); `--bus-timeout-ms <ms>` (a front's wait for a
 * trainer's reply before it answers 503 `BUS_TIMEOUT`, which the clinic retries; default
 * 60000: a request whose trainer died is redelivered only after JetStream's ack wait of 30 s,
 * while a retry through a fresh publish reaches the new owner at once).
 *
 * @example
 * ```ts
 * import { readServerRole } from "./server_role.ts";
 * const r = readServerRole({ role: "front", nats: "nats://127.0.0.1:4222" }, () => undefined, () => "h1");
 * console.log(r.role, r.nats?.host, r.nats?.port); // front 127.0.0.1 4222
 * ```
 * @module
 */
import { resolve } from "node:path";
import { UsageError } from "./main.ts";

/** The server's roles; `single` needs no NATS. */
export const SERVER_ROLES = ["single", "front", "trainer"] as const;

/**
 * One of {@linkcode SERVER_ROLES}.
 *
 * @example
 * ```ts
 * import type { ServerRole } from "./server_role.ts";
 * const r: ServerRole = "trainer";
 * ```
 */
export type ServerRole = (typeof SERVER_ROLES)[number];

/** The environment variable read when `--nats` is not given. */
export const NATS_URL_ENV = "SPLITGATE_NATS_URL";

/** The port of a NATS URL that names none (NATS's client port). */
const NATS_DEFAULT_PORT = 4222;

/**
 * A NATS server address: the URL as given to the client, and the host and port the
 * process's network permission must name.
 *
 * @example
 * ```ts
 * import type { NatsAddress } from "./server_role.ts";
 * const a: NatsAddress = { url: "nats://nats:4222", host: "nats", port: 4222 };
 * ```
 */
export interface NatsAddress {
  url: string;
  host: string;
  port: number;
}

/**
 * The role flags, read and checked.
 *
 * @example
 * ```ts
 * import type { RoleArgs } from "./server_role.ts";
 * function scaled(r: RoleArgs) { return r.role !== "single"; }
 * ```
 */
export interface RoleArgs {
  role: ServerRole;
  /** The NATS server (front and trainer only). */
  nats?: NatsAddress;
  /** The trainer's id (trainer only). */
  trainerId?: string;
  /** The file a trainer appends its applied steps to, absolute (trainer only). */
  appliedLog?: string;
  /** Milliseconds a front waits for a trainer's reply (front only; default the sender's 60 s). */
  busTimeoutMs?: number;
}

/**
 * Parses a NATS URL: `nats://host[:port]`, `tls://host[:port]` or `host[:port]` (port 4222
 * when none is given).
 *
 * @throws {UsageError} naming `flag` and the value for anything else
 * @example
 * ```ts
 * import { parseNatsUrl } from "./server_role.ts";
 * console.log(parseNatsUrl("--nats", "10.0.0.9").url); // nats://10.0.0.9:4222
 * ```
 */
export function parseNatsUrl(flag: string, value: string): NatsAddress {
  const withScheme = /^[a-z]+:\/\//.test(value) ? value : `nats://${value}`;
  let u: URL;
  try {
    u = new URL(withScheme);
  } catch {
    throw new UsageError(`${flag} ${value}: expected a NATS URL such as nats://127.0.0.1:4222`);
  }
  if ((u.protocol !== "nats:" && u.protocol !== "tls:") || u.hostname === "" || (u.pathname !== "" && u.pathname !== "/")) {
    throw new UsageError(`${flag} ${value}: expected a NATS URL such as nats://127.0.0.1:4222 (scheme nats or tls, no path)`);
  }
  if (u.username !== "" || u.password !== "") {
    // A secret on the command line shows in `ps`; a token belongs in a file.
    throw new UsageError(`${flag}: expected no user or password in the URL (it would show in the process list)`);
  }
  const port = u.port === "" ? NATS_DEFAULT_PORT : Number(u.port);
  const host = u.hostname.replace(/^\[(.*)\]$/, "$1");
  const hostInUrl = host.includes(":") ? `[${host}]` : host;
  return { url: `${u.protocol}//${hostInUrl}:${port}`, host, port };
}

/**
 * Reads the role flags from parsed `values`, with `env` for `SPLITGATE_NATS_URL` and
 * `hostname` for the default trainer id.
 *
 * @throws {UsageError} for an unknown role, a front or trainer without a NATS URL, a NATS
 *   URL or trainer id on a single server, or a bad trainer id
 * @example
 * ```ts
 * import { readServerRole } from "./server_role.ts";
 * try {
 *   readServerRole({ role: "trainer" }, () => undefined, () => "h");
 * } catch (e) {
 *   console.log((e as Error).message); // --role trainer needs --nats <url> (or SPLITGATE_NATS_URL)
 * }
 * ```
 */
export function readServerRole(
  values: { role?: string; nats?: string; "trainer-id"?: string; "applied-log"?: string; "bus-timeout-ms"?: string },
  env: (name: string) => string | undefined,
  hostname: () => string,
): RoleArgs {
  const role = (values.role ?? "single") as ServerRole;
  if (!SERVER_ROLES.includes(role)) throw new UsageError(`--role ${values.role}: expected one of ${SERVER_ROLES.join(", ")}`);
  if (role === "single") {
    if (
      values.nats !== undefined || values["trainer-id"] !== undefined || values["applied-log"] !== undefined ||
      values["bus-timeout-ms"] !== undefined
    ) {
      throw new UsageError(`--nats, --trainer-id, --applied-log and --bus-timeout-ms: only with --role front or trainer (a single server needs no NATS)`);
    }
    return { role };
  }
  const url = values.nats ?? env(NATS_URL_ENV);
  if (url === undefined || url === "") throw new UsageError(`--role ${role} needs --nats <url> (or ${NATS_URL_ENV})`);
  const nats = parseNatsUrl(values.nats !== undefined ? "--nats" : NATS_URL_ENV, url);
  if (role === "front") {
    if (values["trainer-id"] !== undefined || values["applied-log"] !== undefined) {
      throw new UsageError("--trainer-id and --applied-log: only with --role trainer");
    }
    const t = values["bus-timeout-ms"];
    if (t === undefined) return { role, nats };
    const busTimeoutMs = Number(t);
    if (!Number.isInteger(busTimeoutMs) || busTimeoutMs < 100) throw new UsageError(`--bus-timeout-ms ${t}: expected an integer >= 100`);
    return { role, nats, busTimeoutMs };
  }
  if (values["bus-timeout-ms"] !== undefined) throw new UsageError("--bus-timeout-ms: only with --role front");
  const trainerId = values["trainer-id"] ?? hostname();
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(trainerId)) {
    throw new UsageError(`--trainer-id ${JSON.stringify(trainerId)}: expected 1-64 characters of [A-Za-z0-9._-], starting alphanumeric`);
  }
  const appliedLog = values["applied-log"];
  return { role, nats, trainerId, ...(appliedLog === undefined ? {} : { appliedLog: resolve(appliedLog) }) };
}
