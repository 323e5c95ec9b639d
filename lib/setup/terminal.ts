// How setup asks: questions on stderr, answers from the terminal, a secret
// read in raw mode so the terminal never echoes it (and setup prints nothing
// for it either); without a terminal, the lines of stdin in order.

import * as readline from "node:readline";

export class Interrupted extends Error {}

export interface Io {
  out(s: string): void;
  err(s: string): void;
  /** One answer; `secret`: never echoed. Undefined when no one can answer (stdin ended). */
  ask(question: string, secret?: boolean): Promise<string | undefined>;
  /** Whether a person can answer (stdin is a terminal). */
  interactive: boolean;
  env: NodeJS.ProcessEnv;
}

/** Reads one line from a TTY in raw mode: no echo; Backspace and Ctrl-U edit, Enter ends, Ctrl-D on an empty line is "no answer", Ctrl-C interrupts. */
export function readHidden(stdin: NodeJS.ReadStream, onEnd: () => void): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    let buf: string[] = [];
    const finish = (f: () => void) => {
      stdin.off("data", onData);
      stdin.setRawMode(false);
      stdin.pause();
      onEnd();
      f();
    };
    const onData = (chunk: Buffer | string) => {
      for (const ch of chunk.toString()) {
        if (ch === "\r" || ch === "\n") return finish(() => resolve(buf.join("")));
        if (ch === "\u0003") return finish(() => reject(new Interrupted("interrupted")));
        if (ch === "\u0004" && buf.length === 0) return finish(() => resolve(undefined));
        if (ch === "\u007f" || ch === "\b") buf = buf.slice(0, -1);
        else if (ch === "\u0015") buf = [];
        else if (ch >= " ") buf.push(ch);
      }
    };
    stdin.setRawMode(true);
    stdin.on("data", onData);
    stdin.resume();
  });
}

function ttyAsk(q: string, secret: boolean): Promise<string | undefined> {
  process.stderr.write(q);
  if (secret) return readHidden(process.stdin, () => process.stderr.write("\n"));
  return new Promise((resolve, reject) => {
    const rl = readline.createInterface({ input: process.stdin, output: process.stderr, terminal: true });
    let settled = false;
    const settle = (f: () => void) => {
      if (settled) return;
      settled = true;
      rl.close();
      f();
    };
    rl.on("line", (l) => settle(() => resolve(l)));
    rl.on("SIGINT", () => settle(() => (process.stderr.write("\n"), reject(new Interrupted("interrupted")))));
    rl.on("close", () => settle(() => resolve(undefined)));
  });
}

/** Lines of a non-terminal stdin, one per question (secrets too: nothing echoes them). */
function lineAsk(): (q: string) => Promise<string | undefined> {
  let rl: readline.Interface | undefined;
  const lines: string[] = [];
  let ended = false;
  let waiting: ((l: string | undefined) => void) | undefined;
  return (q) => {
    process.stderr.write(q.endsWith("\n") ? q : `${q}\n`);
    if (rl === undefined) {
      rl = readline.createInterface({ input: process.stdin, terminal: false });
      rl.on("line", (l) => (waiting ? (waiting(l), (waiting = undefined)) : lines.push(l)));
      rl.on("close", () => {
        ended = true;
        waiting?.(undefined);
      });
    }
    const next = lines.shift();
    if (next !== undefined || ended) return Promise.resolve(next);
    return new Promise((resolve) => (waiting = resolve));
  };
}

export function terminalIo(): Io {
  const interactive = process.stdin.isTTY === true;
  const fromLines = interactive ? undefined : lineAsk();
  return {
    out: (s) => process.stdout.write(s),
    err: (s) => process.stderr.write(s),
    env: process.env,
    interactive,
    ask: (q, secret = false) => (fromLines ? fromLines(q) : ttyAsk(q, secret)),
  };
}
