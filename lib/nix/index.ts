// Nix rendering: the escaper (./escape) and the generated module (./module).
export * from "./escape";
export * from "./module";
export * from "./monitoring";
