import { describe, expect, it } from "vitest";
import { clearDraft, loadDraft, saveDraft } from "./drafts";

describe("drafts", () => {
  it("survive per person and key, and go when cleared", () => {
    saveDraft("bob", "compose:s1", { title: "T", body: "B" });
    expect(loadDraft("bob", "compose:s1")).toEqual({ title: "T", body: "B" });
    expect(loadDraft("alice", "compose:s1")).toBeUndefined();
    clearDraft("bob", "compose:s1");
    expect(loadDraft("bob", "compose:s1")).toBeUndefined();
  });

  it("are dropped after 30 days", () => {
    saveDraft("bob", "k", "old", 0);
    expect(loadDraft("bob", "k", 31 * 24 * 3600 * 1000)).toBeUndefined();
  });

  it("ignore corrupt storage", () => {
    localStorage.setItem("guildhall.draft.bob:k", "{not json");
    expect(loadDraft("bob", "k")).toBeUndefined();
  });
});
