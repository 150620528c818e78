import { screen } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import type { RoutedQuestion } from "../api/model";
import { fakeApi, MAIN_SPACE, PINHOLE_SPACE, renderWith } from "../test/fakes";
import { HomePage } from "./Home";

function routed(overrides: Partial<RoutedQuestion> = {}): RoutedQuestion {
  return {
    question_id: "q1",
    space_id: MAIN_SPACE.space_id,
    title: "How do we size Kafka partitions?",
    tags: ["kafka"],
    routed_at: "2026-12-01T10:00:00.000Z",
    step: 0,
    reason: "expertise",
    space: MAIN_SPACE,
    ...overrides,
  };
}

const empty = async () => ({ items: [], next_page_token: "" });

describe("home: questions for you", () => {
  it("lists the questions routed to the person, says why, and links each to its page", async () => {
    const api = fakeApi({
      homeFeed: empty,
      routedQuestions: async () => ({
        items: [routed(), routed({ question_id: "q2", title: "Who owns the pallet wiki?", reason: "community_staff", step: 2, tags: [] })],
        next_page_token: "",
      }),
    });
    renderWith(<HomePage />, { api });
    const section = await screen.findByTestId("questions-for-me");
    const first = await screen.findByRole("link", { name: "How do we size Kafka partitions?" });
    expect(first.getAttribute("href")).toContain("/p/q1");
    expect(section.textContent).toContain("Asked of you for your expertise");
    expect(section.textContent).toContain("Asked of you as community staff");
    expect(section.textContent).toContain("Escalated (step 2)");
    expect(section.textContent).toContain("#kafka");
    expect(section.textContent).not.toContain("No open questions for you right now.");
  });

  it("marks a routed question in a pinhole as shared outside the company", async () => {
    const api = fakeApi({
      homeFeed: empty,
      routedQuestions: async () => ({ items: [routed({ space_id: PINHOLE_SPACE.space_id, space: PINHOLE_SPACE })], next_page_token: "" }),
    });
    renderWith(<HomePage />, { api });
    await screen.findByRole("link", { name: "How do we size Kafka partitions?" });
    expect(screen.getByTestId("questions-for-me").textContent).toContain("Shared outside the company");
  });

  it("says so when nothing is routed to the person", async () => {
    renderWith(<HomePage />, { api: fakeApi({ homeFeed: empty, routedQuestions: empty }) });
    expect(await screen.findByText("No open questions for you right now.")).toBeTruthy();
  });
});
