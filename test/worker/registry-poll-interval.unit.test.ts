import { describe, expect, it } from 'vitest';
import { pollIntervalMs } from '../../worker/src/models/registry';
import { secondsSetting } from '../../worker/src/settings';

describe('MODEL_POLL_SECONDS', () => {
  it('is seconds; unset, empty or not a number means the default 30 s, and 0 checks on every request', () => {
    expect(pollIntervalMs({ MODEL_POLL_SECONDS: '120' })).toBe(120_000);
    expect(pollIntervalMs({ MODEL_POLL_SECONDS: '0' })).toBe(0);
    for (const value of [undefined, '', '  ', 'soon', '-5']) {
      expect(pollIntervalMs({ MODEL_POLL_SECONDS: value }), String(value)).toBe(30_000);
    }
  });
});

describe('secondsSetting (MODEL_POLL_SECONDS, HEALTH_PROBE_CACHE_SECONDS)', () => {
  it('takes 0 and up, fractions included; a blank entry is the default, not 0', () => {
    expect(secondsSetting('0', 5)).toBe(0);
    expect(secondsSetting('2.5', 5)).toBe(2_500);
    expect(secondsSetting('', 5)).toBe(5_000);
    expect(secondsSetting(undefined, 5)).toBe(5_000);
    expect(secondsSetting('-1', 5)).toBe(5_000);
  });
});
