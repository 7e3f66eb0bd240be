/**
 * Where the integration suites find the all-in-one (devstack/aio/berth-aio).
 * Every value can be overridden from the environment to point the suites at
 * another cloud.
 */
export const testEnv = {
  authUrl: process.env.OS_AUTH_URL ?? 'http://127.0.0.1:5000/v3',
  adminUser: process.env.OS_USERNAME ?? 'admin',
  adminPassword: process.env.OS_PASSWORD ?? 'secret',
  adminProject: process.env.OS_PROJECT_NAME ?? 'admin',
  region: process.env.OS_REGION_NAME ?? 'RegionOne',
  rabbitUrl: process.env.BERTH_TEST_RABBIT_URL ?? 'amqp://guest:guest@127.0.0.1:5672/',
  postgresUrl: process.env.BERTH_TEST_POSTGRES_URL ?? 'postgresql://berth:secret@127.0.0.1/berth',
  /** Debian's python, which has the OpenStack libraries (a pyenv python3 may come first in PATH) */
  python: process.env.BERTH_TEST_PYTHON ?? '/usr/bin/python3',
};
