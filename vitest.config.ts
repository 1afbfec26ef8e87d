import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineConfig } from 'vitest/config';

// Two projects: `unit` runs anywhere (pure codecs, vectors, property tests,
// and the addon against the host's own generic netlink); `kernel` needs the
// openvswitch module and runs on a host that has it or inside the test VM
// (scripts/vm.sh), where the checkout is read-only: hence the cache in /tmp.
export default defineConfig({
  cacheDir: join(tmpdir(), 'ovsnl-vitest-cache'),
  test: {
    projects: [
      {
        extends: true,
        // Property tests run thousands of cases; 5 s (the default) is too
        // tight on a loaded 2-core machine.
        // test/userspace: the fallback datapath on this host's veths and namespaces (root).
        test: { name: 'unit', include: ['test/unit/**/*.test.ts', 'test/userspace/**/*.test.ts'], environment: 'node', testTimeout: 60_000 },
      },
      {
        extends: true,
        test: {
          name: 'kernel',
          // test/diff runs the same scenario on the kernel and the fallback
          // datapath, so it needs the module too.
          include: ['test/kernel/**/*.test.ts', 'test/diff/**/*.test.ts'],
          environment: 'node',
          // One process for the whole suite: every new process is slow under
          // emulation, and tests share one module state anyway.
          pool: 'forks',
          fileParallelism: false,
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
