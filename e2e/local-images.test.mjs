// The Local images page, driven as a person would: add an image, read its objects and
// labels, open a broken file, switch theme, restart and find the list again.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { copyFileSync, mkdtempSync, openSync, readSync, writeFileSync, closeSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { By, Key, until } from "selenium-webdriver";
import { startDesktop, testdata, waitForText } from "./harness.mjs";

const busybox = path.join(testdata, "images/apptainer-e2e/busybox_amd64.sif");
const work = mkdtempSync(path.join(os.tmpdir(), "berth-e2e-files-"));
let desktop;
let driver;

const byTestId = (id) => By.css(`[data-testid="${id}"]`);
const rowFor = (file) => By.css(`[data-testid="image-row"][data-path$="${path.basename(file)}"]`);

// WebKitWebDriver will not click a <tr> itself; a person clicks the name in it.
// Every lookup waits: the details load asynchronously, and a busy machine is slower.
const clickRow = async (file) =>
  (await driver.wait(until.elementLocated(By.css(`[data-testid="image-row"][data-path$="${path.basename(file)}"] td`)), 10000)).click();

async function addByPath(p) {
  const input = await driver.wait(until.elementLocated(By.id("add-path-input")), 10000);
  await input.clear();
  await input.sendKeys(p);
  await driver.findElement(By.id("add-path-button")).click();
}

async function openTab(id) {
  await (await driver.wait(until.elementLocated(byTestId(id)), 10000)).click();
}

before(async () => {
  desktop = await startDesktop();
  driver = await desktop.launch();
});

after(async () => {
  if (driver) await driver.quit();
  if (desktop) await desktop.stop();
});

test("a first start shows an empty state that says what to do", async () => {
  const text = await waitForText(driver, byTestId("empty-state"), (t) => t.length > 0);
  assert.match(text, /drop/i);
  assert.match(text, /Add images/);
  await desktop.screenshot(driver, "01-empty-state");
});

test("adding a real image lists it with arch and signature, and shows its objects, labels and scripts", async () => {
  await addByPath(busybox);
  const row = await waitForText(driver, rowFor(busybox), (t) => t.includes("busybox_amd64.sif"));
  assert.match(row, /amd64/);
  await clickRow(busybox);
  await waitForText(driver, byTestId("detail-pane"), (t) => t.includes("busybox_amd64.sif"));

  await openTab("tab-objects");
  const objects = await waitForText(driver, byTestId("objects-table"), (t) => t.includes("Signature"));
  for (const expected of ["Def.FILE", "JSON.Generic", "inspect-metadata.json", "oci-config.json", "Squashfs", "45056"]) {
    assert.ok(objects.includes(expected), `objects table lacks ${expected}:\n${objects}`);
  }
  await desktop.screenshot(driver, "02-objects");

  await openTab("tab-labels");
  const labels = await waitForText(driver, byTestId("labels-table"), (t) => t.includes("busybox:1.33.1"));
  assert.match(labels, /org\.label-schema\.usage\.singularity\.deffile\.from/);
  assert.match(labels, /org\.label-schema\.build-arch/);
  await desktop.screenshot(driver, "03-labels");

  await openTab("tab-definition");
  await waitForText(driver, byTestId("detail-pane"), (t) => /from:\s*busybox:1\.33\.1/i.test(t));
  await openTab("tab-runscript");
  await waitForText(driver, byTestId("detail-pane"), (t) => t.includes("OCI_CMD"));
  await openTab("tab-environment");
  await waitForText(driver, byTestId("detail-pane"), (t) => t.includes("10-docker2singularity.sh"));
  await openTab("tab-header");
  const header = await waitForText(driver, byTestId("detail-pane"), (t) => t.includes("4f307b4c-58a8-4753-9c0f-21dceefed4a6"));
  assert.match(header, /32768/);
});

