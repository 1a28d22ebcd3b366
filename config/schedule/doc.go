// Package schedule is karajo's scheduler core: it parses cron expressions
// (5 or 6 fields, names, ranges, steps, @macros and @every) and karajo's own
// schedule syntax ("daily@02:00", "weekly@mon-fri@09:00", ...), and answers
// Next(after): the first due instant strictly after a given one, in a time
// zone, under ISC cron's daylight-saving rules:
//
//   - a schedule is fixed-time when neither its minute nor its hour field
//     starts with '*' (daily@, weekly@ and monthly@ are fixed-time);
//   - in a spring-forward gap of up to 3 h, fixed-time points run once at
//     the first instant after the gap; wildcard points do not exist;
//   - in a fall-back fold of up to 3 h, fixed-time points run in the first
//     pass only; wildcard points run in both passes;
//   - offset jumps over 3 h replay nothing (forward) and suppress nothing
//     (backward);
//   - @every and intervals count absolute time.
//
// Transitions are found with time.Time.ZoneBounds; wall-clock arithmetic is
// done in a zone-free (UTC) calendar, never by asking time.Date for a wall
// time inside a gap or fold.
//
// Everything here is pure: no goroutines, no clock (LoadZone only
// caches the zones it loaded). The package imports
// none of karajo's packages. It embeds the IANA zone database, so a host
// without /usr/share/zoneinfo still resolves every zone name.
package schedule

import _ "time/tzdata" // zones work on hosts without a zone database
