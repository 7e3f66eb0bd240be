// heat-engine's Berth plugin inside real Heat code: Debian's python3-heat
// and its heat.tests harness run heat-resources/plugin/test_berth_heat_resources.py
// against the type schema the service publishes (built here from
// api/openapi.yaml, as `berth-heat-resources write-types` does). The service
// is a fake keystoneauth session there; the e2e suites use the real one.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { openApiDocument } from '../../heat-resources/src/openapi';
import { buildResourceTypes } from '../../heat-resources/src/types/heat-schema';
import { testEnv } from '../support/env';

const exec = promisify(execFile);
const PLUGIN_DIR = join(__dirname, '..', '..', 'heat-resources', 'plugin');

jest.setTimeout(180_000);

it('passes its tests in heat.tests (loading, fallbacks, validation, every hook)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-heat-plugin-'));
  try {
    const file = join(dir, 'resource-types.json');
    writeFileSync(file, JSON.stringify(buildResourceTypes(openApiDocument(), 'container-orchestration')));
    const { stderr } = await exec(testEnv.python, ['-m', 'unittest', '-v', 'test_berth_heat_resources'], {
      cwd: PLUGIN_DIR,
      env: { ...process.env, BERTH_TYPES_FILE: file, PYTHONDONTWRITEBYTECODE: '1' },
      maxBuffer: 16 * 1024 * 1024,
    });
    // unittest reports on stderr: every test ok, none skipped
    expect(stderr).toMatch(/^Ran 14 tests/m);
    expect(stderr).toMatch(/^OK$/m);
    expect(stderr).not.toMatch(/skipped/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
