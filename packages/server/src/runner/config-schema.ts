import { isDurationMs, MAX_TIMER_MS } from '@zrpc/core/protocol';
import * as v from 'valibot';
import { parseAdminAddress } from '../admin/address.js';
import { isCount, type ServerOptions } from '../options.js';
import { parseAddrport } from './addrport.js';

/** Server options a config may set: the runner brings the registry, middleware and observers have their own keys. */
export type RunnerServerOptions = Partial<
  Omit<ServerOptions, 'registry' | 'middleware' | 'observers' | 'clock'>
>;

// One schema for the whole config file, checked before anything starts, so
// that a mistake names the file, the key and what was expected instead of
// surfacing later as an option silently ignored or a RangeError from deep
// inside. valibot: no dependencies, a schema per key with our own messages,
// and issues that carry the key path.

// The values are judged by the Server's own rules (isDurationMs, isCount),
// so that the config and the constructor never disagree; the schema adds
// the key paths and the messages.
const milliseconds = v.pipe(
  v.number('expected a positive number of milliseconds'),
  v.check(
    (ms) => isDurationMs(ms),
    `expected a positive number of milliseconds (at most ${MAX_TIMER_MS})`,
  ),
);

function integerFrom(min: number) {
  return v.pipe(
    v.number(`expected an integer >= ${min}`),
    v.check((n) => isCount(n, min), `expected an integer >= ${min}`),
  );
}

const logger = v.custom<NonNullable<RunnerServerOptions['logger']>>(
  (value) =>
    typeof value === 'object' &&
    value !== null &&
    ['info', 'warn', 'error'].every(
      (level) => typeof (value as Record<string, unknown>)[level] === 'function',
    ),
  'expected a logger: an object with info, warn and error methods (console, a pino logger)',
);

/** A strict object: an unknown key is refused, naming the keys it takes. */
function keysOf<const Entries extends v.ObjectEntries>(entries: Entries, what: string) {
  const keys = Object.keys(entries).join(', ');
  return v.pipe(
    // valibot's object schemas take arrays too.
    v.custom<object>((value) => !Array.isArray(value), 'expected an object'),
    v.strictObject(entries, (issue) =>
      issue.expected === 'never'
        ? `unknown key (${what} takes ${keys})`
        : // A required key that is missing: its name is what was expected.
          issue.expected?.startsWith('"')
          ? `missing (${what} takes ${keys})`
          : 'expected an object',
    ),
  );
}

// Every key of the Server's options a config may set: the `satisfies`
// clause fails the build when ServerOptions gains one this schema lacks.
const serverEntries = {
  name: v.optional(
    v.pipe(v.string('expected a non-empty string'), v.nonEmpty('expected a non-empty string')),
  ),
  heartbeatMs: v.optional(milliseconds),
  assumedPeerHeartbeatMs: v.optional(milliseconds),
  tracebacks: v.optional(v.boolean('expected true or false')),
  concurrency: v.optional(integerFrom(1)),
  reservedSlots: v.optional(integerFrom(0)),
  queueLimit: v.optional(integerFrom(0)),
  maxChannelsPerPeer: v.optional(integerFrom(1)),
  logger: v.optional(logger),
  // zeromq.js judges the options themselves when the socket is made.
  socket: v.optional(
    v.custom<NonNullable<RunnerServerOptions['socket']>>(
      (value) => typeof value === 'object' && value !== null && !Array.isArray(value),
      'expected an object of zeromq.js socket options',
    ),
  ),
  sendBudget: v.optional(
    keysOf(
      { perPeerBytes: v.optional(integerFrom(1)), totalBytes: v.optional(integerFrom(1)) },
      'server.sendBudget',
    ),
  ),
  workers: v.optional(integerFrom(1)),
  blockWarnMs: v.optional(milliseconds),
  // The keys themselves (Z85) are checked when the server is made.
  curve: v.optional(
    v.object(
      {
        publicKey: v.string('expected a Z85 public key'),
        secretKey: v.string('expected a Z85 secret key'),
        clientKeys: v.union(
          [v.array(v.string()), v.string()],
          'expected a list of Z85 client keys or the path of an allow-list file',
        ),
      },
      'expected { publicKey, secretKey, clientKeys }',
    ),
  ),
} satisfies Record<keyof RunnerServerOptions, v.GenericSchema>;

const address = v.pipe(
  v.string('expected an address string (8000, 0.0.0.0:8000, tcp://...)'),
  v.rawCheck(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    try {
      parseAddrport(dataset.value);
    } catch (err) {
      addIssue({ message: (err as Error).message });
    }
  }),
);

const adminAddress = v.pipe(
  v.string('expected a port or host:port string (9464, 0.0.0.0:9464)'),
  v.rawCheck(({ dataset, addIssue }) => {
    if (!dataset.typed) return;
    try {
      parseAdminAddress(dataset.value);
    } catch (err) {
      addIssue({ message: (err as Error).message });
    }
  }),
);

export const configSchema = keysOf(
  {
    apps: v.optional(
      v.array(
        v.pipe(
          v.string('expected a directory or a package name'),
          v.nonEmpty('expected a directory or a package name, not ""'),
        ),
        'expected an array of directories or package names',
      ),
    ),
    middleware: v.optional(
      v.array(v.function('expected a middleware function'), 'expected an array of functions'),
    ),
    observers: v.optional(
      v.array(v.function('expected an observer function'), 'expected an array of functions'),
    ),
    server: v.optional(keysOf(serverEntries, 'server')),
    address: v.optional(address),
    pull: v.optional(address),
    subscribe: v.optional(
      v.union([address, v.array(address)], 'expected an endpoint or a list of endpoints'),
    ),
    metrics: v.optional(keysOf({ address: adminAddress }, 'metrics')),
    reload: v.optional(v.boolean('expected true or false')),
  },
  'the config',
);

/**
 * Every problem of a config, one per line: the key path, what was expected
 * and what was found (`server.heartbeatMs: expected a positive number of
 * milliseconds, got "5000" (string)`). Empty when the config is valid.
 */
export function configProblems(config: unknown): string[] {
  if (config === undefined) return ['no default export (export default defineConfig({ ... }))'];
  const result = v.safeParse(configSchema, config);
  if (result.success) return [];
  return result.issues.map((issue) => {
    const path = keyPath(issue.path);
    const unknownKey = issue.type === 'strict_object' && issue.expected === 'never';
    const found = unknownKey || issue.type === 'raw_check' ? '' : `, got ${describe(issue.input)}`;
    const where = path === '' ? 'the default export' : path;
    return `${where}: ${issue.message}${found}`;
  });
}

function keyPath(path: v.IssuePathItem[] | undefined): string {
  let text = '';
  for (const item of path ?? []) {
    const key = item.key as PropertyKey;
    text += typeof key === 'number' ? `[${key}]` : `${text === '' ? '' : '.'}${String(key)}`;
  }
  return text;
}

/** A value as a message shows it: `"5000" (string)`, `0 (number)`, `an array`. */
function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  switch (typeof value) {
    case 'string':
      return `${JSON.stringify(value)} (string)`;
    case 'number':
    case 'boolean':
    case 'bigint':
      return `${String(value)} (${typeof value})`;
    case 'function':
      return 'a function';
    case 'object':
      return 'an object';
    default:
      return String(value);
  }
}
