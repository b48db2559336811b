/**
 * Calls the tickets provider with a client typed from its declarations: a
 * type-only import, so none of the provider's code (or dependencies) loads
 * here at run time.
 */

import type * as Tickets from '@acme/tickets-provider/rpcs';
import { Client, type RemoteError } from '@zrpc/client';

// biome-ignore lint/suspicious/noUndeclaredEnvVars: read when the consumer runs, an input of no build or test task
const endpoint = process.env.TICKETS_ENDPOINT ?? 'tcp://127.0.0.1:4242';
const client = new Client<typeof Tickets>({ endpoints: endpoint });
try {
  const ticket = await client.get_ticket(1); // Tickets.Ticket
  console.log(`ticket ${ticket.id}: ${ticket.title} (${ticket.status})`);
  for await (const newer of client.ticket_list(2)) console.log(`newest: ${newer.title}`);
  await client.get_ticket(99).catch((error: RemoteError) => console.log(error.remoteName));
} finally {
  await client.close();
}
