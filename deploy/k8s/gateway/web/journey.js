// The 4-step booking journey (type, service, details, day and time) and its confirmation. Each
// step has its own address (#/book/<step>), so the browser's Back button walks the steps; what
// was typed lives in this module while the page lives, so going back and forth loses nothing.
import { api, newRequestId } from "./api.js";
import { bookingCalendar } from "./ics.js";
import { addDays, formatDay, formatRange, londonDate, ZONE_LABEL } from "./time.js";
import { bindDayField, freeForEveryService, renderSlots, showGridFailure } from "./slot_grid.js";
import { clearFieldErrors, field, h, messageBox, showFieldErrors, showScreen } from "./ui.js";
import { normaliseUkPostcode, validateContact } from "./validation.js";

const BRAND = "Fitted Kitchens & Bedrooms";
const HORIZON_DAYS = 730;
const STEPS = [
  { name: "type", label: "Appointment type" },
  { name: "service", label: "Service" },
  { name: "details", label: "Your details" },
  { name: "time", label: "Day and time" },
];
const TYPES = [
  { value: "HOME_MEASUREMENT", title: "Home measurement", words: "home measurement visit", text: "A designer comes to your home, measures the room and talks through your ideas with you." },
  { value: "SHOWROOM_VISIT", title: "Showroom visit", words: "showroom visit", text: "Meet a designer in our showroom, see the displays and plan your room together." },
  { value: "VIDEO_CONSULTATION", title: "Video consultation", words: "video consultation", text: "Talk to a designer on a video call from home; we email you the link before the appointment." },
];
const SERVICES = [
  { name: "forKitchen", title: "Kitchen", text: "A new fitted kitchen." },
  { name: "forBedroom", title: "Bedroom", text: "Fitted wardrobes and bedroom furniture." },
];
const DETAILS = [
  { name: "firstName", label: "First name", autocomplete: "given-name" },
  { name: "lastName", label: "Last name", autocomplete: "family-name" },
  { name: "email", label: "Email", type: "email", autocomplete: "email", hint: "We send your confirmation here." },
  { name: "phone", label: "UK phone", type: "tel", autocomplete: "tel", hint: "For example 07700 900123." },
  { name: "postcode", label: "Postcode", autocomplete: "postal-code", hint: "For example SW1A 1AA." },
  { name: "address", label: "Address", autocomplete: "street-address", multiline: true },
];
const DETAIL_FIELDS = new Set(DETAILS.map((d) => d.name));
// Errors after which the grid is out of date: the slot is taken, gone or has started.
// OUTSIDE_SERVICE_AREA too: the grid only offers designers who visit the postcode, but a cached
// grid may be up to 30 seconds behind a change of their areas.
const SLOT_GONE = new Set(["SLOT_UNAVAILABLE", "SLOT_NOT_FOUND", "SLOT_IN_PAST", "OUTSIDE_SERVICE_AREA"]);
// A picked time is held for this customer (POST /v1/appointments/holds) until its hold ends; a
// screen reader hears when the hold starts and when this much of it is left, not every second.
const HOLD_WARNING_SECONDS = 60;

let state = freshState(null);

function freshState(sub) {
  return {
    sub,
    type: null,
    forKitchen: false,
    forBedroom: false,
    details: Object.fromEntries(DETAILS.map((d) => [d.name, ""])),
    day: null,
    slot: null,
    gone: new Set(),
    attemptKey: null,
    requestId: null,
    serverErrors: null,
    booking: null,
    hold: null, // {holdId, slotId, expiresAt} of the picked slot
    holding: null, // the hold request in flight, if any
  };
}

const holdSecondsLeft = () => (state.hold ? Math.ceil((Date.parse(state.hold.expiresAt) - Date.now()) / 1000) : 0);
const holdOfPick = () => (state.hold && state.slot && state.hold.slotId === state.slot.slotId && holdSecondsLeft() > 0 ? state.hold : null);

// The customer no longer wants the picked time: let it go for everyone else (it ends by itself
// if this call is lost).
function dropSlot() {
  const hold = state.hold;
  state.slot = null;
  state.hold = null;
  state.holding = null;
  if (hold) api("DELETE", `/v1/appointments/holds/${encodeURIComponent(hold.holdId)}`).catch(() => {});
}

