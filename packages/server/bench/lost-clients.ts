// How long a server at its defaults (heartbeat 5 s, a client of unknown
// pace assumed at 30 s) takes to find a reference client that is gone: one
// SIGKILLed, one SIGSTOPped, one whose network is cut (network namespaces:
// run as root). The client never heart-beats, as one at heartbeat=30 does
// for the first 30 s of a call: its channel heartbeats alone would take
// 60 s. Runs of one kind go side by side (separate processes and
// namespaces), with the cut at a random moment in the heartbeat cycle.
//   node --import tsx bench/lost-clients.ts [runs per kind, default 6]
import { type CutOff, LostClientRun, namespacesRefused } from '../test/lost-peers-helpers.js';

const RUNS = Number(process.argv[2] ?? 6);
const DEFAULT_HEARTBEAT_MS = 5000;

async function measure(cutOff: CutOff): Promise<Array<{ reason: string; ms: number }>> {
  const runs = Array.from({ length: RUNS }, () => new LostClientRun(cutOff));
  try {
    // Cut at a random phase of the call's heartbeats and ZeroMQ's PINGs (both
    // start with the connection, which each run makes for its call).
    return await Promise.all(
      runs.map((run) => run.lost(90_000, 1000 + Math.random() * DEFAULT_HEARTBEAT_MS)),
    );
  } finally {
    for (const run of runs) run.close();
  }
}

const refused = namespacesRefused();
const kinds: CutOff[] = refused === undefined ? ['kill', 'stop', 'partition'] : ['kill', 'stop'];
if (refused !== undefined)
  console.log(`partition skipped: network namespaces refused (${refused})`);
console.log(`${RUNS} runs each, server at its defaults (heartbeat ${DEFAULT_HEARTBEAT_MS} ms)`);
console.log('cut off    | found as      | min s | median s | max s');
for (const kind of kinds) {
  const results = await measure(kind);
  const seconds = results.map((r) => r.ms / 1000).sort((a, b) => a - b);
  const reasons = [...new Set(results.map((r) => r.reason))].join(', ');
  const median = seconds[Math.floor(seconds.length / 2)]!;
  console.log(
    `${kind.padEnd(10)} | ${reasons.padEnd(13)} | ${seconds[0]!.toFixed(1).padStart(5)} | ${median.toFixed(1).padStart(8)} | ${seconds.at(-1)!.toFixed(1).padStart(5)}`,
  );
}
