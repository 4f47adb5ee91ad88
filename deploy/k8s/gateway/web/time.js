// Dates and times as the retailer's customers read them: always London time, zone named.
export const ZONE = "Europe/London";
export const ZONE_LABEL = "London time";

const dayFormat = new Intl.DateTimeFormat("en-GB", { timeZone: ZONE, weekday: "long", day: "numeric", month: "long", year: "numeric" });
const timeFormat = new Intl.DateTimeFormat("en-GB", { timeZone: ZONE, hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
const partsFormat = new Intl.DateTimeFormat("en-GB", { timeZone: ZONE, year: "numeric", month: "2-digit", day: "2-digit" });

// YYYY-MM-DD of `date` (a Date or an ISO string) on the London calendar.
export function londonDate(date = new Date()) {
  const parts = Object.fromEntries(partsFormat.formatToParts(new Date(date)).map((p) => [p.type, p.value]));
  return `${parts.year}-${parts.month}-${parts.day}`;
}

// YYYY-MM-DD plus `days` (calendar arithmetic, no time zone involved).
export function addDays(ymd, days) {
  const [y, m, d] = ymd.split("-").map(Number);
  const date = new Date(Date.UTC(y, m - 1, d + days));
  return date.toISOString().slice(0, 10);
}

// "Monday 30 November 2026" for a YYYY-MM-DD.
export function formatDay(ymd) {
  const [y, m, d] = ymd.split("-").map(Number);
  // Noon UTC is the same calendar day in London whatever the season.
  return dayFormat.format(new Date(Date.UTC(y, m - 1, d, 12)));
}

// "14:30" (London) for an instant.
export function formatTime(iso) {
  return timeFormat.format(new Date(iso));
}

// "Monday 30 November 2026, 14:30–15:30 London time".
export function formatRange(startIso, endIso) {
  const range = endIso ? `${formatTime(startIso)}–${formatTime(endIso)}` : formatTime(startIso);
  return `${formatDay(londonDate(startIso))}, ${range} ${ZONE_LABEL}`;
}
