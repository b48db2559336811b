import { setTimeout as sleep } from 'node:timers/promises';
import { Registry } from '@zrpc/core';
import { Puller } from '@zrpc/server';
import { countEvents } from './events-count.js';
import { announce } from './ready.js';

// A zrpc Puller with defaults. EVENTS_WORK_MS > 0 makes each event take
// that long (awaiting), for the flood: the puller then holds what it may.
const workMs = Number(process.env.EVENTS_WORK_MS ?? 0);
const ran = countEvents();
const registry = new Registry();
registry.register(
  workMs > 0
    ? async function tick(_i: number, _pad?: Uint8Array) {
        await sleep(workMs);
        ran();
      }
    : function tick(_i: number, _pad?: Uint8Array) {
        ran();
      },
  { name: 'tick', args: ['i', { name: 'pad', optional: true }] },
);
const puller = new Puller({ registry });
await puller.bind('tcp://127.0.0.1:*');
announce(puller.endpoints[0]!, () => puller.close({ graceMs: 0 }));
