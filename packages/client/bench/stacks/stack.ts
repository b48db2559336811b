/** The names the report uses for the three stacks. */
export type StackName = 'zrpc' | 'floor' | 'grpc-js';

/** One RPC stack as the loads drive it: a client connected to its server child. */
export interface Stack {
  readonly name: StackName;
  /** One round trip of `value` through the server's echo. */
  echo(value: unknown): Promise<unknown>;
  /**
   * The round trip of the 512-in-flight load: zrpc's goes through its pool
   * (`RPCClient` at its default `max`), the shape a service under heavy fan-in uses; the
   * others use their one connection.
   */
  echoWide(value: unknown): Promise<unknown>;
  /** Read the server's stream of `n` items; resolves with how many arrived. */
  count(n: number): Promise<number>;
  close(): Promise<void>;
}
