// Small DOM helpers shared by every screen: element building, announcements, focus, dialogs,
// field errors. Text always goes in as text (never HTML), so nothing a user typed can run.
import { STATUS_WORDS } from "./api.js";

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") el.className = value;
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
    else if (value === true) el.setAttribute(key, "");
    else el.setAttribute(key, String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

// Screen readers hear `text` (politely, or at once when `urgent`).
export function announce(text, { urgent = false } = {}) {
  const region = document.getElementById(urgent ? "alert-announcer" : "announcer");
  region.textContent = "";
  // A new text node after a tick, so the same sentence twice is announced twice.
  setTimeout(() => {
    region.textContent = text;
  }, 50);
}

// Replaces the main area with `nodes` and moves focus to its first heading.
export function showScreen(...nodes) {
  const main = document.getElementById("main");
  main.replaceChildren(...nodes.flat());
  focusHeading(main);
}

export function focusHeading(container) {
  const heading = container.querySelector("h1, h2");
  if (!heading) return;
  heading.setAttribute("tabindex", "-1");
  heading.focus();
}

// A message box (role=alert when it is an error) placed where the problem is.
export function messageBox(text, { kind = "error", id } = {}) {
  return h("div", { class: `message message-${kind}`, role: kind === "error" ? "alert" : "status", id }, text);
}

// A labelled text field with a slot for its error message; returns {wrapper, input, error}.
export function field({ name, label, type = "text", value = "", required = false, autocomplete, hint, multiline = false, inputmode }) {
  const id = `field-${name}`;
  const hintId = hint ? `${id}-hint` : undefined;
  const errorId = `${id}-error`;
  const input = multiline
    ? h("textarea", { id, name, rows: 3, autocomplete, required, "aria-describedby": [hintId].filter(Boolean).join(" ") || undefined })
    : h("input", { id, name, type, autocomplete, required, inputmode, "aria-describedby": [hintId].filter(Boolean).join(" ") || undefined });
  input.value = value;
  const error = h("p", { class: "field-error", id: errorId, hidden: true });
  const wrapper = h(
    "div",
    { class: "field" },
    h("label", { for: id }, label, required ? h("span", { class: "required" }, " (required)") : h("span", { class: "optional" }, " (optional)")),
    hint ? h("p", { class: "hint", id: hintId }, hint) : null,
    error,
    input,
  );
  return { wrapper, input, error };
}

// Shows each {field, description} next to its input inside `form` (inputs named as the REST
// contract names fields); returns the descriptions of fields the form has no input for.
export function showFieldErrors(form, violations, labels = {}) {
  clearFieldErrors(form);
  const unplaced = [];
  let first = null;
  for (const { field: name, description } of violations) {
    const input = form.querySelector(`[name="${CSS.escape(name)}"]`);
    const error = input && form.querySelector(`#field-${CSS.escape(name)}-error`);
    if (!input || !error) {
      unplaced.push(labels[name] ? `${labels[name]}: ${description}` : description);
      continue;
    }
    error.textContent = description;
    error.hidden = false;
    input.setAttribute("aria-invalid", "true");
    const described = new Set((input.getAttribute("aria-describedby") || "").split(" ").filter(Boolean));
    described.add(error.id);
    input.setAttribute("aria-describedby", [...described].join(" "));
    first = first || input;
  }
  if (first) first.focus();
  return unplaced;
}

export function clearFieldErrors(form) {
  for (const error of form.querySelectorAll(".field-error")) {
    error.textContent = "";
    error.hidden = true;
  }
  for (const input of form.querySelectorAll("[aria-invalid]")) {
    input.removeAttribute("aria-invalid");
    const described = (input.getAttribute("aria-describedby") || "").split(" ").filter((id) => id && !id.endsWith("-error"));
    if (described.length) input.setAttribute("aria-describedby", described.join(" "));
    else input.removeAttribute("aria-describedby");
  }
}

// A modal <dialog> asking to confirm; with `reasonLabel` it asks for a reason too. Resolves to
// null when dismissed, else {reason}. Focus returns to what had it.
// `validateReason(value)` returns a sentence that keeps the dialog open, or "".
export function confirmDialog({ title, text, confirmLabel, cancelLabel = "Keep it", reasonLabel, reasonRequired = false, validateReason }) {
  return new Promise((resolve) => {
    const opener = document.activeElement;
    const titleId = "dialog-title";
    const reason = reasonLabel ? field({ name: "reason", label: reasonLabel, multiline: true, required: reasonRequired }) : null;
    const form = h(
      "form",
      { method: "dialog", novalidate: true },
      h("h2", { id: titleId }, title),
      text ? h("p", {}, text) : null,
      reason ? reason.wrapper : null,
      h(
        "div",
        { class: "actions" },
        h("button", { type: "submit", value: "confirm", class: "button button-danger" }, confirmLabel),
        h("button", { type: "button", class: "button button-secondary", "data-dismiss": true }, cancelLabel),
      ),
    );
    const dialog = h("dialog", { "aria-labelledby": titleId, class: "dialog" }, form);
    let result = null;
    form.addEventListener("submit", (event) => {
      let problem = "";
      if (reason && reasonRequired && !reason.input.value.trim()) problem = `${reasonLabel} is required`;
      else if (reason && validateReason) problem = validateReason(reason.input.value);
      if (problem) {
        event.preventDefault();
        reason.error.textContent = problem;
        reason.error.hidden = false;
        reason.input.setAttribute("aria-invalid", "true");
        reason.input.setAttribute("aria-describedby", reason.error.id);
        reason.input.focus();
        return;
      }
      result = { reason: reason ? reason.input.value.trim() : "" };
    });
    form.querySelector("[data-dismiss]").addEventListener("click", () => dialog.close());
    dialog.addEventListener("close", () => {
      dialog.remove();
      if (opener && opener.isConnected) opener.focus();
      resolve(result);
    });
    document.body.append(dialog);
    dialog.showModal();
    (reason ? reason.input : form.querySelector("[data-dismiss]")).focus();
  });
}

// Initials on a coloured disc: consultant avatars on other hosts are not loaded (the page
// makes no requests off its own origin).
export function avatar(name, url) {
  const sameOrigin = typeof url === "string" && (url.startsWith("/") && !url.startsWith("//") || url.startsWith("data:image/"));
  if (sameOrigin) return h("img", { class: "avatar", src: url, alt: "", width: 40, height: 40 });
  const initials = (name || "?")
    .split(/\s+/)
    .filter(Boolean)
    .map((part) => part[0])
    .slice(0, 2)
    .join("")
    .toUpperCase();
  let hue = 0;
  for (const char of name || "") hue = (hue * 31 + char.charCodeAt(0)) % 360;
  const disc = h("span", { class: "avatar avatar-initials", "aria-hidden": "true" }, initials);
  disc.style.setProperty("--avatar-hue", String(hue));
  return disc;
}

// A booking's status in words, on a badge coloured by status (app.css .status-*).
export function statusBadge(status) {
  return h("span", { class: `status status-${String(status).toLowerCase().replace("_", "-")}` }, STATUS_WORDS[status] || "Unknown");
}
