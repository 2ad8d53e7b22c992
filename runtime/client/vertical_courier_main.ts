/**
 * A vertical party's courier process (docs/design/vertical.md, "Sandbox"): it holds the
 * party's Noise key and its channel to the server, and relays the raw-data process's messages
 * ({@linkcode RELAYED_TYPES}) from its stdin to the server and the replies back to its stdout
 * (`vertical_pipe.ts`). It runs with the horizontal courier's permissions
 * (`courier_flags.ts`): network to the server's host:port, read of the key file and the
 * server's public key file; it cannot read the party's records, and it never sees the PSI's
 * secret or an identifier (only blinded points pass through it).
 *
 * `deno run <courier flags> vertical_courier_main.ts '<config JSON>'` with config fields
 * `name`, `server` (URL), `keyFile`, `serverPublicKeyFile`, `codec` ({dtype, level}) and
 * optionally `relayTimeoutMs`. At the end of its stdin it closes the channel, prints
 * `RESULT_PREFIX` + `{"bytesUp", "bytesDown"}` to stderr and exits 0; a fatal error is one
 * `courier [CODE]: message` line and exit 1.
 *
 * @example
 * ```ts
 * import { runVerticalCourier } from "./vertical_courier_main.ts";
 * // await runVerticalCourier(config, Deno.stdin.readable, Deno.stdout.writable, console.error);
 * ```
 * @module
 */
import { loadPrivateKeyFile, loadPublicKeyFile } from "../keys/key_store.ts";
import type { CodecConfig } from "../config/json_config.ts";
import type { VerticalHeader } from "../protocol/vertical_wire.ts";
import { ProtocolError } from "../protocol/protocol_error.ts";
import { decodeFrame, encodeFrame, FRAME_KIND, FrameReader } from "./raw_side/wire.ts";
import { RawSideError } from "./raw_side/error.ts";
import { RESULT_PREFIX } from "./courier_main.ts";
import { VerticalConnection } from "./vertical_connection.ts";
import { RELAY_METHOD, RELAYED_TYPES } from "./vertical_pipe.ts";

/**
 * The vertical courier's config (see the module documentation).
 *
 * @example
 * ```ts
 * import type { VerticalCourierConfig } from "./vertical_courier_main.ts";
 * const c: VerticalCourierConfig = { name: "pharmacy", server: "http://127.0.0.1:8443",
 *   keyFile: "keys/pharmacy.key", serverPublicKeyFile: "keys/server.pub", codec: { dtype: "float32", level: 0 } };
 * ```
 */
export interface VerticalCourierConfig {
  name: string;
  server: string;
  keyFile: string;
  serverPublicKeyFile: string;
  codec: CodecConfig;
}

/** Checks one relay request: a party's message type, and nothing but blinded points in a PSI message. */
function checkRelayed(method: string, header: unknown, tensorNames: string[]): VerticalHeader {
  const type = (header as { type?: unknown })?.type;
  if (
    method !== RELAY_METHOD || typeof type !== "string" || !RELAYED_TYPES.includes(type as never)
  ) {
    throw new ProtocolError(
      "BAD_MESSAGE",
      `relay of ${JSON.stringify(method)} ${
        JSON.stringify(type)
      }: expected method "relay" and one of ${RELAYED_TYPES.join(", ")}`,
    );
  }
  if (type.startsWith("V_PSI") && tensorNames.some((n) => n !== "points")) {
    throw new ProtocolError(
      "BAD_MESSAGE",
      `${type}: tensors ${tensorNames.join(", ")}; a PSI message carries "points" only`,
    );
  }
  return header as VerticalHeader;
}

/**
 * Relays frames from `input` to the server and the replies to `output` until `input` ends.
 * `opts.fetch` replaces the global fetch (tests run the server in process).
 *
 * @returns the sealed byte counts of the channel
 * @throws {RawSideError} `PROTOCOL` for a malformed frame from the raw side; the handshake's error
 */
export async function runVerticalCourier(
  config: VerticalCourierConfig,
  input: ReadableStream<Uint8Array>,
  output: WritableStream<Uint8Array>,
  log: (line: string) => void,
  opts: { fetch?: typeof fetch } = {},
): Promise<{ bytesUp: number; bytesDown: number }> {
  const own = await loadPrivateKeyFile(config.keyFile);
  const server = await loadPublicKeyFile(config.serverPublicKeyFile);
  const conn = await VerticalConnection.connect({
    url: config.server,
    keyPair: own.keyPair,
    serverPublicKey: server.publicKey,
    codec: { dtype: config.codec.dtype, level: config.codec.level },
    ...(opts.fetch ? { fetch: opts.fetch } : {}),
  });
  log(`[${config.name}] courier: channel to ${config.server} open`);
  const reader = new FrameReader(input);
  const writer = output.getWriter();
  try {
    for (;;) {
      const body = await reader.next();
      if (body === null) break;
      const m = decodeFrame(body);
      if (m.kind !== FRAME_KIND.request) {
        throw new RawSideError("PROTOCOL", `frame kind ${m.kind}, expected a request`);
      }
      let reply: Uint8Array;
      try {
        const header = checkRelayed(m.method, m.header, [...m.tensors.keys()]);
        const r = await conn.request(header, Object.fromEntries(m.tensors));
        reply = encodeFrame({
          id: m.id,
          kind: FRAME_KIND.reply,
          method: RELAY_METHOD,
          header: { header: r.header, bytesUp: conn.bytesUp, bytesDown: conn.bytesDown },
          tensors: r.tensors,
        });
      } catch (e) {
        const code = (e as { code?: string }).code ?? "BAD_MESSAGE";
        reply = encodeFrame({
          id: m.id,
          kind: FRAME_KIND.error,
          method: RELAY_METHOD,
          header: { code, message: e instanceof Error ? e.message : String(e) },
          tensors: new Map(),
        });
      }
      await writer.write(reply);
    }
  } finally {
    conn.close();
    await writer.close().catch(() => {});
  }
  return { bytesUp: conn.bytesUp, bytesDown: conn.bytesDown };
}

if (import.meta.main) {
  // stdout is the raw side's frame channel: nothing else may write there.
  const toStderr = (...a: unknown[]) => console.error(...a);
  console.log = console.info = console.debug = toStderr;
  try {
    const config = JSON.parse(Deno.args[0] ?? "") as VerticalCourierConfig;
    const result = await runVerticalCourier(
      config,
      Deno.stdin.readable,
      Deno.stdout.writable,
      toStderr,
    );
    console.error(RESULT_PREFIX + JSON.stringify(result));
  } catch (e) {
    const code = (e as { code?: string })?.code;
    console.error(
      `courier${code ? ` [${code}]` : ""}: ${e instanceof Error ? e.message : String(e)}`,
    );
    Deno.exit(1);
  }
}
