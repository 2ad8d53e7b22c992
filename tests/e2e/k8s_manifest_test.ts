/**
 * deploy/k8s/splitgate.yaml: every object is valid for Kubernetes (parsed with `yaml`, checked
 * with the kubernetes-models schemas), and our own rules hold: every container has limits,
 * probes (pods' main containers) and a locked-down securityContext, the trainers are a
 * StatefulSet of ≥ 2 with a GPU each and stable ids, the fronts' Service keeps a client on
 * its front, NATS has JetStream on a volume, secrets come from Secrets, and the Deno flags are
 * the server's. A broken manifest (typo'd or missing fields) fails the same checks.
 */
import assert from "node:assert/strict";
import { parseAllDocuments } from "yaml";
import { Deployment, StatefulSet } from "kubernetes-models/apps/v1";
import { ConfigMap, Namespace, Secret, Service } from "kubernetes-models/v1";
import { NetworkPolicy } from "kubernetes-models/networking.k8s.io/v1";
import { serverFlags } from "../../runtime/server/server_flags.ts";
import { parseServerConfigFile } from "../../runtime/server/config_file.ts";
import { ROOT } from "./cli_harness.ts";

const MANIFEST = new URL("deploy/k8s/splitgate.yaml", ROOT);

// deno-lint-ignore no-explicit-any
type Obj = any;

const MODELS: Record<string, { validate(): void } & (new (o: Obj) => { validate(): void })> = {
  "v1/Namespace": Namespace,
  "v1/ConfigMap": ConfigMap,
  "v1/Secret": Secret,
  "v1/Service": Service,
  "apps/v1/StatefulSet": StatefulSet,
  "apps/v1/Deployment": Deployment,
  "networking.k8s.io/v1/NetworkPolicy": NetworkPolicy,
} as Obj;

/** The objects of a multi-document YAML text (a syntax error is thrown). */
function parseManifest(text: string): Obj[] {
  return parseAllDocuments(text).map((d) => {
    if (d.errors.length > 0) throw new Error(`YAML: ${d.errors[0].message}`);
    return d.toJS();
  }).filter((o) => o !== null);
}

/** Problems of the schema check: each object against its kubernetes-models class. */
function schemaProblems(objects: Obj[]): string[] {
  const out: string[] = [];
  for (const o of objects) {
    const id = `${o?.kind}/${o?.metadata?.name}`;
    const Model = MODELS[`${o?.apiVersion}/${o?.kind}`];
    if (Model === undefined) {
      out.push(`${id}: ${o?.apiVersion} ${o?.kind} is not a kind this manifest may use`);
      continue;
    }
    try {
      new Model(o).validate();
    } catch (e) {
      out.push(`${id}: ${(e as Error).message.split("\n")[0]}`);
    }
  }
  return out;
}

const workloads = (objects: Obj[]) =>
  objects.filter((o) => o.kind === "StatefulSet" || o.kind === "Deployment");

/** Problems of our rules for every pod template. */
function podProblems(objects: Obj[]): string[] {
  const out: string[] = [];
  for (const w of workloads(objects)) {
    const pod = w.spec?.template?.spec ?? {};
    const id = `${w.kind}/${w.metadata.name}`;
    if (pod.securityContext?.runAsNonRoot !== true) {
      out.push(`${id}: pod securityContext.runAsNonRoot is not true`);
    }
    if (pod.automountServiceAccountToken !== false) {
      out.push(`${id}: automountServiceAccountToken is not false`);
    }
    const all = [
      ...(pod.initContainers ?? []).map((c: Obj) => [c, true]),
      ...(pod.containers ?? []).map((c: Obj) => [c, false]),
    ];
    if ((pod.containers ?? []).length === 0) out.push(`${id}: no containers`);
    for (const [c, init] of all) {
      const cid = `${id} container ${c.name}`;
      for (const r of ["cpu", "memory"]) {
        if (c.resources?.limits?.[r] === undefined) out.push(`${cid}: no ${r} limit`);
      }
      for (const r of ["cpu", "memory"]) {
        if (c.resources?.requests?.[r] === undefined) out.push(`${cid}: no ${r} request`);
      }
      const s = c.securityContext ?? {};
      if (s.allowPrivilegeEscalation !== false) {
        out.push(`${cid}: allowPrivilegeEscalation is not false`);
      }
      if (s.privileged === true) out.push(`${cid}: privileged`);
      if (s.readOnlyRootFilesystem !== true) out.push(`${cid}: readOnlyRootFilesystem is not true`);
      if (!(s.capabilities?.drop ?? []).includes("ALL")) {
        out.push(`${cid}: capabilities not dropped`);
      }
      if (init) continue;
      for (const p of ["readinessProbe", "livenessProbe"]) {
        if (c[p] === undefined) out.push(`${cid}: no ${p}`);
      }
      if (c.image?.startsWith("splitgate:") && c.readinessProbe?.httpGet?.path !== "/health") {
        out.push(`${cid}: readiness probe is not GET /health`);
      }
    }
  }
  return out;
}

