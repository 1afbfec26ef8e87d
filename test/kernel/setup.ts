// Shared by kernel tests: refuse to run (fail, never skip) without the module.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export function requireOvsModule(): void {
  if (!existsSync('/sys/module/openvswitch')) {
    throw new Error(
      'the openvswitch kernel module is not loaded on this host: kernel tests must run where it is ' +
        '(npm test runs them inside the test VM, scripts/vm.sh, when the host lacks it)',
    );
  }
}

/**
 * Netfilter modules a test compares against (nf_conntrack_ftp, nfnetlink_cttimeout...):
 * loaded if the host can load them (the test VM loads them at boot), else the
 * test fails saying which.
 */
export function requireKernelModules(...names: string[]): void {
  requireOvsModule();
  for (const name of names) {
    if (existsSync(`/sys/module/${name}`)) continue;
    spawnSync('modprobe', [name], { stdio: 'ignore', timeout: 30_000 });
    if (!existsSync(`/sys/module/${name}`)) {
      throw new Error(`the ${name} kernel module is not loaded and could not be (modprobe ${name}); the test VM (scripts/vm.sh) loads it`);
    }
  }
}
