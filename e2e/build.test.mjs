// Builds through the real app: a definition with %post goes to the build service double
// that the Library API double names in discovery, its log streams into the Build page
// line by line, and the built image is pulled into Local images; a build is cancelled on
// the builder; a definition that runs nothing inside the image is built on this computer.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import readline from "node:readline";
import { By, Key, until } from "selenium-webdriver";
import { actions, byTestId, startDesktop, testdata, waitForText } from "./harness.mjs";

const TOKEN = "e2e-build-token-31";
const app = process.env.BERTH_APP ?? path.resolve(import.meta.dirname, "../target/debug/berth-app");
const berth = path.join(path.dirname(app), "berth");
let library;
let url;
let desktop;
let driver;
let work;
let pullFolder;
let busybox;

let click;
let type;
let loginToLibrary;
/** Replaces the editor's text, typed as a person would (one line at a time). */
async function setDefinition(text) {
  const editor = await driver.wait(until.elementLocated(By.css('[data-testid="build-editor"] .cm-content')), 10000);
  await editor.click();
  await editor.sendKeys(Key.chord(Key.CONTROL, "a"), Key.BACK_SPACE);
  // WebKit's driver drops "\n" in editable content: Enter ends each line, as typed.
  const lines = text.split("\n");
  for (const [i, line] of lines.entries()) {
    if (line) await editor.sendKeys(line);
    if (i < lines.length - 1) await editor.sendKeys(Key.ENTER);
  }
}
async function chooseBuilder(value) {
  const select = await driver.wait(until.elementLocated(byTestId("build-builder-select")), 10000);
  await driver.wait(async () => (await select.findElements(By.css(`option[value="${value}"]`))).length > 0, 15000);
  await select.findElement(By.css(`option[value="${value}"]`)).click();
}
/** Closes the notes in the corner, as a person would before reaching what they cover. */
async function dismissToasts() {
  for (const b of await driver.findElements(By.css('[data-testid="toast"] button[aria-label="Dismiss"]'))) {
    await b.click().catch(() => {});
  }
}
const logText = () => driver.findElement(byTestId("build-log")).getText();

before(async () => {
  work = mkdtempSync(path.join(os.tmpdir(), "berth-e2e-build-"));
  pullFolder = path.join(work, "pulled");
  mkdirSync(pullFolder);
  busybox = path.join(work, "busybox.sif");
  copyFileSync(path.join(testdata, "images/apptainer-e2e/busybox_amd64.sif"), busybox);
  const seed = path.join(work, "seed");
  mkdirSync(seed);
  writeFileSync(path.join(seed, "seed.json"), JSON.stringify({ users: [{ name: "ada", token: TOKEN }], images: [] }));
  // Twelve lines, a third of a second apart: long enough to watch them arrive.
  const log = path.join(work, "build.log");
  writeFileSync(
    log,
    ["INFO:    Starting build...", ...Array.from({ length: 10 }, (_, i) => `+ apk add package-${i + 1}`), "INFO:    Creating SIF file..."].join("\n"),
  );
  library = spawn(path.join(path.dirname(app), "berth-library-double"), [
    "--seed", seed,
    "--builder", "--builder-token", TOKEN, "--builder-log", log,
    "--builder-line-delay-ms", "300", "--builder-result", busybox,
  ]);
  url = await new Promise((resolve, reject) => {
    library.once("error", reject);
    readline.createInterface({ input: library.stdout }).once("line", (l) => resolve(l.trim()));
  });
  desktop = await startDesktop();
  writeFileSync(path.join(desktop.configDir, "settings.json"), JSON.stringify({ pullFolder }));
  driver = await desktop.launch();
  ({ click, type, loginToLibrary } = actions(driver));
});

after(async () => {
  if (driver) await driver.quit();
  if (desktop) await desktop.stop();
  if (library) library.kill();
});

test("log in to the library whose discovery names a build service", async () => {
  await loginToLibrary("lab", url, TOKEN);
});

test("the editor marks an error where it is and blocks the build until it is fixed", async () => {
  await click("nav-build");
  await driver.wait(until.elementLocated(byTestId("build-page-title")), 10000);
  await setDefinition("Bootstrap: docker\nFrom: alpine:3.20\n%pots\napk add curl\n");
  const issues = await waitForText(driver, byTestId("build-issues"), (t) => /%pots|unknown section/i.test(t));
  assert.match(issues, /3/, "the line is named");
  assert.match(issues, /post/, "with a suggestion");
  assert.equal(await driver.findElement(byTestId("build-start")).isEnabled(), false);
  await driver.wait(until.elementLocated(By.css('[data-testid="build-editor"] .cm-lintRange-error, [data-testid="build-editor"] .cm-lint-marker-error')), 10000);
  await desktop.screenshot(driver, "b01-build-error-marked");
});

