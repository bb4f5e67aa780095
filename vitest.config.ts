import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // one fork per core: vitest's default keeps one core for its main process,
    // which only waits while the forks run (on 2 cores, half the machine idle)
    maxWorkers: availableParallelism(),
  },
});
