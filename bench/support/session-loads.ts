/**
 * The inference benchmark's session rows (`npm run bench -- inference`): the worker says, for each
 * session it creates, whether it was the isolate's first (`cold`). A row named cold must time a cold
 * creation and a row named warm only warm ones, or the figures are the other row's.
 */

/** Throws unless the cold load was the isolate's first and none of the warm loads was. */
export function assertSessionLoads(cold: { cold: boolean }, warm: ReadonlyArray<{ cold: boolean }>): void {
  const problems: string[] = [];
  if (cold.cold !== true)
    problems.push('the cold session row timed a warm isolate (a session was already loaded)');
  const coldInWarm = warm.filter((load) => load.cold !== false).length;
  if (coldInWarm > 0)
    problems.push(
      `${coldInWarm} of ${warm.length} warm session loads found no session loaded (the isolate restarted?)`,
    );
  if (problems.length > 0) throw new Error(`inference session loads: ${problems.join('; ')}`);
}
