/**
 * A duration setting in whole or fractional seconds, as milliseconds: `0` and up as given; unset,
 * empty (a `[vars]` entry left blank) or not a number means the default. (`Number('')` is 0, which for
 * these settings means "every time": a blank entry must not switch a cache or a poll off.)
 */
export function secondsSetting(raw: string | undefined, defaultSeconds: number): number {
  const text = raw?.trim();
  const seconds = text ? Number(text) : defaultSeconds;
  return (Number.isFinite(seconds) && seconds >= 0 ? seconds : defaultSeconds) * 1000;
}
