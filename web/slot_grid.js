// The free-time grid that the booking journey and the move screens (the customer's and staff's)
// share: the day field, the day's free slots for every service a booking is for, and one button
// per slot.
import { api } from "./api.js";
import { addDays, formatDay, formatRange, formatTime, londonDate, ZONE_LABEL } from "./time.js";
import { avatar, confirmDialog, h, messageBox } from "./ui.js";

// Enter in the day field shows that day; it must not submit the form around it (that books or moves).
export function bindDayField(input, errorBox, today, last, setDay) {
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter") {
      event.preventDefault();
      input.dispatchEvent(new Event("change"));
    }
  });
  input.addEventListener("change", () => {
    if (!input.value || input.value < today || input.value > last) {
      errorBox.replaceChildren(messageBox(`Choose a day from ${formatDay(today)} to ${formatDay(last)}.`));
      return;
    }
    setDay(input.value);
  });
}

// With both services a booking needs a designer who plans both, so the grid is the slots that
// every service's filter returns. `query` is the availability query without its category.
export async function freeForEveryService(query, wants) {
  const categories = wants.forKitchen && wants.forBedroom ? ["KITCHEN", "BEDROOM"] : [wants.forKitchen ? "KITCHEN" : "BEDROOM"];
  const lists = await Promise.all(categories.map((category) => api("GET", "/v1/appointments/availability", { query: { ...query, category } })));
  const [first, ...others] = lists.map((list) => list.slots || []);
  const inAll = others.map((list) => new Set(list.map((s) => s.slotId)));
  return first.filter((s) => inAll.every((ids) => ids.has(s.slotId)));
}

// A failed load: the reason and a way to try again, in place of the grid.
export function showGridFailure({ grid, gridStatus, gridError }, error, retry) {
  grid.removeAttribute("aria-busy");
  grid.replaceChildren();
  gridStatus.textContent = "";
  gridError.replaceChildren(messageBox(error.sentence), h("button", { type: "button", class: "button button-secondary button-small", onclick: retry }, "Try again"));
}

// The grid's slots, one pressable button each (the picked one pressed).
export function renderSlots({ grid, gridStatus }, slots, pickedId, onPick) {
  grid.removeAttribute("aria-busy");
  gridStatus.textContent = slots.length ? `${slots.length} free time${slots.length === 1 ? "" : "s"}` : "No free slots on this day";
  grid.replaceChildren(
    ...slots.map((s) => {
      const name = s.consultant && s.consultant.name ? s.consultant.name : "Our designer";
      return h(
        "li",
        {},
        h(
          "button",
          { type: "button", class: "slot", "aria-pressed": pickedId === s.slotId ? "true" : "false", dataset: { slotId: s.slotId }, onclick: () => onPick(s) },
          avatar(name, s.consultant && s.consultant.avatarUrl),
          h("span", {}, h("span", { class: "slot-time" }, `${formatTime(s.startsAt)}–${formatTime(s.endsAt)}`), h("span", { class: "visually-hidden" }, ` ${ZONE_LABEL} with`), h("span", { class: "slot-consultant" }, ` ${name}`)),
        ),
      );
    }),
  );
}

const MOVE_HORIZON_DAYS = 730;
// Refusals of a move after which the grid is out of date: the time is taken, gone or has started.
const SLOT_GONE = new Set(["SLOT_UNAVAILABLE", "SLOT_NOT_FOUND", "SLOT_IN_PAST"]);
const MOVE_SENTENCES = {
  SLOT_UNAVAILABLE: "That time was just taken. Please choose another.",
  INVALID_STATUS_TRANSITION: "This booking can no longer be moved.",
};

// What a refused move (`error` from api.js) says; a time that is gone also leaves `picker`'s grid.
function moveRefusal(error, picker) {
  if (SLOT_GONE.has(error.code) && picker.chosen()) picker.drop(picker.chosen().slotId);
  return MOVE_SENTENCES[error.code] || error.sentence;
}

