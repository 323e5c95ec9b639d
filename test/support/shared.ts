import * as path from "node:path";

/** The read-only ../shared/ folder beside the repository (facts and test vectors). */
export const SHARED_DIR = path.resolve(__dirname, "../../../shared");
export const sharedPath = (...parts: string[]): string => path.join(SHARED_DIR, ...parts);
