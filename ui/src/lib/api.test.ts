import { mockIPC, mockWindows } from "@tauri-apps/api/mocks";
import { describe, expect, test } from "vitest";
import {
  cacheClean,
  cacheList,
  catalogAddPaths,
  catalogList,
  catalogRemoveFolder,
  catalogRemoveImage,
  imageInspect,
  imageSign,
  imageVerify,
  jobCancel,
  jobRetry,
  jobsClear,
  jobsList,
  keysExport,
  keysGenerate,
  keysImport,
  keysList,
  keyserverPull,
  keyserverPush,
  keyserverSearch,
  keysRemove,
  onFileDrop,
  onJobUpdated,
  pickFolder,
  pickImage,
  pickImages,
  pickKeyFile,
  pickSavePath,
  registriesList,
  registryLogin,
  registryLogout,
  settingsGet,
  settingsSetKeyservers,
  settingsSetPullFolder,
  settingsSetTheme,
  toApiError,
  transferPull,
  transferPush,
  transferPushPlan,
  type FileDropEvent,
} from "./api";
import { emit } from "@tauri-apps/api/event";
import type { JobView } from "./bindings/JobView";
import type { PullRequest } from "./bindings/PullRequest";
import type { PushRequest } from "./bindings/PushRequest";

function record(answer: (cmd: string, args: unknown) => unknown = () => null) {
  const calls: [string, unknown][] = [];
  mockIPC((cmd, args) => {
    calls.push([cmd, args]);
    return answer(cmd, args);
  });
  return calls;
}

