// The .age files' exact bytes: what the command provider's trimmed stdout
// becomes on the host, and the local remove verb.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { main } from "../../lib/age/local-files";
import { armoredFileText, encryptArmored } from "../../lib/age/ssh";

const KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINYvFmkSzRt+uODC9gwpebjuPdajdgDPPdXqLlHdc0Gt";

test("the trimmed stdout of an encryption gives back the local file's exact bytes", async () => {
  const armored = await encryptArmored("secret\n", [KEY]);
  expect(armored.endsWith("-----END AGE ENCRYPTED FILE-----\n")).toBe(true);
  expect(armoredFileText(armored.trimEnd())).toBe(armored);
  expect(armoredFileText(armored)).toBe(armored);
});

test("remove: deletes the file, and succeeds when it is already gone", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "local-files-"));
  try {
    const f = path.join(dir, "module.nix");
    fs.writeFileSync(f, "{ }\n");
    await main(["remove", f]);
    expect(fs.existsSync(f)).toBe(false);
    await main(["remove", f]);
    expect(fs.readdirSync(dir)).toEqual([]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
