/**
 * A flood of requests on an admin endpoint, for the metrics rows: FLOODERS
 * loops, each sending the next request as soon as the last one is answered,
 * over the admin paths (cheap probes, the Prometheus text, the status view,
 * a 404). Runs until the parent says `stop`, then answers how many requests
 * it made. Run as a child process of the bench (`fork`).
 */
const FLOODERS = 16;
const PATHS = ['/healthz', '/readyz', '/metrics', '/status.json', '/nope'];

const base = process.argv[2]!;
let requests = 0;
let running = true;

async function flood(offset: number): Promise<void> {
  for (let i = offset; running; i++) {
    const response = await fetch(new URL(PATHS[i % PATHS.length]!, base));
    await response.arrayBuffer();
    requests++;
  }
}

const loops = Array.from({ length: FLOODERS }, (_, i) => flood(i));
process.send?.('flooding');
process.on('message', async (message) => {
  if (message !== 'stop') return;
  running = false;
  await Promise.allSettled(loops);
  process.send?.({ requests });
  process.exit(0);
});
process.once('disconnect', () => process.exit(0));
