/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.(t|j)sx?$': ['@swc/jest'], '^.+\\.mjs$': ['@swc/jest'] },
  // fastify -> light-my-request -> cookie 2 ships ESM only; let swc transform it (see shared DEPENDENCIES.md).
  // typebox 1.x and content-disposition (via @fastify/swagger-ui → @fastify/static) are ESM only as well.
  // @fastify/cookie loads cookie with import() (Jest needs it turned into require); openid-client 6 is ESM only.
  transformIgnorePatterns: ['/node_modules/(?!(cookie|@fastify/cookie|content-disposition|node-pg-migrate|typebox|openid-client|oauth4webapi|jose)/)'],
  testTimeout: 20000,
};
