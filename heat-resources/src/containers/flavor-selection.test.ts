import sinon from 'sinon';

import type { Flavor } from '@berth/openstack-clients';

import { FlavorCache, pickable, resolveFlavor, smallestFitting } from './flavor-selection';

const f = (id: string, vcpus: number, ram: number, extra: Partial<Flavor> = {}): Flavor => ({
  id,
  name: `f-${id}`,
  vcpus,
  ram,
  disk: 1,
  'os-flavor-access:is_public': true,
  extra_specs: {},
  ...extra,
});

const flavors = [
  f('big', 4, 4096),
  f('tiny', 1, 128),
  f('small', 1, 512),
  f('two', 2, 512),
  f('granting', 1, 64, { extra_specs: { 'berth:allow_privileged': 'true' } }),
  f('private', 1, 32, { 'os-flavor-access:is_public': false }),
];

describe('flavor selection', () => {
  it('picks the smallest public flavor with enough CPUs and memory', () => {
    expect(smallestFitting(flavors, { memory: 100 })?.id).toBe('tiny');
    expect(smallestFitting(flavors, { memory: 200 })?.id).toBe('small');
    expect(smallestFitting(flavors, { cpu: 2, memory: 200 })?.id).toBe('two');
    expect(smallestFitting(flavors, { cpu: 1.5 })?.id).toBe('two');
    expect(smallestFitting(flavors, { memory: 10_000 })).toBeUndefined();
  });

  it('never picks a flavor with Berth admin grants or a private one', () => {
    expect(pickable(flavors[4]!)).toBe(false);
    expect(pickable(flavors[5]!)).toBe(false);
    expect(smallestFitting(flavors, { memory: 16 })?.id).toBe('tiny');
  });

  it('breaks ties by vCPUs, disk, then name, so the choice is stable', () => {
    const tied = [f('b', 1, 128), f('a', 1, 128), f('c', 1, 128, { disk: 0 })];
    expect(smallestFitting(tied, {})?.id).toBe('c');
    expect(smallestFitting(tied.slice(0, 2), {})?.id).toBe('a');
  });

  it('uses a named flavor as is, and refuses unknown ones or a missing one when required', async () => {
    const lookup = {
      resolveFlavor: sinon.stub().callsFake(async (n: string) => flavors.find((x) => x.name === n)),
      listFlavors: sinon.stub().resolves(flavors),
    };
    await expect(resolveFlavor(lookup, { flavor: 'f-big' }, 'smallest')).resolves.toEqual({
      id: 'big',
      name: 'f-big',
      vcpus: 4,
      ram: 4096,
    });
    await expect(resolveFlavor(lookup, { flavor: 'nope' }, 'smallest')).rejects.toMatchObject({
      status: 400,
      message: 'flavor nope not found',
    });
    await expect(resolveFlavor(lookup, { memory: 64 }, 'require')).rejects.toMatchObject({ status: 400 });
    await expect(resolveFlavor(lookup, { memory: 64 }, 'smallest')).resolves.toMatchObject({ id: 'tiny' });
    await expect(resolveFlavor(lookup, { memory: 99_999 }, 'smallest')).rejects.toThrow(
      /no public flavor has at least 1 vCPUs and 99999 MiB/,
    );
    expect(lookup.listFlavors.callCount).toBe(2);
  });
});

describe('FlavorCache', () => {
  it('asks Nova once per project and reference while fresh, and again after a failure or expiry', async () => {
    let now = 0;
    const cache = new FlavorCache(1000, () => now);
    const nova = {
      resolveFlavor: sinon.stub().resolves(flavors[1]),
      listFlavors: sinon.stub().onFirstCall().rejects(new Error('nova down')).resolves(flavors),
    };
    const p1 = cache.forProject('p1', nova);
    await p1.resolveFlavor('f-tiny');
    await p1.resolveFlavor('f-tiny');
    await cache.forProject('p2', nova).resolveFlavor('f-tiny');
    expect(nova.resolveFlavor.callCount).toBe(2);
    await expect(p1.listFlavors()).rejects.toThrow('nova down');
    await p1.listFlavors();
    await p1.listFlavors();
    expect(nova.listFlavors.callCount).toBe(2);
    now = 2000;
    await p1.resolveFlavor('f-tiny');
    expect(nova.resolveFlavor.callCount).toBe(3);
  });
});
