// An attacker of bench/soak in a process of its own (so that it does not
// slow the good client's process): an ordinary zrpc Client whose 20 loops
// open a stream, read 4 items and leave (`break`), over and over.
import { Client } from '../../src/index.js';

const client = new Client<{ forever(): Promise<AsyncIterable<number>> }>({
  endpoints: process.argv[2]!,
});
const loops = Array.from({ length: 20 }, async () => {
  for (;;) {
    try {
      for await (const item of await client.forever()) if (item >= 3) break;
    } catch {}
  }
});
process.send?.('started');
await Promise.all(loops);
