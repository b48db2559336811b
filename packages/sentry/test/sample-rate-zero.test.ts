import { describe } from 'vitest';
import { errorsOnlyTests } from './support/errors-only.js';

describe('tracesSampleRate 0', () => {
  errorsOnlyTests({ tracesSampleRate: 0 }, '-0'); // sampled: no
});
