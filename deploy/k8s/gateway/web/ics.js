// The "Add to calendar" file (RFC 5545), made in the page. Its UID is the one the emailed
// invitation carries (notification_svc/ics.py), so a calendar merges the two into one event.
const UID_DOMAIN = "booking-mesh";
const encoder = new TextEncoder();

// A TEXT value (RFC 5545 3.3.11): a line break becomes "\n" and other controls are dropped, so
// nothing typed can end the property and start another.
function escapeText(value) {
  return String(value)
    .replace(/[\\;,]/g, (char) => `\\${char}`)
    .replace(/\r\n|[\r\n\u0085\u2028\u2029]/g, "\\n")
    .replace(/[\u0000-\u0008\u000a-\u001f\u007f-\u009f]/g, "");
}

function utcStamp(value) {
  return new Date(value).toISOString().replace(/\.\d+Z$/, "Z").replace(/[-:]/g, "");
}

// Lines longer than 75 octets continue on the next line after a space (RFC 5545 3.1), never
// splitting a character.
function fold(line) {
  const parts = [];
  let current = "";
  let size = 0;
  for (const char of line) {
    const width = encoder.encode(char).length;
    if (size + width > (parts.length ? 74 : 75)) {
      parts.push(current);
      current = "";
      size = 0;
    }
    current += char;
    size += width;
  }
  parts.push(current);
  return parts.join("\r\n ");
}

// One VEVENT for a booking: {bookingId, startsAt, endsAt, summary, description, location}.
export function bookingCalendar({ bookingId, startsAt, endsAt, summary, description, location, stamp = new Date() }) {
  const lines = [
    "BEGIN:VCALENDAR",
    "VERSION:2.0",
    "PRODID:-//booking-mesh//web//EN",
    "CALSCALE:GREGORIAN",
    "BEGIN:VEVENT",
    `UID:${bookingId}@${UID_DOMAIN}`,
    "SEQUENCE:0",
    `DTSTAMP:${utcStamp(stamp)}`,
    `DTSTART:${utcStamp(startsAt)}`,
    `DTEND:${utcStamp(endsAt)}`,
    `SUMMARY:${escapeText(summary)}`,
    `DESCRIPTION:${escapeText(description)}`,
    `LOCATION:${escapeText(location)}`,
    "STATUS:TENTATIVE",
    "END:VEVENT",
    "END:VCALENDAR",
  ];
  return lines.map((line) => `${fold(line)}\r\n`).join("");
}
