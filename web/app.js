// The app shell: header, sign-in state and the hash router that loads each screen's module on
// first use (so the first load carries only the shell and the screen asked for).
import { currentUser, devSignInUrl, signOut } from "./auth.js";
import { field, h, showFieldErrors, showScreen } from "./ui.js";

const SITE = "Fitted Kitchens & Bedrooms";
const AFTER_SIGN_IN = "booking:after-sign-in";

// First path segment -> {load, title, signIn: needs a user, staff: needs the ADMIN role}.
const SCREENS = {
  "": { load: async () => ({ mount: home }), title: "Kitchens and bedrooms, designed with you" },
  book: { load: () => import("./journey.js"), title: "Book an appointment", signIn: true },
  bookings: { load: () => import("./bookings.js"), title: "My bookings", signIn: true },
  brochure: { load: () => import("./brochure.js"), title: "Request a brochure" },
  admin: { load: () => import("./admin.js"), title: "Staff", signIn: true, staff: true },
  "sign-in": { load: async () => ({ mount: signInScreen }), title: "Sign in" },
};

let cleanup = null;
let generation = 0;

// "#/admin/bookings/42?status=PENDING" -> {name: "admin", rest: ["bookings", "42"], query}.
export function parseHash(hash = window.location.hash) {
  const text = hash.startsWith("#/") ? hash.slice(2) : "";
  const [path, search = ""] = text.split("?");
  const segments = path.split("/").filter(Boolean).map(decodeURIComponent);
  return { name: segments[0] || "", rest: segments.slice(1), query: new URLSearchParams(search) };
}

export function navigate(hash) {
  if (window.location.hash === hash) route();
  else window.location.hash = hash;
}

// Replaces the address without a new history entry or a re-render (filters, paging).
export function replaceQuery(query) {
  const { name, rest } = parseHash();
  const path = ["", name, ...rest.map(encodeURIComponent)].join("/");
  const search = query.toString();
  history.replaceState(null, "", `#${path}${search ? `?${search}` : ""}`);
}

function renderAccount() {
  const user = currentUser();
  const account = document.getElementById("account");
  for (const item of document.querySelectorAll("[data-staff-only]")) item.hidden = !(user && user.isAdmin);
  if (!user) {
    account.replaceChildren(h("a", { href: "#/sign-in", class: "button button-secondary" }, "Sign in"));
    return;
  }
  account.replaceChildren(
    h("span", { class: "signed-in" }, "Signed in as ", h("strong", {}, user.sub), user.isAdmin ? " (staff)" : ""),
    h(
      "button",
      {
        type: "button",
        class: "button button-secondary",
        onclick: () => {
          signOut();
          renderAccount();
          navigate("#/");
        },
      },
      "Sign out",
    ),
  );
}

function markCurrentNav(name) {
  for (const link of document.querySelectorAll(".nav a")) {
    const target = link.getAttribute("href").slice(2).split("/")[0];
    if (target === name) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
}

async function route() {
  const current = ++generation;
  if (cleanup) {
    cleanup();
    cleanup = null;
  }
  const target = parseHash();
  const screen = SCREENS[target.name] || null;
  renderAccount();
  markCurrentNav(target.name);
  if (!screen) {
    document.title = `Page not found — ${SITE}`;
    showScreen(h("h1", {}, "Page not found"), h("p", {}, h("a", { href: "#/" }, "Go to the start page")));
    return;
  }
  document.title = `${screen.title} — ${SITE}`;
  const user = currentUser();
  if (screen.signIn && !user) {
    sessionStorage.setItem(AFTER_SIGN_IN, window.location.hash);
    showScreen(
      h("h1", {}, screen.title),
      h("p", {}, "Please sign in first."),
      h("p", {}, h("a", { href: "#/sign-in", class: "button" }, "Sign in")),
    );
    return;
  }
  if (screen.staff && !user.isAdmin) {
    showScreen(h("h1", {}, "Not allowed"), h("p", { role: "alert" }, "You are not allowed to see staff pages."));
    return;
  }
  let module;
  try {
    module = await screen.load();
  } catch {
    showScreen(h("h1", {}, screen.title), h("p", { role: "alert" }, "This page could not be loaded. Please reload and try again."));
    return;
  }
  if (current !== generation) return;
  const result = await module.mount({ rest: target.rest, query: target.query, user, navigate, replaceQuery, isCurrent: () => current === generation });
  if (typeof result === "function") {
    if (current === generation) cleanup = result;
    else result();
  }
}

function home() {
  showScreen(
    h("h1", {}, "Kitchens and bedrooms, designed with you"),
    h("p", { class: "lead" }, "Meet one of our designers at your home, in the showroom or on a video call. It is free and there is no obligation."),
    h(
      "div",
      { class: "cards" },
      h("section", { class: "card" }, h("h2", {}, "Book an appointment"), h("p", {}, "Choose a time that suits you in four short steps."), h("a", { href: "#/book", class: "button" }, "Book an appointment")),
      h("section", { class: "card" }, h("h2", {}, "Get our brochure"), h("p", {}, "We email you our latest kitchen and bedroom brochure as a PDF."), h("a", { href: "#/brochure", class: "button button-secondary" }, "Request a brochure")),
    ),
  );
}

// gateway/web.py's rule for a dev user id; the sign-in endpoint refuses anything else.
const USER_ID = /^[A-Za-z0-9._@-]{1,64}$/;

function signInScreen() {
  const user = field({ name: "sub", label: "User id", required: true, autocomplete: "username", hint: "Letters, digits and . _ @ - (up to 64)." });
  const staff = h("input", { id: "sign-in-staff", name: "staff", type: "checkbox" });
  const form = h(
    "form",
    { class: "panel", novalidate: true },
    user.wrapper,
    h("div", { class: "field field-check" }, staff, h("label", { for: "sign-in-staff" }, "Sign in as staff")),
    h("button", { type: "submit", class: "button" }, "Sign in"),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const sub = user.input.value.trim();
    if (!USER_ID.test(sub)) {
      showFieldErrors(form, [{ field: "sub", description: "Enter a user id of letters, digits and . _ @ - (up to 64)." }]);
      return;
    }
    window.location.assign(devSignInUrl(sub, { admin: staff.checked }));
  });
  showScreen(
    h("h1", {}, "Sign in"),
    h("p", {}, "This is the development sign-in: it signs you in as any user id. A live site signs in through the retailer's identity provider."),
    form,
  );
}

window.addEventListener("hashchange", route);
window.addEventListener("DOMContentLoaded", () => {
  // Back from /dev/sign-in: continue where the visitor was sent to sign in.
  const after = sessionStorage.getItem(AFTER_SIGN_IN);
  if (after && currentUser() && (!window.location.hash || window.location.hash === "#/")) {
    sessionStorage.removeItem(AFTER_SIGN_IN);
    history.replaceState(null, "", after);
  }
  document.querySelector("[data-skip]").addEventListener("click", (event) => {
    event.preventDefault();
    document.getElementById("main").focus();
  });
  route();
});
