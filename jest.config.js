// age-encryption, @noble/* and @scure/* ship only ES modules. Jest's module
// system is CommonJS, so they are compiled to CommonJS by ts-jest like our own
// sources (allowJs); everything else in node_modules is left alone.
const esmOnly = ["age-encryption", "@noble", "@scure"];

/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: "node",
  roots: ["<rootDir>/test"],
  testMatch: ["**/*.test.ts"],
  transform: {
    "^.+\\.[tj]s$": ["ts-jest", { tsconfig: { allowJs: true, module: "commonjs", moduleResolution: "node10", isolatedModules: true }, diagnostics: false }],
  },
  transformIgnorePatterns: [`/node_modules/(?!(${esmOnly.join("|")})/)`],
  moduleNameMapper: {
    // @noble v2 subpath imports end in ".js" and are resolved via "exports".
  },
  testTimeout: 60000,
};
