// Nix rendering: the escaper (./escape), the one systemd escaper (./systemd),
// how values reach restic (./restic-args), the NixOS option table
// (./restic-options), the generated module (./module) and its sections for
// monitoring (./monitoring) and restore checks (./drill), and the agenix
// files' texts (./agenix).
export * from "./agenix";
export * from "./escape";
export * from "./systemd";
export * from "./restic-args";
export * from "./restic-options";
export * from "./module";
export * from "./monitoring";
export * from "./drill";
