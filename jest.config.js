/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.(t|j)sx?$': ['@swc/jest'] },
  // fastify -> light-my-request -> cookie 2 ships ESM only; let swc transform it (see shared DEPENDENCIES.md).
  transformIgnorePatterns: ['/node_modules/(?!(cookie|node-pg-migrate)/)'],
  testTimeout: 20000,
};
