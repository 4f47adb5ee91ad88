// Staff pages: the appointment table and one booking's page here; consultants and the slot
// calendar in admin_slots.js. app.js has already checked the ADMIN role (the services check
// it again on every call).
import { api, STATUS_WORDS, TYPE_WORDS } from "./api.js";
import { announce, clearFieldErrors, confirmDialog, field, h, messageBox, showFieldErrors, showScreen, statusBadge } from "./ui.js";
import { formatDay, formatRange, formatTime, londonDate, ZONE, ZONE_LABEL } from "./time.js";
import { designerName, moveSubmitter, slotPicker } from "./slot_grid.js";

// The staff sub-navigation shown on every staff page.
export function staffNav(current) {
  const links = [
    ["appointments", "#/admin", "Appointments"],
    ["consultants", "#/admin/consultants", "Consultants"],
    ["slots", "#/admin/slots", "Slot calendar"],
  ];
  return h(
    "nav",
    { "aria-label": "Staff", class: "staff-nav" },
    h("ul", { class: "nav nav-staff" }, links.map(([key, href, label]) => h("li", {}, h("a", { href, "aria-current": key === current ? "page" : undefined }, label)))),
  );
}

export async function mount(ctx) {
  const [section] = ctx.rest;
  if (section === "consultants" || section === "slots") {
    const module = await import("./admin_slots.js");
    return module.mount(ctx);
  }
  if (section === "bookings" && ctx.rest[1]) return showBooking(ctx, ctx.rest[1]);
  return showTable(ctx);
}

const PAGE_SIZES = ["10", "25", "50"];
// The table's query parameters as the REST contract names them, with the contract's defaults
// (a default is left out of the address).
const DEFAULTS = { status: "", from: "", to: "", email: "", referenceCode: "", sort: "-createdAt", page: "1", limit: "25" };
const FILTERS = ["status", "from", "to", "email", "referenceCode"];


function services(a) {
  return [a.forKitchen && "Kitchen", a.forBedroom && "Bedroom"].filter(Boolean).join(" and ") || "None chosen";
}

function when(iso) {
  return iso ? `${formatDay(londonDate(iso))}, ${formatTime(iso)}` : "";
}

// The table's narrower form, the day above the time: "Tue, 23 May 2028" / "09:00–09:30".
const shortDay = new Intl.DateTimeFormat("en-GB", { timeZone: ZONE, weekday: "short", day: "numeric", month: "short", year: "numeric" });

function dayAndTime(iso, endIso) {
  if (!iso) return "Not known";
  const time = endIso ? `${formatTime(iso)}–${formatTime(endIso)}` : formatTime(iso);
  return [h("span", { class: "cell-day" }, shortDay.format(new Date(iso))), " ", h("span", { class: "cell-day" }, time)];
}

// Lets a long address break before its "@" rather than in the middle of a word.
function breakableEmail(email = "") {
  const at = email.lastIndexOf("@");
  return at > 0 ? [email.slice(0, at), h("wbr"), email.slice(at)] : email;
}

function stateFrom(query) {
  const state = {};
  for (const [key, fallback] of Object.entries(DEFAULTS)) state[key] = query.get(key) || fallback;
  if (!PAGE_SIZES.includes(state.limit)) state.limit = DEFAULTS.limit;
  if (!/^[1-9]\d{0,5}$/.test(state.page)) state.page = "1";
  return state;
}

function queryFrom(state) {
  const query = new URLSearchParams();
  for (const [key, fallback] of Object.entries(DEFAULTS)) if (state[key] && state[key] !== fallback) query.set(key, state[key]);
  return query;
}

function select(id, label, options, value) {
  const control = h("select", { id, name: id }, options.map(([optionValue, text]) => h("option", { value: optionValue, selected: optionValue === value }, text)));
  return { wrapper: h("div", { class: "field" }, h("label", { for: id }, label), control), control };
}