function minutesAndSeconds(seconds) {
  const m = Math.floor(seconds / 60);
  const s = seconds % 60;
  return `${m}:${String(s).padStart(2, "0")}`;
}

const typeOf = (value) => TYPES.find((t) => t.value === value);
const addressRequired = () => state.type === "HOME_MEASUREMENT";
const servicesWords = (s) => [s.forKitchen && "kitchen", s.forBedroom && "bedroom"].filter(Boolean).join(" and ");
const detailsValid = () => validateContact(state.details, { addressRequired: addressRequired() }).length === 0;

// The first step whose answer is missing, so an address typed or bookmarked mid-journey lands
// where the visitor can go on.
function firstMissing() {
  if (!state.type) return "type";
  if (!state.forKitchen && !state.forBedroom) return "service";
  if (!detailsValid()) return "details";
  return null;
}

export function mount(ctx) {
  if (state.sub !== ctx.user.sub) state = freshState(ctx.user.sub);
  const step = ctx.rest[0] || "type";
  if (step === "done") {
    if (state.booking) return confirmation(ctx);
    window.location.replace("#/book/type");
    return undefined;
  }
  const index = STEPS.findIndex((s) => s.name === step);
  if (index < 0) {
    window.location.replace("#/book/type");
    return undefined;
  }
  // A finished booking: Back or "Book another" starts a new one with the same answers.
  if (state.booking) {
    state.booking = null;
    state.slot = null;
  }
  const missing = firstMissing();
  const missingIndex = missing ? STEPS.findIndex((s) => s.name === missing) : STEPS.length;
  if (missingIndex < index) {
    window.location.replace(`#/book/${missing}`);
    return undefined;
  }
  return [typeStep, serviceStep, detailsStep, timeStep][index](ctx);
}

function stepIndicator(current) {
  return h(
    "ol",
    { class: "steps", "aria-label": "Booking steps" },
    STEPS.map((s, i) =>
      h(
        "li",
        { class: i < current ? "done" : undefined, "aria-current": i === current ? "step" : undefined },
        s.label,
        i < current ? h("span", { class: "visually-hidden" }, " (done)") : null,
      ),
    ),
  );
}

// A step's form: the fields, then Back (to the step before) and the forward button.
function stepForm(ctx, index, children, { next = "Next", onSubmit }) {
  const back = index > 0 ? h("button", { type: "button", class: "button button-secondary", onclick: () => ctx.navigate(`#/book/${STEPS[index - 1].name}`) }, "Back") : null;
  const form = h("form", { class: "journey-form", novalidate: true }, children, h("div", { class: "actions" }, back, h("button", { type: "submit", class: "button" }, next)));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    onSubmit(form);
  });
  return form;
}

function choice({ type, name, value, checked, title, text, onchange }) {
  const id = `choice-${name}-${value}`;
  const input = h("input", { type, name, value, id, checked, "aria-labelledby": `${id}-title`, "aria-describedby": `${id}-text`, onchange });
  return h("label", { class: "choice", for: id }, input, h("span", {}, h("strong", { id: `${id}-title` }, title), h("span", { id: `${id}-text` }, text)));
}

function showChoiceError(form, text) {
  const slot = form.querySelector(".journey-error");
  slot.replaceChildren(messageBox(text));
  form.querySelector("input").focus();
}

function typeStep(ctx) {
  const form = stepForm(
    ctx,
    0,
    h(
      "fieldset",
      {},
      h("legend", { class: "visually-hidden" }, "Appointment type"),
      h("div", { class: "journey-error" }),
      h(
        "div",
        { class: "choices" },
        TYPES.map((t) =>
          choice({
            type: "radio",
            name: "type",
            value: t.value,
            checked: state.type === t.value,
            title: t.title,
            text: t.text,
            onchange: () => {
              state.type = t.value;
              dropSlot();
            },
          }),
        ),
      ),
    ),
    {
      onSubmit: (f) => {
        if (!state.type) showChoiceError(f, "Choose the kind of appointment you would like.");
        else ctx.navigate("#/book/service");
      },
    },
  );
  showScreen(stepIndicator(0), h("h1", {}, "What kind of appointment would you like?"), form);
}

