// docker:// pulls through the real app against Debian's docker-registry on 127.0.0.1,
// with an image built by umoci and pushed by skopeo: the Pull page takes the reference,
// Transfers follows the job to the end, and the SIF lands in Local images with its
// runscript and environment from the image config.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { By, Key, until } from "selenium-webdriver";
import { startDesktop, waitForText } from "./harness.mjs";

let registry;
let host;
let desktop;
let driver;
let work;
let pullFolder;

const byTestId = (id) => By.css(`[data-testid="${id}"]`);
async function click(locator) {
  const el = await driver.wait(until.elementLocated(typeof locator === "string" ? byTestId(locator) : locator), 15000);
  await driver.wait(until.elementIsEnabled(el), 15000);
  await el.click();
}
async function type(id, text) {
  const el = await driver.wait(until.elementLocated(byTestId(id)), 10000);
  await el.clear();
  await el.sendKeys(text);
}
const freePort = () =>
  new Promise((resolve) => {
    const s = net.createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
async function waitForPort(port) {
  for (let i = 0; i < 200; i++) {
    const ok = await new Promise((resolve) => {
      const c = net.connect(port, "127.0.0.1", () => (c.end(), resolve(true)));
      c.on("error", () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error("docker-registry did not start");
}

before(async () => {
  work = mkdtempSync(path.join(os.tmpdir(), "berth-e2e-oci-"));
  pullFolder = path.join(work, "pulled");
  mkdirSync(pullFolder);
  const port = await freePort();
  host = `127.0.0.1:${port}`;
  const config = path.join(work, "registry.yml");
  writeFileSync(
    config,
    `version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: ${work}/storage\nhttp:\n  addr: ${host}\n  secret: e2e\n`,
  );
  registry = spawn("docker-registry", ["serve", config], { stdio: "ignore" });
  await waitForPort(port);
  // An image with busybox as /bin/sh, a command and an environment variable.
  const layout = path.join(work, "layout");
  const bundle = path.join(work, "bundle");
  execFileSync("umoci", ["init", "--layout", layout]);
  execFileSync("umoci", ["new", "--image", `${layout}:1.36`]);
  execFileSync("umoci", ["unpack", "--rootless", "--image", `${layout}:1.36`, bundle]);
  mkdirSync(path.join(bundle, "rootfs/bin"), { recursive: true });
  copyFileSync("/bin/busybox", path.join(bundle, "rootfs/bin/busybox"));
  symlinkSync("busybox", path.join(bundle, "rootfs/bin/sh"));
  execFileSync("umoci", ["repack", "--refresh-bundle", "--image", `${layout}:1.36`, bundle]);
  execFileSync("umoci", ["config", "--config.cmd=sh", "--config.env=GREETING=hello from e2e", "--image", `${layout}:1.36`]);
  execFileSync("skopeo", ["copy", "--quiet", "--dest-tls-verify=false", `oci:${layout}:1.36`, `docker://${host}/test/busybox:1.36`]);
  desktop = await startDesktop();
  writeFileSync(path.join(desktop.configDir, "settings.json"), JSON.stringify({ pullFolder }));
  driver = await desktop.launch();
});

after(async () => {
  if (driver) await driver.quit();
  if (desktop) await desktop.stop();
  if (registry) registry.kill();
});

test("a docker:// image is pulled as a SIF and shows its runscript in Local images", async () => {
  await click("nav-pull");
  await type("pull-ref", `docker://${host}/test/busybox:1.36`);
  await click("pull-submit");
  await click("nav-transfers");
  const done = await waitForText(driver, By.css(`[data-testid="job-card"][data-kind="pull"][data-state="succeeded"]`), (t) => /busybox_1\.36\.sif/.test(t), 60000);
  assert.match(done, /sha256:/);
  await desktop.screenshot(driver, "o01-docker-pull-done");
  await click("nav-local-images");
  await click(By.css(`[data-testid="image-row"][data-path$="busybox_1.36.sif"] td`));
  await click("tab-runscript");
  const runscript = await waitForText(driver, byTestId("script-text"), (t) => t.includes("OCI_CMD"), 15000);
  assert.match(runscript, /SINGULARITY_OCI_RUN/);
  await click("tab-environment");
  await waitForText(driver, byTestId("panel-environment"), (t) => t.includes("GREETING"), 15000);
  await desktop.screenshot(driver, "o02-docker-pull-in-local-images");
});

test("a definition on that docker image is built on this computer, without a builder", async () => {
  await click("nav-build");
  const editor = await driver.wait(until.elementLocated(By.css('[data-testid="build-editor"] .cm-content')), 10000);
  await editor.click();
  await editor.sendKeys(Key.chord(Key.CONTROL, "a"), Key.BACK_SPACE);
  // Typed line by line: WebKit's driver drops "\n" in editable content.
  const lines = [`Bootstrap: docker`, `From: ${host}/test/busybox:1.36`, `%environment`, `export WHO=e2e`, `%runscript`, `echo built by berth`];
  for (const line of lines) await editor.sendKeys(line, Key.ENTER);
  await waitForText(driver, byTestId("build-issues-none"), (t) => /No problems/.test(t));
  const select = await driver.findElement(byTestId("build-builder-select"));
  await select.findElement(By.css('option[value="local"]')).click();
  await type("build-destination", path.join(pullFolder, "built.sif"));
  await click("build-start");
  const result = await waitForText(driver, byTestId("build-result"), (t) => /built\.sif/.test(t), 60000);
  assert.match(result, /amd64|arm64/);
  const log = await driver.findElement(byTestId("build-log")).getText();
  assert.match(log, /Fetching OCI image/);
  await desktop.screenshot(driver, "o03-local-build-from-docker");
  for (const b of await driver.findElements(By.css('[data-testid="toast"] button[aria-label="Dismiss"]'))) await b.click().catch(() => {});
  await click("build-open-local");
  await click(By.css(`[data-testid="image-row"][data-path$="built.sif"] td`));
  await click("tab-runscript");
  await waitForText(driver, byTestId("script-text"), (t) => t.includes("echo built by berth"), 15000);
  await click("tab-environment");
  // The image's own environment and the definition's.
  await waitForText(driver, byTestId("panel-environment"), (t) => t.includes("GREETING") && t.includes("WHO=e2e"), 15000);
});
