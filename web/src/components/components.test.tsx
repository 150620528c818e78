import { act, fireEvent, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import { ApiError } from "../api/problem";
import { PostPage } from "../pages/Post";
import { card, fakeApi, MAIN_SPACE, PINHOLE_SPACE, post, renderWith, view } from "../test/fakes";
import { Markdown } from "./common";
import { Composer } from "./Composer";
import { PostCard } from "./PostCard";

describe("shared outside the company", () => {
  it("the compose box of a pinhole says who can read it, before anything is typed", () => {
    renderWith(<Composer space={PINHOLE_SPACE} onPosted={() => undefined} />);
    expect(screen.getByRole("note").textContent).toContain("Partners can read what you post here: Acme Logistics");
  });

  it("an internal compose box has no such mark", () => {
    renderWith(<Composer space={MAIN_SPACE} onPosted={() => undefined} />);
    expect(screen.queryByRole("note")).toBeNull();
    expect(screen.queryByText("Shared outside the company")).toBeNull();
  });

  it("feed entries from a pinhole and by partners are marked", () => {
    renderWith(<PostCard view={view(post({ space_id: "ph1" }), PINHOLE_SPACE, card("vera", "Vera Novak", "partner_user"))} />);
    expect(screen.getByText("Shared outside the company")).toBeTruthy();
    expect(screen.getByText("External")).toBeTruthy();
  });
});

describe("compose", () => {
  it("keeps a draft across a remount (reload) and clears it once posted", async () => {
    const user = userEvent.setup();
    const createPost = vi.fn(async () => post({ post_id: "new" }));
    const api = fakeApi({ createPost });
    const first = renderWith(<Composer space={MAIN_SPACE} onPosted={() => undefined} />, { api });
    await user.type(screen.getByLabelText("Title"), "Forklift rota");
    await user.type(screen.getByLabelText("Text"), "Who has **Monday**?");
    first.unmount(); // the page goes away before the debounce: the draft is flushed

    renderWith(<Composer space={MAIN_SPACE} onPosted={() => undefined} />, { api });
    expect((screen.getByLabelText("Title") as HTMLInputElement).value).toBe("Forklift rota");
    expect(screen.getByRole("status").textContent).toContain("Your unsent draft was restored.");
    await user.click(screen.getByRole("button", { name: "Post" }));
    await waitFor(() => expect(createPost).toHaveBeenCalledOnce());
    expect(createPost.mock.calls[0]).toEqual(["sp-main", { type: "discussion", title: "Forklift rota", body: "Who has **Monday**?", tags: [] }]);
    await waitFor(() => expect(localStorage.getItem("guildhall.draft.bob:compose:sp-main")).toBeNull());
  });

  it("shows the server's problem as a human message and keeps the text", async () => {
    const user = userEvent.setup();
    const api = fakeApi({
      createPost: async () => {
        throw new ApiError("invalid", 400, { detail: "x" }, "title", undefined);
      },
    });
    renderWith(<Composer space={MAIN_SPACE} onPosted={() => undefined} />, { api });
    await user.type(screen.getByLabelText("Title"), "x");
    await user.click(screen.getByRole("button", { name: "Post" }));
    expect((await screen.findByRole("alert")).textContent).toBe("Please check the field “title”.");
    expect((screen.getByLabelText("Title") as HTMLInputElement).value).toBe("x");
  });

  it("previews Markdown and suggests people for @mentions, by keyboard", async () => {
    const user = userEvent.setup();
    const api = fakeApi({ suggestPeople: async () => [card("carol", "Carol Chen"), card("cathy", "Cathy Doe")] });
    renderWith(<Composer space={MAIN_SPACE} onPosted={() => undefined} />, { api });
    const text = screen.getByLabelText("Text");
    await user.type(text, "Ask @ca");
    await screen.findByRole("option", { name: /Carol Chen/ });
    await user.keyboard("{ArrowDown}{Enter}");
    expect((screen.getByLabelText("Text") as HTMLTextAreaElement).value).toBe("Ask [@Cathy Doe](#/people/cathy) ");
    await user.click(screen.getByRole("tab", { name: "Preview" }));
    expect(screen.getByRole("link", { name: "@Cathy Doe" }).getAttribute("href")).toBe("#/people/cathy");
  });
});

describe("Markdown", () => {
  it("never renders raw HTML or script URLs", () => {
    const { container } = renderWith(<Markdown source={'<img src=x onerror="alert(1)"> [x](javascript:alert(1)) **ok**'} />);
    expect(container.querySelector("img")).toBeNull();
    expect(container.querySelector("a")?.getAttribute("href") ?? "").not.toContain("javascript");
    expect(container.querySelector("strong")?.textContent).toBe("ok");
  });
});

describe("stale edit", () => {
  it("says so clearly and keeps the text typed", async () => {
    const user = userEvent.setup();
    const wiki = post({ type: "wiki_page", title: "Returns", body: "v1", revision: 3 });
    const api = fakeApi({
      post: async () => view(wiki),
      answers: async () => ({ items: [], next_page_token: "" }),
      comments: async () => ({ items: [], next_page_token: "" }),
      subscription: async () => "normal",
      editPost: async () => {
        throw new ApiError("stale", 412, { type: "urn:guildhall:problem:precondition-failed" }, undefined, undefined);
      },
    });
    renderWith(<PostPage postId="p1" />, { api });
    await user.click(await screen.findByRole("button", { name: "Edit page" }));
    const body = screen.getByLabelText("Text");
    await user.clear(body);
    await user.type(body, "my careful rewrite");
    await user.click(screen.getByRole("button", { name: "Save" }));
    const alert = await screen.findByTestId("stale-edit");
    expect(alert.textContent).toContain("Someone changed this since you opened it");
    expect((screen.getByLabelText("Text") as HTMLTextAreaElement).value).toBe("my careful rewrite");
  });
});

describe("reactions", () => {
  it("update at once and roll back when the server refuses", async () => {
    let fail = false;
    const react = vi.fn(async () => {
      if (fail) throw new ApiError("forbidden", 403, {}, undefined, undefined);
    });
    const api = fakeApi({
      post: async () => view(),
      comments: async () => ({ items: [], next_page_token: "" }),
      subscription: async () => "normal",
      react,
    });
    renderWith(<PostPage postId="p1" />, { api });
    const like = await screen.findByRole("button", { name: /Like: 0/ });
    fireEvent.click(like);
    expect(screen.getByRole("button", { name: /Like: 1/ }).getAttribute("aria-pressed")).toBe("true");
    fail = true;
    await act(async () => {
      fireEvent.click(screen.getByRole("button", { name: /Celebrate: 0/ }));
    });
    await waitFor(() => expect(screen.getByRole("button", { name: /Celebrate: 0/ })).toBeTruthy());
    expect(await screen.findByText("You are not allowed to do this.")).toBeTruthy();
  });
});