test("a damaged file is listed with a clear error in place, and the app keeps working", async () => {
  // The first 40 000 bytes of a real image: header and descriptors intact, objects cut off.
  const truncated = path.join(work, "truncated.sif");
  const buf = Buffer.alloc(40000);
  const fd = openSync(busybox, "r");
  readSync(fd, buf, 0, buf.length, 0);
  closeSync(fd);
  writeFileSync(truncated, buf);
  const garbage = path.join(work, "not-a-sif.sif");
  writeFileSync(garbage, "this is a text file, not a container image\n".repeat(100));

  await addByPath(truncated);
  await addByPath(garbage);
  const truncatedRow = await waitForText(driver, rowFor(truncated), (t) => t.length > 0);
  assert.match(truncatedRow, /damaged|incomplete|outside|bounds|truncat/i);
  const garbageRow = await waitForText(driver, rowFor(garbage), (t) => t.length > 0);
  assert.match(garbageRow, /not a SIF|magic/i);

  await clickRow(garbage);
  const err = await waitForText(driver, By.css(`[data-testid="detail-pane"] [data-testid="image-error"]`), (t) => t.length > 0);
  assert.match(err, /not a SIF|magic/i);
  await desktop.screenshot(driver, "04-broken-file");

  // The truncated download still shows what it holds, with the damage named above it.
  await clickRow(truncated);
  await waitForText(driver, byTestId("image-damage"), (t) => /out of bounds/.test(t));
  await openTab("tab-objects");
  await waitForText(driver, byTestId("objects-table"), (t) => t.includes("Def.FILE") && t.includes("Signature"));
  await desktop.screenshot(driver, "04b-truncated-file");

  // The good image still opens after the errors.
  await clickRow(busybox);
  await openTab("tab-objects");
  await waitForText(driver, byTestId("objects-table"), (t) => t.includes("Def.FILE"));
});

test("keyboard: arrow keys move the selection and Enter opens it", async () => {
  const rows = await driver.findElements(byTestId("image-row"));
  assert.ok(rows.length >= 3);
  await rows[0].findElement(By.css("td")).click();
  await driver.actions().sendKeys(Key.ARROW_DOWN).perform();
  await driver.actions().sendKeys(Key.ENTER).perform();
  const selected = await driver.findElements(By.css(`[data-testid="image-row"][aria-selected="true"]`));
  assert.equal(selected.length, 1);
  assert.equal(await selected[0].getAttribute("data-path"), await rows[1].getAttribute("data-path"));
});

test("dark theme applies and persists; the list survives a restart", async () => {
  const select = await driver.findElement(byTestId("theme-select"));
  await select.sendKeys("Dark");
  await driver.wait(async () => (await driver.executeScript("return document.documentElement.dataset.theme")) === "dark", 5000);
  await clickRow(busybox);
  await desktop.screenshot(driver, "05-dark");

  await driver.quit();
  driver = await desktop.launch();
  await waitForText(driver, rowFor(busybox), (t) => t.includes("busybox_amd64.sif"));
  assert.equal(await driver.executeScript("return document.documentElement.dataset.theme"), "dark");
  await desktop.screenshot(driver, "06-after-restart");
});

test("a watched folder lists the SIF files inside it", async () => {
  const folder = mkdtempSync(path.join(os.tmpdir(), "berth-e2e-watch-"));
  copyFileSync(path.join(testdata, "images/sylabs-sif/two-groups-signed-pgp.sif"), path.join(folder, "two-groups.sif"));
  writeFileSync(path.join(folder, "README.txt"), "not listed");
  await addByPath(folder);
  const row = await waitForText(driver, rowFor(path.join(folder, "two-groups.sif")), (t) => t.length > 0);
  assert.match(row, /386/);
  assert.equal((await driver.findElements(rowFor(path.join(folder, "README.txt")))).length, 0);

  // A file copied into the folder later appears by itself: no refresh, no click.
  copyFileSync(path.join(testdata, "images/sylabs-sif/one-group.sif"), path.join(folder, "arrived-later.sif"));
  await waitForText(driver, rowFor(path.join(folder, "arrived-later.sif")), (t) => t.includes("arrived-later.sif"));
  await desktop.screenshot(driver, "07-watched-folder");
});
