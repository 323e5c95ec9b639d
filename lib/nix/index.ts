// Nix rendering: the escaper (./escape), the generated module (./module) and
// its restore checks (./drill).
export * from "./escape";
export * from "./module";
export * from "./drill";
