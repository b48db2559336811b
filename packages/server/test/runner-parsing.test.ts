import { describe, expect, it } from 'vitest';
import { DEFAULT_ADDRPORT, parseAddrport } from '../src/runner/addrport.js';
import { parseCommandLine } from '../src/runner/args.js';
import { UsageError } from '../src/runner/errors.js';

function usageErrorOf(fn: () => unknown): UsageError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    expect((err as UsageError).exitCode).toBe(2);
    return err as UsageError;
  }
  throw new Error('expected a UsageError');
}

describe('parseAddrport (Django runserver forms)', () => {
  it.each([
    ['8000', 'tcp://127.0.0.1:8000', false],
    ['0.0.0.0:8000', 'tcp://0.0.0.0:8000', false],
    ['127.0.0.1:0', 'tcp://127.0.0.1:0', false],
    ['0:8000', 'tcp://0.0.0.0:8000', false],
    ['[::1]:8000', 'tcp://[::1]:8000', true],
    ['[2001:db8::17]:4242', 'tcp://[2001:db8::17]:4242', true],
    ['localhost:8000', 'tcp://localhost:8000', false],
    ['rpc-1.internal.example.com:65535', 'tcp://rpc-1.internal.example.com:65535', false],
    [DEFAULT_ADDRPORT, 'tcp://127.0.0.1:4242', false],
  ])('%s listens on %s', (value, endpoint, ipv6) => {
    expect(parseAddrport(value)).toEqual({ endpoint, ipv6 });
  });

  it.each([
    ['tcp://127.0.0.1:5555', false],
    ['tcp://*:5555', false],
    ['tcp://[::1]:5555', true],
    ['ipc:///tmp/zrpc.sock', false],
    ['inproc://zrpc-runner', false],
  ])('takes the ZeroMQ endpoint %s as is', (value, ipv6) => {
    expect(parseAddrport(value)).toEqual({ endpoint: value, ipv6 });
  });

  it.each([
    'abc',
    '',
    ':8000',
    '8000:',
    'localhost:',
    '127.0.0.1:80a',
    '[::1]',
    '::1:8000',
    '[fe80::1%eth0]:8000',
    'http://localhost:8000',
    'localhost:8000/',
    ' 8000',
    '-1',
  ])('refuses %j with Django’s message', (value) => {
    expect(usageErrorOf(() => parseAddrport(value)).message).toBe(
      `"${value}" is not a valid port number or address:port pair.`,
    );
  });

  it.each([
    ['[1:2:3]:8000', '1:2:3'],
    ['[:::]:8000', ':::'],
  ])('refuses the bad IPv6 address in %s', (value, address) => {
    expect(usageErrorOf(() => parseAddrport(value)).message).toBe(
      `"${address}" is not a valid IPv6 address.`,
    );
  });

  it('refuses an IPv4 address out of range', () => {
    expect(usageErrorOf(() => parseAddrport('999.1.1.1:8000')).message).toBe(
      '"999.1.1.1" is not a valid IPv4 address.',
    );
  });

  it.each([
    ['70000', '70000'],
    ['localhost:65536', '65536'],
  ])('refuses the port of %s', (value, port) => {
    expect(usageErrorOf(() => parseAddrport(value)).message).toBe(
      `"${port}" is not a valid port number.`,
    );
  });
});

describe('parseCommandLine', () => {
  it('has nothing set by default', () => {
    expect(parseCommandLine([])).toEqual({
      help: false,
      address: undefined,
      apps: [],
      config: undefined,
      pull: undefined,
      subscribe: [],
      name: undefined,
      heartbeatMs: undefined,
      verbosity: 1,
      workers: undefined,
      reload: false,
    });
  });

  it('reads every option, --app repeated', () => {
    expect(
      parseCommandLine([
        '0.0.0.0:8000',
        '--app',
        'examples/hello',
        '--app=@acme/billing',
        '--config',
        'conf/zrpc.config.ts',
        '--name',
        'billing',
        '--heartbeat',
        '2.5',
        '-v',
        '3',
        '--workers',
        '4',
        '--pull',
        '4243',
        '--subscribe',
        'tcp://tickets:4244',
        '--subscribe=billing:4245',
        '--reload',
      ]),
    ).toEqual({
      help: false,
      address: '0.0.0.0:8000',
      apps: ['examples/hello', '@acme/billing'],
      config: 'conf/zrpc.config.ts',
      pull: '4243',
      subscribe: ['tcp://tickets:4244', 'billing:4245'],
      name: 'billing',
      heartbeatMs: 2500,
      verbosity: 3,
      workers: 4,
      reload: true,
    });
  });

  it.each(['4', '10', 'x', ''])('refuses --verbosity %j, as Django does', (value) => {
    expect(usageErrorOf(() => parseCommandLine(['--verbosity', value])).message).toBe(
      `argument -v/--verbosity: invalid choice: '${value}' (choose from 0, 1, 2, 3)\nRun zrpc-server --help for usage.`,
    );
  });

  it.each([['--help'], ['-h']])('%s asks for help', (flag) => {
    expect(parseCommandLine([flag]).help).toBe(true);
  });

  it('checks the addrport at once', () => {
    expect(usageErrorOf(() => parseCommandLine(['--app', 'x', 'abc'])).message).toBe(
      '"abc" is not a valid port number or address:port pair.',
    );
  });

  it.each([['0'], ['-1'], ['soon'], [''], ['Infinity']])('refuses the heartbeat %j', (value) => {
    expect(usageErrorOf(() => parseCommandLine([`--heartbeat=${value}`])).message).toBe(
      `"${value}" is not a valid heartbeat: give a positive number of seconds.`,
    );
  });

  it.each([['0'], ['-1'], ['two'], [''], ['1.5']])('refuses the workers %j', (value) => {
    expect(usageErrorOf(() => parseCommandLine([`--workers=${value}`])).message).toBe(
      `"${value}" is not a valid number of workers: give an integer >= 1.`,
    );
  });

  it.each([
    [['8000', '8001'], 'too many arguments: 8001'],
    [['--port', '8000'], "Unknown option '--port'"],
    [['--app'], "Option '--app <value>' argument missing"],
    [['--name', ''], '--name must not be empty'],
  ])('refuses %j and points to --help', (argv, problem) => {
    const { message } = usageErrorOf(() => parseCommandLine(argv));
    expect(message).toContain(problem);
    expect(message.endsWith('\nRun zrpc-server --help for usage.')).toBe(true);
  });
});

describe('CURVE flags', () => {
  it('--curve-keys and --curve-allow go together', () => {
    expect(
      parseCommandLine(['--curve-keys', 'server.key', '--curve-allow', 'clients.txt']).curve,
    ).toEqual({
      keys: 'server.key',
      allow: 'clients.txt',
    });
    expect(() => parseCommandLine(['--curve-keys', 'server.key'])).toThrow(/go together/);
    expect(() => parseCommandLine(['--curve-allow', 'clients.txt'])).toThrow(/go together/);
    expect(parseCommandLine([]).curve).toBeUndefined();
  });
});
