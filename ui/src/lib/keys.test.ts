import { describe, expect, test } from "vitest";
import { key } from "../test/fixtures";
import { formatFingerprint, isExpired, isKeyFile, keyLabel, shortFingerprint, signingKeys } from "./keys";
import { verdictTone } from "./signatures";
import { mixedView, verifiedView } from "../test/fixtures";

describe("keys", () => {
  test("fingerprints are grouped in fours; the short form is the last eight digits", () => {
    expect(formatFingerprint("1137e72e6816bfc06d9caa0d15f3f4f4f14b03b2")).toBe(
      "1137 E72E 6816 BFC0 6D9C AA0D 15F3 F4F4 F14B 03B2",
    );
    expect(shortFingerprint("1137E72E6816BFC06D9CAA0D15F3F4F4F14B03B2")).toBe("F14B 03B2");
  });

  test("a key is called by its user id, else by its short fingerprint", () => {
    expect(keyLabel(key("AB".repeat(20), { userIds: ["Ana <a@x>"] }))).toBe("Ana <a@x>");
    expect(keyLabel(key("AB".repeat(20), { userIds: [] }))).toBe("key ABAB ABAB");
  });

  test("expiry, signing keys and key files", () => {
    expect(isExpired(key("A", { expires: 100 }), 200)).toBe(true);
    expect(isExpired(key("A", { expires: 300 }), 200)).toBe(false);
    expect(isExpired(key("A", { expires: null }), 200)).toBe(false);
    const keys = [
      key("A", { hasSecret: true, canSign: true }),
      key("B", { hasSecret: false, canSign: true }),
      key("C", { hasSecret: true, canSign: false }),
    ];
    expect(signingKeys(keys).map((k) => k.fingerprint)).toEqual(["A"]);
    expect(["a.asc", "/x/B.GPG", "c.pgp", "d.key"].every(isKeyFile)).toBe(true);
    expect(["a.sif", "/x.asc/readme", "asc", "C:\\keys.asc\\x"].some(isKeyFile)).toBe(false);
  });

  test("the verdict is green, amber or red", () => {
    expect(verdictTone(verifiedView())).toBe("success");
    expect(verdictTone(mixedView())).toBe("danger");
    const unknownOnly = mixedView();
    unknownOnly.signatures = [unknownOnly.signatures[1]];
    expect(verdictTone(unknownOnly)).toBe("warning");
  });
});
