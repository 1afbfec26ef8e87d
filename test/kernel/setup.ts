// Shared by kernel tests: refuse to run (fail, never skip) without the module.
import { existsSync } from 'node:fs';

export function requireOvsModule(): void {
  if (!existsSync('/sys/module/openvswitch')) {
    throw new Error(
      'the openvswitch kernel module is not loaded on this host: kernel tests must run where it is ' +
        '(npm test runs them inside the test VM, scripts/vm.sh, when the host lacks it)',
    );
  }
}
