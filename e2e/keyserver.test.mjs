// Keyservers, driven as a person would: an image signed by someone whose key is only on
// the keyserver; fetch it for one check, import it, and find it by searching.
// The keyserver is Berth's own faithful HKP double (berth-keystore-double) on 127.0.0.1.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { copyFileSync, chmodSync, mkdtempSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import readline from "node:readline";
import { By, until } from "selenium-webdriver";
import { startDesktop, testdata, waitForText } from "./harness.mjs";

const app = process.env.BERTH_APP ?? path.resolve(import.meta.dirname, "../target/debug/berth-app");
const work = mkdtempSync(path.join(os.tmpdir(), "berth-e2e-keyserver-"));
const image = path.join(work, "signed-by-someone.sif");
copyFileSync(path.join(testdata, "images/apptainer/one-group-signed-pgp.sif"), image);
chmodSync(image, 0o644);
let keystore;
let desktop;
let driver;

const byTestId = (id) => By.css(`[data-testid="${id}"]`);
const click = async (id) => (await driver.wait(until.elementLocated(byTestId(id)), 10000)).click();

before(async () => {
  keystore = spawn(path.join(path.dirname(app), "berth-keystore-double"), [
    "--preload",
    path.join(testdata, "keys/apptainer/pgp-public.asc"),
  ]);
  const url = await new Promise((resolve, reject) => {
    keystore.once("error", reject);
    readline.createInterface({ input: keystore.stdout }).once("line", (l) => resolve(l.trim()));
  });
  desktop = await startDesktop();
  writeFileSync(path.join(desktop.configDir, "settings.json"), JSON.stringify({ theme: "system", keyservers: [url] }));
  driver = await desktop.launch();
});

after(async () => {
  if (driver) await driver.quit();
  if (desktop) await desktop.stop();
  if (keystore) keystore.kill();
});

test("a signer missing locally is fetched from the keyserver for one check, then imported", async () => {
  await driver.findElement(By.id("add-path-input")).sendKeys(image);
  await driver.findElement(By.id("add-path-button")).click();
  const cell = By.css(`[data-testid="image-row"][data-path$="signed-by-someone.sif"] td`);
  await driver.wait(until.elementLocated(cell), 10000);
  await driver.findElement(cell).click();
  await click("tab-signatures");
  await click("verify-button");
  await waitForText(driver, byTestId("verify-summary"), (t) => /not in your keyrings/i.test(t));

  await click("fetch-key-button");
  const summary = await waitForText(driver, byTestId("verify-summary"), (t) => /Verified: signed by/.test(t), 20000);
  assert.match(summary, /SingularityCE Tests/);
  await waitForText(driver, byTestId("signature-card"), (t) => /Keyserver \(fetched for this check/.test(t));
  await desktop.screenshot(driver, "k01-fetched-for-check");

  await click("import-fetched-key-button");
  await waitForText(driver, byTestId("signature-card"), (t) => /Local keyring/.test(t), 20000);
  await click("nav-keys");
  await waitForText(driver, By.css(`[data-testid="key-row"][data-fingerprint="F34371D0ACD5D09EB9BD853A80600A5FA11BBD29"]`), (t) =>
    t.includes("SingularityCE Tests"),
  );
});

test("searching the keyserver marks keys already in the keyring", async () => {
  const input = await driver.wait(until.elementLocated(byTestId("keyserver-search-input")), 10000);
  await input.sendKeys("singularityce");
  await click("keyserver-search-button");
  const hits = await waitForText(driver, byTestId("keyserver-hit"), (t) => t.includes("SingularityCE Tests"));
  assert.match(hits, /In your keyring/i);
  await desktop.screenshot(driver, "k02-keyserver-search");
});
