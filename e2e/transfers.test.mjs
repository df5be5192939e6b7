// Push and pull through the real app against Berth's Library API double on 127.0.0.1:
// push a local image with a description and two tags, see it in the library browser, pull
// it back byte-identical; watch a slow pull's progress, cancel it (nothing left behind);
// quit the app in the middle of a pull and resume it after a restart.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import readline from "node:readline";
import { By, until } from "selenium-webdriver";
import { startDesktop, testdata, waitForText } from "./harness.mjs";

const TOKEN = "e2e-transfer-token-5d2c";
const app = process.env.BERTH_APP ?? path.resolve(import.meta.dirname, "../target/debug/berth-app");
const berth = path.join(path.dirname(app), "berth");
const MIB = 1024 * 1024;
let library;
let url;
let desktop;
let driver;
let work;
let pullFolder;
let busybox;
let big;

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
const job = (kind, state) => By.css(`[data-testid="job-card"][data-kind="${kind}"]${state ? `[data-state="${state}"]` : ""}`);

/** Percent done of the running pull, from its progress bar. */
async function pulledPercent() {
  const els = await driver.findElements(By.css(`[data-testid="job-card"][data-state="running"] [role="progressbar"]`));
  if (els.length === 0) return 0;
  return Number((await els[0].getAttribute("aria-valuenow")) ?? 0);
}

before(async () => {
  work = mkdtempSync(path.join(os.tmpdir(), "berth-e2e-transfer-"));
  pullFolder = path.join(work, "pulled");
  mkdirSync(pullFolder);
  busybox = path.join(work, "busybox.sif");
  copyFileSync(path.join(testdata, "images/apptainer-e2e/busybox_amd64.sif"), busybox);
  // A 48 MiB image (six 8 MiB parts), served slowly, to watch, cancel and resume.
  big = path.join(work, "big.sif");
  const part = path.join(work, "part.bin");
  writeFileSync(part, Buffer.alloc(48 * MIB - 64 * 1024, 7).map((_, i) => (i * 2654435761) >>> 24));
  execFileSync(berth, ["sif", "new", big]);
  execFileSync(berth, ["sif", "add", big, part, "--datatype", "4", "--parttype", "2", "--partfs", "1", "--partarch", "2", "--groupid", "1"]);
  const seed = path.join(work, "seed");
  mkdirSync(seed);
  writeFileSync(
    path.join(seed, "seed.json"),
    JSON.stringify({
      users: [{ name: "ada", token: TOKEN }],
      images: [{ ref: "library://ada/data/big:latest", file: big, arch: "amd64", tags: ["latest"], signed: false }],
    }),
  );
  library = spawn(path.join(path.dirname(app), "berth-library-double"), [
    "--flavour", "hinkskalle", "--seed", seed, "--throttle-bytes-per-sec", String(2 * MIB),
  ]);
  url = await new Promise((resolve, reject) => {
    library.once("error", reject);
    readline.createInterface({ input: library.stdout }).once("line", (l) => resolve(l.trim()));
  });
  desktop = await startDesktop();
  // The pull folder is chosen once in a native dialog, which WebDriver cannot drive.
  writeFileSync(path.join(desktop.configDir, "settings.json"), JSON.stringify({ pullFolder }));
  driver = await desktop.launch();
});

after(async () => {
  if (driver) await driver.quit();
  if (desktop) await desktop.stop();
  if (library) library.kill();
});

test("log in to the library double", async () => {
  await click("nav-remotes");
  await click("add-remote-button");
  await type("remote-name", "lab");
  await type("remote-uri", url);
  await click("remote-insecure");
  await click("remote-add-submit");
  await click(By.css(`[data-testid="remote-row"][data-name="lab"] [data-testid="remote-login-button"]`));
  await type("login-token", TOKEN);
  await click("login-submit");
  await waitForText(driver, By.css(`[data-testid="remote-row"][data-name="lab"]`), (t) => /Logged in/i.test(t) && !/Not logged in/i.test(t), 20000);
});