/** The `deno run` flags of a splitgate container: from `run` to `--cached-only`. */
function denoFlags(c: Obj): string[] {
  const cmd: string[] = c.command ?? [];
  return cmd.slice(cmd.indexOf("run") + 1, cmd.indexOf("--cached-only"));
}

const argAfter = (c: Obj, flag: string) => {
  const cmd: string[] = c.command ?? [];
  const i = cmd.indexOf(flag);
  return i < 0 ? undefined : cmd[i + 1];
};

/** Problems of the scale-out shape: trainers, fronts, NATS, secrets, flags. */
function shapeProblems(objects: Obj[], header: string): string[] {
  const out: string[] = [];
  const find = (kind: string, name: string) =>
    objects.find((o) => o.kind === kind && o.metadata?.name === name);
  const trainer = find("StatefulSet", "splitgate-trainer"),
    front = find("Deployment", "splitgate-front");
  const nats = find("StatefulSet", "nats");
  if (!trainer || !front || !nats) {
    return [
      "missing StatefulSet splitgate-trainer, Deployment splitgate-front or StatefulSet nats",
    ];
  }
  if (!(trainer.spec.replicas >= 2)) {
    out.push(`trainer replicas ${trainer.spec.replicas}: expected ≥ 2`);
  }
  const tc = trainer.spec.template.spec.containers[0], fc = front.spec.template.spec.containers[0];
  if (String(tc.resources?.limits?.["nvidia.com/gpu"]) !== "1") {
    out.push("trainer: no nvidia.com/gpu: 1 limit");
  }
  if (argAfter(tc, "--role") !== "trainer") out.push("trainer: not --role trainer");
  if (argAfter(fc, "--role") !== "front") out.push("front: not --role front");
  if (argAfter(tc, "--trainer-id") !== "$(POD_NAME)") {
    out.push("trainer: --trainer-id is not $(POD_NAME)");
  }
  const podName = (tc.env ?? []).find((e: Obj) => e.name === "POD_NAME");
  if (podName?.valueFrom?.fieldRef?.fieldPath !== "metadata.name") {
    out.push("trainer: POD_NAME is not the pod name");
  }
  // Deno flags: the server's, with the NATS address added to --allow-net.
  const natsService = find("Service", nats.spec.serviceName);
  if (natsService?.spec?.clusterIP !== "None") {
    out.push("nats: its serviceName is not a headless Service");
  }
  const natsPort = natsService?.spec?.ports?.find((p: Obj) => p.name === "client")?.port;
  for (const c of [tc, fc]) {
    const url = argAfter(c, "--nats");
    if (url !== `nats://${nats.spec.serviceName}:${natsPort}`) {
      out.push(`${c.name}: --nats ${url} is not the NATS Service`);
    }
    const [hostname, port] = (argAfter(c, "--listen") ?? ":").split(":");
    const want = serverFlags({ hostname, port: Number(port) })
      .map((f) => f.startsWith("--allow-net=") ? `${f},${nats.spec.serviceName}:${natsPort}` : f);
    assert.ok(want.length > 0);
    if (JSON.stringify(denoFlags(c)) !== JSON.stringify(want)) {
      out.push(`${c.name}: deno flags ${denoFlags(c).join(" ")}; expected ${want.join(" ")}`);
    }
    const token = (c.env ?? []).find((e: Obj) => e.name === "SPLITGATE_NATS_TOKEN");
    if (token?.valueFrom?.secretKeyRef === undefined) {
      out.push(`${c.name}: the NATS token is not from a Secret`);
    }
  }
  const frontService = objects.find((o) =>
    o.kind === "Service" &&
    o.spec?.selector?.["app.kubernetes.io/name"] ===
      front.spec.selector.matchLabels["app.kubernetes.io/name"]
  );
  if (frontService?.spec?.sessionAffinity !== "ClientIP") {
    out.push("the fronts' Service has no sessionAffinity: ClientIP");
  }
  // NATS: JetStream on a volume claim.
  if ((nats.spec.volumeClaimTemplates ?? []).length === 0) {
    out.push("nats: no volumeClaimTemplates");
  }
  const natsConf = objects.filter((o) => o.kind === "ConfigMap").map((o) =>
    Object.values(o.data ?? {}).join("\n")
  ).join("\n");
  if (!/jetstream\s*\{/.test(natsConf)) out.push("nats: no ConfigMap with jetstream {}");
  // Server key from a Secret volume; every referenced Secret/ConfigMap defined or created first.
  for (const w of workloads(objects)) {
    const vols = w.spec.template.spec.volumes ?? [];
    if (w !== nats && !vols.some((v: Obj) => v.secret?.secretName)) {
      out.push(`${w.metadata.name}: no server key Secret volume`);
    }
    const refs = [
      ...vols.flatMap((v: Obj) => [v.secret?.secretName, v.configMap?.name]),
      ...[
        ...(w.spec.template.spec.containers ?? []),
        ...(w.spec.template.spec.initContainers ?? []),
      ]
        .flatMap((c: Obj) => (c.env ?? []).map((e: Obj) => e.valueFrom?.secretKeyRef?.name)),
    ].filter((r) => r !== undefined);
    for (const r of refs) {
      const defined = objects.some((o) =>
        (o.kind === "ConfigMap" || o.kind === "Secret") && o.metadata.name === r
      );
      if (!defined && !new RegExp(`create (secret generic|configmap) ${r} `).test(header)) {
        out.push(`${w.metadata.name}: ${r} is neither defined nor in the header's "Create first"`);
      }
    }
  }
  const cfg = find("ConfigMap", "splitgate-config")?.data?.["server.json"];
  try {
    parseServerConfigFile(cfg ?? "", "/etc/splitgate");
  } catch (e) {
    out.push(`splitgate-config server.json: ${(e as Error).message}`);
  }
  return out;
}

function problems(text: string): string[] {
  let objects: Obj[];
  try {
    objects = parseManifest(text);
  } catch (e) {
    return [(e as Error).message];
  }
  // A rule that cannot even read what it checks (a field typo'd away) is a problem too.
  const guarded = (name: string, f: () => string[]) => {
    try {
      return f();
    } catch (e) {
      return [`${name}: ${(e as Error).message}`];
    }
  };
  return [
    ...guarded("schema", () => schemaProblems(objects)),
    ...guarded("pods", () => podProblems(objects)),
    ...guarded("shape", () => shapeProblems(objects, text)),
  ];
}

const text = await Deno.readTextFile(MANIFEST);

Deno.test("deploy/k8s/splitgate.yaml: every object valid, every rule kept", () => {
  assert.deepEqual(problems(text), []);
  const kinds = parseManifest(text).map((o) => `${o.kind}/${o.metadata.name}`);
  assert.ok(
    kinds.includes("StatefulSet/splitgate-trainer") && kinds.includes("Deployment/splitgate-front"),
  );
});

/** `text` with the first occurrence of `from` (after `after`) replaced by `to`. */
function broken(from: string | RegExp, to: string, after = ""): string {
  const at = text.indexOf(after);
  assert.ok(at >= 0, `no ${after}`);
  const tail = text.slice(at).replace(from, to);
  assert.notEqual(tail, text.slice(at), `mutation ${from} found nothing`);
  return text.slice(0, at) + tail;
}

Deno.test("a broken manifest is refused, naming what broke", async (t) => {
  const cases: [string, string, RegExp][] = [
    [
      "typo'd required field",
      broken(
        "      containers:\n        - name: trainer",
        "      containres:\n        - name: trainer",
      ),
      /splitgate-trainer.*(containers|must have required)/,
    ],
    [
      "wrong type",
      broken("replicas: 2", 'replicas: "two"', "name: splitgate-trainer\n  namespace"),
      /StatefulSet\/splitgate-trainer.*(integer|replicas)/,
    ],
    [
      "typo'd probe",
      broken("livenessProbe:", "livenesProbe:", "name: front\n"),
      /container front: no livenessProbe/,
    ],
    [
      "typo'd security field",
      broken("readOnlyRootFilesystem: true", "readOnlyRootFilesytem: true", "name: trainer\n"),
      /container trainer: readOnlyRootFilesystem/,
    ],
    [
      "one trainer",
      broken("replicas: 2", "replicas: 1", "name: splitgate-trainer\n  namespace"),
      /trainer replicas 1/,
    ],
    [
      "no affinity",
      broken("sessionAffinity: ClientIP", "sessionAffinity: None"),
      /sessionAffinity/,
    ],
    [
      "no GPU",
      broken(
        "nvidia.com/gpu: 1\n          startupProbe",
        "startupProbe",
        'limits:\n              cpu: "8"',
      ),
      /nvidia\.com\/gpu/,
    ],
    ["YAML syntax", broken("  replicas: 2\n  strategy", "  replicas: 2\n strategy"), /YAML/],
    [
      "unknown kind",
      `${text}\n---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: stray\n`,
      /Pod .*not a kind/,
    ],
    ["a bad config", broken('"mode": "vanilla"', '"mode": "sideways"'), /server\.json/],
  ];
  for (const [name, mutated, want] of cases) {
    await t.step(name, () => {
      const found = problems(mutated);
      assert.ok(found.some((p) => want.test(p)), `${name}: ${JSON.stringify(found)}`);
    });
  }
});
