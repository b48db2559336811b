import { once } from 'node:events';
import {
  Server,
  ServerCredentials,
  type ServerUnaryCall,
  type ServerWritableStream,
  type sendUnaryData,
} from '@grpc/grpc-js';
import { benchService } from '../grpc-service.js';
import { announce } from './ready.js';

const server = new Server();
server.addService(benchService, {
  echo(call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>) {
    callback(null, call.request);
  },
  // Written under the stream's backpressure, as a real handler would.
  async count(call: ServerWritableStream<number, number>) {
    for (let i = 0; i < call.request; i++) {
      if (!call.write(i)) await once(call, 'drain');
    }
    call.end();
  },
});
const port = await new Promise<number>((resolve, reject) => {
  server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (error, bound) =>
    error ? reject(error) : resolve(bound),
  );
});
announce(`127.0.0.1:${port}`, () => server.forceShutdown());
