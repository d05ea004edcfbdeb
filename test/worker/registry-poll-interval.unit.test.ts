import { describe, expect, it } from 'vitest';
import { pollIntervalMs } from '../../worker/src/models/registry';

describe('MODEL_POLL_SECONDS', () => {
  it('is seconds; unset, empty or not a number means the default 30 s, and 0 checks on every request', () => {
    expect(pollIntervalMs({ MODEL_POLL_SECONDS: '120' })).toBe(120_000);
    expect(pollIntervalMs({ MODEL_POLL_SECONDS: '0' })).toBe(0);
    for (const value of [undefined, '', '  ', 'soon', '-5']) {
      expect(pollIntervalMs({ MODEL_POLL_SECONDS: value }), String(value)).toBe(30_000);
    }
  });
});
