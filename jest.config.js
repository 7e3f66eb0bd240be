// One jest run, two projects: `unit` (beside the code, sinon fakes only) and
// `integration` (test/: real RabbitMQ, Keystone, dockerd, Nova... from the
// all-in-one). Workspace packages resolve to their sources, so tests never
// need a prior build.
// ESM-only packages in node_modules that jest (on Node 20) cannot require:
// compiled to CommonJS on the fly.
const esmOnly = ['cookie'];

const base = {
  testEnvironment: 'node',
  transform: {
    '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.jest.json' }],
    '^.+\\.js$': ['ts-jest', { tsconfig: { allowJs: true, module: 'commonjs', isolatedModules: true } }],
  },
  transformIgnorePatterns: [`/node_modules/(?!(${esmOnly.join('|')})/)`],
  moduleNameMapper: {
    '^keystone-client-ts$': '<rootDir>/libs/keystone-client-ts/src',
    '^@berth/([a-z-]+)$': '<rootDir>/libs/$1/src',
  },
  setupFiles: ['<rootDir>/test/support/jest-native-addons.ts'],
  rootDir: __dirname,
};

module.exports = {
  projects: [
    {
      ...base,
      displayName: 'unit',
      testMatch: [
        '<rootDir>/libs/*/src/**/*.test.ts',
        '<rootDir>/{nova-driver,heat-resources,glance-bridge,cluster-service}/src/**/*.test.ts',
      ],
    },
    {
      ...base,
      displayName: 'integration',
      testMatch: ['<rootDir>/test/{integration,interop,e2e}/**/*.test.ts'],
      slowTestThreshold: 30,
    },
  ],
};
