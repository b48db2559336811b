/**
 * One configuration of a middleware-cost benchmark, in its own process (a
 * tracing SDK's state is per process): a server and a client on loopback,
 * with or without the middleware, measuring a load when the parent
 * (`runMiddlewareBench`) asks. The benchmark says how to install its
 * configuration; the serving, the calling and the measuring are here.
 */

/** A load: one caller calling in a loop, or `IN_FLIGHT` of them. */
export type LoadName = 'sequential' | 'in flight';

/** How many calls the concurrent load keeps in flight. */
export const IN_FLIGHT = 64;

/** A request from the parent: measure `load` for `ms`. */
export interface Measure {
  load: LoadName;
  ms: number;
}

/** What a stack answers: calls per second, CPU µs per call, and its own counts per call. */
export interface Measured {
  rate: number;
  cpuMicros: number;
  /** Counts per call the stack reports (`spans exported`, say): a table each. */
  perCall: Record<string, number>;
}

/** The environment variable that tells a stack its configuration. */
export const CONFIG_ENV = 'ZRPC_BENCH_CONFIG';

/**
 * The zrpc classes a stack is made of, passed in by the benchmark (typed
 * by shape: the testkit depends on no zrpc package).
 */
export interface BenchZrpc<R extends RegistryLike, SM, CM> {
  Registry: new () => R;
  Server: new (options: {
    registry: R;
    name: string;
    logger: typeof quiet;
    middleware: SM[];
  }) => {
    bind(endpoint: string): Promise<void>;
    readonly endpoints: readonly string[];
    close(options: { graceMs: number }): Promise<void>;
  };
  Client: new (options: {
    endpoints: string;
    middleware: CM[];
  }) => {
    call(method: string, ...args: unknown[]): Promise<unknown>;
    close(): Promise<void>;
  };
}

interface RegistryLike {
  register(fn: (a: number, b: number) => number): unknown;
}

/** How a benchmark installs one configuration. */
export interface BenchStack<R extends RegistryLike, SM, CM> {
  zrpc: BenchZrpc<R, SM, CM>;
  /** The server's middleware. */
  server: SM[];
  /** The client's middleware, given the server's endpoint. */
  client(endpoint: string): CM[];
  /**
   * Counting for one measurement: called as it starts, answers what stops
   * it and says the counts (`{ 'spans exported': n }`), which the parent
   * prints per call.
   */
  count?(): () => Record<string, number>;
  /** After the server and client closed (flush and close an SDK, say). */
  close?(): Promise<unknown>;
}

/** The configuration this stack process runs, as the parent named it. */
export function benchConfig<C extends string>(): C {
  const config = process.env[CONFIG_ENV];
  if (config === undefined) throw new Error(`${CONFIG_ENV} is not set: run the benchmark's parent`);
  return config as C;
}

const quiet = { info() {}, warn() {}, error() {} };

/** Serve `add` with the stack's middleware, then measure each load the parent asks for. */
export async function runBenchStack<R extends RegistryLike, SM, CM>(
  stack: BenchStack<R, SM, CM>,
): Promise<void> {
  const { Registry, Server, Client } = stack.zrpc;
  const registry = new Registry();
  registry.register(function add(a: number, b: number) {
    return a + b;
  });
  const server = new Server({
    registry,
    name: 'bench',
    logger: quiet,
    middleware: stack.server,
  });
  await server.bind('tcp://127.0.0.1:*');
  const endpoint = server.endpoints[0]!;
  const client = new Client({ endpoints: endpoint, middleware: stack.client(endpoint) });
  // Every call's answer is checked: a configuration that broke calls would not be measured.
  if ((await client.call('add', 1, 2)) !== 3) throw new Error('add(1, 2) is not 3');

  /**
   * Calls per second over `ms`, `parallel` callers each calling in a loop,
   * the CPU time this process (server and client) spent per call, and the
   * stack's own counts per call.
   */
  async function measure(parallel: number, ms: number): Promise<Measured> {
    const stopCounting = stack.count?.();
    let calls = 0;
    const until = performance.now() + ms;
    const caller = async () => {
      for (let n = 0; performance.now() < until; n++) {
        if ((await client.call('add', n, 1)) !== n + 1) throw new Error(`add(${n}, 1) went wrong`);
        calls++;
      }
    };
    const cpu = process.cpuUsage();
    const started = performance.now();
    await Promise.all(Array.from({ length: parallel }, caller));
    const elapsed = performance.now() - started;
    const { user, system } = process.cpuUsage(cpu);
    const counts = stopCounting?.() ?? {};
    const perCall = Object.fromEntries(Object.entries(counts).map(([k, n]) => [k, n / calls]));
    return { rate: (calls / elapsed) * 1000, cpuMicros: (user + system) / calls, perCall };
  }

  const loads: Record<LoadName, number> = { sequential: 1, 'in flight': IN_FLIGHT };
  process.on('message', async ({ load, ms }: Measure) => {
    process.send!(await measure(loads[load], ms));
  });
  process.on('disconnect', async () => {
    await client.close();
    await server.close({ graceMs: 100 });
    await stack.close?.();
    process.exit(0);
  });
  process.send!({ ready: true });
}