test("push a local image with a description and two tags", async () => {
  await click("nav-local-images");
  const input = await driver.wait(until.elementLocated(By.id("add-path-input")), 10000);
  await input.sendKeys(busybox);
  await click(By.id("add-path-button"));
  await click(By.css(`[data-testid="image-row"][data-path$="busybox.sif"] td`));
  await click("push-button");
  await type("push-destination", "library://ada/tools/busybox");
  await type("push-tags", "1.36,latest");
  await type("push-description", "BusyBox for e2e");
  // The plan: the image's arch, its signer unknown here, what will be created.
  const plan = await waitForText(driver, byTestId("push-plan"), (t) => /amd64/.test(t) && /ada\/tools\/busybox/.test(t), 20000);
  assert.match(plan, /ada\/tools/);
  const signature = await waitForText(driver, byTestId("push-signature"), (t) => t.length > 0);
  assert.match(signature, /key|verif/i);
  await click("push-allow-unsigned");
  await desktop.screenshot(driver, "t01-push-dialog");
  await click("push-submit");
  await click("nav-transfers");
  const done = await waitForText(driver, job("push", "succeeded"), (t) => /Library storage: using/.test(t), 30000);
  assert.match(done, /1\.36/);
  const link = await driver.findElement(By.css(`${'[data-testid="job-card"][data-kind="push"]'} [data-testid="result-url"]`));
  assert.ok((await link.getAttribute("href")).startsWith(url), "the container URL is on the remote");
  await desktop.screenshot(driver, "t02-push-done");
});

test("the pushed image is in the library; pulling it back gives the same bytes", async () => {
  await click("nav-library");
  await type("library-entity", "ada");
  await click("library-entity-go");
  await click(By.css(`[data-testid="collection-row"][data-name="tools"] button.link`));
  await click(By.css(`[data-testid="container-row"][data-name="busybox"] button.link`));
  const rows = await waitForText(driver, byTestId("image-row-lib"), (t) => /1\.36/.test(t) && /latest/.test(t));
  assert.match(rows, /amd64/);
  await click("image-pull-button");
  await click("nav-transfers");
  const pulled = await waitForText(driver, job("pull", "succeeded"), (t) => /busybox/.test(t), 30000);
  assert.match(pulled, /sha256\./);
  const file = path.join(pullFolder, "busybox_1.36.sif");
  assert.ok(readFileSync(file).equals(readFileSync(busybox)), "byte-identical");
  await desktop.screenshot(driver, "t03-pull-done");
  // The pulled image joins Local images.
  await click("nav-local-images");
  await waitForText(driver, By.css(`[data-testid="image-row"][data-path$="busybox_1.36.sif"]`), (t) => t.length > 0, 15000);
});

test("a slow pull shows progress with rate and ETA, and cancel leaves nothing behind", async () => {
  await click("nav-pull");
  await type("pull-ref", "library://ada/data/big:latest");
  await click("pull-submit");
  await click("nav-transfers");
  await driver.wait(async () => (await pulledPercent()) >= 5, 20000);
  const running = await waitForText(driver, job("pull", "running"), (t) => /\/s/.test(t) && /left/.test(t), 15000);
  assert.match(running, /Downloading/i);
  await desktop.screenshot(driver, "t04-pull-progress");
  await click(By.css(`[data-testid="job-card"][data-state="running"] [data-testid="job-cancel"]`));
  await driver.wait(until.elementLocated(job("pull", "cancelled")), 15000);
  assert.ok(!existsSync(path.join(pullFolder, "big_latest.sif")));
  const cache = path.join(desktop.configDir, "cache", "library");
  const partials = existsSync(cache) ? readdirSync(cache).filter((f) => f.includes("partial")) : [];
  assert.deepEqual(partials, [], "no partial download kept after cancel");
});

test("a pull interrupted by quitting the app resumes after a restart", async () => {
  await click("nav-pull");
  await type("pull-ref", "library://ada/data/big:latest");
  await click("pull-submit");
  await click("nav-transfers");
  // Past the first 8 MiB part (of 48): it comes alone, then the rest in parallel.
  await driver.wait(async () => (await pulledPercent()) >= 22, 30000);
  await driver.quit();
  driver = await desktop.launch();
  await click("nav-transfers");
  const interrupted = await waitForText(driver, By.css(`[data-testid="job-card"][data-kind="pull"][data-state="interrupted"]`), (t) => /Resume/i.test(t), 15000);
  assert.match(interrupted, /big/);
  await desktop.screenshot(driver, "t05-interrupted");
  await click(By.css(`[data-testid="job-card"][data-state="interrupted"] [data-testid="job-retry"]`));
  const done = await waitForText(driver, By.css(`[data-testid="job-card"][data-kind="pull"][data-state="succeeded"] [data-testid="result-resumed"]`), (t) => /Resumed from/.test(t), 60000);
  assert.match(done, /MiB/);
  assert.ok(readFileSync(path.join(pullFolder, "big_latest.sif")).equals(readFileSync(big)), "resumed pull is byte-identical");
  await desktop.screenshot(driver, "t06-resumed");
});
