import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultOutputFile } from './eval';

describe('eval: the default --json file', () => {
  it('is eval-FORMAT.json for the whole history, eval-FORMAT-served.json with --history served', () => {
    const results = path.join('trainer', 'results');
    expect(defaultOutputFile('online-retail')).toBe(path.join(results, 'eval-online-retail.json'));
    expect(defaultOutputFile('online-retail', 'full')).toBe(path.join(results, 'eval-online-retail.json'));
    // Not the committed whole-history record, which it used to overwrite.
    expect(defaultOutputFile('online-retail', 'served')).toBe(
      path.join(results, 'eval-online-retail-served.json'),
    );
    expect(defaultOutputFile('events', 'served')).toBe(path.join(results, 'eval-events-served.json'));
  });
});
