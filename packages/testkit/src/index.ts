export {
  add,
  count,
  count_then_fail,
  find,
  NotFound,
  type RelayClient,
  relayThrough,
  ValueError,
} from './app-methods.js';
export type {
  EventVectorFile,
  PullerScenario,
  RenderedEvent,
  SenderScenario,
  SentMessage,
} from './event-vectors.js';
export { eventOf, eventScenario, loadEventVectors } from './event-vectors.js';
export { FakeClock, FakeTimer, sleepOnClock, type TimerClock } from './fake-clock.js';
export { type RunnerProcess, startRunner } from './runner-process.js';
export {
  type Closable,
  closedAfterEach,
  closeServer,
  quietLogger,
  type ServerLike,
  serverPerFile,
  startServer,
} from './servers.js';
export type { RecordedEvent, Scenario, VectorFile, VectorFileName } from './vectors.js';
export { fromRendered, loadVectors, recordedEvent, vectorsDir } from './vectors.js';
export {
  barrier,
  collect,
  type Deferred,
  deferred,
  nextTurns,
  rejection,
  until,
  within,
} from './waits.js';
