// What the server's Outbox relies on, checked against the installed zeromq.js
// (run again after upgrading it): how a ROUTER set `mandatory` answers a send
// for a peer whose pipe is full, and for a peer that is gone, with the
// default sendTimeout and with sendTimeout 0.
//   node packages/server/bench/zeromq-send-facts.mjs
// Found with zeromq 6.8.0: with the default sendTimeout, a send for a full
// peer is refused at once (EAGAIN) while another peer has room, but waits
// when no pipe has room, and meanwhile every other send throws EBUSY;
// with sendTimeout 0 it is refused at once (EAGAIN) either way. A peer that
// is gone or unknown: EHOSTUNREACH at once.
import { Dealer, Router } from 'zeromq';

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const BIG = Buffer.alloc(256 * 1024);

/** Send to `id` until a send does not succeed at once; what happened to that one. */
async function fill(router, id) {
  for (let taken = 0; taken < 1000; taken++) {
    const sent = router.send([id, '', BIG]).then(
      () => 'ok',
      (error) => `refused ${error.code}`,
    );
    const outcome = await Promise.race([sent, sleep(500).then(() => 'still pending after 500 ms')]);
    if (outcome !== 'ok') return { taken, outcome };
  }
  return { taken: 1000, outcome: 'never refused' };
}

/** One send: its outcome, or what it threw (zeromq.js throws EBUSY instead of rejecting). */
async function attempt(router, frames) {
  try {
    return await router.send(frames).then(
      () => 'ok',
      (error) => `refused ${error.code} (${error.message})`,
    );
  } catch (error) {
    return `threw ${error.code} (${error.message})`;
  }
}

async function peer(router, options = {}) {
  const socket = new Dealer({ linger: 0, ...options });
  socket.connect(router.lastEndpoint);
  await socket.send(['', 'hello']);
  const [id] = await router.receive();
  return { socket, id };
}

for (const sendTimeout of [undefined, 0]) {
  console.log(
    `\nROUTER mandatory, sendHighWaterMark 4, sendTimeout ${sendTimeout ?? 'default (-1)'}`,
  );
  const router = new Router({ mandatory: true, sendHighWaterMark: 4, linger: 0 });
  if (sendTimeout !== undefined) router.sendTimeout = sendTimeout;
  await router.bind('tcp://127.0.0.1:*');
  // A peer that never reads, with a small kernel buffer (else Linux grows it).
  const slow = await peer(router, { receiveHighWaterMark: 1, receiveBufferSize: 4096 });
  const fast = await peer(router);

  console.log('  unknown peer:', await attempt(router, [Buffer.from('nobody'), '', 'x']));
  const full = await fill(router, slow.id);
  console.log(`  a peer full after ${full.taken} messages, another has room: ${full.outcome}`);
  console.log('  the other peer meanwhile:', await attempt(router, [fast.id, '', 'x']));
  fast.socket.close();
  await sleep(300);
  const alone = await fill(router, slow.id);
  console.log(`  the same peer, now the only one: ${alone.outcome}`);
  if (alone.outcome.startsWith('still pending')) {
    console.log('  another send meanwhile:', await attempt(router, [slow.id, '', 'x']));
  } else {
    slow.socket.close();
    await sleep(300);
    console.log('  the full peer once disconnected:', await attempt(router, [slow.id, '', 'x']));
  }
  slow.socket.close();
  router.close();
}
