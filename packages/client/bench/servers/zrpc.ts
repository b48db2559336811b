import { fileURLToPath } from 'node:url';
import { runnerLogger, runServer } from '@zrpc/server/runner';
import { announce } from './ready.js';

// The runner at its default settings, as `zrpc-server --app <dir>` starts
// it: every option at its default, the logger the command builds at its
// default verbosity (1: a line per call), on this process's stderr, which
// the bench points at a file (see children.ts), as a service manager would
// a log file or pipe. The banner the command prints on stdout is dropped.
const { server } = await runServer({
  apps: [fileURLToPath(new URL('./app', import.meta.url))],
  address: '127.0.0.1:0',
  // ZRPC_BENCH_VERBOSITY: another verbosity, for bench/ab.ts.
  server: {
    name: 'bench',
    logger: runnerLogger({ verbosity: Number(process.env.ZRPC_BENCH_VERBOSITY ?? 1) }),
  },
  log: { info() {}, error: (line) => process.stderr.write(`${line}\n`) },
});
announce(server.endpoints[0]!, () => server.close({ graceMs: 0 }));