function serviceStep(ctx) {
  const form = stepForm(
    ctx,
    1,
    h(
      "fieldset",
      {},
      h("legend", {}, "Choose kitchen, bedroom or both"),
      h("div", { class: "journey-error" }),
      h(
        "div",
        { class: "choices" },
        SERVICES.map((s) =>
          choice({
            type: "checkbox",
            name: s.name,
            value: "yes",
            checked: state[s.name],
            title: s.title,
            text: s.text,
            onchange: (event) => {
              state[s.name] = event.target.checked;
              dropSlot();
            },
          }),
        ),
      ),
    ),
    {
      onSubmit: (f) => {
        if (!state.forKitchen && !state.forBedroom) showChoiceError(f, "Choose kitchen, bedroom or both.");
        else ctx.navigate("#/book/details");
      },
    },
  );
  showScreen(stepIndicator(1), h("h1", {}, "What would you like to plan?"), form);
}

function detailsStep(ctx) {
  const required = addressRequired();
  const summary = h("div", { class: "journey-error" });
  const fields = DETAILS.map((d) => {
    const isAddress = d.name === "address";
    const hint = isAddress ? (required ? "We come to this address to measure." : "Only needed for a home measurement.") : d.hint;
    const made = field({ ...d, hint, value: state.details[d.name], required: isAddress ? required : true });
    made.input.addEventListener("input", () => {
      state.details[d.name] = made.input.value;
      // A corrected field loses its message at once; one still wrong keeps it until Next.
      if (made.input.getAttribute("aria-invalid") === "true" && !validateContact(state.details, { addressRequired: required }).some((p) => p.field === d.name)) {
        clearFieldErrors(made.wrapper);
        const left = made.input.form.querySelectorAll('[aria-invalid="true"]').length;
        if (left) summary.replaceChildren(messageBox(problemCount(left)));
        else summary.replaceChildren();
      }
    });
    return made.wrapper;
  });
  const form = stepForm(ctx, 2, [summary, fields], {
    onSubmit: (f) => {
      const problems = validateContact(state.details, { addressRequired: required });
      if (problems.length) {
        summary.replaceChildren(messageBox(problemCount(problems.length)));
        showFieldErrors(f, problems);
        return;
      }
      clearFieldErrors(f);
      ctx.navigate("#/book/time");
    },
  });
  showScreen(stepIndicator(2), h("h1", {}, "Your details"), form);
  // The server refused details the page accepted: its messages go next to their fields.
  if (state.serverErrors) {
    const errors = state.serverErrors;
    state.serverErrors = null;
    summary.replaceChildren(messageBox(problemCount(errors.length)));
    const unplaced = showFieldErrors(form, errors);
    if (unplaced.length) summary.append(messageBox(unplaced.join(" ")));
  }
}

function problemCount(count) {
  return count === 1 ? "Please correct the detail marked below." : `Please correct the ${count} details marked below.`;
}

