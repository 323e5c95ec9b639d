// Nix rendering: the escaper (./escape), the one systemd escaper (./systemd),
// how values reach restic (./restic-args), the NixOS option table
// (./restic-options) and the generated module (./module).
export * from "./escape";
export * from "./systemd";
export * from "./restic-args";
export * from "./restic-options";
export * from "./module";
export * from "./monitoring";
