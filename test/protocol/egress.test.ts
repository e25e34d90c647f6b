// A job's egress rules: what a rule may be, and which host and port each one lets through.
import { describe, expect, it } from "vitest";
import { NetworkSpec, parseEgressRule, rulesAllow, parseEgressRules } from "../../protocol/egress.ts";

describe("an egress rule", () => {
  it("is a host name, host:port or *.domain, lower-cased", () => {
    expect(parseEgressRule("HuggingFace.co")).toEqual({ host: "huggingface.co", wildcard: false });
    expect(parseEgressRule("files.example.com:8443")).toEqual({ host: "files.example.com", wildcard: false, port: 8443 });
    expect(parseEgressRule("*.hf.co")).toEqual({ host: "hf.co", wildcard: true });
  });

  it.each([
    ["10.0.0.1", /not an IP address/],
    ["169.254.169.254:80", /not an IP address/],
    ["[::1]:443", /host name/],
    ["localhost", /at least two labels/],
    ["*.com", /at least two labels/],
    ["a..b.com", /labels/],
    ["-bad.example.com", /labels/],
    ["example.com:0", /port from 1 to 65535/],
    ["example.com:70000", /port from 1 to 65535/],
    ["http://example.com", /host name/],
    ["example.com/path", /labels/],
    ["*example.com", /labels/],
  ])("refuses %s, saying why", (text, why) => {
    const rule = parseEgressRule(text);
    expect(rule).toHaveProperty("error");
    expect((rule as { error: string }).error).toMatch(why);
  });

  it("lets through only its host (a wildcard: names under its domain, not the domain) and its ports (none named: 80 and 443)", () => {
    const rules = parseEgressRules(["huggingface.co", "*.hf.co", "data.example.org:8443"]);
    expect(rulesAllow(rules, "huggingface.co", 443)).toBe(true);
    expect(rulesAllow(rules, "HUGGINGFACE.CO.", 80)).toBe(true);
    expect(rulesAllow(rules, "huggingface.co", 22)).toBe(false);
    expect(rulesAllow(rules, "evil-huggingface.co", 443)).toBe(false);
    expect(rulesAllow(rules, "huggingface.co.evil.com", 443)).toBe(false);
    expect(rulesAllow(rules, "cdn-lfs.hf.co", 443)).toBe(true);
    expect(rulesAllow(rules, "hf.co", 443)).toBe(false);
    expect(rulesAllow(rules, "data.example.org", 8443)).toBe(true);
    expect(rulesAllow(rules, "data.example.org", 443)).toBe(false);
  });
});

describe("a job's network spec", () => {
  it("needs at least one rule, at most 32, none repeated, and no other keys", () => {
    expect(NetworkSpec.safeParse({ allow: ["huggingface.co"] }).success).toBe(true);
    expect(NetworkSpec.safeParse({ allow: [] }).success).toBe(false);
    expect(NetworkSpec.safeParse({ allow: Array.from({ length: 33 }, (_, i) => `h${i}.example.com`) }).success).toBe(false);
    expect(NetworkSpec.safeParse({ allow: ["a.example.com", "A.example.com"] }).success).toBe(false);
    expect(NetworkSpec.safeParse({ allow: ["a.example.com"], mode: "host" }).success).toBe(false);
    const refused = NetworkSpec.safeParse({ allow: ["192.168.1.1"] });
    expect(refused.success).toBe(false);
    expect(refused.error!.issues[0]!.message).toMatch(/not an IP address/);
  });
});
