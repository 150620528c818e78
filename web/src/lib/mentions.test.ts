import { describe, expect, it } from "vitest";
import { insertMention, mentionAt, mentionedIds, parseTags } from "./mentions";

describe("mentions", () => {
  it("finds the mention being typed", () => {
    expect(mentionAt("Hi @ad", 6)).toEqual({ start: 3, query: "ad" });
    expect(mentionAt("@", 1)).toEqual({ start: 0, query: "" });
    expect(mentionAt("mail me at bob@example", 22)).toBeNull();
    expect(mentionAt("Hi @ada lovelace", 16)).toBeNull();
  });

  it("inserts a profile link and puts the caret after it", () => {
    const text = "Ask @car please";
    const m = mentionAt(text, 8);
    expect(m).not.toBeNull();
    const out = insertMention(text, m!, { person_id: "carol", display_name: "Carol [Chen]" });
    expect(out.text).toBe("Ask [@Carol Chen](#/people/carol)  please");
    expect(out.text.slice(0, out.caret)).toBe("Ask [@Carol Chen](#/people/carol) ");
  });

  it("reads mentioned ids back from the body, once each", () => {
    const body = "[@Carol](#/people/carol) and [@Bob](#/people/bob), again [@Carol](#/people/carol); not [x](#/people/zed)";
    expect(mentionedIds(body)).toEqual(["carol", "bob"]);
  });

  it("parses tags", () => {
    expect(parseTags("Kafka, #billing  kafka,,x")).toEqual(["kafka", "billing", "x"]);
    expect(parseTags(Array.from({ length: 15 }, (_, i) => `t${i}`).join(","))).toHaveLength(10);
  });
});
