// Every relative link in the project's own documents (README.md, docs/*.md,
// sdks/b2/README.md) reaches a file that exists and, when it names an anchor,
// a heading of that file: a moved section or a renamed heading fails here,
// not in a reader's browser. scripts/markdown.ts gives the anchors as the
// rendered page names them.

import * as fs from "node:fs";
import * as path from "node:path";
import { anchors, fromFile, headingSlug, rebaseLinks, relativeLinks } from "../../scripts/markdown";

const ROOT = path.resolve(__dirname, "..", "..");
const DOCS = [
  "README.md",
  "sdks/b2/README.md",
  ...fs
    .readdirSync(path.join(ROOT, "docs"))
    .filter((f) => f.endsWith(".md"))
    .map((f) => `docs/${f}`),
];

/** The links of `file` that lead nowhere: `<target>: <why>`. */
function broken(file: string, text: string, read: (rel: string) => string | undefined): string[] {
  const out: string[] = [];
  for (const target of relativeLinks(text)) {
    const hash = target.indexOf("#");
    const rel = hash < 0 ? target : target.slice(0, hash);
    const anchor = hash < 0 ? undefined : decodeURIComponent(target.slice(hash + 1));
    const dest = rel === "" ? file : path.posix.normalize(path.posix.join(path.posix.dirname(file), rel));
    const destText = read(dest);
    if (destText === undefined) {
      out.push(`${target}: no file ${dest}`);
      continue;
    }
    if (anchor !== undefined && !anchors(destText).has(anchor)) out.push(`${target}: no heading in ${dest} gives #${anchor}`);
  }
  return out;
}

const readRepo = (rel: string): string | undefined => {
  const p = path.join(ROOT, rel);
  if (!fs.existsSync(p)) return undefined;
  return fs.statSync(p).isDirectory() ? "" : fs.readFileSync(p, "utf8");
};

describe("the documents' links", () => {
  test("the documents are there, README.md and docs/ among them", () => {
    expect(DOCS).toEqual(expect.arrayContaining(["README.md", "docs/architecture.md", "docs/configuration.md", "docs/how-it-works.md", "docs/host-deployment.md", "docs/testing.md"]));
  });

  test.each(DOCS)("every relative link in %s resolves to a file and a heading", (file) => {
    expect(broken(file, readRepo(file)!, readRepo)).toEqual([]);
  });

  test("the scanner sees the links (README.md has dozens, anchors and docs/ files among them)", () => {
    const links = relativeLinks(readRepo("README.md")!);
    expect(links.length).toBeGreaterThan(40);
    expect(links).toEqual(expect.arrayContaining(["#monitoring", "docs/configuration.md#hostcandelete"]));
  });

  test("the README links each moved part in docs/", () => {
    const links = relativeLinks(readRepo("README.md")!);
    for (const doc of ["docs/how-it-works.md", "docs/host-deployment.md", "docs/testing.md", "docs/configuration.md", "docs/architecture.md"]) {
      expect(links.some((l) => l === doc || l.startsWith(`${doc}#`))).toBe(true);
    }
  });
});

describe("the checker (positive controls)", () => {
  const files: Record<string, string> = {
    "README.md": "# Title\n\n## Host and SSH\n\n## `importMode: auto`\n\n## Notes\n\n## Notes\n\n```sh\n# not a heading\n```\n",
    "docs/a.md": "# A\n\n## One stack per machine\n",
  };
  const read = (rel: string) => files[rel];

  test("anchors are the rendered ones, repeated headings numbered, code blocks left out", () => {
    expect([...anchors(files["README.md"])]).toEqual(["title", "host-and-ssh", "importmode-auto", "notes", "notes-1"]);
    expect(headingSlug("Storage (B2)")).toBe("storage-b2");
    expect(headingSlug("`b2:applicationKeyId`")).toBe("b2applicationkeyid");
  });

  test("a missing file, a missing anchor and a link into the wrong file are found", () => {
    const text = [
      "[ok](#host-and-ssh) [ok](docs/a.md#one-stack-per-machine) [ok](docs/a.md) [web](https://example.org/x#y)",
      "[gone](#host-deployment) [nofile](docs/b.md) [wrongfile](docs/a.md#host-and-ssh) `[code](#nowhere)`",
      "``a `nested` span [code](#nowhere) too``",
    ].join("\n");
    expect(broken("README.md", text, read)).toEqual([
      "#host-deployment: no heading in README.md gives #host-deployment",
      "docs/b.md: no file docs/b.md",
      "docs/a.md#host-and-ssh: no heading in docs/a.md gives #host-and-ssh",
    ]);
    expect(broken("docs/a.md", "[up](../README.md#notes-1) [bad](README.md)", read)).toEqual(["README.md: no file docs/README.md"]);
  });

  test("links written from the project root are rebased for the file they land in", () => {
    expect(fromFile("README.md#monitoring", "README.md")).toBe("#monitoring");
    expect(fromFile("README.md#monitoring", "docs/configuration.md")).toBe("../README.md#monitoring");
    expect(fromFile("docs/host-deployment.md#importmode-auto", "README.md")).toBe("docs/host-deployment.md#importmode-auto");
    expect(fromFile("docs/host-deployment.md#importmode-auto", "docs/configuration.md")).toBe("host-deployment.md#importmode-auto");
    expect(rebaseLinks("see [M](README.md#monitoring) and [W](https://example.org/README.md)", "docs/x.md")).toBe(
      "see [M](../README.md#monitoring) and [W](https://example.org/README.md)",
    );
    expect(() => fromFile("#monitoring", "docs/x.md")).toThrow(/from the project root/);
  });
});
