import { readFileSync } from 'node:fs';

/**
 * Linux capabilities by bit number, up to those Docker 20.10 knows. Used for
 * the nested-docker profile: `--privileged` asks for every capability and
 * fails where the host's bounding set lacks one (CAP_SYS_RESOURCE on these
 * machines), so the profile asks for exactly what the host can give.
 */
const CAPS = [
  'CHOWN',
  'DAC_OVERRIDE',
  'DAC_READ_SEARCH',
  'FOWNER',
  'FSETID',
  'KILL',
  'SETGID',
  'SETUID',
  'SETPCAP',
  'LINUX_IMMUTABLE',
  'NET_BIND_SERVICE',
  'NET_BROADCAST',
  'NET_ADMIN',
  'NET_RAW',
  'IPC_LOCK',
  'IPC_OWNER',
  'SYS_MODULE',
  'SYS_RAWIO',
  'SYS_CHROOT',
  'SYS_PTRACE',
  'SYS_PACCT',
  'SYS_ADMIN',
  'SYS_BOOT',
  'SYS_NICE',
  'SYS_RESOURCE',
  'SYS_TIME',
  'SYS_TTY_CONFIG',
  'MKNOD',
  'LEASE',
  'AUDIT_WRITE',
  'AUDIT_CONTROL',
  'SETFCAP',
  'MAC_OVERRIDE',
  'MAC_ADMIN',
  'SYSLOG',
  'WAKE_ALARM',
  'BLOCK_SUSPEND',
  'AUDIT_READ',
];

/** capability names in a CapBnd hex mask */
export function capabilitiesFromMask(hex: string): string[] {
  const mask = BigInt(`0x${hex}`);
  return CAPS.filter((_, bit) => (mask >> BigInt(bit)) & 1n);
}

/** the host's bounding set, from /proc/self/status (the agent runs as root on the host) */
export function hostBoundingCapabilities(status = readFileSync('/proc/self/status', 'utf8')): string[] {
  const m = /^CapBnd:\s*([0-9a-f]+)$/m.exec(status);
  return m ? capabilitiesFromMask(m[1]!) : [];
}
