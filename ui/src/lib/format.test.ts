import { describe, expect, test } from "vitest";
import {
  baseName,
  formatBytes,
  formatDateTime,
  formatDateTimeLong,
  formatDuration,
  formatEta,
  formatExtras,
  formatGroup,
  formatInteger,
  formatLink,
  formatProgress,
  formatRate,
  percentDone,
  plural,
} from "./format";

describe("formatBytes", () => {
  test.each([
    [0, "0 B"],
    [1023, "1023 B"],
    [1024, "1.0 KiB"],
    [28080, "27.4 KiB"],
    [792293, "773.7 KiB"],
    [3_407_872, "3.3 MiB"],
    [1024 * 1024 - 1, "1.0 MiB"],
    [5 * 1024 ** 3, "5.0 GiB"],
  ])("%d bytes → %s", (bytes, text) => {
    expect(formatBytes(bytes)).toBe(text);
  });

  test("nonsense sizes show a dash", () => {
    expect(formatBytes(-1)).toBe("—");
    expect(formatBytes(Number.NaN)).toBe("—");
  });
});

test("formatInteger groups digits", () => {
  expect(formatInteger(790528)).toBe("790,528");
  expect(formatInteger(42)).toBe("42");
});

describe("dates", () => {
  const t = 1627931376; // 2021-08-02T19:09:36Z

  test("local date and minute, zero padded", () => {
    const d = new Date(t * 1000);
    const pad = (n: number) => String(n).padStart(2, "0");
    expect(formatDateTime(t)).toBe(
      `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}`,
    );
  });

  test("long form adds seconds and the UTC offset", () => {
    expect(formatDateTimeLong(t)).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:36 UTC[+-]\d\d:\d\d$/);
  });

  test("missing dates show a dash", () => {
    expect(formatDateTime(null)).toBe("—");
    expect(formatDateTimeLong(undefined)).toBe("—");
  });
});

describe("SIF descriptor fields", () => {
  test("links read like siftool's list", () => {
    expect(formatLink(null)).toBe("NONE");
    expect(formatLink({ id: 2, group: false })).toBe("2");
    expect(formatLink({ id: 1, group: true })).toBe("1 (G)");
  });

  test("a missing group is NONE", () => {
    expect(formatGroup(null)).toBe("NONE");
    expect(formatGroup(1)).toBe("1");
  });

  test("extras are joined as label: value", () => {
    expect(
      formatExtras([
        { label: "Hash", value: "SHA-256" },
        { label: "Entity", value: "1137E72E" },
      ]),
    ).toBe("Hash: SHA-256, Entity: 1137E72E");
    expect(formatExtras([])).toBe("");
  });
});

test("plural and baseName", () => {
  expect(plural(1, "image")).toBe("1 image");
  expect(plural(3, "image")).toBe("3 images");
  expect(baseName("/a/b/c.sif")).toBe("c.sif");
  expect(baseName("/a/b/")).toBe("b");
  expect(baseName("C:\\x\\y.sif")).toBe("y.sif");
});

describe("transfer numbers", () => {
  test("rates read as bytes per second, in the units of sizes", () => {
    expect(formatRate(40 * 1024 * 1024)).toBe("40.0 MiB/s");
    expect(formatRate(38.2 * 1024 * 1024)).toBe("38.2 MiB/s");
    expect(formatRate(512)).toBe("512 B/s");
    expect(formatRate(1536.4)).toBe("1.5 KiB/s");
  });

  test("no rate yet, or a stalled one, says nothing", () => {
    expect(formatRate(null)).toBe("");
    expect(formatRate(undefined)).toBe("");
    expect(formatRate(0)).toBe("");
    expect(formatRate(Number.NaN)).toBe("");
  });

  test.each([
    [0, "0 s"],
    [11.2, "12 s"],
    [59, "59 s"],
    [60, "1 min"],
    [185, "3 min 5 s"],
    [599, "9 min 59 s"],
    [600, "10 min"],
    [3599, "1 h"],
    [3600, "1 h"],
    [4330, "1 h 12 min"],
  ])("%d seconds last %s", (seconds, text) => {
    expect(formatDuration(seconds)).toBe(text);
  });

  test("ETA says how long is left, or nothing when unknown", () => {
    expect(formatEta(12)).toBe("12 s left");
    expect(formatEta(185)).toBe("3 min 5 s left");
    expect(formatEta(null)).toBe("");
    expect(formatEta(-1)).toBe("");
    expect(formatEta(Number.POSITIVE_INFINITY)).toBe("");
  });

  test("percent done rounds down, stays within 0–100, and needs a total", () => {
    expect(percentDone(420, 1024)).toBe(41);
    expect(percentDone(1023, 1024)).toBe(99);
    expect(percentDone(1024, 1024)).toBe(100);
    expect(percentDone(2000, 1024)).toBe(100);
    expect(percentDone(5, null)).toBeNull();
    expect(percentDone(5, 0)).toBeNull();
  });

  test("progress names bytes done of the total, when it is known", () => {
    expect(formatProgress(400 * 1024 * 1024, 1000 * 1024 * 1024)).toBe("400.0 MiB of 1000.0 MiB");
    expect(formatProgress(792293, null)).toBe("773.7 KiB");
  });
});