function timeStep(ctx) {
  const today = londonDate();
  const last = addDays(today, HORIZON_DAYS);
  if (!state.day || state.day < today || state.day > last) state.day = today;
  let inFlight = false;
  let loads = 0;

  const dayInput = h("input", { type: "date", id: "journey-day", name: "day", min: today, max: last, value: state.day, required: true, "aria-describedby": "journey-day-hint" });
  const previous = h("button", { type: "button", class: "button button-secondary button-small", onclick: () => setDay(addDays(state.day, -1)) }, "Previous day");
  const next = h("button", { type: "button", class: "button button-secondary button-small", onclick: () => setDay(addDays(state.day, 1)) }, "Next day");
  const dayError = h("div", { class: "journey-error" });
  const gridHeading = h("h2", { id: "journey-grid-heading" });
  const gridStatus = h("p", { role: "status", class: "journey-grid-status" });
  const gridError = h("div", { class: "journey-error" });
  const grid = h("ul", { class: "slot-grid", "aria-labelledby": "journey-grid-heading" });
  const parts = { grid, gridStatus, gridError };
  const chosen = h("p", { class: "journey-chosen", role: "status" });
  // The countdown is plain text (not a live region); holdNews announces its start and its last minute.
  const holdNote = h("p", { class: "journey-hold", id: "journey-hold" });
  const holdNews = h("p", { class: "visually-hidden", role: "status" });
  let ticker = null;
  let warned = false;
  const bookError = h("div", { class: "journey-error" });
  const bookButton = h("button", { type: "submit", class: "button" }, "Book this appointment");
  let slots = [];

  bindDayField(dayInput, dayError, today, last, setDay);

  function setDay(day) {
    if (day < today || day > last) return;
    dayError.replaceChildren();
    state.day = day;
    dayInput.value = day;
    load();
  }

  // The day's grid for the chosen type and service. With both services the booking needs a
  // designer who plans both, so the grid is the slots both category filters return.
  async function load() {
    const current = ++loads;
    const day = state.day;
    const focused = document.activeElement;
    previous.disabled = day <= today;
    next.disabled = day >= last;
    // A day button that just became disabled has dropped the keyboard's place; keep it nearby.
    if (focused && focused.disabled) dayInput.focus();
    // Home measurements: only designers who visit the postcode given in the details step, so
    // nobody picks a time that cannot be booked.
    const visitAt = state.type === "HOME_MEASUREMENT" ? normaliseUkPostcode(state.details.postcode) : undefined;
    gridHeading.textContent = `Free times on ${formatDay(day)} (${ZONE_LABEL})${visitAt ? ` for a visit to ${visitAt}` : ""}`;
    gridStatus.textContent = "Loading free times…";
    gridError.replaceChildren();
    grid.setAttribute("aria-busy", "true");
    let free;
    try {
      free = await freeForEveryService({ type: state.type, date: day, postcode: visitAt }, state);
    } catch (error) {
      if (current !== loads || !ctx.isCurrent()) return;
      showGridFailure(parts, error, load);
      return;
    }
    if (current !== loads || !ctx.isCurrent()) return;
    slots = free.filter((s) => !state.gone.has(s.slotId));
    // The grid leaves out held times, this customer's own too: theirs stays on offer to them.
    const held = holdOfPick() || state.holding ? state.slot : null;
    if (held && londonDate(held.startsAt) === day && !slots.some((s) => s.slotId === held.slotId)) {
      slots = [...slots, held].sort((a, b) => Date.parse(a.startsAt) - Date.parse(b.startsAt));
    }
    if (state.slot && !slots.some((s) => s.slotId === state.slot.slotId)) dropSlot();
    render();
  }

  function render() {
    renderSlots(parts, slots, state.slot && state.slot.slotId, pick);
    chosen.textContent = state.slot ? `Chosen: ${formatRange(state.slot.startsAt, state.slot.endsAt)} with ${consultantName(state.slot)}.` : "";
  }

  function pick(slot) {
    const again = state.slot && state.slot.slotId === slot.slotId;
    state.slot = slot;
    bookError.replaceChildren();
    const focused = document.activeElement && document.activeElement.dataset ? document.activeElement.dataset.slotId : null;
    render();
    // Re-rendering replaced the buttons; keep the keyboard where it was.
    if (focused) grid.querySelector(`[data-slot-id="${CSS.escape(focused)}"]`)?.focus();
    if (!(again && (holdOfPick() || state.holding))) takeHold(slot);
  }

  // Holds the picked time; a new hold lets the customer's previous one go (on the server).
  function takeHold(slot) {
    stopTicker();
    state.hold = null;
    holdNote.textContent = "Holding this time for you…";
    const attempt = api("POST", "/v1/appointments/holds", { body: { slotId: slot.slotId } }).then(
      (hold) => ({ hold }),
      (error) => ({ error }),
    );
    state.holding = attempt;
    attempt.then(({ hold, error }) => {
      if (state.holding !== attempt) return; // another pick came after this one
      state.holding = null;
      if (!state.slot || state.slot.slotId !== slot.slotId) return;
      if (hold) {
        state.hold = hold;
        if (!ctx.isCurrent()) return;
        const minutes = Math.max(1, Math.round(holdSecondsLeft() / 60));
        holdNews.textContent = `We are holding this time for you for ${minutes} minute${minutes === 1 ? "" : "s"}.`;
        showHold();
      } else if (ctx.isCurrent()) {
        holdNote.textContent = "";
        if (SLOT_GONE.has(error.code)) failed(error);
        // Anything else (a busy service, the network): the time can still be booked, unheld.
      }
    });
  }

  function stopTicker() {
    if (ticker !== null) clearInterval(ticker);
    ticker = null;
  }

  function showHold() {
    stopTicker();
    warned = holdSecondsLeft() <= HOLD_WARNING_SECONDS;
    if (!holdOfPick()) {
      holdNote.textContent = "";
      return;
    }
    tick();
    ticker = setInterval(tick, 1000);
  }

  function tick() {
    if (!ctx.isCurrent()) return stopTicker();
    if (!state.hold) {
      holdNote.textContent = "";
      return stopTicker();
    }
    const left = holdSecondsLeft();
    if (left <= 0) return holdEnded();
    holdNote.textContent = `We are holding this time for you. Time left: ${minutesAndSeconds(left)}.`;
    if (!warned && left <= HOLD_WARNING_SECONDS) {
      warned = true;
      holdNews.textContent = "One minute left to book this time before we offer it to others.";
    }
  }

  // The hold ran out before the booking was sent: say so and go back to choosing a time. The
  // hold is let go of too, in case this browser's clock runs ahead of the server's.
  function holdEnded() {
    stopTicker();
    holdNote.textContent = "";
    holdNews.textContent = "";
    const hold = state.hold;
    state.hold = null;
    state.slot = null;
    bookError.replaceChildren(messageBox("We could not hold this time for you any longer. Please choose a time again."));
    render();
    const released = hold ? api("DELETE", `/v1/appointments/holds/${encodeURIComponent(hold.holdId)}`).catch(() => {}) : Promise.resolve();
    released.then(() => {
      if (ctx.isCurrent()) load();
    });
    gridHeading.setAttribute("tabindex", "-1");
    gridHeading.focus();
  }

  async function book() {
    if (inFlight) return;
    if (state.holding && state.slot) {
      // The time was picked a moment ago: book under its hold once the hold is there.
      inFlight = true;
      bookButton.disabled = true;
      await state.holding;
      inFlight = false;
      bookButton.disabled = false;
      if (!ctx.isCurrent()) return;
    }
    if (!state.slot) {
      if (!bookError.childElementCount) bookError.replaceChildren(messageBox("Choose a time first."));
      return;
    }
    const hold = holdOfPick();
    const body = { type: state.type, forKitchen: state.forKitchen, forBedroom: state.forBedroom, ...state.details, slotId: state.slot.slotId, ...(hold ? { holdId: hold.holdId } : {}) };
    // One requestId per attempt: a repeated click or a retry after a lost answer sends the same
    // one (the server then books once); any change of slot or details is a new attempt.
    const key = JSON.stringify(body);
    if (key !== state.attemptKey) {
      state.attemptKey = key;
      state.requestId = newRequestId();
    }
    inFlight = true;
    bookButton.disabled = true;
    bookButton.textContent = "Booking…";
    bookError.replaceChildren();
    try {
      const result = await api("POST", "/v1/appointments", { body: { ...body, requestId: state.requestId } });
      state.booking = { ...result, type: state.type, forKitchen: state.forKitchen, forBedroom: state.forBedroom, details: { ...state.details }, slot: state.slot };
      state.hold = null; // the booking used it up
      stopTicker();
      if (ctx.isCurrent()) ctx.navigate("#/book/done");
    } catch (error) {
      if (ctx.isCurrent()) failed(error);
    } finally {
      inFlight = false;
      bookButton.disabled = false;
      bookButton.textContent = "Book this appointment";
    }
  }

  function failed(error) {
    const detailErrors = error.code === "VALIDATION_ERROR" ? error.fields.filter((f) => DETAIL_FIELDS.has(f.field)) : [];
    if (detailErrors.length) {
      state.serverErrors = detailErrors;
      ctx.navigate("#/book/details");
      return;
    }
    bookError.replaceChildren(messageBox(error.sentence));
    // The disabled button lost the focus; keyboard users go on from the grid when they must
    // choose again, else from the button that retries.
    if (SLOT_GONE.has(error.code) && state.slot) {
      state.gone.add(state.slot.slotId);
      state.slot = null;
      state.hold = null;
      stopTicker();
      holdNote.textContent = "";
      load();
      gridHeading.setAttribute("tabindex", "-1");
      gridHeading.focus();
    } else {
      queueMicrotask(() => bookButton.focus());
    }
  }

  const form = h(
    "form",
    { class: "journey-form", novalidate: true },
    h(
      "div",
      { class: "field" },
      h("label", { for: "journey-day" }, "Day"),
      h("p", { class: "hint", id: "journey-day-hint" }, `Any day from today to ${formatDay(last)}, London calendar.`),
      dayError,
      h("div", { class: "journey-day" }, dayInput, previous, next),
    ),
    h("section", { class: "journey-grid", "aria-labelledby": "journey-grid-heading" }, gridHeading, gridStatus, gridError, grid),
    chosen,
    holdNote,
    holdNews,
    bookError,
    h("div", { class: "actions" }, h("button", { type: "button", class: "button button-secondary", onclick: () => ctx.navigate("#/book/details") }, "Back"), bookButton),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    book();
  });
  showScreen(stepIndicator(3), h("h1", {}, "Choose a day and time"), h("p", {}, `${typeOf(state.type).title} for your ${servicesWords(state)}. Times are ${ZONE_LABEL}.`), form);
  load();
  showHold();
  return stopTicker;
}

