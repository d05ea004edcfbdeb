import { describe, expect, it } from 'vitest';
import { probeCacheMs } from '../../worker/src/health';
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

describe('HEALTH_PROBE_CACHE_SECONDS (the same seconds rule as MODEL_POLL_SECONDS)', () => {
  it('takes 0 and up, fractions included; a blank entry is the default, not 0', () => {
    expect(probeCacheMs({ HEALTH_PROBE_CACHE_SECONDS: '0' })).toBe(0);
    expect(probeCacheMs({ HEALTH_PROBE_CACHE_SECONDS: '2.5' })).toBe(2_500);
    expect(probeCacheMs({ HEALTH_PROBE_CACHE_SECONDS: '' })).toBe(5_000);
    expect(probeCacheMs({ HEALTH_PROBE_CACHE_SECONDS: undefined })).toBe(5_000);
    expect(probeCacheMs({ HEALTH_PROBE_CACHE_SECONDS: '-1' })).toBe(5_000);
  });
});
