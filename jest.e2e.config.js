// The end-to-end suite (`npm run test:e2e`): the program under the real Pulumi
// engine against a loopback sshd with a fake NixOS root. Each file starts its
// own sshd and stack; files run in parallel on two workers (most of the time
// is the engine and Node starting, not CPU-bound work in the tests).
const base = require("./jest.config.js");

/** @type {import('jest').Config} */
module.exports = {
  ...base,
  roots: ["<rootDir>/test/e2e"],
  testMatch: ["**/*.e2e.test.ts"],
  testPathIgnorePatterns: ["/node_modules/"],
  globalSetup: "<rootDir>/test/e2e/global-setup.ts",
  testTimeout: 300000,
  maxWorkers: 2,
  // List every scenario in the CI log.
  verbose: true,
};
