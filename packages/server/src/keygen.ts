#!/usr/bin/env node
import { writeFileSync } from 'node:fs';
import { curveKeyPair } from 'zeromq';

/*
 * zrpc-keygen: a CURVE key pair for a zrpc server or client.
 *   zrpc-keygen            prints `public=` and `secret=` lines
 *   zrpc-keygen <name>     writes <name>.key (the pair, mode 0600) and <name>.pub
 * A server takes its own <name>.key (`--curve-keys`) and the clients'
 * .pub lines in its allow-list file (`--curve-allow`); a client takes its
 * own pair and the server's public key.
 */

const USAGE = 'usage: zrpc-keygen [<name>]   (writes <name>.key and <name>.pub)';

const args = process.argv.slice(2);
if (args.length > 1 || args[0] === '--help' || args[0]?.startsWith('-')) {
  console.error(USAGE);
  process.exit(args[0] === '--help' ? 0 : 2);
}
const { publicKey, secretKey } = curveKeyPair();
const pair = `# zrpc CURVE key pair: keep this file secret\npublic=${publicKey}\nsecret=${secretKey}\n`;
const name = args[0];
if (name === undefined) {
  process.stdout.write(pair);
} else {
  writeFileSync(`${name}.key`, pair, { mode: 0o600, flag: 'wx' });
  writeFileSync(`${name}.pub`, `${publicKey}\n`, { flag: 'wx' });
  console.log(`wrote ${name}.key (keep it secret) and ${name}.pub: ${publicKey}`);
}
