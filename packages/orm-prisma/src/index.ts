export { ConnectionCheckError, isConnectionError } from './connection-errors.js';
export {
  CONNECTION_ERROR_NAME,
  DatabaseError,
  DEFAULT_ERROR_NAMES,
  type ErrorNames,
  mapDatabaseError,
} from './errors.js';
export type {
  MethodSelector,
  PrismaClientLike,
  TransactionClientOf,
  TransactionOptions,
} from './types.js';
export { type ZrpcPrisma, type ZrpcPrismaOptions, zrpcPrisma } from './zrpc-prisma.js';
