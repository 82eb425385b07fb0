// Regenerates link-dump.json: run as root from the repository root with
//   node collectors/netlink/testdata/capture-link-dump.mjs
// It builds two throwaway namespaces (veth pairs across them, a macvlan, a bridge, a vxlan),
// sends a few pings,
// records the raw RTM_GETLINK dump bytes and `ip -s -d -j link` at the same moment, and
// removes the namespace again.
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';

const ns = `mna-capture-${process.pid}`;
const peer = `mna-capture-peer-${process.pid}`;
const ip = (...args) => execFileSync('ip', args, { encoding: 'utf8' });
const inNs = (...args) => ip('-n', ns, ...args);
ip('netns', 'add', ns);
ip('netns', 'add', peer);
try {
  inNs('link', 'set', 'lo', 'up');
  inNs('link', 'add', 'vA', 'mtu', '9000', 'type', 'veth', 'peer', 'name', 'vB', 'netns', peer);
  inNs('link', 'add', 'mv0', 'link', 'vA', 'type', 'macvlan', 'mode', 'bridge');
  inNs('link', 'add', 'br0', 'type', 'bridge');
  inNs('link', 'add', 'vC', 'type', 'veth', 'peer', 'name', 'vD');
  inNs('link', 'set', 'vC', 'master', 'br0');
  inNs('link', 'add', 'vx0', 'type', 'vxlan', 'id', '42', 'dstport', '4789', 'local', '10.99.0.1', 'dev', 'vA');
  for (const l of ['vA', 'mv0', 'br0', 'vC']) inNs('link', 'set', l, 'up');
  ip('-n', peer, 'link', 'set', 'vB', 'up');
  inNs('addr', 'add', '10.99.0.1/24', 'dev', 'mv0');
  ip('-n', peer, 'addr', 'add', '10.99.0.2/24', 'dev', 'vB');
  execFileSync('ip', ['netns', 'exec', ns, 'ping', '-c', '3', '-i', '0.2', '-I', 'mv0', '10.99.0.2'], { stdio: 'ignore' });
  const script = `
    const { createNetlink } = require('netlink');
    const s = createNetlink(0);
    s.request(18, [Buffer.alloc(16)], { flags: 0x300, checkError: false }).then(([msgs]) => {
      process.stdout.write(JSON.stringify(msgs.map((m) => ({ type: m.type, data: m.data.toString('base64') }))));
      s.close();
    });`;
  const dump = execFileSync('ip', ['netns', 'exec', ns, process.execPath, '-e', script], { encoding: 'utf8' });
  const iproute = JSON.parse(inNs('-s', '-d', '-j', 'link', 'show'));
  // iproute2 6.1 does not print carrier_changes in JSON; sysfs has it.
  const carrierChanges = Object.fromEntries(
    iproute.map((l) => [
      l.ifname,
      Number(execFileSync('ip', ['netns', 'exec', ns, 'cat', `/sys/class/net/${l.ifname}/carrier_changes`], { encoding: 'utf8' })),
    ]),
  );
  writeFileSync(
    new URL('./link-dump.json', import.meta.url),
    `${JSON.stringify({ captured: new Date().toISOString(), kernel: execFileSync('uname', ['-r'], { encoding: 'utf8' }).trim(), messages: JSON.parse(dump), iproute, carrierChanges }, null, 1)}\n`,
  );
} finally {
  ip('netns', 'del', ns);
  ip('netns', 'del', peer);
}