function consultantName(slot) {
  return (slot.consultant && slot.consultant.name) || "our designer";
}

function location(booking) {
  if (booking.type === "HOME_MEASUREMENT") return `${booking.details.address.trim()}, ${normaliseUkPostcode(booking.details.postcode)}`;
  if (booking.type === "SHOWROOM_VISIT") return "Our showroom";
  return "Video call (we will email you the link before the appointment)";
}

function confirmation() {
  const b = state.booking;
  const kind = typeOf(b.type);
  const d = b.details;
  const calendar = bookingCalendar({
    bookingId: b.bookingId,
    startsAt: b.slot.startsAt,
    endsAt: b.slot.endsAt,
    summary: `${BRAND}: ${kind.words} (${b.referenceCode})`,
    description: `Reference ${b.referenceCode}: ${kind.words} for your ${servicesWords(b)} with ${consultantName(b.slot)}.`,
    location: location(b),
  });
  const url = URL.createObjectURL(new Blob([calendar], { type: "text/calendar;charset=utf-8" }));
  const rows = [
    ["Reference", b.referenceCode],
    ["Appointment", kind.title],
    ["For", servicesWords(b)],
    ["When", formatRange(b.slot.startsAt, b.slot.endsAt)],
    ["Designer", consultantName(b.slot)],
    ["Name", `${d.firstName.trim()} ${d.lastName.trim()}`],
    ["Email", d.email.trim()],
    ["Phone", d.phone.trim()],
    ["Postcode", normaliseUkPostcode(d.postcode)],
    d.address.trim() ? ["Address", d.address.trim()] : null,
  ].filter(Boolean);
  showScreen(
    h("h1", {}, "Your appointment is booked"),
    h("p", {}, "Your reference is ", h("span", { class: "reference" }, b.referenceCode), "."),
    h("p", { class: "journey-wrap" }, `We have emailed a confirmation to ${d.email.trim()}. A designer will confirm the appointment soon.`),
    h("dl", { class: "summary" }, rows.map(([term, value]) => [h("dt", {}, term), h("dd", { class: term === "Address" ? "journey-address" : undefined }, value)])),
    h(
      "div",
      { class: "actions" },
      h("a", { class: "button", href: url, download: `${b.referenceCode}.ics` }, "Add to calendar"),
      h("a", { class: "button button-secondary", href: "#/bookings" }, "See my bookings"),
      h("a", { class: "button button-secondary", href: "#/book/type" }, "Book another appointment"),
    ),
  );
  return () => URL.revokeObjectURL(url);
}
