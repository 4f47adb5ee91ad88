// The brochure request (no sign-in): contact details checked by the server's rules, then the
// PDF goes by email. The server requires the address for brochures too.
import { api } from "./api.js";
import { clearFieldErrors, field, h, messageBox, showFieldErrors, showScreen } from "./ui.js";
import { validateContact } from "./validation.js";

const LABELS = { firstName: "First name", lastName: "Last name", email: "Email", phone: "Phone", postcode: "Postcode", address: "Address" };

export function mount() {
  const fields = {
    firstName: field({ name: "firstName", label: LABELS.firstName, required: true, autocomplete: "given-name" }),
    lastName: field({ name: "lastName", label: LABELS.lastName, required: true, autocomplete: "family-name" }),
    email: field({ name: "email", label: LABELS.email, type: "email", required: true, autocomplete: "email", hint: "We send the brochure here." }),
    phone: field({ name: "phone", label: LABELS.phone, type: "tel", required: true, autocomplete: "tel", hint: "A UK number, e.g. 07700 900123." }),
    postcode: field({ name: "postcode", label: LABELS.postcode, required: true, autocomplete: "postal-code", hint: "e.g. SW1A 1AA" }),
    address: field({ name: "address", label: LABELS.address, required: true, autocomplete: "street-address", multiline: true }),
  };
  const problem = h("div", { class: "form-problem" });
  const submit = h("button", { type: "submit", class: "button" }, "Send me the brochure");
  const form = h("form", { class: "panel brochure-form", novalidate: true }, Object.values(fields).map((f) => f.wrapper), h("div", { class: "actions" }, submit));
  let sending = false;

  function values() {
    return Object.fromEntries(Object.entries(fields).map(([name, f]) => [name, f.input.value]));
  }

  function showProblems(violations) {
    const unplaced = showFieldErrors(form, violations, LABELS);
    const count = violations.length;
    problem.replaceChildren(messageBox([`Please correct ${count === 1 ? "1 field" : `${count} fields`}.`, ...unplaced].join(" ")));
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (sending) return;
    problem.replaceChildren();
    clearFieldErrors(form);
    const details = values();
    const violations = validateContact(details, { addressRequired: true });
    if (violations.length) {
      showProblems(violations);
      return;
    }
    sending = true;
    // aria-disabled rather than disabled: a disabled button would drop the keyboard focus.
    submit.setAttribute("aria-disabled", "true");
    submit.textContent = "Sending…";
    try {
      await api("POST", "/v1/brochures", { body: details });
    } catch (error) {
      sending = false;
      submit.removeAttribute("aria-disabled");
      submit.textContent = "Send me the brochure";
      if (error.status === 400 && error.fields.length) showProblems(error.fields);
      // 429 and the rest: a sentence (with the time to wait) above the form, which stays filled in.
      else problem.replaceChildren(messageBox(error.sentence));
      return;
    }
    showScreen(
      h("h1", {}, "Brochure on its way"),
      h("p", { class: "lead" }, "We have emailed the brochure to ", h("strong", { class: "sent-to" }, details.email.trim()), "."),
      h("p", {}, "It is a PDF attachment and should arrive within a few minutes. If it does not, please check your junk mail folder."),
      h("p", { class: "actions" }, h("a", { href: "#/book", class: "button" }, "Book an appointment"), h("a", { href: "#/", class: "button button-secondary" }, "Back to the start page")),
    );
  });

  showScreen(
    h("h1", {}, "Request a brochure"),
    h("p", { class: "lead" }, "We email you our latest kitchen and bedroom brochure as a PDF. You do not need to sign in."),
    problem,
    form,
  );
}