describe("commands", () => {
  test("use the contract's command names and camelCase arguments", async () => {
    const calls = record(() => ({ images: [], folders: [] }));
    await catalogList();
    await catalogAddPaths(["/a.sif", "/dir"]);
    await catalogRemoveImage("/a.sif");
    await catalogRemoveFolder("/dir");
    await imageInspect("/a.sif");
    await settingsGet();
    await settingsSetTheme("dark");
    expect(calls).toEqual([
      ["catalog_list", {}],
      ["catalog_add_paths", { paths: ["/a.sif", "/dir"] }],
      ["catalog_remove_image", { path: "/a.sif" }],
      ["catalog_remove_folder", { path: "/dir" }],
      ["image_inspect", { path: "/a.sif" }],
      ["settings_get", {}],
      ["settings_set_theme", { theme: "dark" }],
    ]);
  });

  test("keys and signatures use the contract's command names and arguments", async () => {
    const calls = record(() => null);
    const request = {
      name: "Ana",
      email: "ana@example.org",
      comment: "",
      passphrase: "pw",
      algorithm: "rsa4096" as const,
    };
    await keysList();
    await keysGenerate(request);
    await keysImport("/k/ana.asc", null);
    await keysImport("/k/ana.gpg", "new");
    await expect(keysExport("ABCD", true, false, "/k/out.gpg")).resolves.toBeUndefined();
    await keysRemove("ABCD");
    await imageSign("/a.sif", "ABCD", "pw");
    await imageSign("/a.sif", "ABCD", null);
    await imageVerify("/a.sif", false);
    await imageVerify("/a.sif", true);
    expect(calls).toEqual([
      ["keys_list", {}],
      ["keys_generate", { request }],
      ["keys_import", { path: "/k/ana.asc", newPassphrase: null }],
      ["keys_import", { path: "/k/ana.gpg", newPassphrase: "new" }],
      ["keys_export", { fingerprint: "ABCD", secret: true, armor: false, path: "/k/out.gpg" }],
      ["keys_remove", { fingerprint: "ABCD" }],
      ["image_sign", { path: "/a.sif", fingerprint: "ABCD", passphrase: "pw" }],
      ["image_sign", { path: "/a.sif", fingerprint: "ABCD", passphrase: null }],
      ["image_verify", { path: "/a.sif", fetchMissing: false }],
      ["image_verify", { path: "/a.sif", fetchMissing: true }],
    ]);
  });

  test("keyserver commands use the contract's command names and arguments", async () => {
    const calls = record((cmd) => (cmd === "keyserver_push" ? "Key uploaded" : []));
    await keyserverSearch("ana@example.org");
    await keyserverPull("ABCD");
    await expect(keyserverPush("ABCD")).resolves.toBe("Key uploaded");
    await settingsSetKeyservers(["https://keys.openpgp.org", "http://localhost:11371"]);
    expect(calls).toEqual([
      ["keyserver_search", { query: "ana@example.org" }],
      ["keyserver_pull", { fingerprint: "ABCD" }],
      ["keyserver_push", { fingerprint: "ABCD" }],
      ["settings_set_keyservers", { keyservers: ["https://keys.openpgp.org", "http://localhost:11371"] }],
    ]);
  });

  test("registry login commands use the contract's command names and arguments", async () => {
    const calls = record(() => []);
    await registriesList();
    await registryLogin("ghcr.io", "ana", "s3cret");
    await registryLogout("ghcr.io");
    expect(calls).toEqual([
      ["registries_list", {}],
      ["registry_login", { host: "ghcr.io", username: "ana", password: "s3cret" }],
      ["registry_logout", { host: "ghcr.io" }],
    ]);
  });

  test("transfer, job and cache commands use the contract's command names and arguments", async () => {
    const calls = record(() => null);
    const push: PushRequest = {
      remote: "cloud",
      file: "/i/bwa.sif",
      reference: "library://lab/tools/bwa:1.0",
      description: "BWA",
      arch: null,
      allowUnsigned: false,
      private: true,
    };
    const pull: PullRequest = {
      remote: null,
      reference: "library://lab/tools/bwa:1.0",
      arch: "arm64",
      destination: null,
      force: false,
      noCache: false,
      verify: true,
    };
    await transferPushPlan(null, "/i/bwa.sif", "library://lab/tools/bwa:1.0");
    await transferPush(push);
    await transferPull(pull);
    await jobsList();
    await jobCancel("j1");
    await jobRetry("j1");
    await jobsClear();
    await cacheList();
    await cacheClean(30, true);
    await cacheClean(null, false);
    await settingsSetPullFolder("/home/ana/pulled");
    expect(calls).toEqual([
      ["transfer_push_plan", { remote: null, file: "/i/bwa.sif", reference: "library://lab/tools/bwa:1.0" }],
      ["transfer_push", { request: push }],
      ["transfer_pull", { request: pull }],
      ["jobs_list", {}],
      ["job_cancel", { id: "j1" }],
      ["job_retry", { id: "j1" }],
      ["jobs_clear", {}],
      ["cache_list", {}],
      ["cache_clean", { olderThanDays: 30, dryRun: true }],
      ["cache_clean", { olderThanDays: null, dryRun: false }],
      ["settings_set_pull_folder", { folder: "/home/ana/pulled" }],
    ]);
  });

  test("an ApiError rejection comes through unchanged", async () => {
    const err = { code: "sif.corrupt", message: "Broken.", hint: "Rebuild it." };
    record(() => {
      throw err;
    });
    await expect(imageInspect("/x.sif")).rejects.toEqual(err);
  });

  test("other rejections become ApiErrors", async () => {
    record(() => {
      throw "command image_inspect not allowed";
    });
    await expect(imageInspect("/x.sif")).rejects.toEqual({
      code: "ui.unexpected",
      message: "command image_inspect not allowed",
      hint: null,
    });
  });

  test("without Tauri, calls reject with ui.no_backend", async () => {
    await expect(catalogList()).rejects.toMatchObject({ code: "ui.no_backend" });
    await expect(pickImages()).rejects.toMatchObject({ code: "ui.no_backend" });
  });
});

test("toApiError keeps code/message/hint and fills a missing hint", () => {
  expect(toApiError({ code: "x.y", message: "m" })).toEqual({ code: "x.y", message: "m", hint: null });
  expect(toApiError(new Error("boom"))).toEqual({ code: "ui.unexpected", message: "boom", hint: null });
  expect(toApiError(42).code).toBe("ui.unexpected");
});

