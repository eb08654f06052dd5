/**
 * Loaded with `node --import` into a benchmarked process: when it exits, writes its CPU time and
 * peak resident memory (the kernel's maxrss) to BENCH_USAGE_FILE, with what the memory was made
 * of when it was highest (sampled every 50 ms).
 */
import { writeFileSync } from 'node:fs';

const target = process.env['BENCH_USAGE_FILE'];
if (target) {
  let highest = process.memoryUsage();
  setInterval(() => {
    const now = process.memoryUsage();
    if (now.rss > highest.rss) highest = now;
  }, 50).unref();
  const mb = (bytes: number) => Math.round(bytes / 1024 / 1024);
  process.on('exit', () => {
    const usage = process.resourceUsage();
    writeFileSync(
      target,
      JSON.stringify({
        cpuMs: (usage.userCPUTime + usage.systemCPUTime) / 1000,
        peakRssMb: usage.maxRSS / 1024,
        atPeakMb: {
          rss: mb(highest.rss),
          heapUsed: mb(highest.heapUsed),
          heapTotal: mb(highest.heapTotal),
          external: mb(highest.external),
          arrayBuffers: mb(highest.arrayBuffers),
        },
      }),
    );
  });
}
