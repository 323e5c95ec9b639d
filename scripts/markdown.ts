// Markdown helpers for the project's own documents (README.md, docs/*.md):
// the anchor a heading gets when the file is rendered, the headings and
// relative links of a file, and moving a link written from the project root
// into another file. Used by scripts/gen-config.ts and
// test/unit/doc-links.test.ts.

import * as path from "node:path";

/**
 * The anchor of a heading as the rendered page names it: lower case, every
 * character other than a letter, a digit, a space, '-' or '_' dropped, each
 * space a '-'. ("Host and SSH" → "host-and-ssh", "`b2:applicationKey`" →
 * "b2applicationkey".)
 */
export function headingSlug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N} _-]/gu, "")
    .replace(/ /g, "-");
}

/** Text outside fenced code blocks (``` or ~~~ fences), line by line. */
function proseLines(markdown: string): string[] {
  const out: string[] = [];
  let fence: string | undefined;
  for (const line of markdown.split("\n")) {
    const m = /^\s*(`{3,}|~{3,})/.exec(line);
    if (m) {
      if (fence === undefined) fence = m[1][0];
      else if (m[1][0] === fence) fence = undefined;
      continue;
    }
    if (fence === undefined) out.push(line);
  }
  return out;
}

/** Every anchor a file's headings give, a repeated heading getting -1, -2, ... as rendered. */
export function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const line of proseLines(markdown)) {
    const m = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!m) continue;
    const base = headingSlug(m[1]);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

/** The targets of the inline links `[text](target)` outside code, web links and mail left out. */
export function relativeLinks(markdown: string): string[] {
  const out: string[] = [];
  for (const line of proseLines(markdown)) {
    // Inline code cannot hold a link: drop it first.
    const text = line.replace(/(`+)[^`][\s\S]*?\1/g, "");
    for (const m of text.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
      if (!/^[a-z][a-z0-9+.-]*:/i.test(m[1])) out.push(m[1]);
    }
  }
  return out;
}

/**
 * A link target written from the project root (`README.md#monitoring`,
 * `docs/host-deployment.md#importmode-auto`), as written in `file` (also
 * relative to the root): `#monitoring` inside README.md, `../README.md#monitoring`
 * inside docs/.
 */
export function fromFile(target: string, file: string): string {
  const hash = target.indexOf("#");
  const p = hash < 0 ? target : target.slice(0, hash);
  const anchor = hash < 0 ? "" : target.slice(hash);
  if (p === "") throw new Error(`markdown: ${JSON.stringify(target)} must name its file from the project root (e.g. README.md${anchor})`);
  if (path.posix.normalize(p) === path.posix.normalize(file)) return anchor === "" ? "#" : anchor;
  return path.posix.relative(path.posix.dirname(file), p) + anchor;
}

/** Every inline link of `markdown` (written from the project root) rebased for `file`. */
export function rebaseLinks(markdown: string, file: string): string {
  return markdown.replace(/\]\(([^)\s]+)\)/g, (whole, target: string) =>
    /^[a-z][a-z0-9+.-]*:/i.test(target) ? whole : `](${fromFile(target, file)})`,
  );
}
