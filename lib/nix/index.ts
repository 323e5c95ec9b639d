// Nix rendering: the escaper (./escape), the one systemd escaper (./systemd),
// how values reach restic (./restic-args), the generated module (./module)
// and its sections for monitoring (./monitoring) and restore checks
// (./drill), and the agenix files' texts (./agenix). The rules the values
// obey and the NixOS option table are lib/config/ (restic-rules.ts,
// nixos-release.ts): the renderers only guard with them.
export * from "./agenix";
export * from "./escape";
export * from "./systemd";
export * from "./restic-args";
export * from "./module";
export * from "./monitoring";
export * from "./drill";
