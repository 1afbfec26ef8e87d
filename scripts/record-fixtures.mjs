#!/usr/bin/env node
// Records golden fixtures: real replies of the openvswitch kernel module
// (datapath, vport, flow, meter, ct_limit, and a MISS upcall) as hex, one
// netlink message per line with its decoded form as a comment above it.
// test/unit/ovs-fixtures.test.ts decodes and re-encodes them byte for byte.
//
//   node scripts/record-fixtures.mjs [--kernel 6.1|6.12] [--out DIR]
//       builds dist/ first if needed, runs the recording where the module is
//       (this host, else the test VM) and writes DIR/*.hex
//       (default test/fixtures/kernel-<series>)
//   node scripts/record-fixtures.mjs --print
//       records here and prints the fixtures to stdout (what runs in the VM,
//       whose view of the checkout is read-only)
//
// Needs root (CAP_NET_ADMIN) and a built addon and dist/ (npm run build).
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const args = process.argv.slice(2);
const opt = (name) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const BEGIN = '=== OVSNL-FIXTURE ';
const END = '=== OVSNL-FIXTURE-END';

if (args.includes('--print')) await record();
else await recordAndSave();

// ---------------------------------------------------------------------------
// Host side: run the recorder where the module is, save what it prints.

async function recordAndSave() {
  const series = opt('--kernel') ?? '6.1';
  const out = opt('--out') ?? join('test', 'fixtures', `kernel-${series}`);
  const here = existsSync('/sys/module/openvswitch');
  const [cmd, cmdArgs] = here
    ? [process.execPath, [process.argv[1], '--print']]
    : ['bash', ['scripts/vm.sh', '--kernel', series, '--', process.execPath, process.argv[1], '--print']];
  const text = await new Promise((resolve, reject) => {
    const child = spawn(cmd, cmdArgs, { stdio: ['ignore', 'pipe', 'inherit'] });
    let buf = '';
    child.stdout.on('data', (c) => (buf += c.toString('utf8')));
    child.on('close', (code) => (code === 0 ? resolve(buf) : reject(new Error(`recording failed (exit ${code})`))));
  });
  mkdirSync(out, { recursive: true });
  let n = 0;
  const re = new RegExp(`^${BEGIN}(\\S+)\\r?\\n([\\s\\S]*?)^${END}`, 'gm');
  for (const m of text.replaceAll('\r\n', '\n').matchAll(re)) {
    writeFileSync(join(out, `${m[1]}.hex`), m[2]);
    n++;
  }
  if (n === 0) throw new Error('the recorder printed no fixtures');
  process.stderr.write(`wrote ${n} fixtures to ${out}\n`);
}

// ---------------------------------------------------------------------------
// Recorder: talks to the module through ovsnl's own codecs (dist/).

