// age-encryption, @noble/* and @scure/* ship only ES modules. Jest's module
// system is CommonJS, so they are compiled to CommonJS by ts-jest like our own
// sources (allowJs); everything else in node_modules is left alone.
const esmOnly = ["age-encryption", "@noble", "@scure"];

/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: "node",
  roots: ["<rootDir>/test"],
  testMatch: ["**/*.test.ts"],
  // test/cli needs the Pulumi CLI (scripts/build-engine.sh builds it) and
  // test/e2e a Pulumi installation (lib/engine/find.ts):
  // `npm run test:cli`, `npm run test:e2e` (jest.e2e.config.js).
  testPathIgnorePatterns: ["/node_modules/", "/test/cli/", "/test/e2e/"],
  transform: {
    "^.+\\.[tj]s$": ["ts-jest", { tsconfig: { allowJs: true, module: "commonjs", moduleResolution: "node10", isolatedModules: true }, diagnostics: false }],
  },
  transformIgnorePatterns: [`/node_modules/(?!(${esmOnly.join("|")})/)`],
  testTimeout: 60000,
};
