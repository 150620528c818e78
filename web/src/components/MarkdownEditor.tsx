/**
 * A Markdown text area with a preview tab and @mention autocomplete from the
 * people directory. Keyboard: ArrowUp/ArrowDown move in the suggestions,
 * Enter or Tab picks one, Escape closes them; the textarea keeps focus (the
 * list is announced through aria-activedescendant).
 */
import { type ReactNode, useEffect, useId, useRef, useState } from "react";
import type { PersonCard } from "../api/model";
import { useApi } from "../api/port";
import { useI18n } from "../i18n";
import { insertMention, mentionAt, type MentionQuery } from "../lib/mentions";
import { Markdown } from "./common";

interface Props {
  readonly label: string;
  readonly value: string;
  readonly onChange: (value: string) => void;
  /** Where the text will be posted: mention suggestions come from people who can read it. */
  readonly spaceId?: string;
  readonly rows?: number;
  readonly required?: boolean;
  readonly describedBy?: string;
  readonly name?: string;
}

export function MarkdownEditor({ label, value, onChange, spaceId, rows = 6, required, describedBy, name }: Props): ReactNode {
  const { t } = useI18n();
  const api = useApi();
  const id = useId();
  const [tab, setTab] = useState<"write" | "preview">("write");
  const [mention, setMention] = useState<MentionQuery | null>(null);
  const [suggestions, setSuggestions] = useState<readonly PersonCard[]>([]);
  const [active, setActive] = useState(0);
  const area = useRef<HTMLTextAreaElement>(null);
  const pendingCaret = useRef<number | null>(null);

  useEffect(() => {
    if (!mention) {
      setSuggestions([]);
      return;
    }
    let live = true;
    const timer = setTimeout(() => {
      api.suggestPeople(mention.query, spaceId).then(
        (people) => {
          if (live) {
            setSuggestions(people.slice(0, 8));
            setActive(0);
          }
        },
        () => live && setSuggestions([]),
      );
    }, 120);
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [api, mention, spaceId]);

  useEffect(() => {
    if (pendingCaret.current !== null && area.current) {
      area.current.setSelectionRange(pendingCaret.current, pendingCaret.current);
      pendingCaret.current = null;
    }
  }, [value]);

  const pick = (person: PersonCard) => {
    if (!mention) return;
    const next = insertMention(value, mention, person);
    pendingCaret.current = next.caret;
    setMention(null);
    onChange(next.text);
  };

  const open = mention !== null && suggestions.length > 0;
  const listId = `${id}-mentions`;
  return (
    <div className="md-editor">
      <div className="md-editor-head">
        <label htmlFor={`${id}-text`}>{label}</label>
        <div role="tablist" className="tabs tabs-small">
          <button type="button" role="tab" id={`${id}-tab-write`} aria-selected={tab === "write"} aria-controls={`${id}-panel`} onClick={() => setTab("write")}>
            {t("post.write")}
          </button>
          <button type="button" role="tab" id={`${id}-tab-preview`} aria-selected={tab === "preview"} aria-controls={`${id}-panel`} onClick={() => setTab("preview")}>
            {t("post.preview")}
          </button>
        </div>
      </div>
      <div id={`${id}-panel`} role="tabpanel" aria-labelledby={`${id}-tab-${tab}`}>
        {tab === "write" ? (
          <div className="md-editor-write">
            <textarea
              ref={area}
              id={`${id}-text`}
              name={name}
              rows={rows}
              value={value}
              required={required}
              aria-describedby={describedBy}
              aria-controls={listId}
              aria-activedescendant={open ? `${listId}-${active}` : undefined}
              onChange={(e) => {
                onChange(e.target.value);
                setMention(mentionAt(e.target.value, e.target.selectionStart));
              }}
              onKeyDown={(e) => {
                if (!open) return;
                if (e.key === "ArrowDown") {
                  e.preventDefault();
                  setActive((a) => (a + 1) % suggestions.length);
                } else if (e.key === "ArrowUp") {
                  e.preventDefault();
                  setActive((a) => (a - 1 + suggestions.length) % suggestions.length);
                } else if (e.key === "Enter" || e.key === "Tab") {
                  const person = suggestions[active];
                  if (person) {
                    e.preventDefault();
                    pick(person);
                  }
                } else if (e.key === "Escape") {
                  e.preventDefault();
                  setMention(null);
                }
              }}
              onBlur={() => setTimeout(() => setMention(null), 150)}
            />
            <ul id={listId} role="listbox" className="mention-list" hidden={!open} aria-label={t("post.mentionSuggestions", { query: mention?.query ?? "" })}>
              {suggestions.map((person, index) => (
                <li
                  key={person.person_id}
                  id={`${listId}-${index}`}
                  role="option"
                  aria-selected={index === active}
                  onMouseDown={(e) => {
                    e.preventDefault();
                    pick(person);
                  }}
                >
                  <strong>{person.display_name}</strong> <span className="muted">{person.title}</span>
                </li>
              ))}
            </ul>
          </div>
        ) : value.trim() ? (
          <div className="md-preview">
            <Markdown source={value} />
          </div>
        ) : (
          <p className="muted">{t("post.previewEmpty")}</p>
        )}
      </div>
    </div>
  );
}
