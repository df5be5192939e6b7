// Keys and signatures, driven as a person would: create a key pair, sign an image,
// verify it, change one byte of it on disk, and see which object was tampered with.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { copyFileSync, chmodSync, mkdtempSync, openSync, readSync, writeSync, closeSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { By, until } from "selenium-webdriver";
import { startDesktop, testdata, waitForText } from "./harness.mjs";

const work = mkdtempSync(path.join(os.tmpdir(), "berth-e2e-sign-"));
const image = path.join(work, "two-groups.sif");
copyFileSync(path.join(testdata, "images/sylabs-sif/two-groups.sif"), image);
chmodSync(image, 0o644);
let desktop;
let driver;

const byTestId = (id) => By.css(`[data-testid="${id}"]`);
const click = async (id) => (await driver.wait(until.elementLocated(byTestId(id)), 10000)).click();
async function type(id, text) {
  const el = await driver.wait(until.elementLocated(byTestId(id)), 10000);
  await el.clear();
  await el.sendKeys(text);
}

before(async () => {
  desktop = await startDesktop();
  driver = await desktop.launch();
});

after(async () => {
  if (driver) await driver.quit();
  if (desktop) await desktop.stop();
});

test("the Keys page starts empty and says how to begin", async () => {
  await click("nav-keys");
  const text = await waitForText(driver, byTestId("keys-empty"), (t) => t.length > 0);
  assert.match(text, /create a key pair|import/i);
  // The page names the keyring folder in use: here the test's own, never ~/.apptainer.
  const where = await waitForText(driver, byTestId("keys-location"), (t) => t.includes("berth-e2e-keys-"));
  assert.equal(where.trim(), desktop.keysDir);
});

test("creating a key pair lists it as a secret key that can sign", async () => {
  await click("new-key-button");
  await type("new-key-name", "Ada Lovelace");
  await type("new-key-email", "ada@example.org");
  await type("new-key-passphrase", "correct horse");
  await type("new-key-passphrase2", "correct horse");
  await (await driver.findElement(byTestId("new-key-algorithm"))).sendKeys("Ed25519");
  await click("new-key-create");
  const row = await waitForText(driver, byTestId("key-row"), (t) => t.includes("Ada Lovelace"), 30000);
  assert.match(row, /ada@example\.org/);
  await desktop.screenshot(driver, "s01-keys");
});

test("signing an image, then verifying it, names the signer", async () => {
  await click("nav-images");
  const input = await driver.findElement(By.id("add-path-input"));
  await input.sendKeys(image);
  await driver.findElement(By.id("add-path-button")).click();
  await driver.wait(until.elementLocated(By.css(`[data-testid="image-row"][data-path$="two-groups.sif"] td`)), 10000);
  await driver.findElement(By.css(`[data-testid="image-row"][data-path$="two-groups.sif"] td`)).click();
  await click("tab-signatures");
  await click("verify-button");
  await waitForText(driver, byTestId("verify-summary"), (t) => /not signed/i.test(t));

  await click("sign-button");
  await type("sign-passphrase", "correct horse");
  await click("sign-confirm");
  const summary = await waitForText(driver, byTestId("verify-summary"), (t) => /Verified: signed by/.test(t), 30000);
  assert.match(summary, /Ada Lovelace/);
  const cards = await waitForText(driver, byTestId("signature-card"), (t) => t.includes("Ada Lovelace"));
  assert.match(cards, /Valid/i);
  await desktop.screenshot(driver, "s02-signed-and-verified");
});

test("a byte changed on disk after signing shows which object was tampered with", async () => {
  // Object 2 of two-groups.sif (the squashfs partition) starts at 36864.
  const fd = openSync(image, "r+");
  const b = Buffer.alloc(1);
  readSync(fd, b, 0, 1, 36864 + 100);
  b[0] ^= 0xff;
  writeSync(fd, b, 0, 1, 36864 + 100);
  closeSync(fd);

  await click("verify-button");
  const summary = await waitForText(driver, byTestId("verify-summary"), (t) => /changed after it was signed/i.test(t));
  assert.match(summary, /Not verified/);
  const cards = await waitForText(driver, byTestId("signature-card"), (t) => /object 2/i.test(t));
  assert.match(cards, /changed after signing/i);
  await desktop.screenshot(driver, "s03-tampered");
});
