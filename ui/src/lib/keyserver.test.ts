import { describe, expect, test } from "vitest";
import { hit, key } from "../test/fixtures";
import {
  hitAlgorithm,
  hitLabel,
  hitStatus,
  inLocalKeyring,
  parseKeyserverLines,
  responseLine,
  serversPhrase,
  withKeyserverHint,
} from "./keyserver";

describe("keyserver helpers", () => {
  test("algorithm and size read as one", () => {
    expect(hitAlgorithm({ algorithm: "RSA", bits: 4096 })).toBe("RSA 4096");
    expect(hitAlgorithm({ algorithm: "RSA 4096", bits: 4096 })).toBe("RSA 4096");
    expect(hitAlgorithm({ algorithm: "EdDSA", bits: null })).toBe("EdDSA");
    expect(hitAlgorithm({ algorithm: "", bits: 2048 })).toBe("2048 bits");
    expect(hitAlgorithm({ algorithm: "", bits: null })).toBe("—");
  });

  test("an expiry in the past says expired; otherwise the server's flag says revoked", () => {
    const now = 1_700_000_000;
    expect(hitStatus({ revoked: false, expires: null }, now)).toBeNull();
    expect(hitStatus({ revoked: true, expires: null }, now)).toBe("revoked");
    expect(hitStatus({ revoked: true, expires: now - 1 }, now)).toBe("expired");
    expect(hitStatus({ revoked: false, expires: now + 1 }, now)).toBeNull();
  });

  test("a hit is named by its first user id, else its short fingerprint", () => {
    expect(hitLabel(hit("AB".repeat(20), { userIds: ["", "Ana <a@x>"] }))).toBe("Ana <a@x>");
    expect(hitLabel(hit("AB".repeat(20), { userIds: [] }))).toBe("key ABAB ABAB");
  });

  test("a long key id from the server matches a local fingerprint; global keys do not count", () => {
    const fp = "1137E72E6816BFC06D9CAA0D15F3F4F4F14B03B2";
    expect(inLocalKeyring(hit(fp.slice(-16)), [key(fp)])).toBe(true);
    expect(inLocalKeyring(hit(fp), [key(fp, { global: true })])).toBe(false);
    expect(inLocalKeyring(hit(fp, { inKeyring: true }), [])).toBe(true);
  });

  test("one URL a line, blanks ignored; servers named in a sentence", () => {
    expect(parseKeyserverLines(" https://a.example \n\n\thttps://b.example\r\n")).toEqual([
      "https://a.example",
      "https://b.example",
    ]);
    expect(serversPhrase(["https://a"])).toBe("https://a");
    expect(serversPhrase(["https://a", "https://b", "https://c"])).toBe("https://a, https://b or https://c");
    expect(serversPhrase([])).toBe("your keyservers");
  });

  test("a server's answer becomes one short line", () => {
    expect(responseLine(null)).toBe("");
    expect(responseLine("<html><body><h1>Key uploaded</h1>\n<p>1 key</p></body></html>")).toBe("Key uploaded 1 key");
    expect(responseLine("x".repeat(300), 20)).toHaveLength(20);
  });

  test("errors without a hint get one", () => {
    expect(withKeyserverHint({ code: "keyserver.unreachable", message: "m", hint: null }).hint).toBe(
      "Check the address or your network.",
    );
    expect(withKeyserverHint({ code: "keyserver.unreachable", message: "m", hint: "Own." }).hint).toBe("Own.");
    expect(withKeyserverHint({ code: "other", message: "m", hint: null }).hint).toBeNull();
  });
});
