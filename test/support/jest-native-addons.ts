// jest gives every test file a fresh module registry, but native addons are
// loaded once per process. better-sqlite3 binds its SqliteError class into the
// addon on first use and marks it initialized; in the next test file of the
// same worker that class belongs to a torn-down registry and constraint
// violations stop throwing. Clearing the mark makes each file bind its own.
import { dirname, join } from 'node:path';

const root = dirname(require.resolve('better-sqlite3/package.json'));
// eslint-disable-next-line @typescript-eslint/no-require-imports
const addon = require(join(root, 'build/Release/better_sqlite3.node')) as { isInitialized?: boolean };
addon.isInitialized = false;
