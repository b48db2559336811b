// The admin endpoint over real HTTP on loopback: its routes, readiness
// through a shutdown, the status view, and what it does with bad input.
import { spawnSync } from 'node:child_process';
import { createServer } from 'node:http';
import { type AddressInfo, connect } from 'node:net';
import { Registry } from '@zrpc/core';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  type AdminServer,
  adminHandler,
  parseAdminAddress,
  type StatusView,
  serveAdmin,
} from '../src/metrics.js';
import { Server } from '../src/server.js';
import { deferred, quietLogger, RawClient } from './helpers.js';
import { parseMetrics } from './metrics-helpers.js';
import { assertBuilt } from './runner-helpers.js';

// serveAdmin runs its HTTP server on a worker thread, from the built dist/admin/worker.js.
beforeAll(assertBuilt);

const SECRET = 'do-not-show-this-argument';

function methods() {
  const gate = deferred();
  const registry = new Registry();
  registry.register(function add(a: number, b: number) {
    return a + b;
  });
  registry.register(function fail(_secret: string): never {
    throw new Error(`failed with ${SECRET}`);
  });
  registry.register(function hold() {
    return gate.promise;
  });
  registry.register(function never_called() {});
  return { registry, gate };
}

const open: Array<{ server: Server; admin: AdminServer; client: RawClient }> = [];
afterEach(async () => {
  for (const { server, admin, client } of open.splice(0)) {
    await client.close();
    await server.close({ graceMs: 0 });
    await admin.close();
  }
});

/** A server with the admin endpoint on a free loopback port; bound unless `bind` is false. */
async function adminOf(bind = true) {
  const { registry, gate } = methods();
  const server = new Server({ registry, logger: quietLogger(), name: 'admin-test' });
  const admin = await serveAdmin(server, { address: '127.0.0.1:0', version: '1.2.3' });
  if (bind) await server.bind('tcp://127.0.0.1:*');
  const client = new RawClient(bind ? server.endpoints[0]! : 'tcp://127.0.0.1:1');
  open.push({ server, admin, client });
  const get = (path: string, init?: RequestInit) => fetch(new URL(path, admin.url), init);
  return { server, admin, client, gate, get };
}

async function status(get: (path: string) => Promise<Response>): Promise<StatusView> {
  const response = await get('/status.json');
  expect(response.headers.get('content-type')).toBe('application/json');
  return (await response.json()) as StatusView;
}