function showTable(ctx) {
  const state = stateFrom(ctx.query);
  let controller = null;

  const status = select("status", "Status", [["", "All statuses"], ...Object.entries(STATUS_WORDS)], state.status);
  const inputs = {
    from: field({ name: "from", label: "From date", type: "date", value: state.from }),
    to: field({ name: "to", label: "To date", type: "date", value: state.to }),
    email: field({ name: "email", label: "Customer email", type: "email", value: state.email, autocomplete: "off" }),
    referenceCode: field({ name: "referenceCode", label: "Reference", value: state.referenceCode, autocomplete: "off", hint: "Like BK-20261130-0001" }),
  };
  const form = h(
    "form",
    { class: "filters panel", "aria-label": "Filter appointments", novalidate: true },
    status.wrapper,
    Object.values(inputs).map((f) => f.wrapper),
    h("div", { class: "filter-actions" }, h("button", { type: "submit", class: "button" }, "Apply filters"), h("button", { type: "button", class: "button button-secondary", onclick: clearFilters }, "Clear filters")),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    state.status = status.control.value;
    for (const [key, f] of Object.entries(inputs)) state[key] = f.input.value.trim();
    state.page = "1";
    load();
  });

  function clearFilters() {
    status.control.value = "";
    for (const f of Object.values(inputs)) f.input.value = "";
    for (const key of FILTERS) state[key] = "";
    state.page = "1";
    load();
  }

  const sortButtons = {};
  // [label, the sort key the API orders by]: only the appointment and booking times can be sorted.
  const headers = [
    ["Reference"], ["Customer"], ["Email"], ["Type"], ["Services"],
    [`Appointment (${ZONE_LABEL})`, "startsAt"], [`Booked (${ZONE_LABEL})`, "createdAt"], ["Consultant"], ["Status"],
  ];
  const headRow = h(
    "tr",
    {},
    headers.map(([label, key]) => {
      if (!key) return h("th", { scope: "col" }, label);
      const button = h("button", { type: "button", class: "sort", onclick: () => sortBy(key) }, label, h("span", { class: "sort-arrow", "aria-hidden": "true" }));
      sortButtons[key] = button;
      return h("th", { scope: "col" }, button);
    }),
  );
  const body = h("tbody");
  const caption = h("caption", { class: "visually-hidden" }, "Appointments, one row per booking");
  const wrap = h("div", { class: "table-wrap", role: "region", "aria-label": "Appointments table", tabindex: "0", hidden: true }, h("table", { class: "appointments" }, caption, h("thead", {}, headRow), body));
  const result = h("div", { class: "table-state" });
  const total = h("p", { class: "table-total" });
  const pageText = h("span", { class: "page-text" });
  const previous = h("button", { type: "button", class: "button button-secondary button-small", onclick: () => goTo(-1) }, "Previous page");
  const next = h("button", { type: "button", class: "button button-secondary button-small", onclick: () => goTo(1) }, "Next page");
  const size = select("limit", "Rows per page", PAGE_SIZES.map((n) => [n, n]), state.limit);
  size.control.addEventListener("change", () => {
    state.limit = size.control.value;
    state.page = "1";
    load();
  });
  const pager = h("nav", { class: "pager", "aria-label": "Pages", hidden: true }, previous, pageText, next, size.wrapper);

  function sortBy(key) {
    state.sort = state.sort === key ? `-${key}` : key;
    state.page = "1";
    load();
  }

  function goTo(step) {
    state.page = String(Math.max(1, Number(state.page) + step));
    load();
  }

  function paintSort() {
    const key = state.sort.replace(/^-/, "");
    const descending = state.sort.startsWith("-");
    for (const [column, button] of Object.entries(sortButtons)) {
      const th = button.parentElement;
      const arrow = button.querySelector(".sort-arrow");
      if (column === key) {
        th.setAttribute("aria-sort", descending ? "descending" : "ascending");
        arrow.textContent = descending ? " ▼" : " ▲";
      } else {
        th.removeAttribute("aria-sort");
        arrow.textContent = " ↕";
      }
    }
  }

  function row(a) {
    const link = h("a", { href: `#/admin/bookings/${encodeURIComponent(a.bookingId)}${tableQueryText()}` }, a.referenceCode);
    return h(
      "tr",
      {},
      h("th", { scope: "row" }, link),
      h("td", {}, `${a.firstName || ""} ${a.lastName || ""}`.trim()),
      h("td", { class: "cell-email" }, breakableEmail(a.email)),
      h("td", {}, TYPE_WORDS[a.type] || "Unknown"),
      h("td", {}, services(a)),
      h("td", {}, a.slot ? dayAndTime(a.slot.startsAt, a.slot.endsAt) : "Not known"),
      h("td", {}, dayAndTime(a.createdAt)),
      h("td", {}, (a.slot && a.slot.consultant && a.slot.consultant.name) || "Not known"),
      h("td", {}, statusBadge(a.status)),
    );
  }

  function tableQueryText() {
    const text = queryFrom(state).toString();
    return text ? `?${text}` : "";
  }

  async function load() {
    if (controller) controller.abort();
    controller = new AbortController();
    const { signal } = controller;
    ctx.replaceQuery(queryFrom(state));
    paintSort();
    size.control.value = state.limit;
    clearFieldErrors(form);
    // The table stays while the next page loads, so a focused sort or pager button keeps focus.
    result.replaceChildren(h("p", { class: "loading" }, "Loading appointments…"));
    wrap.setAttribute("aria-busy", "true");
    const query = Object.fromEntries(Object.entries(state).filter(([, value]) => value !== ""));
    let page;
    try {
      page = await api("GET", "/v1/admin/appointments", { query, signal });
    } catch (error) {
      if (signal.aborted || !ctx.isCurrent()) return;
      wrap.hidden = pager.hidden = true;
      total.textContent = "";
      const unplaced = error.status === 400 ? showFieldErrors(form, error.fields, { status: "Status", sort: "Sort", page: "Page", limit: "Rows per page" }) : [];
      const sentence = error.status === 400 ? ["Please correct the filters.", ...unplaced].join(" ") : error.sentence;
      result.replaceChildren(messageBox(sentence), error.status === 400 ? null : h("button", { type: "button", class: "button button-secondary", onclick: load }, "Try again"));
      return;
    }
    if (signal.aborted || !ctx.isCurrent()) return;
    wrap.removeAttribute("aria-busy");
    const count = page.total || 0;
    const pages = page.totalPages || 0;
    const current = Number(state.page);
    const rows = page.data || [];
    total.textContent = `${count} appointment${count === 1 ? "" : "s"}`;
    if (!rows.length) {
      wrap.hidden = pager.hidden = true;
      const filtered = FILTERS.some((key) => state[key]);
      const empty = count ? "There are no appointments on this page." : filtered ? "No appointments match these filters." : "There are no appointments yet.";
      result.replaceChildren(
        h("p", { class: "empty" }, empty),
        count ? h("button", { type: "button", class: "button button-secondary", onclick: () => { state.page = "1"; load(); } }, "Go to the first page") : null,
      );
      announce(`${total.textContent}. ${empty}`);
      return;
    }
    result.replaceChildren();
    body.replaceChildren(...rows.map(row));
    wrap.hidden = false;
    pager.hidden = false;
    pageText.textContent = `Page ${current} of ${Math.max(pages, 1)}`;
    const focused = document.activeElement;
    previous.disabled = current <= 1;
    next.disabled = current >= pages;
    // A pager button that just became disabled would drop keyboard focus to the page's start.
    if (focused === next || focused === previous) {
      const other = focused === next ? previous : next;
      if (focused.disabled) (other.disabled ? pageText : other).focus();
    }
    announce(`${total.textContent}, page ${current} of ${Math.max(pages, 1)}`);
  }

  pageText.setAttribute("tabindex", "-1");
  showScreen(staffNav("appointments"), h("h1", {}, "Appointments"), form, total, result, wrap, pager);
  load();
  return () => controller && controller.abort();
}