describe("dialogs", () => {
  test("pickImages asks for several .sif files and normalises cancel to []", async () => {
    let answer: unknown = ["/a.sif"];
    const calls = record(() => answer);
    expect(await pickImages()).toEqual(["/a.sif"]);
    expect(calls[0][0]).toBe("plugin:dialog|open");
    expect((calls[0][1] as { options: unknown }).options).toMatchObject({
      multiple: true,
      filters: [{ name: "SIF images", extensions: ["sif"] }],
    });
    answer = null;
    expect(await pickImages()).toEqual([]);
  });

  test("pickKeyFile asks for one OpenPGP key file; pickSavePath for a place to save", async () => {
    let answer: unknown = "/k/ana.asc";
    const calls = record(() => answer);
    expect(await pickKeyFile()).toBe("/k/ana.asc");
    expect((calls[0][1] as { options: unknown }).options).toEqual({
      multiple: false,
      filters: [{ name: "OpenPGP keys", extensions: ["asc", "gpg", "pgp", "key"] }],
    });
    answer = null;
    expect(await pickKeyFile()).toBeNull();
    answer = "/k/out.asc";
    expect(await pickSavePath("ABCD.asc")).toBe("/k/out.asc");
    expect(calls[2][0]).toBe("plugin:dialog|save");
    expect((calls[2][1] as { options: unknown }).options).toEqual({ defaultPath: "ABCD.asc" });
  });

  test("pickFolder asks for a directory, with a title when given", async () => {
    const calls = record(() => "/srv/images");
    expect(await pickFolder()).toBe("/srv/images");
    expect((calls[0][1] as { options: unknown }).options).toMatchObject({ directory: true });
    await pickFolder("Folder for pulled images");
    expect((calls[1][1] as { options: unknown }).options).toEqual({ directory: true, title: "Folder for pulled images" });
  });

  test("pickImage asks for one .sif file and normalises cancel to null", async () => {
    let answer: unknown = "/i/bwa.sif";
    const calls = record(() => answer);
    expect(await pickImage()).toBe("/i/bwa.sif");
    expect((calls[0][1] as { options: unknown }).options).toEqual({
      multiple: false,
      filters: [{ name: "SIF images", extensions: ["sif"] }],
    });
    answer = null;
    expect(await pickImage()).toBeNull();
  });
});

test("onFileDrop turns webview drag events into enter/over/drop/leave", async () => {
  mockWindows("main");
  mockIPC(() => null, { shouldMockEvents: true });
  const seen: FileDropEvent[] = [];
  const stop = await onFileDrop((e) => seen.push(e));
  const position = { x: 1, y: 2 };
  await emit("tauri://drag-enter", { paths: ["/a.sif"], position });
  await emit("tauri://drag-over", { position });
  await emit("tauri://drag-drop", { paths: ["/a.sif"], position });
  await emit("tauri://drag-leave", null);
  expect(seen).toEqual([
    { type: "enter", paths: ["/a.sif"] },
    { type: "over" },
    { type: "drop", paths: ["/a.sif"] },
    { type: "leave" },
  ]);
  stop();
  await new Promise((r) => setTimeout(r, 0));
  await emit("tauri://drag-drop", { paths: ["/b.sif"], position });
  expect(seen).toHaveLength(4);
});

test("onJobUpdated hands over each job-updated payload until stopped", async () => {
  mockWindows("main");
  mockIPC(() => null, { shouldMockEvents: true });
  const seen: string[] = [];
  const stop = await onJobUpdated((job) => seen.push(`${job.id}:${job.state}`));
  await emit("job-updated", { id: "j1", state: "running" } as JobView);
  await emit("job-updated", { id: "j1", state: "succeeded" } as JobView);
  expect(seen).toEqual(["j1:running", "j1:succeeded"]);
  stop();
  await new Promise((r) => setTimeout(r, 0));
  await emit("job-updated", { id: "j2", state: "running" } as JobView);
  expect(seen).toHaveLength(2);
});