// Choosing another time for `booking` (an Appointment): a London day (from the booking's own day,
// or today if that has passed) and that day's free times of the booking's type whose designer
// plans every service it is for, the booking's own slot left out. `isCurrent` says whether the
// screen is still shown. `nodes` go inside the caller's form; the caller writes the move.
export function slotPicker(booking, isCurrent) {
  const today = londonDate();
  const last = addDays(today, MOVE_HORIZON_DAYS);
  const current = londonDate(booking.slot.startsAt);
  let day = current < today ? today : current;
  let slots = [];
  let chosenSlot = null;
  let loads = 0;
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
  let onPick = () => {};

  bindDayField(dayInput, dayError, today, last, setDay);

  function setDay(value) {
    if (value < today || value > last) return;
    dayError.replaceChildren();
    day = value;
    dayInput.value = value;
    load();
  }

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
      if (mine !== loads || !isCurrent()) return;
      showGridFailure(parts, error, load);
      return;
    }
    if (mine !== loads || !isCurrent()) return;
    slots = free.filter((s) => !gone.has(s.slotId));
    if (chosenSlot && !slots.some((s) => s.slotId === chosenSlot.slotId)) chosenSlot = null;
    render();
  }

  function render() {
    renderSlots(parts, slots, chosenSlot && chosenSlot.slotId, pick);
    chosen.textContent = chosenSlot ? `Chosen: ${formatRange(chosenSlot.startsAt, chosenSlot.endsAt)} with ${designerName(chosenSlot)}.` : "";
  }

  function pick(slot) {
    chosenSlot = slot;
    onPick(slot);
    const focused = document.activeElement && document.activeElement.dataset ? document.activeElement.dataset.slotId : null;
    render();
    if (focused) grid.querySelector(`[data-slot-id="${CSS.escape(focused)}"]`)?.focus();
  }

  const nodes = [
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
  ];

  return {
    nodes,
    load,
    chosen: () => chosenSlot,
    // Called with each slot picked (to clear an old refusal, say).
    set onPick(callback) {
      onPick = callback;
    },
    // A time the server just refused as taken, gone or started: off the grid, which reloads, and
    // focus on its heading so the next choice starts there.
    drop(slotId) {
      gone.add(slotId);
      chosenSlot = null;
      load();
      gridHeading.setAttribute("tabindex", "-1");
      gridHeading.focus();
    },
  };
}

// Who runs a slot's appointment, in words.
export function designerName(slot) {
  return (slot.consultant && slot.consultant.name) || "our designer";
}

// Check and move, the same for a customer and for staff: the chosen time beside the old one in a
// dialog (`describe(target)` says it), then the move; a refusal is explained in `errorBox` with
// the focus back on `button`. `onMoved(moved)` shows the outcome.
export function moveSubmitter({ booking, picker, button, errorBox, isCurrent, describe, onMoved }) {
  let busy = false;
  return async function submit() {
    if (busy) return;
    const target = picker.chosen();
    if (!target) {
      errorBox.replaceChildren(messageBox("Choose a new time first."));
      return;
    }
    const answer = await confirmDialog({
      title: "Move this booking?",
      text: describe(target),
      confirmLabel: "Move booking",
      cancelLabel: "Keep the current time",
    });
    if (!answer || !isCurrent()) return;
    busy = true;
    button.disabled = true;
    button.textContent = "Moving…";
    errorBox.replaceChildren();
    let moved;
    try {
      moved = await api("POST", `/v1/appointments/${encodeURIComponent(booking.bookingId)}:reschedule`, { body: { slotId: target.slotId } });
    } catch (error) {
      if (isCurrent()) {
        errorBox.replaceChildren(messageBox(moveRefusal(error, picker)));
        if (picker.chosen()) queueMicrotask(() => button.focus());
      }
      return;
    } finally {
      busy = false;
      button.disabled = false;
      button.textContent = "Check and move";
    }
    if (isCurrent()) await onMoved(moved);
  };
}
