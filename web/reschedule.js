// Moving one of "my bookings" to another time (#/bookings/<bookingId>/reschedule): pick a London
// day and a free time of the same appointment type and service, check it, then confirm. The
// booking keeps its reference; the server takes the new time and frees the old one in one step.
import { api, TYPE_WORDS } from "./api.js";
import { addDays, formatDay, formatRange, londonDate, ZONE_LABEL } from "./time.js";
import { bindDayField, freeForEveryService, renderSlots, showGridFailure } from "./slot_grid.js";
import { announce, confirmDialog, h, messageBox, showScreen } from "./ui.js";
import { NOTICE_SENTENCE, changeable } from "./bookings.js";

const HORIZON_DAYS = 730;
// Errors after which the grid is out of date: the time is taken, gone or has started.
const SLOT_GONE = new Set(["SLOT_UNAVAILABLE", "SLOT_NOT_FOUND", "SLOT_IN_PAST"]);
const MOVE_SENTENCES = {
  SLOT_UNAVAILABLE: "That time was just taken. Please choose another.",
  INVALID_STATUS_TRANSITION: "This booking can no longer be moved.",
};

export async function mount(ctx, bookingId) {
  const back = h("p", {}, h("a", { href: "#/bookings", class: "back-link" }, "Back to my bookings"));
  showScreen(back, h("h1", {}, "Move your booking"), h("p", {}, "Loading your booking…"));
  let booking;
  try {
    booking = (await api("GET", `/v1/appointments/${encodeURIComponent(bookingId)}`)).appointment;
  } catch (error) {
    if (ctx.isCurrent()) showScreen(back, h("h1", {}, "Move your booking"), messageBox(error.sentence));
    return;
  }
  if (!ctx.isCurrent()) return;
  if (!changeable(booking)) {
    showScreen(back, h("h1", {}, "Move your booking"), messageBox(`This booking can no longer be moved here. ${NOTICE_SENTENCE}`));
    return;
  }
  chooser(ctx, booking, back);
}

