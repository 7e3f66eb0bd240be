import { ApiError } from '@berth/service-kit';

import { applyPatch, BASE_INTERNAL, type PatchOp } from './jsonpatch';

const rules = { internal: BASE_INTERNAL, nonRemovable: ['/coe', '/image_id'], dictPaths: ['/labels'] };
const doc = {
  uuid: 'u',
  name: 'a',
  coe: 'swarm-mode',
  image_id: 'img',
  dns_nameserver: null,
  labels: { k: 'v' },
};

function refused(ops: PatchOp[]): string {
  try {
    applyPatch(doc, ops, rules);
  } catch (e) {
    expect(e).toBeInstanceOf(ApiError);
    expect((e as ApiError).status).toBe(400);
    return (e as ApiError).message;
  }
  throw new Error('patch was accepted');
}

describe('applyPatch (Magnum semantics)', () => {
  it('applies replace, add-to-null, remove and nested label ops', () => {
    const out = applyPatch(
      doc,
      [
        { op: 'replace', path: '/name', value: 'b' },
        { op: 'add', path: '/dns_nameserver', value: '1.1.1.1' },
        { op: 'add', path: '/labels/new', value: 'x' },
        { op: 'remove', path: '/labels/k' },
      ],
      rules,
    );
    expect(out).toEqual({ ...doc, name: 'b', dns_nameserver: '1.1.1.1', labels: { new: 'x' } });
    expect(doc.labels).toEqual({ k: 'v' });
  });

  it('reads labels sent as a Python dict literal (Horizon, CLI)', () => {
    const out = applyPatch(
      doc,
      [{ op: 'replace', path: '/labels', value: "{'kube_tag': 'v1.31.0'}" }],
      rules,
    );
    expect(out.labels).toEqual({ kube_tag: 'v1.31.0' });
  });

  it('refuses what Magnum refuses, with its messages', () => {
    expect(refused([{ op: 'replace', path: '/uuid', value: 'x' }])).toBe(
      "'/uuid' is an internal attribute and can not be updated",
    );
    expect(refused([{ op: 'remove', path: '/coe' }])).toBe(
      "'/coe' is a mandatory attribute and can not be removed",
    );
    expect(refused([{ op: 'replace', path: '/name' }])).toBe("'add' and 'replace' operations needs value");
    expect(refused([{ op: 'add', path: '/name', value: 'x' }])).toBe(
      "The attribute /name has existed, please use 'replace' operation instead.",
    );
    expect(refused([{ op: 'add', path: '/nope', value: 'x' }])).toBe(
      'Adding a new attribute /nope to the root of the resource is not allowed.',
    );
    expect(refused([{ op: 'replace', path: '/nope', value: 'x' }])).toMatch(/^Couldn't apply patch/);
    expect(refused([{ op: 'replace', path: '/labels', value: '{bad' }])).toMatch(/^Couldn't apply patch/);
  });
});
