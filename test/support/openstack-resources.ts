// OpenStack resources the end-to-end suites make through the real CLI:
// networks in a user's project and admin flavors, each with a unique name.
import { uniqueName } from './keystone-fixture';
import { adminCredentials, Credentials, openstack } from './openstack-cli';

/** a network with one subnet in the user's project; returns the network id */
export async function projectNetwork(creds: Credentials, name: string, cidr: string): Promise<string> {
  const net = await openstack<{ id: string }>(creds, ['network', 'create', uniqueName(name), '-f', 'json']);
  await openstack(creds, [
    'subnet',
    'create',
    '--network',
    net.id,
    '--subnet-range',
    cidr,
    uniqueName(`${name}-sub`),
    '-f',
    'json',
  ]);
  return net.id;
}

/** a public flavor with 1 GiB of disk, made by admin; returns its name */
export async function createFlavor(
  prefix: string,
  ram: number,
  vcpus: number,
  extraSpecs: Record<string, string> = {},
): Promise<string> {
  const name = uniqueName(prefix);
  const props = Object.entries(extraSpecs).flatMap(([k, v]) => ['--property', `${k}=${v}`]);
  await openstack(adminCredentials, [
    'flavor',
    'create',
    '--ram',
    String(ram),
    '--disk',
    '1',
    '--vcpus',
    String(vcpus),
    ...props,
    name,
    '-f',
    'json',
  ]);
  return name;
}

/** a public Glance image of a container (container_format docker) from a tar, made by admin; returns its id */
export async function createDockerImage(
  name: string,
  file: string,
  properties: Record<string, string> = {},
): Promise<string> {
  const props = Object.entries(properties).flatMap(([k, v]) => ['--property', `${k}=${v}`]);
  const image = await openstack<{ id: string }>(adminCredentials, [
    'image',
    'create',
    '--public',
    '--container-format',
    'docker',
    '--disk-format',
    'raw',
    '--file',
    file,
    ...props,
    name,
    '-f',
    'json',
  ]);
  return image.id;
}
