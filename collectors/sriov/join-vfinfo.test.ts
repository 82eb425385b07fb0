import { describe, expect, it } from 'vitest';
import { type PciAddress } from '../../agent/model/ids.js';
import { parseLinkMessage } from '../netlink/parse-link.js';
import { parsePfVfInfo } from '../netlink/parse-vfinfo.js';
import { indexPfVfInfo, joinVfNetlinkInfo } from '../../agent/rules/sriov.js';
import { type SriovPf } from '../../agent/model/sriov.js';
import { encodePfMessage } from './testdata/encode-vfinfo.js';

const CX5 = '0000:af:00.0' as PciAddress;

const pf: SriovPf = {
  pciAddress: CX5,
  netdevs: [],
  netdev: undefined,
  linkLayer: 'ethernet',
  driver: 'mlx5_core',
  numVfs: 2,
  totalVfs: 8,
  numaNode: 1,
  vendorId: '0x15b3',
  deviceId: '0x1017',
  vfDeviceId: '0x1018',
  vfs: [0, 1].map((index) => ({ index, pciAddress: `0000:af:00.${index + 2}` as PciAddress, driver: 'mlx5_core', netdev: undefined, sysfsStats: undefined, netlink: undefined })),
};

describe('indexPfVfInfo and joinVfNetlinkInfo', () => {
  it('keeps the uplink VF list over the representors that share its PCI device', () => {
    // rtnl_fill_vf(): every representor gets IFLA_NUM_VF (its parent is the PF), only the uplink IFLA_VFINFO_LIST.
    const messages = [
      encodePfMessage({ ifindex: 10, name: 'ens3f0npf0vf0', numVfs: 2 }, []),
      encodePfMessage({ ifindex: 9, name: 'ens3f0np0' }, [{ vf: 0, mac: '0c:42:a1:5e:00:01' }, { vf: 1, mac: '0c:42:a1:5e:00:02' }]),
      encodePfMessage({ ifindex: 11, name: 'ens3f0npf0vf1', numVfs: 2 }, []),
      encodePfMessage({ ifindex: 2, name: 'eno1' }, []).subarray(0, 16),
    ];
    const byPf = indexPfVfInfo(messages.map((m) => ({ pciAddress: parseLinkMessage(m) ? CX5 : undefined, info: parsePfVfInfo(m) })));
    expect(byPf.get(CX5)?.vfs.map((v) => v.mac)).toEqual(['0c:42:a1:5e:00:01', '0c:42:a1:5e:00:02']);
    const joined = joinVfNetlinkInfo([pf], byPf);
    expect(joined.pfs[0]?.vfs.map((v) => v.netlink?.mac)).toEqual(['0c:42:a1:5e:00:01', '0c:42:a1:5e:00:02']);
  });

  it('leaves VFs of a PF absent from the dump without netlink info, and drops VFs only rtnetlink knows', () => {
    expect(joinVfNetlinkInfo([pf], new Map()).pfs[0]?.vfs.map((v) => v.netlink)).toEqual([undefined, undefined]);
    const info = parsePfVfInfo(encodePfMessage({ ifindex: 9, name: 'ens3f0np0' }, [{ vf: 1 }, { vf: 5 }]));
    const joined = joinVfNetlinkInfo([pf], new Map([[CX5, info ?? { numVfs: 0, vfs: [] }]]));
    expect(joined.pfs[0]?.vfs.map((v) => [v.index, v.netlink?.index])).toEqual([[0, undefined], [1, 1]]);
  });
});