describe('the routes', () => {
  it('/metrics: Prometheus text with the calls made', async () => {
    const { client, get } = await adminOf();
    client.request('add', [1, 2]);
    await client.nextReply();
    const response = await get('/metrics');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const samples = parseMetrics(await response.text());
    expect(
      samples.find(
        (s) =>
          s.name === 'rpc_server_call_duration_seconds_count' &&
          s.labels.rpc_method === 'add' &&
          s.labels.rpc_status_code === 'ok',
      )?.value,
    ).toBe(1);
  });

  it('/healthz answers 200 while the process serves; /readyz 503 until bound, 200 serving', async () => {
    const { server, get } = await adminOf(false);
    expect((await get('/healthz')).status).toBe(200);
    const before = await get('/readyz');
    expect([before.status, await before.text()]).toEqual([503, 'idle\n']);
    await server.bind('tcp://127.0.0.1:*');
    // The admin thread hears of the new state within 50 ms.
    await expect
      .poll(async () => {
        const serving = await get('/readyz');
        return [serving.status, await serving.text()];
      })
      .toEqual([200, 'serving\n']);
  });

  it('/readyz turns 503 at the start of a shutdown while a call in flight completes', async () => {
    const { server, client, gate, get } = await adminOf();
    client.request('hold', []);
    await client.until(() => server.stats.running === 1, 5000, 'the call running');
    const closed = server.close({ graceMs: 10_000 });
    // The worker serving it hears of the state within 50 ms.
    await expect
      .poll(async () => {
        const draining = await get('/readyz');
        return [draining.status, await draining.text()];
      })
      .toEqual([503, 'draining\n']);
    expect((await get('/healthz')).status).toBe(200);
    gate.resolve();
    expect((await client.nextReply()).name).toBe('OK');
    await closed;
    expect((await get('/readyz')).status).toBe(503);
  });

  it('/healthz answers 503 while the event loop of the server is held, 200 again after', async () => {
    const { get, admin } = await adminOf();
    // spawnSync holds this thread (the server's) while the child asks after
    // more than LOOP_SILENT_MS (5 s): only the admin thread can answer it.
    const script = `setTimeout(async () => {
      const response = await fetch(${JSON.stringify(new URL('/healthz', admin.url).href)});
      process.stdout.write(response.status + ' ' + (await response.text()));
    }, 5500);`;
    const held = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 30_000 });
    expect(held.stdout).toBe('503 event loop not answering\n');
    await expect.poll(async () => (await get('/healthz')).status).toBe(200);
  });

  it('/status.json: methods with their calls, errors and percentiles; load; versions', async () => {
    const { client, get } = await adminOf();
    for (let i = 0; i < 5; i++) client.request('add', [i, i]);
    client.request('fail', [SECRET]);
    client.request('nope', []);
    await client.until(() => client.replies === 7, 5000, 'the replies');
    const view = await status(get);
    expect(view.server).toMatchObject({
      name: 'admin-test',
      state: 'serving',
      version: '1.2.3',
      pid: process.pid,
    });
    expect(view.server.zrpcVersion).toMatch(/^\d+\.\d+\.\d+/);
    expect(view.load.peers).toBe(1);
    const byName = Object.fromEntries(view.methods.map((m) => [m.name, m]));
    expect(Object.keys(byName).sort()).toEqual(['_OTHER', 'add', 'fail', 'hold', 'never_called']);
    expect(byName.add).toMatchObject({ calls: 5, errors: 0, errorRate: 0 });
    expect(byName.add!.callsPerSecond).toBeGreaterThan(0);
    expect(byName.add!.p50Ms).toBeGreaterThan(0);
    expect(byName.add!.p99Ms).toBeGreaterThanOrEqual(byName.add!.p50Ms!);
    expect(byName.add!.callsSeries).toHaveLength(60);
    expect(byName.add!.callsSeries.reduce((a, b) => a + b)).toBe(5);
    expect(byName.fail).toMatchObject({ calls: 1, errors: 1, errorRate: 1 });
    expect(byName.never_called).toMatchObject({ calls: 0, p50Ms: null });
    expect(view.calls.total).toMatchObject({ ok: 5, error: 1, unknown_method: 1 });
    expect(view.calls.lastMinute).toMatchObject({ ok: 5, error: 1, unknown_method: 1 });
  });

  it('never shows arguments or error messages', async () => {
    const { client, get } = await adminOf();
    client.request('fail', [SECRET]);
    client.request(SECRET, [SECRET]);
    await client.until(() => client.replies === 2, 5000, 'the replies');
    for (const path of ['/status.json', '/metrics', '/']) {
      expect(await (await get(path)).text()).not.toContain(SECRET);
    }
  });

  it('/: the status page, self-contained, its script allowed by hash alone', async () => {
    const { get } = await adminOf();
    const response = await get('/');
    expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const policy = response.headers.get('content-security-policy')!;
    expect(policy).toContain("default-src 'none'");
    expect(policy).toMatch(/script-src 'sha256-[A-Za-z0-9+/]+=*'/);
    const page = await response.text();
    expect(page).toContain('fetch(');
    // Nothing fetched from elsewhere: no external script, style, font or image.
    expect(page).not.toMatch(/\b(src|href)="(?!data:)/);
    expect(page).not.toMatch(/https?:\/\/(?!www\.w3\.org\/2000\/svg)/);
  });
});

