// Moving one of "my bookings" to another time (#/bookings/<bookingId>/reschedule): pick a London
// day and a free time of the same appointment type and service, check it, then confirm. The
// booking keeps its reference; the server takes the new time and frees the old one in one step.
import { api, TYPE_WORDS } from "./api.js";
import { formatRange, ZONE_LABEL } from "./time.js";
import { designerName, moveSubmitter, slotPicker } from "./slot_grid.js";
import { announce, h, messageBox, showScreen } from "./ui.js";
import { changeable, noticeSentence } from "./bookings.js";

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
    showScreen(back, h("h1", {}, "Move your booking"), messageBox(`This booking can no longer be moved here. ${noticeSentence(booking)}`));
    return;
  }
  chooser(ctx, booking, back);
}

function chooser(ctx, booking, back) {
  const picker = slotPicker(booking, ctx.isCurrent);
  const moveError = h("div", { class: "journey-error" });
  const moveButton = h("button", { type: "submit", class: "button" }, "Check and move");
  picker.onPick = () => moveError.replaceChildren();

  function done(moved) {
    const when = formatRange(moved.slot.startsAt, moved.slot.endsAt);
    const sentence = `Booking ${moved.referenceCode} is moved to ${when}. We have emailed you an updated calendar invitation.`;
    showScreen(
      h("h1", {}, "Your booking is moved"),
      h("p", { class: "message message-ok", role: "status" }, sentence),
      h("p", {}, noticeSentence(booking)),
      h("p", {}, h("a", { href: "#/bookings", class: "button" }, "Back to my bookings")),
    );
    announce(sentence);
  }

  const form = h(
    "form",
    { class: "journey-form", novalidate: true },
    picker.nodes,
    moveError,
    h("div", { class: "actions" }, moveButton),
  );
  // "Check your answers": the old and the new time side by side before anything is written.
  const submit = moveSubmitter({
    booking,
    picker,
    button: moveButton,
    errorBox: moveError,
    isCurrent: ctx.isCurrent,
    describe: (target) =>
      `${TYPE_WORDS[booking.type] || "Appointment"}, reference ${booking.referenceCode}: from ${formatRange(booking.slot.startsAt, booking.slot.endsAt)} to ${formatRange(target.startsAt, target.endsAt)} with ${designerName(target)}. We will email you an updated calendar invitation.`,
    onMoved: done,
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    submit();
  });
  showScreen(
    back,
    h("h1", {}, "When would you like to move it to?"),
    h("p", {}, `${TYPE_WORDS[booking.type] || "Appointment"}, reference ${booking.referenceCode}, now on ${formatRange(booking.slot.startsAt, booking.slot.endsAt)}. Choose a new day and time; times are ${ZONE_LABEL}.`),
    h("p", { class: "hint" }, noticeSentence(booking)),
    form,
  );
  picker.load();
}
