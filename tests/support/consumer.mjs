// A throwaway consumer project: a temp folder whose node_modules/configure-edge
// is a link to the built package (pkg/), so `import "configure-edge"` resolves
// as it would after `npm install configure-edge`.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const PKG = path.join(ROOT, "pkg");

export function consumerDir(prefix = "configure-edge-consumer-") {
  if (!fs.existsSync(path.join(PKG, "package.json"))) {
    throw new Error("pkg/ is missing: run `make pkg` (make test does it) first");
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  fs.mkdirSync(path.join(dir, "node_modules"));
  fs.symlinkSync(PKG, path.join(dir, "node_modules", "configure-edge"), "dir");
  return {
    dir,
    write(name, text) {
      fs.writeFileSync(path.join(dir, name), text);
      return path.join(dir, name);
    },
    remove() {
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