describe('bad input', () => {
  it('404 for other paths, 405 for other methods, no body accepted', async () => {
    const { get } = await adminOf();
    expect((await get('/nope')).status).toBe(404);
    expect((await get('/metrics/')).status).toBe(404);
    const post = await get('/metrics', { method: 'POST', body: 'x' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
    expect((await get('/readyz', { method: 'DELETE' })).status).toBe(405);
    const head = await get('/healthz', { method: 'HEAD' });
    expect([head.status, await head.text()]).toEqual([200, '']);
    // A GET with a body: refused without reading it.
    const withBody = await rawRequest(
      'GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello',
    );
    expect(withBody).toMatch(/^HTTP\/1\.1 413 /);
  });

  it('query strings are ignored; headers over 8 KiB are refused', async () => {
    const { get } = await adminOf();
    expect((await get('/healthz?verbose=1')).status).toBe(200);
    const big = await get('/healthz', { headers: { 'x-big': 'a'.repeat(10_000) } });
    expect(big.status).toBe(431);
  });

  it('closes a connection whose headers never finish', async () => {
    const { admin } = await adminOf();
    const answer = await rawRequest('GET /metrics HTTP/1.1\r\nHost: x\r\n', admin.port, 15_000);
    // Node answers 408 (or just closes) once headersTimeout has passed.
    expect(answer === '' || answer.startsWith('HTTP/1.1 408')).toBe(true);
  });

  it('a port already taken is an error', async () => {
    const { admin, server } = await adminOf();
    await expect(serveAdmin(server, { address: `127.0.0.1:${admin.port}` })).rejects.toThrow(
      /EADDRINUSE/,
    );
  });
});

describe('adminHandler: the routes in an HTTP server of your own', () => {
  it('answers on its paths, passes the others to next (Express-style), reads the server directly', async () => {
    const { registry } = methods();
    const server = new Server({ registry, logger: quietLogger() });
    await server.bind('tcp://127.0.0.1:*');
    const handler = adminHandler(server);
    const passed: string[] = [];
    const http = createServer((request, response) =>
      handler.listener(request, response, () => {
        passed.push(request.url!);
        response.end('yours');
      }),
    );
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
    const client = new RawClient(server.endpoints[0]!);
    try {
      client.request('add', [1, 2]);
      await client.nextReply();
      const text = await (await fetch(`${base}/metrics`)).text();
      expect(text).toMatch(/^rpc_server_call_duration_seconds_count\{.*rpc_method="add".*\} 1$/m);
      // On the server's own thread: the state is read as it is, at once.
      expect((await fetch(`${base}/readyz`)).status).toBe(200);
      const closed = server.close({ graceMs: 0 });
      expect((await fetch(`${base}/readyz`)).status).toBe(503);
      await closed;
      expect(await (await fetch(`${base}/app/route`)).text()).toBe('yours');
      expect(passed).toEqual(['/app/route']);
    } finally {
      await client.close();
      handler.close();
      await new Promise((resolve) => http.close(resolve));
    }
  });
});

describe('parseAdminAddress', () => {
  it('reads [host:]port, host 127.0.0.1 by default', () => {
    expect(parseAdminAddress('9464')).toEqual({ host: '127.0.0.1', port: 9464 });
    expect(parseAdminAddress('0.0.0.0:9464')).toEqual({ host: '0.0.0.0', port: 9464 });
    expect(parseAdminAddress('[::]:9464')).toEqual({ host: '::', port: 9464 });
    expect(parseAdminAddress('localhost:0')).toEqual({ host: 'localhost', port: 0 });
  });

  it.each(['', 'abc', '70000', '1.2.3.4:', ':80', '[nope]:80', 'tcp://1.2.3.4:80', '::1:80'])(
    'refuses %j, saying what it takes',
    (value) => {
      expect(() => parseAdminAddress(value)).toThrow(/not a valid admin address: give a port/);
    },
  );
});

/** Send `text` on a raw TCP connection to the last admin server; answer what comes back until it closes. */
function rawRequest(text: string, port = open.at(-1)!.admin.port, timeoutMs = 5000) {
  return new Promise<string>((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let answer = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no end of the answer within ${timeoutMs} ms: ${answer}`));
    }, timeoutMs);
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      answer += chunk;
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(answer);
    });
    socket.on('error', () => {});
    socket.write(text);
  });
}
