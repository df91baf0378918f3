DROP TABLE access_changes;
DROP TABLE access_versions;
DROP TABLE access_qr_uses;
DROP TABLE access_presence;
DROP TABLE access_events;
DROP TABLE access_credentials;
DROP TABLE device_pairings;
DROP TABLE devices;
