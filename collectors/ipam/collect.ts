/** The ipam collector's part of a snapshot: the lease directories of the host-local networks the NADs describe. */
import { type Collect } from '../../agent/model/collector.js';
import { type IpamStateSource } from '../../agent/model/ipam.js';
import { hostLocalNetworks } from '../../agent/rules/ipam.js';

/** Lists the lease directories under `root` (a NAD's `ipam.dataDir` overrides it) of this snapshot's NADs. */
export const readIpamLeases = (source: IpamStateSource, root: string, leakGraceMs: number): Collect<'ipam'> => ({
  kind: 'read',
  async run(signal, inputs) {
    const nets = hostLocalNetworks(inputs.networks, root);
    const dirs = await source.read(nets.map(({ network, dir }) => ({ network, dir })), signal);
    return { nets, dirs, leakGraceMs };
  },
});
