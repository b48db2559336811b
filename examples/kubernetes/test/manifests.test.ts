// The manifests as Kubernetes would read them, checked against what the
// runner really serves: the container's command line parsed by the
// runner's own parser, its ports, the probe and scrape paths answered by a
// real admin endpoint, and the consumer's endpoint resolved by the client's
// own discovery.
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@zrpc/client';
import { Server } from '@zrpc/server';
import { parseAdminAddress, serveAdmin } from '@zrpc/server/metrics';
import { parseAddrport, parseCommandLine } from '@zrpc/server/runner';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';

const HERE = fileURLToPath(new URL('..', import.meta.url));
/** The runner's drain when the kubelet sends SIGTERM: 5 s of grace, then up to 0.5 s for the last replies. */
const RUNNER_DRAIN_SECONDS = 5.5;

/** A manifest as parsed: untyped YAML. */
type Manifest = any;

const files = readdirSync(HERE).filter((file) => file.endsWith('.yaml'));
const manifests: Array<Manifest & { file: string }> = files.flatMap((file) =>
  parseAllDocuments(readFileSync(join(HERE, file), 'utf8')).map((doc) => {
    if (doc.errors.length > 0) throw new Error(`${file}: ${doc.errors[0]!.message}`);
    return { ...doc.toJS(), file };
  }),
);
const find = (kind: string, name: string): Manifest => {
  const found = manifests.find((m) => m.kind === kind && m.metadata?.name === name);
  if (found === undefined) throw new Error(`no ${kind} ${name} in ${files.join(', ')}`);
  return found;
};

const provider = find('Deployment', 'tickets');
const service = find('Service', 'tickets');
const consumer = find('Deployment', 'tickets-web');
const container = provider.spec.template.spec.containers[0];
const portNamed = (name: string): number =>
  container.ports.find((p: { name: string }) => p.name === name).containerPort;
/** A probe's port, by name or number, as the container's port number. */
const portOf = (port: string | number): number =>
  typeof port === 'number' ? port : portNamed(port);

it('every manifest parses and names its kind', () => {
  expect(files.sort()).toEqual(['servicemonitor.yaml', 'tickets-web.yaml', 'tickets.yaml']);
  for (const manifest of manifests) {
    expect(manifest, manifest.file).toMatchObject({
      apiVersion: expect.any(String),
      kind: expect.any(String),
      metadata: { name: expect.any(String) },
    });
  }
});

describe('the provider runs the runner as it is built', () => {
  it("its command is the runner's bin, and the runner's parser accepts its arguments", () => {
    const require = createRequire(import.meta.url);
    const manifestPath = require.resolve('@zrpc/server/package.json');
    const bin = JSON.parse(readFileSync(manifestPath, 'utf8')).bin['zrpc-server'];
    expect(container.command).toEqual(['node', join('node_modules/@zrpc/server', bin)]);
    const commandLine = parseCommandLine(container.args);
    expect(commandLine).toMatchObject({ config: 'dist/zrpc.config.js', help: false });
    // The RPC port and the admin port it listens on are the container's ports, on the pod's IP.
    const rpc = parseAddrport(commandLine.address!);
    expect(rpc.endpoint).toBe(`tcp://0.0.0.0:${portNamed('zrpc')}`);
    expect(parseAdminAddress(commandLine.metrics!)).toEqual({
      host: '0.0.0.0',
      port: portNamed('metrics'),
    });
  });

  it('gives the drain time to finish, with no preStop sleep', () => {
    const pod = provider.spec.template.spec;
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThan(RUNNER_DRAIN_SECONDS);
    expect(container.lifecycle?.preStop).toBeUndefined();
    expect(provider.spec.replicas).toBeGreaterThan(1);
  });

  it('its headless Service selects its pods and points at its zrpc and metrics ports', () => {
    expect(service.spec.clusterIP).toBe('None');
    expect(provider.spec.template.metadata.labels).toMatchObject(service.spec.selector);
    const zrpc = service.spec.ports.find((p: { name: string }) => p.name === 'zrpc');
    expect(portOf(zrpc.targetPort)).toBe(portNamed('zrpc'));
    const metrics = service.spec.ports.find((p: { name: string }) => p.name === 'metrics');
    expect(portOf(metrics.targetPort)).toBe(portNamed('metrics'));
  });
});

describe('the probes and scrapes reach what the admin endpoint serves', () => {
  let server: Server;
  let admin: Awaited<ReturnType<typeof serveAdmin>>;
  beforeAll(async () => {
    server = new Server({ logger: { info() {}, warn() {}, error() {} } });
    await server.bind('tcp://127.0.0.1:*');
    admin = await serveAdmin(server, { address: '127.0.0.1:0' });
  });
  afterAll(async () => {
    await server.close({ graceMs: 0 });
    await admin.close();
  });
  const get = (path: string) => fetch(new URL(path, admin.url));

  it.each(['startupProbe', 'readinessProbe', 'livenessProbe'])(
    '%s: a path the admin endpoint answers 200 on the metrics port',
    async (probe) => {
      const { path, port } = container[probe].httpGet;
      expect(portOf(port)).toBe(portNamed('metrics'));
      expect((await get(path)).status).toBe(200);
    },
  );

  it('readiness is /readyz (503 while draining), liveness /healthz', () => {
    expect(container.readinessProbe.httpGet.path).toBe('/readyz');
    expect(container.livenessProbe.httpGet.path).toBe('/healthz');
  });

  it("the pod's scrape annotations name the metrics port and /metrics", async () => {
    const annotations = provider.spec.template.metadata.annotations;
    expect(annotations['prometheus.io/scrape']).toBe('true');
    expect(Number(annotations['prometheus.io/port'])).toBe(portNamed('metrics'));
    const response = await get(annotations['prometheus.io/path']);
    expect(response.status).toBe(200);
    expect(await response.text()).toContain('# TYPE rpc_server_call_duration_seconds histogram');
  });

  it("the ServiceMonitor selects the Service and scrapes its metrics port's /metrics", async () => {
    const monitor = find('ServiceMonitor', 'tickets');
    expect(service.metadata.labels).toMatchObject(monitor.spec.selector.matchLabels);
    const [endpoint] = monitor.spec.endpoints;
    expect(service.spec.ports.map((p: { name: string }) => p.name)).toContain(endpoint.port);
    expect((await get(endpoint.path)).status).toBe(200);
  });
});

describe('the consumer', () => {
  it("names the headless Service, which the client's discovery resolves to every replica", async () => {
    const env = Object.fromEntries(
      consumer.spec.template.spec.containers[0].env.map((e: { name: string; value: string }) => [
        e.name,
        e.value,
      ]),
    );
    const zrpc = service.spec.ports.find((p: { name: string }) => p.name === 'zrpc');
    expect(env.TICKETS_ENDPOINT).toBe(`tcp://${service.metadata.name}:${zrpc.port}`);
    // The client treats the host as a name to resolve (not one address) and
    // connects to every address it stands for; here a resolver stands in for
    // the cluster's DNS, with loopback addresses.
    const asked: string[] = [];
    const client = new Client({
      endpoints: env.TICKETS_ENDPOINT,
      discovery: {
        resolve: async (host) => {
          asked.push(host);
          return ['127.0.0.1', '127.0.0.2'];
        },
      },
    });
    try {
      await client.refresh();
      expect(asked[0]).toBe('tickets');
      expect(client.servers.map((s) => s.endpoint).sort()).toEqual([
        `tcp://127.0.0.1:${zrpc.port}`,
        `tcp://127.0.0.2:${zrpc.port}`,
      ]);
    } finally {
      await client.close();
    }
  });
});