test("a definition with %post is built remotely with its log streaming in, then lands in Local images", async () => {
  await click("build-template-docker");
  // A template may replace unsaved text only after asking.
  const confirm = await driver.findElements(byTestId("confirm-ok"));
  if (confirm.length > 0) await confirm[0].click();
  await waitForText(driver, By.css('[data-testid="build-editor"] .cm-content'), (t) => /%post/.test(t));
  await chooseBuilder("remote:lab");
  // This computer cannot run %post: the choice says why.
  const local = await driver.findElement(By.css('[data-testid="build-builder-select"] option[value="local"]'));
  assert.equal(await local.isEnabled(), false);
  await type("build-library-ref", "library://ada/builds/tools:1");
  await click("build-start");
  // Lines arrive while the build runs: part of the log first, then all of it.
  const partial = await waitForText(driver, byTestId("build-log"), (t) => /package-2/.test(t), 20000);
  assert.doesNotMatch(partial, /Creating SIF file/, "the log streams; it is not shown all at once at the end");
  await dismissToasts();
  await desktop.screenshot(driver, "b02-build-log-streaming");
  const result = await waitForText(driver, byTestId("build-result"), (t) => /\.sif/.test(t), 60000);
  assert.match(await logText(), /package-10[\s\S]*Creating SIF file/);
  const file = (await driver.findElement(byTestId("build-result-path")).getText()).trim();
  assert.ok(file.startsWith(pullFolder), `${file} is in the pull folder (${result})`);
  assert.ok(readFileSync(file).equals(readFileSync(busybox)), "the builder's image, byte for byte");
  await desktop.screenshot(driver, "b03-build-done");
  await dismissToasts();
  await click("build-open-local");
  await driver.wait(until.elementLocated(By.css(`[data-testid="image-row"][data-path="${file}"]`)), 15000);
});

test("cancelling a remote build stops it and leaves no file", async () => {
  await click("nav-build");
  await click("build-template-docker");
  const confirm = await driver.findElements(byTestId("confirm-ok"));
  if (confirm.length > 0) await confirm[0].click();
  await chooseBuilder("remote:lab");
  await type("build-destination", path.join(pullFolder, "cancelled.sif"));
  await click("build-start");
  await waitForText(driver, byTestId("build-log"), (t) => /package-1\b/.test(t), 20000);
  await click("build-cancel");
  await click("nav-transfers");
  await waitForText(driver, By.css(`[data-testid="job-card"][data-kind="build"][data-state="cancelled"]`), (t) => t.length > 0, 20000);
  assert.equal(existsSync(path.join(pullFolder, "cancelled.sif")), false);
  assert.deepEqual(readdirSync(pullFolder).filter((n) => n.startsWith(".")), [], "no partial file left");
});

test("a build submitted without waiting is attached to from Transfers and lands its image", async () => {
  await click("nav-build");
  await click("build-template-docker");
  const confirm = await driver.findElements(byTestId("confirm-ok"));
  if (confirm.length > 0) await confirm[0].click();
  await chooseBuilder("remote:lab");
  await type("build-destination", path.join(pullFolder, "later.sif"));
  await click("build-detached");
  await click("build-start");
  const id = (await waitForText(driver, byTestId("build-result-id"), (t) => /^[0-9a-f]+$/.test(t.trim()), 20000)).trim();
  assert.equal(existsSync(path.join(pullFolder, "later.sif")), false, "detached: nothing fetched yet");
  await dismissToasts();
  await click("nav-transfers");
  const detachedCard = By.css(`[data-testid="job-card"][data-kind="build"][data-state="succeeded"]`);
  await waitForText(driver, detachedCard, (t) => t.includes(id));
  await click(By.css(`[data-testid="job-card"][data-kind="build"] [data-testid="job-attach"]`));
  await waitForText(
    driver,
    By.css(`[data-testid="job-card"][data-kind="build"][data-state="succeeded"]`),
    (t) => t.includes(`Attach to build ${id}`) && /later\.sif/.test(t),
    30000,
  );
  assert.ok(readFileSync(path.join(pullFolder, "later.sif")).equals(readFileSync(busybox)));
  await desktop.screenshot(driver, "b05-detached-then-attached");
});

test("a definition that runs nothing inside the image is built on this computer", async () => {
  const data = path.join(work, "hello.txt");
  writeFileSync(data, "hello from the host\n");
  await click("nav-build");
  await click("build-template-scratch");
  const confirm = await driver.findElements(byTestId("confirm-ok"));
  if (confirm.length > 0) await confirm[0].click();
  await setDefinition(
    `Bootstrap: scratch\n%files\n${data} /hello.txt\n%runscript\ncat /hello.txt\n%labels\nAuthor e2e\n%help\nPrints a greeting.\n`,
  );
  await chooseBuilder("local");
  await type("build-destination", path.join(pullFolder, "hello.sif"));
  await click("build-start");
  await waitForText(driver, byTestId("build-result"), (t) => /hello\.sif/.test(t), 60000);
  const out = path.join(pullFolder, "hello.sif");
  const listing = execFileSync(berth, ["sif", "list", out], { encoding: "utf8" });
  assert.match(listing, /Def\.FILE/);
  assert.match(listing, /FS/);
  await desktop.screenshot(driver, "b04-local-build-done");
  await dismissToasts();
  await click("build-open-local");
  await click(By.css(`[data-testid="image-row"][data-path="${out}"] td`));
  await click("tab-runscript");
  await waitForText(driver, byTestId("script-text"), (t) => t.includes("cat /hello.txt"), 15000);
});
