// Remotes and the library browser, driven as a person would, against Berth's faithful
// Library API double on 127.0.0.1: add a remote, log in (the token never shows again),
// browse entity → collection → container, search, delete an image, log out.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import readline from "node:readline";
import { By, until } from "selenium-webdriver";
import { startDesktop, testdata, waitForText } from "./harness.mjs";

const TOKEN = "e2e-token-c41f9b7a";
const app = process.env.BERTH_APP ?? path.resolve(import.meta.dirname, "../target/debug/berth-app");
let library;
let url;
let desktop;
let driver;

const byTestId = (id) => By.css(`[data-testid="${id}"]`);
const click = async (locator) => {
  const el = await driver.wait(until.elementLocated(typeof locator === "string" ? byTestId(locator) : locator), 10000);
  await driver.wait(until.elementIsEnabled(el), 10000);
  await el.click();
};
async function type(id, text) {
  const el = await driver.wait(until.elementLocated(byTestId(id)), 10000);
  await el.clear();
  await el.sendKeys(text);
}

before(async () => {
  const seed = mkdtempSync(path.join(os.tmpdir(), "berth-e2e-seed-"));
  const image = path.join(testdata, "images/sylabs-sif/one-group.sif");
  writeFileSync(
    path.join(seed, "seed.json"),
    JSON.stringify({
      users: [{ name: "ada", token: TOKEN }],
      images: [
        { ref: "library://ada/tools/hello:latest", file: image, arch: "amd64", tags: ["latest", "1.0"], signed: true },
        { ref: "library://ada/tools/world:v1", file: image, arch: "arm64", tags: ["v1"], signed: false },
      ],
    }),
  );
  library = spawn(path.join(path.dirname(app), "berth-library-double"), ["--flavour", "sylabs", "--seed", seed]);
  url = await new Promise((resolve, reject) => {
    library.once("error", reject);
    readline.createInterface({ input: library.stdout }).once("line", (l) => resolve(l.trim()));
  });
  desktop = await startDesktop();
  driver = await desktop.launch();
});

after(async () => {
  if (driver) await driver.quit();
  if (desktop) await desktop.stop();
  if (library) library.kill();
});

test("the library page says how to begin when there is no remote", async () => {
  await click("nav-library");
  const text = await waitForText(driver, byTestId("library-empty"), (t) => t.length > 0);
  assert.match(text, /remote/i);
});

test("adding a remote and logging in keeps the token out of the page", async () => {
  await click("nav-remotes");
  await click("add-remote-button");
  await type("remote-name", "lab");
  await type("remote-uri", url);
  await click("remote-insecure");
  await click("remote-add-submit");
  await waitForText(driver, By.css(`[data-testid="remote-row"][data-name="lab"]`), (t) => t.includes("lab"));

  await click(By.css(`[data-testid="remote-row"][data-name="lab"] [data-testid="remote-login-button"]`));
  await type("login-token", "not-the-token");
  await click("login-submit");
  await waitForText(driver, By.css("[role=dialog]"), (t) => /refused/i.test(t));
  await type("login-token", TOKEN);
  await click("login-submit");
  await waitForText(driver, By.css(`[data-testid="remote-row"][data-name="lab"]`), (t) => /Logged in/i.test(t) && !/Not logged in/i.test(t), 20000);
  assert.ok(!(await driver.getPageSource()).includes(TOKEN), "the token must never be in the DOM after login");
  await desktop.screenshot(driver, "l01-remote-logged-in");
});

test("browsing entity, collection and container shows images with tags and arch", async () => {
  await click("nav-library");
  await type("library-entity", "ada");
  await click("library-entity-go");
  await click(By.css(`[data-testid="collection-row"][data-name="tools"] button.link`));
  await click(By.css(`[data-testid="container-row"][data-name="hello"] button.link`));
  const images = await waitForText(driver, byTestId("image-row-lib"), (t) => t.includes("amd64"));
  assert.match(images, /latest/);
  await desktop.screenshot(driver, "l02-container");
});

test("search finds containers by name, and arch filters images", async () => {
  await type("library-search-input", "world");
  await click("library-search-button");
  const results = await waitForText(driver, byTestId("search-results"), (t) => t.includes("world"));
  assert.match(results, /ada\/tools\/world/);
  await desktop.screenshot(driver, "l03-search");
});

test("deleting an image asks once and removes it from the library", async () => {
  await click("nav-library");
  await type("library-entity", "ada");
  await click("library-entity-go");
  await click(By.css(`[data-testid="collection-row"][data-name="tools"] button.link`));
  await click(By.css(`[data-testid="container-row"][data-name="hello"] button.link`));
  await click("image-delete-button");
  await click(By.id("confirm-ok"));
  await driver.wait(async () => (await driver.findElements(byTestId("image-row-lib"))).length === 0, 15000);
});

test("logging out removes the token", async () => {
  await click("nav-remotes");
  await click(By.css(`[data-testid="remote-row"][data-name="lab"] [data-testid="remote-logout-button"]`));
  await waitForText(driver, By.css(`[data-testid="remote-row"][data-name="lab"]`), (t) => /Not logged in/i.test(t));
  // After the whole session the token is in no file Berth wrote.
  const files = readdirSync(desktop.configDir, { recursive: true }).map((f) => path.join(desktop.configDir, f));
  for (const f of files) {
    if (statSync(f).isFile()) assert.ok(!readFileSync(f, "utf8").includes(TOKEN), `token leaked into ${f}`);
  }
  assert.ok(files.some((f) => f.endsWith("remotes.json")), "the remote was saved");
});
