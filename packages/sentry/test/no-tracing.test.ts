import { describe } from 'vitest';
import { errorsOnlyTests } from './support/errors-only.js';

describe('tracing not configured (errors only, traces still propagated)', () => {
  errorsOnlyTests({ tracesSampleRate: undefined }, ''); // no sampling decision yet
});