function chooser(ctx, booking, back) {
  const today = londonDate();
  const last = addDays(today, HORIZON_DAYS);
  const current = londonDate(booking.slot.startsAt);
  let day = current < today ? today : current;
  let slots = [];
  let chosenSlot = null;
  let loads = 0;
  let inFlight = false;
  const gone = new Set([booking.slot.slotId]);

  const dayInput = h("input", { type: "date", id: "move-day", name: "day", min: today, max: last, value: day, required: true, "aria-describedby": "move-day-hint" });
  const previous = h("button", { type: "button", class: "button button-secondary button-small", onclick: () => setDay(addDays(day, -1)) }, "Previous day");
  const next = h("button", { type: "button", class: "button button-secondary button-small", onclick: () => setDay(addDays(day, 1)) }, "Next day");
  const dayError = h("div", { class: "journey-error" });
  const gridHeading = h("h2", { id: "move-grid-heading" });
  const gridStatus = h("p", { role: "status", class: "journey-grid-status" });
  const gridError = h("div", { class: "journey-error" });
  const grid = h("ul", { class: "slot-grid", "aria-labelledby": "move-grid-heading" });
  const parts = { grid, gridStatus, gridError };
  const chosen = h("p", { class: "journey-chosen", role: "status" });
  const moveError = h("div", { class: "journey-error" });
  const moveButton = h("button", { type: "submit", class: "button" }, "Check and move");

  bindDayField(dayInput, dayError, today, last, setDay);

  function setDay(value) {
    if (value < today || value > last) return;
    dayError.replaceChildren();
    day = value;
    dayInput.value = value;
    load();
  }

  // The day's free times of the booking's type whose designer plans every service it is for.
  async function load() {
    const mine = ++loads;
    previous.disabled = day <= today;
    next.disabled = day >= last;
    if (document.activeElement && document.activeElement.disabled) dayInput.focus();
    gridHeading.textContent = `Free times on ${formatDay(day)} (${ZONE_LABEL})`;
    gridStatus.textContent = "Loading free times…";
    gridError.replaceChildren();
    grid.setAttribute("aria-busy", "true");
    let free;
    try {
      free = await freeForEveryService({ type: booking.type, date: day }, booking);
    } catch (error) {
      if (mine !== loads || !ctx.isCurrent()) return;
      showGridFailure(parts, error, load);
      return;
    }
    if (mine !== loads || !ctx.isCurrent()) return;
    slots = free.filter((s) => !gone.has(s.slotId));
    if (chosenSlot && !slots.some((s) => s.slotId === chosenSlot.slotId)) chosenSlot = null;
    render();
  }

  function render() {
    renderSlots(parts, slots, chosenSlot && chosenSlot.slotId, pick);
    chosen.textContent = chosenSlot ? `Chosen: ${formatRange(chosenSlot.startsAt, chosenSlot.endsAt)} with ${designer(chosenSlot)}.` : "";
  }

  function pick(slot) {
    chosenSlot = slot;
    moveError.replaceChildren();
    const focused = document.activeElement && document.activeElement.dataset ? document.activeElement.dataset.slotId : null;
    render();
    if (focused) grid.querySelector(`[data-slot-id="${CSS.escape(focused)}"]`)?.focus();
  }

  // "Check your answers": the old and the new time side by side before anything is written.
  async function move() {
    if (inFlight) return;
    if (!chosenSlot) {
      moveError.replaceChildren(messageBox("Choose a new time first."));
      return;
    }
    const target = chosenSlot;
    const answer = await confirmDialog({
      title: "Move this booking?",
      text: `${TYPE_WORDS[booking.type] || "Appointment"}, reference ${booking.referenceCode}: from ${formatRange(booking.slot.startsAt, booking.slot.endsAt)} to ${formatRange(target.startsAt, target.endsAt)} with ${designer(target)}. We will email you an updated calendar invitation.`,
      confirmLabel: "Move booking",
      cancelLabel: "Keep the current time",
    });
    if (!answer || !ctx.isCurrent()) return;
    inFlight = true;
    moveButton.disabled = true;
    moveButton.textContent = "Moving…";
    moveError.replaceChildren();
    try {
      const moved = await api("POST", `/v1/appointments/${encodeURIComponent(booking.bookingId)}:reschedule`, { body: { slotId: target.slotId } });
      if (ctx.isCurrent()) done(moved);
    } catch (error) {
      if (ctx.isCurrent()) failed(error);
    } finally {
      inFlight = false;
      moveButton.disabled = false;
      moveButton.textContent = "Check and move";
    }
  }

  function failed(error) {
    moveError.replaceChildren(messageBox(MOVE_SENTENCES[error.code] || error.sentence));
    if (SLOT_GONE.has(error.code) && chosenSlot) {
      gone.add(chosenSlot.slotId);
      chosenSlot = null;
      load();
      gridHeading.setAttribute("tabindex", "-1");
      gridHeading.focus();
    } else {
      queueMicrotask(() => moveButton.focus());
    }
  }

  function done(moved) {
    const when = formatRange(moved.slot.startsAt, moved.slot.endsAt);
    const sentence = `Booking ${moved.referenceCode} is moved to ${when}. We have emailed you an updated calendar invitation.`;
    showScreen(
      h("h1", {}, "Your booking is moved"),
      h("p", { class: "message message-ok", role: "status" }, sentence),
      h("p", {}, NOTICE_SENTENCE),
      h("p", {}, h("a", { href: "#/bookings", class: "button" }, "Back to my bookings")),
    );
    announce(sentence);
  }

  const form = h(
    "form",
    { class: "journey-form", novalidate: true },
    h(
      "div",
      { class: "field" },
      h("label", { for: "move-day" }, "Day"),
      h("p", { class: "hint", id: "move-day-hint" }, `Any day from today to ${formatDay(last)}, London calendar.`),
      dayError,
      h("div", { class: "journey-day" }, dayInput, previous, next),
    ),
    h("section", { class: "journey-grid", "aria-labelledby": "move-grid-heading" }, gridHeading, gridStatus, gridError, grid),
    chosen,
    moveError,
    h("div", { class: "actions" }, moveButton),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    move();
  });
  showScreen(
    back,
    h("h1", {}, "When would you like to move it to?"),
    h("p", {}, `${TYPE_WORDS[booking.type] || "Appointment"}, reference ${booking.referenceCode}, now on ${formatRange(booking.slot.startsAt, booking.slot.endsAt)}. Choose a new day and time; times are ${ZONE_LABEL}.`),
    h("p", { class: "hint" }, NOTICE_SENTENCE),
    form,
  );
  load();
}

function designer(slot) {
  return (slot.consultant && slot.consultant.name) || "our designer";
}
