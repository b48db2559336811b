import {
  type ClientReadableStream,
  credentials,
  makeGenericClientConstructor,
  type ServiceError,
} from '@grpc/grpc-js';
import { benchService } from '../grpc-service.js';
import type { Stack } from './stack.js';

/** The generic client's methods for `benchService`. */
interface BenchClient {
  echo(value: unknown, callback: (error: ServiceError | null, reply: unknown) => void): void;
  count(n: number): ClientReadableStream<number>;
  close(): void;
}

const BenchClient = makeGenericClientConstructor(benchService, 'Bench');

/** `@grpc/grpc-js` over one channel (one HTTP/2 connection) against the grpc child. */
export function grpcStack(endpoint: string): Stack {
  const client = new BenchClient(endpoint, credentials.createInsecure()) as unknown as BenchClient;
  const echo = (value: unknown) =>
    new Promise<unknown>((resolve, reject) => {
      client.echo(value, (error, reply) => (error ? reject(error) : resolve(reply)));
    });
  return {
    name: 'grpc-js',
    echo,
    echoWide: echo,
    async count(n) {
      let items = 0;
      for await (const _ of client.count(n)) items++;
      return items;
    },
    async close() {
      client.close();
    },
  };
}
