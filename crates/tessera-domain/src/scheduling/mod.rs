//! Scheduling rules, pure: weekly working hours and their exceptions, bookable slots in a time zone, class
//! sessions generated from a recurring schedule, and the cancellation and no-show rules. No I/O; "now" is always
//! an argument.

pub mod hours;
pub mod policy;
pub mod recurrence;
pub mod slots;
pub mod time;

pub use hours::{DateRange, WeeklyHours};
pub use policy::{BookingPolicy, CancelOutcome};
pub use slots::{Busy, Slot, SlotQuery};
