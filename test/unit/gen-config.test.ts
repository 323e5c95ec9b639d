// The key declarations (lib/config/schema.ts) and the three files written from
// them (scripts/gen-config.ts): Pulumi.yaml's config block, the README's
// configuration reference and docs/configuration.md's sections must be exactly
// what the table gives, and the table's docs fit a table cell. Run
// `npm run gen:config` after changing a key.

import * as fs from "node:fs";
import * as path from "node:path";
import { AREAS, CONFIG, KeyDecl, PLAIN_KEYS, PROJECT, RawConfig, SECRET_KEYS, parseConfig } from "../../lib/config";
import { DETAILS_FILE, GENERATED_FILES, README_MARKERS, ROOT, YAML_MARKERS, detailsLink, generate, renderConfigDetails, renderConfigReference } from "../../scripts/gen-config";
import { BASE } from "../support/config-fixtures";

const read = (f: string) => fs.readFileSync(path.join(ROOT, f), "utf8");
const decls = Object.entries(CONFIG) as [string, KeyDecl][];

describe("the generated parts are up to date", () => {
  test.each(Object.keys(GENERATED_FILES))("%s is what `npm run gen:config` writes", (file) => {
    const text = read(file);
    expect(GENERATED_FILES[file as keyof typeof GENERATED_FILES](text)).toBe(text);
  });

  test("the check finds a file that differs from the table (positive control)", () => {
    const dir = fs.mkdtempSync(path.join(require("node:os").tmpdir(), "gen-config-"));
    try {
      fs.writeFileSync(path.join(dir, "Pulumi.yaml"), read("Pulumi.yaml").replace("    default: 30\n", "    default: 31\n"));
      fs.writeFileSync(path.join(dir, "README.md"), read("README.md").replace("| `sshPort` | integer, 1–65535 | `22` |", "| `sshPort` | integer | `22` |"));
      fs.mkdirSync(path.join(dir, "docs"));
      const details = read(DETAILS_FILE);
      expect(details).toContain("B2 refuses to delete a bucket that still holds any file version.");
      fs.writeFileSync(path.join(dir, DETAILS_FILE), details.replace("B2 refuses to delete a bucket that still holds any file version.", "B2 deletes anything."));
      expect(generate({ write: false, root: dir })).toEqual(["Pulumi.yaml", "README.md", DETAILS_FILE]);
      expect(generate({ write: true, root: dir })).toEqual(["Pulumi.yaml", "README.md", DETAILS_FILE]);
      expect(generate({ write: false, root: dir })).toEqual([]);
      expect(fs.readFileSync(path.join(dir, "README.md"), "utf8")).toBe(read("README.md"));
      expect(fs.readFileSync(path.join(dir, DETAILS_FILE), "utf8")).toBe(details);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test("each generated part has its markers once", () => {
    for (const [file, m] of [["Pulumi.yaml", YAML_MARKERS], ["README.md", README_MARKERS], [DETAILS_FILE, README_MARKERS]] as const) {
      const text = read(file);
      expect(text.split(m.begin).length).toBe(2);
      expect(text.split(m.end).length).toBe(2);
    }
  });
});

describe("Pulumi.yaml's config block", () => {
  const yaml = require("js-yaml") as { load(s: string): unknown };
  const doc = yaml.load(read("Pulumi.yaml")) as { config: Record<string, { type: string; default?: unknown; description: string }> };

  test("declares exactly the plain keys, in the table's order, each with its doc", () => {
    expect(Object.keys(doc.config)).toEqual(PLAIN_KEYS);
    for (const key of PLAIN_KEYS) expect(doc.config[key].description).toBe(CONFIG[key].doc);
    for (const key of SECRET_KEYS) expect(doc.config).not.toHaveProperty(key);
  });

  test("only the required keys have no default (the CLI refuses a stack without them)", () => {
    expect(PLAIN_KEYS.filter((k) => !("default" in doc.config[k]))).toEqual(["hostKey", "paths"]);
  });

  test("its defaults, given to the parser as the CLI passes them, change nothing", () => {
    const withDefaults: RawConfig = {};
    for (const key of PLAIN_KEYS) {
      const d = doc.config[key].default;
      if (d !== undefined) withDefaults[key] = typeof d === "string" ? d : JSON.stringify(d);
    }
    expect(parseConfig({ ...withDefaults, ...BASE }, {}, "laptop")).toEqual(parseConfig(BASE, {}, "laptop"));
  });
});

describe("the declarations", () => {
  test("every key has an area, and every area keys", () => {
    const areas = Object.keys(AREAS);
    for (const [, d] of decls) expect(areas).toContain(d.area);
    for (const a of areas) expect(decls.filter(([, d]) => d.area === a).length).toBeGreaterThan(0);
  });

  test.each(decls)("%s: a one-line doc of at most 120 characters", (_key, d) => {
    expect(d.doc).not.toMatch(/\n/);
    expect(d.doc.length).toBeLessThanOrEqual(120);
    expect(d.details ?? "").not.toMatch(/\n/);
  });

  test("the README's rows are short (long explanations go to docs/configuration.md)", () => {
    const rows = renderConfigReference().split("\n").filter((l) => /^\| \[?`/.test(l));
    expect(rows).toHaveLength(decls.length);
    for (const r of rows) {
      expect(r.length).toBeLessThan(240);
      // What a reader of the rendered table sees: the links' text only.
      expect(r.replace(/\]\([^)]*\)/g, "]").length).toBeLessThan(200);
    }
    expect(renderConfigReference()).not.toMatch(/^- /m);
  });

  test("every key with details links to its section in docs/configuration.md, and only those", () => {
    const ref = renderConfigReference();
    const doc = renderConfigDetails();
    for (const [key, d] of decls) {
      const link = `[\`${key}\`](${detailsLink(key)})`;
      if (d.details === undefined) {
        expect(ref).toContain(`| \`${key}\` |`);
        expect(doc).not.toContain(`### \`${key}\``);
      } else {
        expect(ref).toContain(`| ${link} |`);
        expect(doc).toContain(`### \`${key}\`\n\n${d.doc}\n\n${d.details}\n`.replace(/\]\(README\.md#/g, "](../README.md#").replace(/\]\(docs\//g, "]("));
      }
    }
  });

  test("keys live in the project namespace except the provider's b2:* keys, which are secrets", () => {
    for (const [key, d] of decls) {
      if (key.includes(":")) {
        expect(key.startsWith("b2:")).toBe(true);
        expect(d.type).toBe("secret");
      }
    }
    expect(PROJECT).toBe("nixos-restic-b2");
  });
});