// Staff moves: target status -> the statuses it may come from (appointment_svc/domain/staff.py).
const ACTIONS = [
  { key: "confirm", label: "Confirm booking", from: ["PENDING"], done: "Booking confirmed." },
  { key: "complete", label: "Mark as completed", from: ["CONFIRMED"], done: "Booking marked as completed.", outcome: true },
  { key: "no-show", label: "Mark as no-show", from: ["CONFIRMED"], done: "Booking marked as a no-show.", outcome: true },
  { key: "move", label: "Move to another time", from: ["PENDING", "CONFIRMED"], secondary: true },
  { key: "cancel", label: "Cancel booking", from: ["PENDING", "CONFIRMED"], done: "Booking cancelled.", danger: true },
];

function historyFrom(status) {
  return STATUS_WORDS[status] || "New booking";
}

// A move (kind MOVE) keeps the status: the row says it moved, its reason says from when to when.
function historyTo(change) {
  const status = STATUS_WORDS[change.toStatus] || "Unknown";
  return change.kind === "MOVE" ? `${status} (moved to another time)` : status;
}

// A reminder entry (kind REMINDER) keeps the status; its reason says which time it was for.
function historyBy(change, customer) {
  if (change.kind === "REMINDER") return "Automatic reminder";
  if (!change.changedBy) return "Not known";
  return `${change.changedBy}${change.changedBy === customer ? " (customer)" : ""}`;
}

