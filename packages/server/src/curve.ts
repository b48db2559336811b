import { readFileSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { Router } from 'zeromq';

/**
 * CURVE encryption with an allow-list of client keys (ZeroMQ's CurveZMQ and
 * ZAP, RFC 26 and 27). Keys are Z85 text, 40 characters, as
 * `zmq.curveKeyPair()` and `zrpc-keygen` make them.
 */
export interface CurveOptions {
  /** The server's secret key (Z85). */
  secretKey: string;
  /** The server's public key (Z85): what clients give as `curveServerKey`. */
  publicKey: string;
  /**
   * The client public keys admitted: a list, or the path of a file with one
   * Z85 key per line (`#` comment lines allowed), re-read by `reloadClientKeys()`.
   */
  clientKeys: readonly string[] | string;
}

const Z85_CHARS =
  '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#';
const Z85_KEY = /^[0-9a-zA-Z.\-:+=^!/*?&<>()[\]{}@%$#]{40}$/;

/** The 32 bytes of a Z85 key; throws a clear error for anything else. */
export function z85Key(text: string, what = 'CURVE key'): Buffer {
  const key = text.trim();
  if (!Z85_KEY.test(key)) throw new TypeError(`${what} is not a 40-character Z85 key: "${key}"`);
  const bytes = Buffer.alloc(32);
  for (let i = 0, out = 0; i < 40; i += 5) {
    let value = 0;
    for (let j = 0; j < 5; j++) value = value * 85 + Z85_CHARS.indexOf(key[i + j]!);
    bytes.writeUInt32BE(value >>> 0, out);
    out += 4;
  }
  return bytes;
}

/** The Z85 text of a 32-byte key. */
export function z85Text(key: Uint8Array): string {
  let text = '';
  const view = Buffer.from(key);
  for (let i = 0; i < view.length; i += 4) {
    let value = view.readUInt32BE(i);
    let chunk = '';
    for (let j = 0; j < 5; j++) {
      chunk = Z85_CHARS[value % 85]! + chunk;
      value = Math.floor(value / 85);
    }
    text += chunk;
  }
  return text;
}

/** The lines of a key file that say something: `#` starts a comment line (Z85 itself uses `#`). */
function keyFileLines(path: string): string[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line.length > 0 && !line.startsWith('#'));
}

/** The Z85 keys of a key list file: one per line; blank lines and `#` comment lines skipped. */
export function readKeyList(path: string): string[] {
  return keyFileLines(path);
}

/**
 * A key pair file as `zrpc-keygen` writes it: `public=<z85>` and
 * `secret=<z85>` lines (`#` comment lines allowed).
 */
export function readKeyPair(path: string): { publicKey: string; secretKey: string } {
  const found: Record<string, string> = {};
  for (const line of keyFileLines(path)) {
    const match = /^(public|secret)\s*=\s*(\S+)$/.exec(line);
    if (match) found[match[1]!] = match[2]!;
  }
  if (found.public === undefined || found.secret === undefined) {
    throw new TypeError(`${path} is not a key pair file: it needs public=... and secret=... lines`);
  }
  z85Key(found.public, `the public key in ${path}`);
  z85Key(found.secret, `the secret key in ${path}`);
  return { publicKey: found.public, secretKey: found.secret };
}

/** The ZeroMQ options that make a ROUTER a CURVE server in ZAP domain `domain`. */
export function curveSocketOptions(curve: CurveOptions, domain: string) {
  z85Key(curve.secretKey, 'curve.secretKey');
  z85Key(curve.publicKey, 'curve.publicKey');
  return {
    curveServer: true,
    curveSecretKey: curve.secretKey,
    curvePublicKey: curve.publicKey,
    zapDomain: domain,
  };
}

const ZAP_ENDPOINT = 'inproc://zeromq.zap.01';
const ZAP_VERSION = '1.0';

/**
 * The process's ZAP handler: ZeroMQ asks it, over `inproc://zeromq.zap.01`,
 * whether each client may complete its CURVE handshake. There can be one per
 * process (per ZeroMQ context), so it serves every CURVE server of the
 * process, each with its own ZAP domain and allow-list. A listed key gets
 * `200`, anything else `400` (the connection then never completes).
 */
class ZapHandler {
  private readonly router = new Router({ linger: 0 });
  private readonly domains = new Map<string, Set<string>>();
  private readonly ready: Promise<void>;

  constructor() {
    this.ready = this.bind();
    void this.ready.then(() => this.serve()).catch(() => {});
  }

  /**
   * ZeroMQ releases the endpoint of a closed handler a moment after
   * `close()` returns: a handler started right after the last one stopped
   * (a server closed, another opened) waits for it, up to a second.
   */
  private async bind(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.router.bind(ZAP_ENDPOINT);
      } catch (error) {
        if ((error as { code?: string }).code !== 'EADDRINUSE' || attempt === 100) throw error;
        await delay(10);
      }
    }
  }

  /** Admit `keys` (Z85) in `domain`, replacing its list; resolves once the handler listens. */
  async allow(domain: string, keys: readonly string[]): Promise<void> {
    const hex = new Set(keys.map((key) => z85Key(key, 'a client key').toString('hex')));
    this.domains.set(domain, hex);
    await this.ready;
  }

  forget(domain: string): void {
    this.domains.delete(domain);
    if (this.domains.size === 0 && handler === this) {
      handler = undefined;
      this.router.close();
    }
  }

  private async serve(): Promise<void> {
    for await (const frames of this.router) {
      const delimiter = frames.findIndex((frame) => frame.length === 0);
      const envelope = frames.slice(0, delimiter + 1);
      const [version, requestId, domain, , , mechanism, clientKey] = frames.slice(delimiter + 1);
      const allowed =
        version?.toString() === ZAP_VERSION &&
        mechanism?.toString() === 'CURVE' &&
        clientKey !== undefined &&
        this.domains.get(domain?.toString() ?? '')?.has(clientKey.toString('hex')) === true;
      const status = allowed ? ['200', 'OK'] : ['400', 'client key not allowed'];
      const userId = allowed ? z85Text(clientKey!) : '';
      await this.router
        .send([...envelope, ZAP_VERSION, requestId ?? '', ...status, userId, ''])
        .catch(() => {});
    }
  }
}

let handler: ZapHandler | undefined;
let domains = 0;

/** A ZAP domain of its own for one CURVE server. */
export function newZapDomain(): string {
  return `zrpc-${process.pid}-${++domains}`;
}

/**
 * Admit the client `keys` (Z85) in `domain`, replacing its list; resolves
 * once the process's ZAP handler listens (started on first use).
 */
export function allowClientKeys(domain: string, keys: readonly string[]): Promise<void> {
  handler ??= new ZapHandler();
  return handler.allow(domain, keys);
}

/** Drop `domain`; the ZAP handler stops with the last one. */
export function forgetZapDomain(domain: string): void {
  handler?.forget(domain);
}

/** The allow-list `clientKeys` stands for (reading its file, if it is a path). */
export function clientKeyList(clientKeys: CurveOptions['clientKeys']): string[] {
  return typeof clientKeys === 'string' ? readKeyList(clientKeys) : [...clientKeys];
}
