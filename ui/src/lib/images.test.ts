import { describe, expect, test } from "vitest";
import type { LocalImage } from "./bindings/LocalImage";
import { defaultDir, filterImages, sortImages } from "./images";

function img(name: string, o: Partial<LocalImage> = {}): LocalImage {
  return {
    path: `/x/${name}`,
    name,
    size: 100,
    arch: "amd64",
    signed: false,
    modified: 1000,
    source: "added",
    error: null,
    ...o,
  };
}

const a = img("a.sif", { size: 300, arch: "arm64", modified: 3000, signed: true });
const b = img("b10.sif", { size: 100, arch: null, modified: null });
const c = img("b9.sif", { size: 200, arch: "amd64", modified: 2000 });
const all = [a, b, c];

const names = (list: LocalImage[]) => list.map((i) => i.name);

describe("sortImages", () => {
  test("names sort naturally (b9 before b10)", () => {
    expect(names(sortImages(all, "name", "asc"))).toEqual(["a.sif", "b9.sif", "b10.sif"]);
    expect(names(sortImages(all, "name", "desc"))).toEqual(["b10.sif", "b9.sif", "a.sif"]);
  });

  test("size sorts numerically", () => {
    expect(names(sortImages(all, "size", "asc"))).toEqual(["b10.sif", "b9.sif", "a.sif"]);
    expect(names(sortImages(all, "size", "desc"))).toEqual(["a.sif", "b9.sif", "b10.sif"]);
  });

  test("missing arch and dates go last in both directions", () => {
    expect(names(sortImages(all, "arch", "asc"))).toEqual(["b9.sif", "a.sif", "b10.sif"]);
    expect(names(sortImages(all, "arch", "desc"))).toEqual(["a.sif", "b9.sif", "b10.sif"]);
    expect(names(sortImages(all, "modified", "desc"))).toEqual(["a.sif", "b9.sif", "b10.sif"]);
    expect(names(sortImages(all, "modified", "asc"))).toEqual(["b9.sif", "a.sif", "b10.sif"]);
  });

  test("signed images first when descending; ties by name", () => {
    expect(names(sortImages(all, "signed", "desc"))).toEqual(["a.sif", "b9.sif", "b10.sif"]);
  });

  test("does not change its input", () => {
    const input = [c, b, a];
    sortImages(input, "name", "asc");
    expect(input).toEqual([c, b, a]);
  });

  test("numbers and dates start largest first, text A→Z", () => {
    expect(defaultDir("name")).toBe("asc");
    expect(defaultDir("size")).toBe("desc");
    expect(defaultDir("modified")).toBe("desc");
  });
});

describe("filterImages", () => {
  test("matches name, path and arch, case-insensitively, every word", () => {
    expect(names(filterImages(all, "B9"))).toEqual(["b9.sif"]);
    expect(names(filterImages(all, "arm64"))).toEqual(["a.sif"]);
    expect(names(filterImages(all, "/x/ b1"))).toEqual(["b10.sif"]);
    expect(names(filterImages(all, "b nope"))).toEqual([]);
  });

  test("an empty query keeps everything", () => {
    expect(filterImages(all, "   ")).toHaveLength(3);
  });
});