function showBooking(ctx, bookingId) {
  const path = `/v1/admin/appointments/${encodeURIComponent(bookingId)}`;
  const backQuery = ctx.query.toString();
  const back = h("p", {}, h("a", { href: `#/admin${backQuery ? `?${backQuery}` : ""}`, class: "back-link" }, "Back to appointments"));
  const heading = h("h1", {}, "Booking");
  const content = h("div", { class: "booking-admin" }, h("p", { class: "loading" }, "Loading the booking…"));
  let busy = false;

  async function fetchDetails() {
    return api("GET", path);
  }

  function render(details, notice) {
    const a = details.appointment || {};
    heading.textContent = `Booking ${a.referenceCode || ""}`.trim();
    const allowed = ACTIONS.filter((action) => action.from.includes(a.status));
    const outcome = notice ? (notice.error ? messageBox(notice.text) : messageBox(notice.text, { kind: "ok" })) : null;
    if (outcome) outcome.setAttribute("tabindex", "-1");
    const rows = [
      ["Reference", a.referenceCode],
      ["Status", statusBadge(a.status)],
      ["Type", TYPE_WORDS[a.type] || "Unknown"],
      ["Services", services(a)],
      ["Appointment", a.slot && a.slot.startsAt ? formatRange(a.slot.startsAt, a.slot.endsAt) : "Not known"],
      ["Consultant", (a.slot && a.slot.consultant && a.slot.consultant.name) || "Not known"],
      ["Customer", `${a.firstName || ""} ${a.lastName || ""}`.trim()],
      ["Email", a.email],
      ["Phone", a.phone],
      ["Postcode", a.postcode],
      ["Address", a.address || "Not given"],
      ["Customer account", a.userId],
      ["Booked", a.createdAt ? `${when(a.createdAt)} ${ZONE_LABEL}` : ""],
      a.cancelledAt ? ["Cancelled", `${when(a.cancelledAt)} ${ZONE_LABEL}`] : null,
      a.cancelReason ? ["Cancellation reason", a.cancelReason] : null,
    ].filter(Boolean);
    const history = details.history || [];
    content.replaceChildren(
      h("dl", { class: "summary" }, rows.map(([term, value]) => [h("dt", {}, term), h("dd", {}, value || "Not given")])),
      h(
        "section",
        { class: "booking-actions" },
        h("h2", { id: "actions-title", tabindex: "-1" }, "Actions"),
        outcome,
        allowed.length
          ? h("div", { class: "actions" }, allowed.map((action) => h("button", { type: "button", class: `button${action.danger ? " button-danger" : action.secondary ? " button-secondary" : ""}`, onclick: () => run(action, a) }, action.label)))
          : h("p", {}, `A ${(STATUS_WORDS[a.status] || "closed").toLowerCase()} booking cannot be changed any more.`),
      ),
      h(
        "section",
        {},
        h("h2", { id: "history-title" }, "Status history"),
        history.length
          ? h(
              "div",
              { class: "table-wrap", role: "region", "aria-labelledby": "history-title", tabindex: "0" },
              h(
                "table",
                { class: "history" },
                h("thead", {}, h("tr", {}, ["From", "To", "By", `When (${ZONE_LABEL})`, "Reason"].map((label) => h("th", { scope: "col" }, label)))),
                h(
                  "tbody",
                  {},
                  history.map((change) =>
                    h(
                      "tr",
                      {},
                      h("td", {}, historyFrom(change.fromStatus)),
                      h("td", {}, historyTo(change)),
                      h("td", {}, historyBy(change, a.userId)),
                      h("td", {}, when(change.changedAt)),
                      h("td", {}, change.reason || "None given"),
                    ),
                  ),
                ),
              ),
            )
          : h("p", {}, "No status changes are recorded."),
      ),
    );
    return outcome;
  }

  // Why the server refused, in words that say what to do.
  function refusal(error, action, a) {
    const startsAt = a.slot && a.slot.startsAt;
    if (error.code === "INVALID_STATUS_TRANSITION" && action.outcome && startsAt && new Date(startsAt) > new Date()) {
      return `This appointment has not started yet: it starts ${formatRange(startsAt, a.slot.endsAt)}. You can mark it as completed or a no-show once it has started.`;
    }
    return error.sentence;
  }

  async function run(action, a) {
    if (busy) return;
    if (action.key === "move") return chooseNewTime(a);
    let body = {};
    if (action.key === "cancel") {
      const answer = await confirmDialog({
        title: "Cancel this booking?",
        text: `${a.referenceCode}: the customer is emailed that it is cancelled and the slot becomes free again.`,
        confirmLabel: "Cancel booking",
        reasonLabel: "Reason for cancelling",
        reasonRequired: true,
      });
      if (!answer || !ctx.isCurrent()) return;
      body = { reason: answer.reason };
    }
    busy = true;
    // aria-disabled rather than disabled: the pressed button keeps keyboard focus meanwhile.
    for (const button of content.querySelectorAll(".booking-actions button")) button.setAttribute("aria-disabled", "true");
    let notice;
    try {
      await api("POST", `${path}/${action.key}`, { body });
      notice = { text: action.done };
    } catch (error) {
      notice = { text: refusal(error, action, a), error: true };
    }
    let details;
    try {
      details = await fetchDetails();
    } catch (error) {
      details = null;
      notice = { text: `${notice.text} ${error.sentence}`, error: true };
    }
    busy = false;
    if (!ctx.isCurrent()) return;
    // Focus goes to the outcome (a status or alert box), which also reads it out.
    const shown = details ? render(details, notice) : null;
    if (shown) shown.focus();
    else {
      for (const button of content.querySelectorAll(".booking-actions button")) button.removeAttribute("aria-disabled");
      content.prepend(messageBox(notice.text));
    }
  }

  // Staff move a booking to another free time of its type and services, at any time: only
  // customers are held to the notice window (the server's rule). The picker takes the place of
  // the actions until the move is done or given up.
  function chooseNewTime(a) {
    const section = content.querySelector(".booking-actions");
    const picker = slotPicker(a, ctx.isCurrent);
    const moveError = h("div", { class: "journey-error" });
    const moveButton = h("button", { type: "submit", class: "button" }, "Check and move");
    const keep = h("button", { type: "button", class: "button button-secondary", onclick: () => reload(null) }, "Keep the current time");
    const title = h("h2", { id: "move-title", tabindex: "-1" }, "Move to another time");
    picker.onPick = () => moveError.replaceChildren();
    const form = h("form", { class: "journey-form", novalidate: true, "aria-labelledby": "move-title" }, picker.nodes, moveError, h("div", { class: "actions" }, moveButton, keep));
    const submit = moveSubmitter({
      booking: a,
      picker,
      button: moveButton,
      errorBox: moveError,
      isCurrent: ctx.isCurrent,
      describe: (target) =>
        `${a.referenceCode}: from ${formatRange(a.slot.startsAt, a.slot.endsAt)} to ${formatRange(target.startsAt, target.endsAt)} with ${designerName(target)}. The customer is emailed an updated calendar invitation.`,
      onMoved: (moved) => reload({ text: `Booking moved to ${formatRange(moved.slot.startsAt, moved.slot.endsAt)}.` }),
    });
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      submit();
    });
    section.replaceChildren(
      title,
      h("p", {}, `Now on ${formatRange(a.slot.startsAt, a.slot.endsAt)}. Choose a new day and time of the same type and services; times are ${ZONE_LABEL}.`),
      form,
    );
    title.focus();
    picker.load();
  }

  // The booking as it now is, with `notice` (if any) focused above its actions.
  async function reload(notice) {
    let details;
    try {
      details = await fetchDetails();
    } catch (error) {
      if (ctx.isCurrent()) content.prepend(messageBox(notice ? `${notice.text} ${error.sentence}` : error.sentence));
      return;
    }
    if (!ctx.isCurrent()) return;
    const shown = render(details, notice);
    if (shown) shown.focus();
    else content.querySelector("#actions-title")?.focus();
  }

  showScreen(staffNav("appointments"), back, heading, content);
  fetchDetails().then(
    (details) => ctx.isCurrent() && render(details),
    (error) => {
      if (!ctx.isCurrent()) return;
      const sentence = error.status === 400 || error.status === 404 ? "We could not find this booking." : error.sentence;
      content.replaceChildren(messageBox(sentence));
    },
  );
}
