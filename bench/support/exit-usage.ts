/**
 * Preloaded into a benchmark's child process (`node --import tsx --import ./bench/support/exit-usage.ts …`):
 * on exit it writes the process's own CPU time and peak RSS (getrusage) to stderr as one JSON line,
 * `rx-usage {"cpuSeconds":…,"maxRssMiB":…}`, for commands that do not report them themselves.
 */
process.on('exit', () => {
  const usage = process.resourceUsage();
  const line = {
    cpuSeconds: (usage.userCPUTime + usage.systemCPUTime) / 1e6,
    maxRssMiB: usage.maxRSS / 1024,
  };
  process.stderr.write(`rx-usage ${JSON.stringify(line)}\n`);
});