async function record() {
  const dist = (p) => import(new URL(`../dist/${p}`, import.meta.url).href);
  const { Connection } = await dist('netlink/connection.js');
  const { NLM_F_ECHO } = await dist('netlink/constants.js');
  const { resolveOvsFamilies } = await dist('ovs/families.js');
  const { messageBytes } = await dist('ovs/header.js');
  const dpc = await dist('ovs/datapath.js');
  const vpc = await dist('ovs/vport.js');
  const flc = await dist('ovs/flow.js');
  const pkc = await dist('ovs/packet.js');
  const mtc = await dist('ovs/meter.js');
  const ctc = await dist('ovs/ct-limit.js');
  const U = await dist('ovs/uapi.js');
  const { execFileSync } = await import('node:child_process');
  const { createSocket } = await import('node:dgram');

  const conn = new Connection();
  const fam = await resolveOvsFamilies(conn);
  const kernel = readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim();
  const ip = (...a) => execFileSync('ip', a, { stdio: ['ignore', 'ignore', 'inherit'] });
  // One broadcast ARP request out of the veth peer; nobody answers, which arping reports as failure.
  const arping = () => {
    try {
      execFileSync('busybox', ['arping', '-c', '1', '-w', '1', '-I', 'fxb', '10.78.0.1'], { stdio: 'ignore' });
    } catch {}
  };
  const dpName = 'ovsnl-fx';
  const fixtures = [];

  const show = (v) =>
    JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? `${x}` : x instanceof Uint8Array ? `<${x.length} bytes>` : x));
  const fixture = (name, description, decode, msgs) => {
    const lines = [
      `# ${description}`,
      `# Recorded from Linux ${kernel} (openvswitch module) by scripts/record-fixtures.mjs on ${new Date().toISOString().slice(0, 10)}.`,
      '# One netlink message per hex line, as received; the comment above each is its decoded form.',
    ];
    for (const m of msgs) {
      const d = decode(m);
      lines.push(`# cmd ${d.cmd} version ${d.version} dp_ifindex ${d.dpIfindex} flags 0x${m.flags.toString(16)}: ${show(d.attrs)}`);
      lines.push(Buffer.from(messageBytes(m)).toString('hex'));
    }
    fixtures.push({ name, text: lines.join('\n') + '\n' });
  };
  const replies = async (bytes, family, operation) => (await conn.request(bytes, { operation })).filter((m) => m.type === family.id);
  const dump = async (bytes, family, operation) => (await conn.dumpAll(bytes, { operation })).filter((m) => m.type === family.id);

  const dpMsg = (cmd, attrs, flags = 0) => dpc.encodeDatapathMessage(fam.datapath.id, { cmd, dpIfindex: 0, attrs }, { flags });
  // Without OVS_DP_F_UNALIGNED the kernel pads the upcall's last attribute, so
  // the whole upcall re-encodes byte for byte; the unaligned form is recorded too.
  const features = U.OVS_DP_F_VPORT_PIDS;
  const dpNew = await replies(dpMsg(U.OVS_DP_CMD_NEW, { name: dpName, upcallPid: 0, userFeatures: features }, NLM_F_ECHO), fam.datapath, 'datapath new');
  fixture('datapath-new', 'ovs_datapath NEW reply (NLM_F_ECHO) for a new datapath "ovsnl-fx"', dpc.decodeDatapathMessage, dpNew);
  const dpIfindex = dpc.decodeDatapathMessage(dpNew[0]).dpIfindex;
  try {
    // Ports: an internal one, and a veth end as a netdev with upcalls to a second socket.
    execFileSync('ip', ['link', 'add', 'name', 'fxa', 'type', 'veth', 'peer', 'name', 'fxb']);
    for (const dev of ['fxa', 'fxb']) {
      ip('link', 'set', dev, 'up');
      writeFileSync(`/proc/sys/net/ipv6/conf/${dev}/disable_ipv6`, '1');
    }
    ip('addr', 'add', '10.78.0.2/24', 'dev', 'fxb');
    const upcalls = new Connection();
    const caught = [];
    upcalls.onNotification = (m) => caught.push(m);
    upcalls.listen();
    const vpMsg = (cmd, attrs, flags = 0) => vpc.encodeVportMessage(fam.vport.id, { cmd, dpIfindex, attrs }, { flags });
    await replies(vpMsg(U.OVS_VPORT_CMD_NEW, { name: 'fxi', type: U.OVS_VPORT_TYPE_INTERNAL, upcallPids: [0] }, NLM_F_ECHO), fam.vport, 'vport new');
    const vpNew = await replies(vpMsg(U.OVS_VPORT_CMD_NEW, { name: 'fxa', type: U.OVS_VPORT_TYPE_NETDEV, portNo: 3, upcallPids: [upcalls.portId] }, NLM_F_ECHO), fam.vport, 'vport new');
    fixture('vport-new', 'ovs_vport NEW reply (NLM_F_ECHO) for netdev port 3 "fxa" (a veth end)', vpc.decodeVportMessage, vpNew);
    await replies(vpMsg(U.OVS_VPORT_CMD_NEW, { name: 'fxvx', type: U.OVS_VPORT_TYPE_VXLAN, options: { dstPort: 4790 }, upcallPids: [0] }, NLM_F_ECHO), fam.vport, 'vport new');

    fixture('datapath-get', 'ovs_datapath GET reply for "ovsnl-fx"', dpc.decodeDatapathMessage, await replies(dpMsg(U.OVS_DP_CMD_GET, { name: dpName }), fam.datapath, 'datapath get'));
    fixture('datapath-dump', 'ovs_datapath dump (GET, NLM_F_DUMP)', dpc.decodeDatapathMessage, await dump(dpMsg(U.OVS_DP_CMD_GET, {}), fam.datapath, 'datapath dump'));
    fixture('vport-get', 'ovs_vport GET reply for port 0 (the local port "ovsnl-fx")', vpc.decodeVportMessage, await replies(vpMsg(U.OVS_VPORT_CMD_GET, { portNo: 0 }), fam.vport, 'vport get'));
    fixture('vport-dump', 'ovs_vport dump: local, internal "fxi", netdev "fxa", vxlan "fxvx" (dst_port 4790)', vpc.decodeVportMessage, await dump(vpMsg(U.OVS_VPORT_CMD_GET, {}), fam.vport, 'vport dump'));

    // Flows: exact ARP with a UFID, masked UDP with a UFID, ARP without a UFID.
    const { AttrWriter } = await dist('netlink/attr.js');
    const attrs = (fill) => {
      const w = new AttrWriter();
      fill(w);
      return w.finish().slice();
    };
    const arp = (inPort) =>
      attrs((w) => {
        w.u32(3, inPort);
        w.bytes(4, Uint8Array.from([2, 0, 0, 0, 0, 1, 255, 255, 255, 255, 255, 255]));
        w.be16(6, 0x0806);
        w.bytes(13, Uint8Array.from([10, 1, 0, 1, 10, 1, 0, 2, 0, 1, 2, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0]));
      });
    const udpKey = attrs((w) => {
      w.u32(3, 3);
      w.bytes(4, new Uint8Array(12));
      w.be16(6, 0x0800);
      w.bytes(7, Uint8Array.from([10, 78, 0, 2, 10, 78, 0, 255, 17, 0, 64, 0]));
      w.bytes(10, Uint8Array.from([0, 0, 0x27, 0x0f]));
    });
    const udpMask = attrs((w) => {
      w.u32(3, 0xffffffff);
      w.bytes(4, new Uint8Array(12));
      w.be16(6, 0xffff);
      w.bytes(7, Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0, 255, 0, 0, 0]));
      w.bytes(10, Uint8Array.from([0, 0, 255, 255]));
    });
    const out = (port) => attrs((w) => w.u32(1, port));
    const ufid = (n) => Uint8Array.from({ length: 16 }, (_, i) => (i === 0 ? n : 0x10 + i));
    const flMsg = (cmd, a, flags = 0) => flc.encodeFlowMessage(fam.flow.id, { cmd, dpIfindex, attrs: a }, { flags });
    const flNew = await replies(flMsg(U.OVS_FLOW_CMD_NEW, { ufid: ufid(1), key: arp(1), actions: out(3) }, NLM_F_ECHO), fam.flow, 'flow new');
    fixture('flow-new', 'ovs_flow NEW reply (NLM_F_ECHO): exact-match ARP flow with a UFID, actions output(3)', flc.decodeFlowMessage, flNew);
    await replies(flMsg(U.OVS_FLOW_CMD_NEW, { ufid: ufid(2), key: udpKey, mask: udpMask, actions: new Uint8Array(0) }), fam.flow, 'flow new');
    await replies(flMsg(U.OVS_FLOW_CMD_NEW, { key: arp(2), actions: out(1) }), fam.flow, 'flow new');

    // Traffic from the veth peer: the UDP flow counts it (stats, used), a
    // broadcast ARP misses and comes up as an upcall.
    const s = createSocket('udp4');
    await new Promise((r) => s.bind({ address: '10.78.0.2' }, r));
    s.setBroadcast(true);
    for (let i = 0; i < 3; i++) await new Promise((r) => s.send('ovsnl fixture', 9999, '10.78.0.255', r));
    s.close();
    const unalignedFrom = caught.length;
    await new Promise((r) => setTimeout(r, 300));
    arping();
    await new Promise((r) => setTimeout(r, 300));
    const arpMiss = caught.slice(unalignedFrom).filter((m) => {
      try {
        const u = pkc.decodeUpcall(m);
        return u.packet[12] === 0x08 && u.packet[13] === 0x06;
      } catch {
        return false;
      }
    });
    fixture('upcall-miss', 'ovs_packet MISS upcall of a broadcast ARP request from the veth peer (datapath without OVS_DP_F_UNALIGNED: padded)', pkc.decodePacketMessage, arpMiss.slice(0, 1));
    // The same with OVS_DP_F_UNALIGNED: the message ends right after the packet.
    await replies(dpMsg(U.OVS_DP_CMD_SET, { name: dpName, userFeatures: features | U.OVS_DP_F_UNALIGNED }, NLM_F_ECHO), fam.datapath, 'datapath set');
    const before = caught.length;
    arping();
    await new Promise((r) => setTimeout(r, 300));
    fixture('upcall-miss-unaligned', 'ovs_packet MISS upcall as above, datapath with OVS_DP_F_UNALIGNED (unpadded end)', pkc.decodePacketMessage, caught.slice(before).slice(0, 1));
    upcalls.close();

    fixture('flow-get', 'ovs_flow GET reply by UFID for the masked UDP flow after 3 packets (stats, used)', flc.decodeFlowMessage, await replies(flMsg(U.OVS_FLOW_CMD_GET, { ufid: ufid(2) }), fam.flow, 'flow get'));
    fixture('flow-dump', 'ovs_flow dump: exact ARP (UFID), masked UDP (UFID, stats), ARP without UFID', flc.decodeFlowMessage, await dump(flMsg(U.OVS_FLOW_CMD_GET, {}), fam.flow, 'flow dump'));
    fixture(
      'flow-dump-terse',
      'ovs_flow dump with UFID_FLAGS OMIT_KEY|OMIT_MASK|OMIT_ACTIONS',
      flc.decodeFlowMessage,
      await dump(flMsg(U.OVS_FLOW_CMD_GET, { ufidFlags: 7 }), fam.flow, 'flow dump'),
    );
    fixture('flow-del', 'ovs_flow DEL reply (NLM_F_ECHO) by UFID for the masked UDP flow', flc.decodeFlowMessage, await replies(flMsg(U.OVS_FLOW_CMD_DEL, { ufid: ufid(2) }, NLM_F_ECHO), fam.flow, 'flow del'));

    if (fam.meter) {
      const mtMsg = (cmd, a) => mtc.encodeMeterMessage(fam.meter.id, { cmd, dpIfindex, attrs: a });
      fixture('meter-features', 'ovs_meter FEATURES reply', mtc.decodeMeterMessage, await replies(mtMsg(U.OVS_METER_CMD_FEATURES, {}), fam.meter, 'meter features'));
      const band = { type: U.OVS_METER_BAND_TYPE_DROP, rate: 1000, burst: 100 };
      fixture('meter-set', 'ovs_meter SET reply for a new meter 1 (id only)', mtc.decodeMeterMessage, await replies(mtMsg(U.OVS_METER_CMD_SET, { id: 1, kbps: true, bands: [band] }), fam.meter, 'meter set'));
      fixture('meter-get', 'ovs_meter GET reply for meter 1 (stats, used, band stats)', mtc.decodeMeterMessage, await replies(mtMsg(U.OVS_METER_CMD_GET, { id: 1 }), fam.meter, 'meter get'));
    }
    if (fam.ctLimit) {
      const ctMsg = (cmd, a) => ctc.encodeCtLimitMessage(fam.ctLimit.id, { cmd, dpIfindex: 0, attrs: a });
      const zl = (zoneId, limit = 0) => ({ zoneId, limit, count: 0 });
      await replies(ctMsg(U.OVS_CT_LIMIT_CMD_SET, { zoneLimits: [zl(-1, 100), zl(5, 3), zl(7, 20)] }), fam.ctLimit, 'ct_limit set');
      fixture('ct-limit-get', 'ovs_ct_limit GET reply (all zones) after default=100 zone 5 limit 3, zone 7 limit 20', ctc.decodeCtLimitMessage, await replies(ctMsg(U.OVS_CT_LIMIT_CMD_GET, {}), fam.ctLimit, 'ct_limit get'));
      await replies(ctMsg(U.OVS_CT_LIMIT_CMD_DEL, { zoneLimits: [zl(5), zl(7)] }), fam.ctLimit, 'ct_limit del');
      await replies(ctMsg(U.OVS_CT_LIMIT_CMD_SET, { zoneLimits: [zl(-1, 0)] }), fam.ctLimit, 'ct_limit set');
    }
  } finally {
    await replies(dpMsg(U.OVS_DP_CMD_DEL, { name: dpName }), fam.datapath, 'datapath del').catch(() => undefined);
    try {
      execFileSync('ip', ['link', 'del', 'fxa'], { stdio: 'ignore' });
    } catch {}
    conn.close();
  }
  for (const f of fixtures) process.stdout.write(`${BEGIN}${f.name}\n${f.text}${END}\n`);
}
