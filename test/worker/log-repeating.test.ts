import { afterEach, describe, expect, it, vi } from 'vitest';
import { applyLogLevel } from '../../worker/src/log';
import { firstInIsolate, logRepeating, REPEAT_LIMIT, REPEAT_WINDOW_MS } from '../../worker/src/log-repeating';

/** Lines written to the console during `work`, parsed. */
function linesOf(work: () => void): Array<Record<string, unknown>> {
  const spies = (['log', 'warn', 'error'] as const).map((method) =>
    vi.spyOn(console, method).mockImplementation(() => undefined),
  );
  try {
    work();
    return spies.flatMap((spy) => spy.mock.calls.map((call) => JSON.parse(String(call[0]))));
  } finally {
    for (const spy of spies) spy.mockRestore();
  }
}

describe('logRepeating: failures that repeat on every request during an outage', () => {
  afterEach(() => applyLogLevel({}));

  it('writes the first lines of a window in full, counts the rest, and reports the count once the window is over', () => {
    const start = 1_000_000_000_000;
    const during = linesOf(() => {
      for (let i = 0; i < 250; i++) logRepeating('error', 'test_dependency_down', { attempt: i }, start + i);
    });
    expect(during).toHaveLength(REPEAT_LIMIT);
    expect(during.map((line) => line.attempt)).toEqual(Array.from({ length: REPEAT_LIMIT }, (_, i) => i));
    expect(during.at(-1)?.repeats).toContain('further test_dependency_down lines are counted until');
    expect(during[0]?.repeats).toBeUndefined();

    const after = linesOf(() =>
      logRepeating('error', 'test_dependency_down', { attempt: 250 }, start + REPEAT_WINDOW_MS),
    );
    expect(after).toEqual([
      {
        level: 'error',
        event: 'log_lines_suppressed',
        of: 'test_dependency_down',
        suppressed: 250 - REPEAT_LIMIT,
        since: new Date(start).toISOString(),
      },
      { level: 'error', event: 'test_dependency_down', attempt: 250 },
    ]);
  });

  it('caps each event on its own, and a window with nothing left out reports nothing', () => {
    const start = 2_000_000_000_000;
    const lines = linesOf(() => {
      for (let i = 0; i < REPEAT_LIMIT; i++) logRepeating('warn', 'test_cache_down', {}, start);
      logRepeating('warn', 'test_queue_down', {}, start);
      logRepeating('warn', 'test_cache_down', {}, start + REPEAT_WINDOW_MS + 1);
    });
    expect(lines.map((line) => line.event)).toEqual([
      ...Array(REPEAT_LIMIT).fill('test_cache_down'),
      'test_queue_down',
      'test_cache_down',
    ]);
  });

  it('below the log level nothing is written: neither the lines nor their count', () => {
    applyLogLevel({ LOG_LEVEL: 'error' });
    const start = 3_000_000_000_000;
    const lines = linesOf(() => {
      for (let i = 0; i < 30; i++) logRepeating('warn', 'test_hidden', {}, start);
      logRepeating('warn', 'test_hidden', {}, start + REPEAT_WINDOW_MS);
    });
    expect(lines).toEqual([]);
  });
});

describe('firstInIsolate', () => {
  it('says yes once per key and event, and forgets the keys of an event past 32', () => {
    expect(firstInIsolate('test_once', 'a')).toBe(true);
    expect(firstInIsolate('test_once', 'a')).toBe(false);
    expect(firstInIsolate('test_once_other', 'a')).toBe(true);
    for (let i = 1; i < 32; i++) expect(firstInIsolate('test_once', `k${i}`)).toBe(true);
    expect(firstInIsolate('test_once', 'a')).toBe(false);
    // The 33rd key clears the 32 before it: 'a' is said again.
    expect(firstInIsolate('test_once', 'k32')).toBe(true);
    expect(firstInIsolate('test_once', 'a')).toBe(true);
  });
});
