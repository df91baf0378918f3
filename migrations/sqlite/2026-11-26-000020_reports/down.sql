DROP INDEX payments_settled;
DROP INDEX invoices_issued;
DROP INDEX access_events_results;
DROP INDEX access_events_hourly;
