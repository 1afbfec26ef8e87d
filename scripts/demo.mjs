#!/usr/bin/env node
// The quick start: a datapath with two veth ports whose other ends live in
// two network namespaces, flows installed from a file, a ping across, the
// flows shown with their counters, and everything removed again. It runs on
// the openvswitch kernel module when it is loaded, otherwise on ovsnl's
// userspace datapath (the daemon is started on demand, and stopped at the
// end if the demo started it). Needs root, iproute2 and ping.
//
//   sudo node scripts/demo.mjs        (or: sudo npm run demo)
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const OVSNL = fileURLToPath(new URL('../bin/ovsnl.js', import.meta.url));
const DP = 'ovsnldemo';
const SIDES = [
  { ns: 'ovsnl-demo-a', veth: 'ovsdemo-a', addr: '10.99.0.1', mac: '02:99:00:00:00:01' },
  { ns: 'ovsnl-demo-b', veth: 'ovsdemo-b', addr: '10.99.0.2', mac: '02:99:00:00:00:02' },
];

const say = (line) => process.stdout.write(`${line}\n`);

/** A command whose output the demo shows, after its command line. */
function show(cmd, args, { mayFail = false } = {}) {
  const shown = cmd === process.execPath ? ['ovsnl', ...args.slice(1)] : [cmd, ...args];
  say(`$ ${shown.join(' ')}`);
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.stdout) process.stdout.write(r.stdout);
  if (r.stderr) process.stdout.write(r.stderr);
  if (r.status !== 0 && !mayFail) throw new Error(`${shown.join(' ')} failed (exit ${r.status ?? r.signal})`);
  return r;
}

/** Setup and cleanup steps: quiet unless they fail. */
function run(cmd, ...args) {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.error) throw new Error(`${cmd}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr.trim() || `exit ${r.status}`}`);
  return r.stdout;
}

function quiet(cmd, ...args) {
  spawnSync(cmd, args, { stdio: 'ignore' });
}

const ovsnl = (...args) => show(process.execPath, [OVSNL, ...args]);

function daemonRunning() {
  const r = spawnSync(process.execPath, [OVSNL, 'dpd', 'status'], { encoding: 'utf8' });
  return r.status === 0;
}

function cleanup({ dp, stopDaemon }) {
  // Not when no datapath can exist: del-dp would start the daemon just for that.
  if (dp) quiet(process.execPath, OVSNL, 'del-dp', DP);
  for (const s of SIDES) {
    quiet('ip', 'link', 'del', s.veth);
    quiet('ip', 'netns', 'del', s.ns);
  }
  if (stopDaemon) quiet(process.execPath, OVSNL, 'dpd', 'stop');
}

function main() {
  if (process.getuid?.() !== 0) {
    process.stderr.write('demo: run it as root (it creates network namespaces and a datapath): sudo node scripts/demo.mjs\n');
    return 1;
  }
  for (const tool of [['ip', '-V'], ['ping', '-V']]) {
    const r = spawnSync(tool[0], tool.slice(1), { stdio: 'ignore' });
    if (r.error) {
      process.stderr.write(`demo: needs ${tool[0]} (Debian: ${tool[0] === 'ip' ? 'iproute2' : 'iputils-ping'})\n`);
      return 1;
    }
  }
  const kernel = existsSync('/sys/module/openvswitch') && process.env.OVSNL_DATAPATH !== 'userspace';
  const daemonBefore = !kernel && daemonRunning();
  const dir = mkdtempSync(join(tmpdir(), 'ovsnl-demo-'));
  // What an interrupted earlier run may have left.
  cleanup({ dp: kernel || daemonBefore, stopDaemon: false });
  try {
    say(kernel ? '# the openvswitch kernel module is loaded: ovsnl drives it' : '# no openvswitch kernel module here: ovsnl uses its userspace datapath daemon');
    say(`# two namespaces, each with one end of a veth pair; the other ends become ports 1 and 2 of ${DP}`);
    for (const s of SIDES) {
      run('ip', 'netns', 'add', s.ns);
      run('ip', 'link', 'add', 'name', s.veth, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', s.ns);
      run('ip', 'link', 'set', s.veth, 'up');
      // No IPv6 chatter in the counters.
      quiet('sysctl', '-qw', `net.ipv6.conf.${s.veth}.disable_ipv6=1`);
      quiet('ip', 'netns', 'exec', s.ns, 'sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1');
      run('ip', '-n', s.ns, 'link', 'set', 'eth0', 'address', s.mac);
      run('ip', '-n', s.ns, 'addr', 'add', `${s.addr}/24`, 'dev', 'eth0');
      run('ip', '-n', s.ns, 'link', 'set', 'eth0', 'up');
    }
    ovsnl('add-dp', DP);
    ovsnl('add-if', DP, SIDES[0].veth, SIDES[1].veth);
    const flows = join(dir, 'flows.txt');
    writeFileSync(
      flows,
      [
        '# ARP and IPv4 from each side to the other, in ovs-dpctl syntax',
        'in_port(1),eth(),eth_type(0x0806),arp() 2',
        'in_port(2),eth(),eth_type(0x0806),arp() 1',
        `in_port(1),eth(src=${SIDES[0].mac}),eth_type(0x0800),ipv4(frag=no) 2`,
        `in_port(2),eth(src=${SIDES[1].mac}),eth_type(0x0800),ipv4(frag=no) 1`,
        '',
      ].join('\n'),
    );
    say(`# ${flows}:`);
    process.stdout.write(run('grep', '-v', '^#', flows));
    ovsnl('add-flows', DP, flows);
    show('ip', ['netns', 'exec', SIDES[0].ns, 'ping', '-c', '3', '-i', '0.2', '-W', '2', SIDES[1].addr]);
    ovsnl('dump-flows', DP);
    ovsnl('show', DP);
    say('# cleaning up');
    ovsnl('del-dp', DP);
    return 0;
  } catch (err) {
    process.stderr.write(`demo: ${err.message}\n`);
    return 1;
  } finally {
    cleanup({ dp: true, stopDaemon: !kernel && !daemonBefore });
    rmSync(dir, { recursive: true, force: true });
  }
}

process.exitCode = main();
